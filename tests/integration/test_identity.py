from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa

from ordersmith.kernel.clock import FixedClock
from ordersmith.kernel.errors import (
    AccountLocked,
    AlreadyExists,
    Forbidden,
    NotAuthenticated,
    ValidationFailed,
)
from ordersmith.platform import identity
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.platform.settings import Settings
from ordersmith.platform.tables import ApiKeyRow, AuditRow, UserRow
from tests.builders import DEFAULT_PASSWORD, make_api_key, make_channel, make_user


def _count(db: Database, table: type) -> int:
    with db.session() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


def test_a_user_is_stored_with_an_argon2_hash_and_audited(uow: UnitOfWork, db: Database):
    # when
    user = make_user(uow, role="manager", email="  Pat@Example.COM ")
    # then
    with db.session() as session:
        row = session.get(UserRow, user.id)
        assert row is not None
        assert row.email == "pat@example.com"
        assert row.password_hash.startswith("$argon2id$")
        assert DEFAULT_PASSWORD not in row.password_hash
        actions = session.scalars(sa.select(AuditRow.action)).all()
    assert actions == ["user.created"]


def test_a_duplicate_email_is_refused_and_changes_nothing(uow: UnitOfWork, db: Database):
    make_user(uow, email="pat@example.com")
    users, audits = _count(db, UserRow), _count(db, AuditRow)
    with pytest.raises(AlreadyExists):
        make_user(uow, email="PAT@example.com")
    assert (_count(db, UserRow), _count(db, AuditRow)) == (users, audits)


def test_a_short_password_or_unknown_role_is_refused_naming_the_field(uow: UnitOfWork, db: Database):
    with pytest.raises(ValidationFailed) as short:
        make_user(uow, password="short")
    with pytest.raises(ValidationFailed) as role:
        make_user(uow, role="owner")
    assert short.value.errors[0].field == "password"
    assert role.value.errors[0].field == "role"
    assert _count(db, UserRow) == 0


def test_login_opens_a_session_that_resolves_to_the_user(uow: UnitOfWork, settings: Settings):
    user = make_user(uow, role="agent")
    new = identity.sign_in(
        uow, email=user.email, password=DEFAULT_PASSWORD, totp_code=None, settings=settings
    )
    principal = identity.resolve_session(uow, token=new.token, settings=settings)
    assert principal is not None
    assert principal.id == user.id and principal.role == "agent" and principal.csrf_token == new.csrf_token
    assert principal.can("events:read") and not principal.can("users:write")


def test_ten_failed_logins_lock_the_account_even_for_the_right_password(uow: UnitOfWork, settings: Settings):
    user = make_user(uow)
    for _ in range(settings.lockout_threshold):
        with pytest.raises(NotAuthenticated):
            identity.sign_in(
                uow, email=user.email, password="wrong password!", totp_code=None, settings=settings
            )
    with pytest.raises(AccountLocked):
        identity.sign_in(uow, email=user.email, password=DEFAULT_PASSWORD, totp_code=None, settings=settings)
    # an admin unlock lets the user in again
    identity.update_user(uow, user_id=user.id, unlock=True)
    assert identity.sign_in(
        uow, email=user.email, password=DEFAULT_PASSWORD, totp_code=None, settings=settings
    )


def test_a_lockout_ends_by_itself_after_the_lockout_period(db: Database, settings: Settings):
    clock = FixedClock(datetime(2026, 11, 1, 9, tzinfo=UTC))
    uow = db.unit_of_work(Actor.system("test"), clock=clock)
    user = make_user(uow)
    for _ in range(settings.lockout_threshold):
        with pytest.raises(NotAuthenticated):
            identity.sign_in(
                uow, email=user.email, password="wrong password!", totp_code=None, settings=settings
            )
    clock.advance(timedelta(minutes=settings.lockout_minutes + 1))
    assert identity.sign_in(
        uow, email=user.email, password=DEFAULT_PASSWORD, totp_code=None, settings=settings
    )


def test_an_idle_session_expires(db: Database, settings: Settings):
    clock = FixedClock(datetime(2026, 11, 1, 9, tzinfo=UTC))
    uow = db.unit_of_work(Actor.system("test"), clock=clock)
    user = make_user(uow)
    new = identity.sign_in(
        uow, email=user.email, password=DEFAULT_PASSWORD, totp_code=None, settings=settings
    )
    clock.advance(timedelta(minutes=settings.session_idle_minutes - 1))
    assert identity.resolve_session(uow, token=new.token, settings=settings) is not None  # slides the expiry
    clock.advance(timedelta(minutes=settings.session_idle_minutes + 1))
    assert identity.resolve_session(uow, token=new.token, settings=settings) is None


def test_totp_once_confirmed_is_required_at_login(uow: UnitOfWork, settings: Settings):
    user = make_user(uow, role="admin", email="boss@example.com")
    enrolment = identity.start_totp_enrolment(uow, user_id=user.id, settings=settings)
    with pytest.raises(ValidationFailed):
        identity.confirm_totp(uow, user_id=user.id, code="000000", settings=settings)
    identity.confirm_totp(uow, user_id=user.id, code=pyotp.TOTP(enrolment.secret).now(), settings=settings)
    with pytest.raises(NotAuthenticated) as missing:
        identity.sign_in(uow, email=user.email, password=DEFAULT_PASSWORD, totp_code=None, settings=settings)
    assert missing.value.extra["totp_required"] is True
    new = identity.sign_in(
        uow,
        email=user.email,
        password=DEFAULT_PASSWORD,
        totp_code=pyotp.TOTP(enrolment.secret).now(),
        settings=settings,
    )
    assert new.user.totp_enabled


def test_admins_without_totp_cannot_sign_in_in_production(uow: UnitOfWork, settings: Settings):
    user = make_user(uow, role="admin", email="boss@example.com")
    production = settings.model_copy(update={"env": "production"})
    with pytest.raises(Forbidden):
        identity.sign_in(
            uow, email=user.email, password=DEFAULT_PASSWORD, totp_code=None, settings=production
        )


def test_api_keys_are_stored_hashed_shown_once_and_revocable(uow: UnitOfWork, db: Database):
    channel = make_channel(uow, code="amazon-us", kind="marketplace", division="marketplace")
    new = make_api_key(uow, scopes=["sales_channels:read"], channel="amazon-us")
    assert new.secret.startswith("osk_")
    with db.session() as session:
        stored = session.scalars(sa.select(ApiKeyRow.key_hash)).all()
    assert new.secret not in stored
    resolved = identity.resolve_api_key(uow, clear=new.secret)
    assert resolved is not None
    principal, stale = resolved
    assert (
        principal.channel_id == channel.id
        and principal.scopes == frozenset({"sales_channels:read"})
        and stale
    )
    identity.touch_api_key(uow, key_id=new.key.id)
    assert identity.resolve_api_key(uow, clear=new.secret) == (principal, False)
    identity.revoke_api_key(uow, key_id=new.key.id)
    assert identity.resolve_api_key(uow, clear=new.secret) is None


def test_an_api_key_for_an_unknown_channel_or_scope_is_refused(uow: UnitOfWork, db: Database):
    with pytest.raises(ValidationFailed) as channel:
        make_api_key(uow, channel="nowhere")
    with pytest.raises(ValidationFailed) as scope:
        make_api_key(uow, scopes=["everything"])
    assert channel.value.errors[0].field == "channel" and scope.value.errors[0].field == "scopes"
    assert _count(db, ApiKeyRow) == 0

import threading
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
from ordersmith.platform.tables import ApiKeyRow, AuditRow, SessionRow, UserRow
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


def test_totp_once_confirmed_is_required_at_login(db: Database, settings: Settings):
    clock = FixedClock(datetime(2026, 11, 1, 9, tzinfo=UTC))
    uow = db.unit_of_work(Actor.system("test"), clock=clock)
    user = make_user(uow, role="admin", email="boss@example.com")
    enrolment = identity.start_totp_enrolment(uow, user_id=user.id, settings=settings)
    with pytest.raises(ValidationFailed):
        identity.confirm_totp(uow, user_id=user.id, code="000000", settings=settings)
    totp = pyotp.TOTP(enrolment.secret)
    identity.confirm_totp(uow, user_id=user.id, code=totp.at(clock.now()), settings=settings)
    with pytest.raises(NotAuthenticated) as missing:
        identity.sign_in(uow, email=user.email, password=DEFAULT_PASSWORD, totp_code=None, settings=settings)
    assert missing.value.extra["totp_required"] is True
    clock.advance(timedelta(seconds=30))  # the confirming code is spent: the next one signs in
    new = identity.sign_in(
        uow, email=user.email, password=DEFAULT_PASSWORD, totp_code=totp.at(clock.now()), settings=settings
    )
    assert new.user.totp_enabled


def _enrolled(db: Database, settings: Settings, clock: FixedClock) -> tuple[UnitOfWork, str, pyotp.TOTP]:
    """A user with TOTP confirmed at the clock's time (that code is spent), the clock then one step on."""
    uow = db.unit_of_work(Actor.system("test"), clock=clock)
    user = make_user(uow, role="admin", email="boss@example.com")
    totp = pyotp.TOTP(identity.start_totp_enrolment(uow, user_id=user.id, settings=settings).secret)
    identity.confirm_totp(uow, user_id=user.id, code=totp.at(clock.now()), settings=settings)
    clock.advance(timedelta(seconds=30))
    return uow, user.email, totp


def _last_step(db: Database, email: str) -> int | None:
    with db.session() as session:
        return session.scalar(sa.select(UserRow.totp_last_step).where(UserRow.email == email))


def test_a_one_time_code_signs_in_once_and_its_replay_is_refused(db: Database, settings: Settings):
    # given a user with TOTP who signed in with the current code
    clock = FixedClock(datetime(2026, 11, 1, 9, 0, 5, tzinfo=UTC))
    uow, email, totp = _enrolled(db, settings, clock)
    code = totp.at(clock.now())
    identity.sign_in(uow, email=email, password=DEFAULT_PASSWORD, totp_code=code, settings=settings)
    sessions, step = _count(db, SessionRow), _last_step(db, email)
    # when the same code is sent again, in the same step and a few seconds later
    for _ in range(2):
        with pytest.raises(NotAuthenticated) as replayed:
            identity.sign_in(uow, email=email, password=DEFAULT_PASSWORD, totp_code=code, settings=settings)
        # then it is refused and opens no session
        assert (
            replayed.value.detail == "wrong one-time code" and replayed.value.extra["totp_required"] is True
        )
        clock.advance(timedelta(seconds=10))
    assert (_count(db, SessionRow), _last_step(db, email)) == (sessions, step)
    assert step == int(datetime(2026, 11, 1, 9, 0, 35, tzinfo=UTC).timestamp()) // 30


def test_only_the_current_and_the_previous_code_are_accepted(db: Database, settings: Settings):
    # given a user with TOTP (confirmed at 09:01:05), at 09:02:05
    clock = FixedClock(datetime(2026, 11, 1, 9, 1, 5, tzinfo=UTC))
    uow, email, totp = _enrolled(db, settings, clock)
    clock.advance(timedelta(seconds=30))
    now = clock.now()
    # when codes two steps old or from the next step are sent
    for stale in (totp.at(now - timedelta(seconds=60)), totp.at(now + timedelta(seconds=30))):
        with pytest.raises(NotAuthenticated):
            identity.sign_in(uow, email=email, password=DEFAULT_PASSWORD, totp_code=stale, settings=settings)
    assert _count(db, SessionRow) == 0
    # then the previous step's code (a slow phone) is accepted once, and an older one never after a newer one
    previous, current = totp.at(now - timedelta(seconds=30)), totp.at(now)
    identity.sign_in(uow, email=email, password=DEFAULT_PASSWORD, totp_code=previous, settings=settings)
    identity.sign_in(uow, email=email, password=DEFAULT_PASSWORD, totp_code=current, settings=settings)
    with pytest.raises(NotAuthenticated):
        identity.sign_in(uow, email=email, password=DEFAULT_PASSWORD, totp_code=previous, settings=settings)
    assert _count(db, SessionRow) == 2


def test_two_logins_racing_with_one_code_open_exactly_one_session(db: Database, settings: Settings):
    # given a user with TOTP and one current code
    clock = FixedClock(datetime(2026, 11, 1, 9, 0, 5, tzinfo=UTC))
    _, email, totp = _enrolled(db, settings, clock)
    code = totp.at(clock.now())
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt() -> None:
        uow = db.unit_of_work(Actor.system("test"), clock=clock)
        start.wait()
        try:
            identity.login(uow, email=email, password=DEFAULT_PASSWORD, totp_code=code, settings=settings)
            outcomes.append("in")
        except NotAuthenticated:
            outcomes.append("refused")

    # when two logins send it at the same moment
    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then exactly one signs in
    assert sorted(outcomes) == ["in", "refused"]
    assert _count(db, SessionRow) == 1


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

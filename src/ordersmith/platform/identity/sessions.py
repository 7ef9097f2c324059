"""Signing in: passwords, lockout, TOTP second factor, and console sessions with idle expiry.

Invariant: ten failed logins in a row lock an account for a while; an admin must use TOTP in production; a TOTP
code (its 30-second step) signs in at most once, and never after a later one (`users.totp_last_step`, moved forward
by one conditional UPDATE, so two logins racing with one code cannot both pass).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
import sqlalchemy as sa

from ordersmith.kernel.errors import AccountLocked, Forbidden, NotAuthenticated, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.platform import secrets
from ordersmith.platform.access import ROLE_SCOPES, Principal
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.identity.users import User, _get_user_row, _user
from ordersmith.platform.settings import Settings
from ordersmith.platform.tables import SessionRow, UserRow


@dataclass(frozen=True)
class NewSession:
    token: str
    csrf_token: str
    user: User
    expires_at: datetime


def _matching_step(seed: str, code: str, now: datetime) -> int | None:
    """The 30-second step whose code `code` is: the current one or, for a phone a little slow, the one before
    (never a later one)."""
    totp = pyotp.TOTP(seed)
    current = totp.timecode(now)
    code = code.strip()
    for step in (current, current - 1):
        if secrets.constant_time_equal(code, totp.generate_otp(step)):
            return step
    return None


def _spend_step(uow: UnitOfWork, user_id: uuid.UUID, step: int) -> bool:
    """Mark `step` used for the user, only if it is later than the last one used: one conditional UPDATE (a
    concurrent login with the same code waits on the row and then finds the step spent)."""
    result = uow.session.execute(
        sa.update(UserRow)
        .where(UserRow.id == user_id)
        .where(sa.or_(UserRow.totp_last_step.is_(None), UserRow.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]


@use_case
def record_failed_login(uow: UnitOfWork, *, email: str, settings: Settings) -> None:
    """Count a failed login atomically; the tenth in a row locks the account for a while."""
    now = uow.now()
    uow.session.execute(
        sa.update(UserRow).where(UserRow.email == email).values(failed_logins=UserRow.failed_logins + 1)
    )
    uow.session.execute(
        sa.update(UserRow)
        .where(UserRow.email == email, UserRow.failed_logins >= settings.lockout_threshold)
        .values(locked_until=now + timedelta(minutes=settings.lockout_minutes), failed_logins=0)
    )
    row = uow.session.scalar(sa.select(UserRow).where(UserRow.email == email))
    if row is not None:
        uow.audit(
            "user.login_failed",
            object_type="user",
            object_id=str(row.id),
            after={"locked": row.locked_until is not None and row.locked_until > now},
        )


@use_case
def login(
    uow: UnitOfWork, *, email: str, password: str, totp_code: str | None, settings: Settings
) -> NewSession:
    """Check credentials (and TOTP where enabled) and open a console session.

    Raises:
        AccountLocked: too many failed attempts; try later or ask an admin.
        NotAuthenticated: wrong e-mail, password or code (one message for all, so nothing leaks).
    """
    now = uow.now()
    email = email.strip().lower()
    row = uow.session.scalar(sa.select(UserRow).where(UserRow.email == email))
    if row is not None and row.locked_until is not None and row.locked_until > now:
        raise AccountLocked("this account is locked after too many failed logins; try later or ask an admin")
    password_ok = secrets.verify_password(row.password_hash if row else None, password)
    if row is None or not password_ok or not row.active:
        raise NotAuthenticated("wrong e-mail or password")
    if row.totp_enabled:
        if not totp_code:
            raise NotAuthenticated("this account needs a one-time code", totp_required=True)
        seed = secrets.unseal(settings.secret_key.get_secret_value(), "totp", row.totp_secret or "")
        step = _matching_step(seed, totp_code, now)
        if step is None or not _spend_step(uow, row.id, step):
            raise NotAuthenticated("wrong one-time code", totp_required=True)
    elif row.role == "admin" and settings.is_production:
        raise Forbidden("administrators must enrol a TOTP second factor first: `ordersmith users totp EMAIL`")
    row.failed_logins = 0
    row.locked_until = None
    row.last_login_at = now
    token = secrets.new_token("oss_")
    csrf = secrets.new_token(nbytes=24)
    expires_at = now + timedelta(minutes=settings.session_idle_minutes)
    uow.session.add(
        SessionRow(
            id=new_id(),
            token_hash=secrets.token_hash(token),
            user_id=row.id,
            csrf_token=csrf,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
            origin=uow.actor.origin,
        )
    )
    uow.audit("user.logged_in", object_type="user", object_id=str(row.id))
    return NewSession(token=token, csrf_token=csrf, user=_user(row), expires_at=expires_at)


def sign_in(
    uow: UnitOfWork, *, email: str, password: str, totp_code: str | None, settings: Settings
) -> NewSession:
    """Log in; a failure is counted (in its own transaction) towards the lockout before it is raised."""
    try:
        return login(uow, email=email, password=password, totp_code=totp_code, settings=settings)
    except NotAuthenticated:
        record_failed_login(uow, email=email.strip().lower(), settings=settings)
        raise


@use_case(readonly=True)
def _find_session(uow: UnitOfWork, *, token: str) -> tuple[SessionRow, UserRow] | None:
    found = uow.session.execute(
        sa.select(SessionRow, UserRow)
        .join(UserRow, UserRow.id == SessionRow.user_id)
        .where(SessionRow.token_hash == secrets.token_hash(token))
    ).first()
    return None if found is None else (found[0], found[1])


@use_case
def _slide_session(uow: UnitOfWork, *, session_id: uuid.UUID, expires_at: datetime) -> None:
    uow.session.execute(
        sa.update(SessionRow)
        .where(SessionRow.id == session_id)
        .values(last_seen_at=uow.now(), expires_at=expires_at)
    )


def resolve_session(uow: UnitOfWork, *, token: str, settings: Settings) -> Principal | None:
    """The principal behind a session cookie, sliding its idle expiry; None when unknown or expired.

    A read per request; the expiry is moved forward (a write) at most every 30 seconds.
    """
    now = uow.now()
    found = _find_session(uow, token=token)
    if found is None:
        return None
    session_row, user_row = found
    if session_row.expires_at <= now or not user_row.active:
        logout(uow, session_id=session_row.id)
        return None
    if (now - session_row.last_seen_at).total_seconds() > 30:
        _slide_session(
            uow, session_id=session_row.id, expires_at=now + timedelta(minutes=settings.session_idle_minutes)
        )
    return Principal(
        kind="user",
        id=user_row.id,
        label=user_row.email,
        role=user_row.role,
        scopes=ROLE_SCOPES[user_row.role],
        session_id=session_row.id,
        csrf_token=session_row.csrf_token,
    )


@use_case
def logout(uow: UnitOfWork, *, session_id: uuid.UUID) -> None:
    uow.session.execute(sa.delete(SessionRow).where(SessionRow.id == session_id))


@use_case
def purge_expired_sessions(uow: UnitOfWork) -> int:
    result = uow.session.execute(sa.delete(SessionRow).where(SessionRow.expires_at <= uow.now()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    uri: str


@use_case
def start_totp_enrolment(uow: UnitOfWork, *, user_id: uuid.UUID, settings: Settings) -> TotpEnrolment:
    """Give the user a fresh TOTP seed; it takes effect once a code from it is confirmed."""
    row = _get_user_row(uow, user_id)
    seed = pyotp.random_base32()
    row.totp_secret = secrets.seal(settings.secret_key.get_secret_value(), "totp", seed)
    row.totp_enabled = False
    uow.audit("user.totp_enrolment_started", object_type="user", object_id=str(row.id))
    return TotpEnrolment(
        secret=seed, uri=pyotp.TOTP(seed).provisioning_uri(name=row.email, issuer_name="Ordersmith")
    )


@use_case
def confirm_totp(uow: UnitOfWork, *, user_id: uuid.UUID, code: str, settings: Settings) -> User:
    row = _get_user_row(uow, user_id)
    if not row.totp_secret:
        raise ValidationFailed.on("code", "start TOTP enrolment first")
    seed = secrets.unseal(settings.secret_key.get_secret_value(), "totp", row.totp_secret)
    step = _matching_step(seed, code, uow.now())
    if step is None:
        raise ValidationFailed.on("code", "the code does not match; check the device clock")
    row.totp_enabled = True
    row.totp_last_step = step  # the confirming code is spent: it cannot sign in afterwards
    row.version += 1
    uow.audit("user.totp_enabled", object_type="user", object_id=str(row.id))
    return _user(row)

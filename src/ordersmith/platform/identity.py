"""Users, console sessions and API keys: who may call Ordersmith, and how a request proves it.

Invariants: passwords are stored only as Argon2 hashes; session tokens and API keys only as SHA-256 hashes, the
clear value shown once; ten failed logins lock an account; an admin must use TOTP in production.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyotp
import sqlalchemy as sa

from ordersmith.kernel.errors import (
    AccountLocked,
    AlreadyExists,
    Forbidden,
    NotAuthenticated,
    NotFound,
    ValidationFailed,
)
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.pagination import Page, check_limit, decode_cursor, encode_cursor
from ordersmith.platform import secrets
from ordersmith.platform.access import ROLE_SCOPES, Principal, check_role, check_scopes
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.settings import Settings
from ordersmith.platform.tables import ApiKeyRow, SalesChannelRow, SessionRow, UserRow

API_KEY_PREFIX = "osk_"
MIN_PASSWORD_LENGTH = 10


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    email: str
    name: str
    role: str
    active: bool
    totp_enabled: bool
    locked_until: datetime | None
    created_at: datetime
    last_login_at: datetime | None


@dataclass(frozen=True)
class ApiKey:
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    channel_id: uuid.UUID | None
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class NewApiKey:
    key: ApiKey
    secret: str  # the clear key, shown once


@dataclass(frozen=True)
class NewSession:
    token: str
    csrf_token: str
    user: User
    expires_at: datetime


def _user(row: UserRow) -> User:
    return User(
        id=row.id,
        email=row.email,
        name=row.name,
        role=row.role,
        active=row.active,
        totp_enabled=row.totp_enabled,
        locked_until=row.locked_until,
        created_at=row.created_at,
        last_login_at=row.last_login_at,
    )


def _api_key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        scopes=list(row.scopes),
        channel_id=row.channel_id,
        created_by=row.created_by,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def normalise_email(email: str) -> str:
    value = email.strip().lower()
    local, _, domain = value.partition("@")
    if not local or "." not in domain or " " in value or len(value) > 320:
        raise ValidationFailed.on("email", "not a valid e-mail address")
    return value


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed.on("password", f"must be at least {MIN_PASSWORD_LENGTH} characters")


def _user_snapshot(row: UserRow) -> dict[str, Any]:
    return {
        "email": row.email,
        "name": row.name,
        "role": row.role,
        "active": row.active,
        "totp_enabled": row.totp_enabled,
    }


# --- users -----------------------------------------------------------------------------------------------


@use_case
def create_user(uow: UnitOfWork, *, email: str, name: str, role: str, password: str) -> User:
    """Create a console user with an Argon2-hashed password.

    Raises:
        ValidationFailed: bad e-mail, role or a short password.
        AlreadyExists: the e-mail is taken.
    """
    email = normalise_email(email)
    try:
        check_role(role)
    except ValueError as exc:
        raise ValidationFailed.on("role", str(exc)) from exc
    _check_password(password)
    if uow.session.scalar(sa.select(UserRow.id).where(UserRow.email == email)) is not None:
        raise AlreadyExists(f"a user with e-mail {email} exists", errors=[])
    row = UserRow(
        id=new_id(),
        email=email,
        name=name.strip() or email,
        role=role,
        password_hash=secrets.hash_password(password),
        active=True,
        failed_logins=0,
        created_at=uow.now(),
        totp_enabled=False,
        version=1,
    )
    uow.session.add(row)
    uow.flush_unique(f"a user with e-mail {email} exists")
    uow.audit("user.created", object_type="user", object_id=str(row.id), after=_user_snapshot(row))
    uow.emit("user.created", {"user_id": str(row.id), "email": email, "role": role})
    return _user(row)


@use_case(readonly=True)
def get_user(uow: UnitOfWork, *, user_id: uuid.UUID) -> User:
    row = uow.session.get(UserRow, user_id)
    if row is None:
        raise NotFound("no such user")
    return _user(row)


@use_case(readonly=True)
def find_user_by_email(uow: UnitOfWork, *, email: str) -> User | None:
    row = uow.session.scalar(sa.select(UserRow).where(UserRow.email == email.strip().lower()))
    return _user(row) if row else None


@use_case(readonly=True)
def list_users(uow: UnitOfWork, *, limit: int = 50, cursor: str | None = None) -> Page[User]:
    check_limit(limit)
    query = sa.select(UserRow).order_by(UserRow.email, UserRow.id).limit(limit + 1)
    if cursor:
        email, user_id = decode_cursor(cursor, 2)
        query = query.where(sa.tuple_(UserRow.email, UserRow.id) > (email, uuid.UUID(user_id)))
    rows = list(uow.session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page([_user(r) for r in rows], encode_cursor(rows[-1].email, str(rows[-1].id)) if more else None)


def _get_user_row(uow: UnitOfWork, user_id: uuid.UUID) -> UserRow:
    row = uow.session.get(UserRow, user_id)
    if row is None:
        raise NotFound("no such user")
    return row


@use_case
def update_user(
    uow: UnitOfWork,
    *,
    user_id: uuid.UUID,
    role: str | None = None,
    name: str | None = None,
    active: bool | None = None,
    unlock: bool = False,
) -> User:
    """Change a user's role, name or active flag, or lift a lockout."""
    row = _get_user_row(uow, user_id)
    before = _user_snapshot(row)
    if role is not None:
        try:
            row.role = check_role(role)
        except ValueError as exc:
            raise ValidationFailed.on("role", str(exc)) from exc
    if name is not None:
        row.name = name.strip() or row.name
    if active is not None:
        row.active = active
        if not active:
            uow.session.execute(sa.delete(SessionRow).where(SessionRow.user_id == row.id))
    if unlock:
        row.failed_logins = 0
        row.locked_until = None
    row.version += 1
    uow.audit(
        "user.updated", object_type="user", object_id=str(row.id), before=before, after=_user_snapshot(row)
    )
    return _user(row)


@use_case
def reset_password(uow: UnitOfWork, *, email: str, password: str) -> User:
    """Set a new password, lift any lockout and end the user's sessions."""
    _check_password(password)
    row = uow.session.scalar(sa.select(UserRow).where(UserRow.email == normalise_email(email)))
    if row is None:
        raise NotFound(f"no user with e-mail {email}")
    row.password_hash = secrets.hash_password(password)
    row.failed_logins = 0
    row.locked_until = None
    row.version += 1
    uow.session.execute(sa.delete(SessionRow).where(SessionRow.user_id == row.id))
    uow.audit("user.password_reset", object_type="user", object_id=str(row.id))
    return _user(row)


# --- login, sessions, TOTP --------------------------------------------------------------------------------


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
        if not pyotp.TOTP(seed).verify(totp_code.strip(), for_time=now, valid_window=1):
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
    if not pyotp.TOTP(seed).verify(code.strip(), for_time=uow.now(), valid_window=1):
        raise ValidationFailed.on("code", "the code does not match; check the device clock")
    row.totp_enabled = True
    row.version += 1
    uow.audit("user.totp_enabled", object_type="user", object_id=str(row.id))
    return _user(row)


# --- API keys ---------------------------------------------------------------------------------------------


@use_case
def create_api_key(
    uow: UnitOfWork, *, name: str, scopes: list[str], channel_code: str | None = None
) -> NewApiKey:
    """Create an API key; the clear key is returned once and only its hash is kept.

    Raises:
        ValidationFailed: unknown scope, empty name, or unknown channel.
    """
    if not name.strip():
        raise ValidationFailed.on("name", "must not be empty")
    try:
        scopes = check_scopes(scopes)
    except ValueError as exc:
        raise ValidationFailed.on("scopes", str(exc)) from exc
    channel_id = None
    if channel_code:
        channel_id = uow.session.scalar(
            sa.select(SalesChannelRow.id).where(SalesChannelRow.code == channel_code)
        )
        if channel_id is None:
            raise ValidationFailed.on("channel", f"no sales channel {channel_code!r}")
    clear = secrets.new_token(API_KEY_PREFIX)
    row = ApiKeyRow(
        id=new_id(),
        name=name.strip(),
        prefix=clear[:12],
        key_hash=secrets.token_hash(clear),
        scopes=scopes,
        channel_id=channel_id,
        created_by=uow.actor.label,
        created_at=uow.now(),
    )
    uow.session.add(row)
    uow.session.flush()
    uow.audit(
        "api_key.created",
        object_type="api_key",
        object_id=str(row.id),
        after={"name": row.name, "scopes": scopes, "channel_id": str(channel_id) if channel_id else None},
    )
    return NewApiKey(key=_api_key(row), secret=clear)


@use_case
def revoke_api_key(uow: UnitOfWork, *, key_id: uuid.UUID) -> ApiKey:
    row = uow.session.get(ApiKeyRow, key_id)
    if row is None:
        raise NotFound("no such API key")
    api_key_cache.forget(row.id)
    if row.revoked_at is None:
        row.revoked_at = uow.now()
        uow.audit("api_key.revoked", object_type="api_key", object_id=str(row.id))
    return _api_key(row)


@use_case(readonly=True)
def find_api_key_by_prefix(uow: UnitOfWork, *, prefix: str) -> ApiKey | None:
    row = uow.session.scalar(sa.select(ApiKeyRow).where(ApiKeyRow.prefix == prefix))
    return _api_key(row) if row else None


@use_case(readonly=True)
def list_api_keys(uow: UnitOfWork, *, limit: int = 50, cursor: str | None = None) -> Page[ApiKey]:
    check_limit(limit)
    query = sa.select(ApiKeyRow).order_by(ApiKeyRow.id).limit(limit + 1)
    if cursor:
        (last,) = decode_cursor(cursor, 1)
        query = query.where(ApiKeyRow.id > uuid.UUID(last))
    rows = list(uow.session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page([_api_key(r) for r in rows], encode_cursor(str(rows[-1].id)) if more else None)


class ApiKeyCache:
    """Recently resolved API keys, kept for a few seconds so a busy integration does not cost a read per call.

    Revoking through this process drops the key at once; a revocation made by another process (the CLI, another
    API server) takes effect here within `ttl_s`.
    """

    def __init__(self, ttl_s: float, max_entries: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    def get(self, clear: str) -> Principal | None:
        if self.ttl_s <= 0:
            return None
        digest = secrets.token_hash(clear)
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            if entry[1] < time.monotonic():
                del self._entries[digest]
                return None
            return entry[0]

    def put(self, clear: str, principal: Principal) -> None:
        if self.ttl_s <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[secrets.token_hash(clear)] = (principal, time.monotonic() + self.ttl_s)

    def forget(self, key_id: uuid.UUID) -> None:
        with self._lock:
            for digest in [d for d, (p, _) in self._entries.items() if p.id == key_id]:
                del self._entries[digest]


api_key_cache = ApiKeyCache(ttl_s=5.0)


@use_case(readonly=True)
def resolve_api_key(uow: UnitOfWork, *, clear: str) -> tuple[Principal, bool] | None:
    """The principal behind `Authorization: Bearer osk_…` and whether its last-used time is stale.

    None when the key is unknown or revoked.
    """
    row = uow.session.scalar(sa.select(ApiKeyRow).where(ApiKeyRow.key_hash == secrets.token_hash(clear)))
    if row is None or row.revoked_at is not None:
        return None
    principal = Principal(
        kind="api_key",
        id=row.id,
        label=f"api-key:{row.name}",
        scopes=frozenset(row.scopes),
        channel_id=row.channel_id,
    )
    stale = row.last_used_at is None or row.last_used_at < uow.now() - timedelta(minutes=1)
    return principal, stale


@use_case
def touch_api_key(uow: UnitOfWork, *, key_id: uuid.UUID) -> None:
    """Record last use at most once a minute, so a busy integration does not write on every call."""
    now = uow.now()
    uow.session.execute(
        sa.update(ApiKeyRow)
        .where(ApiKeyRow.id == key_id)
        .where(sa.or_(ApiKeyRow.last_used_at.is_(None), ApiKeyRow.last_used_at < now - timedelta(minutes=1)))
        .values(last_used_at=now)
    )

"""Console users: roles, Argon2 passwords, activation, unlocking and resets."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ordersmith.kernel.errors import AlreadyExists, NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.pagination import Page
from ordersmith.platform import secrets
from ordersmith.platform.access import check_role
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page
from ordersmith.platform.tables import SessionRow, UserRow

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
    return keyset_page(
        uow, sa.select(UserRow), keys=[UserRow.email, UserRow.id], to_item=_user, cursor=cursor, limit=limit
    )


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

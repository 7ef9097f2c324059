"""Chart of accounts and mapping rules: seeded with a US retailer's default, edited by the accountant.

Invariant: an account that has postings is never deleted (there is no delete; it can be deactivated), and every
mapping rule names an existing account.
"""

from __future__ import annotations

from typing import cast

import sqlalchemy as sa

from ordersmith.finance import rules
from ordersmith.finance.service._common import Account, Mapping, insert_ignoring_duplicates
from ordersmith.finance.tables import AccountMappingRow, AccountRow
from ordersmith.kernel.errors import AlreadyExists, NotFound, PreconditionFailed, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.platform.db import UnitOfWork, use_case

_ACCOUNTS = cast(sa.Table, AccountRow.__table__)
_MAPPINGS = cast(sa.Table, AccountMappingRow.__table__)


def _account(row: AccountRow) -> Account:
    return Account(
        id=row.id, code=row.code, name=row.name, type=row.type, active=row.active, version=row.version
    )


@use_case
def ensure_chart(uow: UnitOfWork) -> int:
    """Restore the default accounts and mapping rules where missing (the migrations write them; existing ones are
    left as they are). An explicit write: `ordersmith finance chart`, never a read.

    Returns:
        How many accounts were added.
    """
    now = uow.now()
    have = set(uow.execute_core(sa.select(_ACCOUNTS.c.code)).scalars())
    new = [
        {
            "id": new_id(),
            "code": code,
            "name": name,
            "type": kind,
            "active": True,
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        for code, name, kind in rules.DEFAULT_CHART
        if code not in have
    ]
    if new:
        uow.execute_core(
            insert_ignoring_duplicates(uow, _ACCOUNTS).on_conflict_do_nothing(index_elements=["code"]), new
        )
    uow.execute_core(
        insert_ignoring_duplicates(uow, _MAPPINGS).on_conflict_do_nothing(index_elements=["kind", "key"]),
        [
            {"kind": k, "key": key, "account_code": code, "updated_at": now}
            for k, key, code in rules.DEFAULT_MAPPINGS
        ],
    )
    if new:
        uow.audit("finance.chart_seeded", object_type="chart", object_id="default", after={"added": len(new)})
    return len(new)


@use_case(readonly=True)
def list_accounts(uow: UnitOfWork, *, include_inactive: bool = True) -> list[Account]:
    """Every account of the chart, by code."""
    query = sa.select(AccountRow).order_by(AccountRow.code)
    if not include_inactive:
        query = query.where(AccountRow.active.is_(True))
    return [_account(r) for r in uow.session.scalars(query)]


def _row(uow: UnitOfWork, code: str) -> AccountRow:
    row = uow.session.scalar(sa.select(AccountRow).where(AccountRow.code == code))
    if row is None:
        raise NotFound(f"no account {code}")
    return row


@use_case(readonly=True)
def get_account(uow: UnitOfWork, *, code: str) -> Account:
    return _account(_row(uow, code))


@use_case
def create_account(uow: UnitOfWork, *, code: str, name: str, type: str) -> Account:
    """Add an account to the chart.

    Raises:
        ValidationFailed: an empty code or name, or a type outside asset/liability/equity/revenue/expense.
        AlreadyExists: the code is taken.
    """
    code, name = code.strip(), name.strip()
    if not code:
        raise ValidationFailed.on("code", "must not be empty")
    if not name:
        raise ValidationFailed.on("name", "must not be empty")
    if type not in rules.ACCOUNT_TYPES:
        raise ValidationFailed.on("type", f"must be one of {', '.join(rules.ACCOUNT_TYPES)}")
    if uow.session.scalar(sa.select(AccountRow.id).where(AccountRow.code == code)) is not None:
        raise AlreadyExists(f"account {code} exists", errors=[])
    now = uow.now()
    row = AccountRow(
        id=new_id(), code=code, name=name, type=type, active=True, created_at=now, updated_at=now, version=1
    )
    uow.session.add(row)
    uow.flush_unique(f"account {code} exists")
    uow.audit(
        "finance.account_created", object_type="account", object_id=code, after={"name": name, "type": type}
    )
    return _account(row)


@use_case
def update_account(
    uow: UnitOfWork,
    *,
    code: str,
    name: str | None = None,
    active: bool | None = None,
    version: int | None = None,
) -> Account:
    """Rename an account or (de)activate it. An inactive account takes no manual postings; it keeps its history.

    Raises:
        NotFound: no such account.
        PreconditionFailed: `version` given and not the account's current one.
        ValidationFailed: an empty name; deactivating an account a mapping rule still names.
    """
    row = _row(uow, code)
    if version is not None and version != row.version:
        raise PreconditionFailed(f"account {code} is at version {row.version}", version=row.version)
    before = {"name": row.name, "active": row.active}
    if name is not None:
        if not name.strip():
            raise ValidationFailed.on("name", "must not be empty")
        row.name = name.strip()
    if active is False and row.active:
        mapped = uow.session.scalar(
            sa.select(sa.func.count()).select_from(_MAPPINGS).where(_MAPPINGS.c.account_code == code)
        )
        if mapped:
            raise ValidationFailed.on(
                "active", f"{mapped} mapping rule(s) post to {code}: map them elsewhere first"
            )
    if active is not None:
        row.active = active
    row.version += 1
    row.updated_at = uow.now()
    uow.audit(
        "finance.account_updated",
        object_type="account",
        object_id=code,
        before=before,
        after={"name": row.name, "active": row.active},
    )
    return _account(row)


@use_case(readonly=True)
def list_mappings(uow: UnitOfWork) -> list[Mapping]:
    rows = uow.execute_core(sa.select(_MAPPINGS).order_by(_MAPPINGS.c.kind, _MAPPINGS.c.key)).all()
    return [Mapping(kind=r.kind, key=r.key, account_code=r.account_code) for r in rows]


@use_case
def set_mapping(uow: UnitOfWork, *, kind: str, key: str, account_code: str) -> Mapping:
    """Point a mapping rule (tender method, revenue division/channel, tax jurisdiction, or a fixed role) at an
    account; `*` is the fallback of its kind.

    Raises:
        ValidationFailed: an unknown kind, an empty key, or an unknown or inactive account (naming the field).
    """
    if kind not in rules.MAPPING_KINDS:
        raise ValidationFailed.on("kind", f"must be one of {', '.join(rules.MAPPING_KINDS)}")
    if not key.strip():
        raise ValidationFailed.on("key", "must not be empty")
    account = uow.session.scalar(sa.select(AccountRow).where(AccountRow.code == account_code))
    if account is None or not account.active:
        raise ValidationFailed.on("account_code", f"no active account {account_code}")
    now = uow.now()
    existing = uow.session.get(AccountMappingRow, (kind, key.strip()))
    before = {"account_code": existing.account_code} if existing else None
    if existing:
        existing.account_code, existing.updated_at = account_code, now
    else:
        uow.session.add(
            AccountMappingRow(kind=kind, key=key.strip(), account_code=account_code, updated_at=now)
        )
    uow.audit(
        "finance.mapping_set",
        object_type="account_mapping",
        object_id=f"{kind}:{key}",
        before=before,
        after={"account_code": account_code},
    )
    return Mapping(kind=kind, key=key.strip(), account_code=account_code)

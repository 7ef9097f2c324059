"""What the finance use cases share: the mapping rules as a dict, the upsert flavour of the dialect, and the
dataclasses they return."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ordersmith.finance.tables import AccountMappingRow
from ordersmith.kernel.money import Money
from ordersmith.platform.db import UnitOfWork


@dataclass(frozen=True)
class Account:
    id: uuid.UUID
    code: str
    name: str
    type: str
    active: bool
    version: int


@dataclass(frozen=True)
class Mapping:
    kind: str
    key: str
    account_code: str


@dataclass(frozen=True)
class JournalLine:
    line_no: int
    account_code: str
    debit: Money
    credit: Money
    memo: str
    division: str = ""  # the line's dimensions (ADR 0039): "" for none
    channel: str = ""


@dataclass(frozen=True)
class JournalEntry:
    id: uuid.UUID
    posted_on: date
    period: str
    currency: str
    rule: str
    source_event_id: uuid.UUID | None
    source_type: str
    reference: str
    memo: str
    note: str
    reverses_id: uuid.UUID | None
    created_by: str
    created_at: datetime
    lines: list[JournalLine]


@dataclass(frozen=True)
class Period:
    code: str
    starts_on: date
    ends_on: date
    status: str
    closed_by: str | None
    closed_at: datetime | None


@dataclass(frozen=True)
class TrialBalanceRow:
    account_code: str
    name: str
    type: str
    currency: str
    debit: Money
    credit: Money
    balance: Money  # debit minus credit


@dataclass(frozen=True)
class TrialBalance:
    period: str
    rows: list[TrialBalanceRow]
    balanced: bool
    division: str = ""  # the filter (ADR 0039): only lines of this division / channel, "" for every line
    channel: str = ""


def insert_ignoring_duplicates(uow: UnitOfWork, table: Any) -> Any:
    return (postgresql_insert if uow.dialect == "postgresql" else sqlite_insert)(table)


def mappings(uow: UnitOfWork) -> dict[tuple[str, str], str]:
    table = AccountMappingRow.__table__
    rows = uow.execute_core(sa.select(table.c.kind, table.c.key, table.c.account_code)).all()
    return {(r.kind, r.key): r.account_code for r in rows}

"""Finance tables: the chart of accounts, mapping rules, accounting periods, the journal and item costs.

Invariant: a journal entry and its lines are immutable and balanced. The lines of an entry are written first and
its header last; the database (triggers, ADR 0024) refuses a header whose lines do not balance or do not number
`line_count`, a line added to a posted entry, and any UPDATE or DELETE of either table. `(source_event_id, rule)`
is unique, so an event posts exactly once.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ordersmith.platform.db import Base


class AccountRow(Base):
    __tablename__ = "finance_accounts"
    __table_args__ = (
        sa.CheckConstraint(
            "type IN ('asset', 'liability', 'equity', 'revenue', 'expense')", name="ck_finance_account_type"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    type: Mapped[str] = mapped_column(sa.String(10))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)


class AccountMappingRow(Base):
    __tablename__ = "finance_account_mappings"

    kind: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    account_code: Mapped[str] = mapped_column(
        sa.String(20), sa.ForeignKey("finance_accounts.code", name="fk_finance_mapping_account")
    )
    updated_at: Mapped[datetime]


class PeriodRow(Base):
    __tablename__ = "finance_periods"
    __table_args__ = (sa.CheckConstraint("status IN ('open', 'closed')", name="ck_finance_period_status"),)

    code: Mapped[str] = mapped_column(sa.String(7), primary_key=True)  # YYYY-MM
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    status: Mapped[str] = mapped_column(sa.String(6))
    closed_by: Mapped[str | None] = mapped_column(sa.String(320))
    closed_at: Mapped[datetime | None]


class JournalEntryRow(Base):
    __tablename__ = "journal_entries"
    __table_args__ = (
        sa.UniqueConstraint("source_event_id", "rule", name="uq_journal_entries_source"),
        sa.CheckConstraint("line_count >= 2", name="ck_journal_entry_lines"),
        sa.Index("ix_journal_entries_period", "period", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    posted_on: Mapped[date]
    period: Mapped[str] = mapped_column(sa.String(7))
    currency: Mapped[str] = mapped_column(sa.String(3))
    rule: Mapped[str] = mapped_column(sa.String(40))  # the posting rule, or "manual" / "reversal"
    source_event_id: Mapped[uuid.UUID | None]
    source_type: Mapped[str] = mapped_column(sa.String(60), default="")
    reference: Mapped[str] = mapped_column(sa.String(80), default="")
    memo: Mapped[str] = mapped_column(sa.String(500), default="")
    note: Mapped[str] = mapped_column(sa.String(500), default="")  # e.g. moved out of a closed period
    reverses_id: Mapped[uuid.UUID | None] = mapped_column(unique=True)
    line_count: Mapped[int]
    created_by: Mapped[str] = mapped_column(sa.String(320))
    created_at: Mapped[datetime]


class JournalLineRow(Base):
    __tablename__ = "journal_lines"
    __table_args__ = (
        sa.CheckConstraint(
            "(debit_minor > 0 AND credit_minor = 0) OR (credit_minor > 0 AND debit_minor = 0)",
            name="ck_journal_line_one_side",
        ),
        sa.Index("ix_journal_lines_account", "account_code", "entry_id"),
    )

    # No foreign key to the entry: its lines are written before it (see the module docstring and ADR 0024).
    entry_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    line_no: Mapped[int] = mapped_column(primary_key=True)
    account_code: Mapped[str] = mapped_column(
        sa.String(20), sa.ForeignKey("finance_accounts.code", name="fk_journal_line_account")
    )
    debit_minor: Mapped[int] = mapped_column(sa.BigInteger)
    credit_minor: Mapped[int] = mapped_column(sa.BigInteger)
    memo: Mapped[str] = mapped_column(sa.String(200), default="")


class ItemCostRow(Base):
    __tablename__ = "finance_item_costs"
    __table_args__ = (sa.CheckConstraint("average_cost_minor >= 0", name="ck_finance_item_cost"),)

    sku: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    currency: Mapped[str] = mapped_column(sa.String(3))
    average_cost_minor: Mapped[int] = mapped_column(sa.BigInteger)
    units: Mapped[int] = mapped_column(sa.BigInteger)  # units costed in (received minus issued at cost)
    updated_at: Mapped[datetime]


class PeriodBalanceRow(Base):
    """Σ debits and Σ credits per period, account and currency: written in the same transaction as each entry, so
    the statements and the trial balance read one row per account and period instead of every line."""

    __tablename__ = "finance_period_balances"

    period: Mapped[str] = mapped_column(sa.String(7), primary_key=True)
    account_code: Mapped[str] = mapped_column(
        sa.String(20),
        sa.ForeignKey("finance_accounts.code", name="fk_finance_period_balance_account"),
        primary_key=True,
    )
    currency: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    debit_minor: Mapped[int] = mapped_column(sa.BigInteger)
    credit_minor: Mapped[int] = mapped_column(sa.BigInteger)


class AccountingExportRow(Base):
    """One export of journal entries to an accounting package: the file of the entries it claimed."""

    __tablename__ = "accounting_exports"
    __table_args__ = (sa.Index("ix_accounting_exports_created", "created_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)  # 1, 2, … in the order exports were made
    format: Mapped[str] = mapped_column(sa.String(20))
    target: Mapped[str] = mapped_column(sa.String(20))  # the package: entries go to each package once
    period: Mapped[str] = mapped_column(sa.String(7))
    currency: Mapped[str] = mapped_column(sa.String(3), default="")  # "" = every currency
    summary: Mapped[bool]
    options: Mapped[dict[str, str]] = mapped_column(sa.JSON)  # format options (tax rate, batch, first number)
    entries: Mapped[int]
    lines: Mapped[int]
    debit_minor: Mapped[int] = mapped_column(
        sa.BigInteger
    )  # Σ debits of the claimed entries (all currencies)
    created_by: Mapped[str] = mapped_column(sa.String(320))
    created_at: Mapped[datetime]
    # API exports (`qbo`, `bc`): entries the package took and entries it refused, kept with each item's result.
    pushed: Mapped[int] = mapped_column(default=0, server_default="0")
    failed: Mapped[int] = mapped_column(default=0, server_default="0")
    # Whoever pushes the export holds it until then (a conditional UPDATE takes it): one push of it at a time.
    push_lease_until: Mapped[datetime | None]


class AccountingExportItemRow(Base):
    """A journal entry claimed by an export: `(target, entry_id)` is unique, so an entry reaches each accounting
    package in one export only."""

    __tablename__ = "accounting_export_items"
    __table_args__ = (sa.Index("ix_accounting_export_items_export", "export_id", "entry_id"),)

    target: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    entry_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    export_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("accounting_exports.id", name="fk_accounting_export_items_export")
    )
    # API exports: the package's id for the entry once it took it, when, and why it last refused it.
    remote_id: Mapped[str | None] = mapped_column(sa.String(64))
    pushed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    # QuickBooks Online: bumped when Intuit refuses the entry, so a corrected retry gets a new requestid (Intuit
    # answers a repeated requestid with its first answer, refusal included).
    attempt: Mapped[int] = mapped_column(default=0, server_default="0")


class LedgerTokenRow(Base):
    """The latest OAuth refresh token of an accounting package that rotates them (QuickBooks Online), sealed."""

    __tablename__ = "ledger_tokens"

    target: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    sealed: Mapped[str] = mapped_column(sa.String(2000))
    updated_at: Mapped[datetime]

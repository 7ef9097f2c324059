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
    # The line's dimensions (ADR 0039): the division and sales channel of the order whose event posted it, or a
    # manual entry's; "" for none.
    division: Mapped[str] = mapped_column(sa.String(40), default="", server_default="")
    channel: Mapped[str] = mapped_column(sa.String(40), default="", server_default="")


class ItemCostRow(Base):
    """An item's costing: the units costed in and their value at cost, for all locations together (the inventory
    subledger: Σ `value_minor` equals the inventory account, ADR 0041). With `by_location`, the item keeps one
    average per location (`finance_location_costs`) and this row holds their sums."""

    __tablename__ = "finance_item_costs"
    __table_args__ = (sa.CheckConstraint("average_cost_minor >= 0", name="ck_finance_item_cost"),)

    sku: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    currency: Mapped[str] = mapped_column(sa.String(3))
    average_cost_minor: Mapped[int] = mapped_column(sa.BigInteger)
    units: Mapped[int] = mapped_column(sa.BigInteger)  # units costed in (received minus issued at cost)
    updated_at: Mapped[datetime]
    # issue 18, landed cost and per-location cost (ADR 0041)
    value_minor: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    by_location: Mapped[bool] = mapped_column(default=False, server_default=sa.false())


class LocationCostRow(Base):
    """The moving-average cost of an item at one location, for items costed per location (ADR 0041)."""

    __tablename__ = "finance_location_costs"
    __table_args__ = (sa.CheckConstraint("average_cost_minor >= 0", name="ck_finance_location_cost"),)

    sku: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    location: Mapped[str] = mapped_column(sa.String(40), primary_key=True)  # the location's code
    currency: Mapped[str] = mapped_column(sa.String(3))
    average_cost_minor: Mapped[int] = mapped_column(sa.BigInteger)
    units: Mapped[int] = mapped_column(sa.BigInteger)
    value_minor: Mapped[int] = mapped_column(sa.BigInteger)
    updated_at: Mapped[datetime]


class CostingPolicyRow(Base):
    """Whether items are costed per location: `*` for every item (the migration writes it, per item off), or one
    SKU's own choice, which wins over `*`."""

    __tablename__ = "finance_costing_policies"

    sku: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # "*" or an item's SKU
    by_location: Mapped[bool]
    updated_by: Mapped[str] = mapped_column(sa.String(320))
    updated_at: Mapped[datetime]


class LandedCostRow(Base):
    """A landed-cost charge (freight, duty, brokerage, other) entered against PO receipts, allocated over their
    lines by value, weight or units when entered; posted once by `landed_cost.recorded`."""

    __tablename__ = "finance_landed_costs"
    __table_args__ = (
        sa.CheckConstraint("amount_minor > 0", name="ck_finance_landed_cost_amount"),
        sa.CheckConstraint(
            "kind IN ('freight', 'duty', 'brokerage', 'other')", name="ck_finance_landed_cost_kind"
        ),
        sa.CheckConstraint("basis IN ('value', 'weight', 'units')", name="ck_finance_landed_cost_basis"),
        sa.Index("ix_finance_landed_costs_created", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)  # LC-000001
    kind: Mapped[str] = mapped_column(sa.String(10))
    basis: Mapped[str] = mapped_column(sa.String(6))
    currency: Mapped[str] = mapped_column(sa.String(3))
    amount_minor: Mapped[int] = mapped_column(sa.BigInteger)
    reference: Mapped[str] = mapped_column(sa.String(80), default="")  # the carrier's or broker's invoice
    memo: Mapped[str] = mapped_column(sa.String(200), default="")
    event_id: Mapped[uuid.UUID]  # the `landed_cost.recorded` event: its journal entry's source
    created_by: Mapped[str] = mapped_column(sa.String(320))
    created_at: Mapped[datetime]


class LandedCostLineRow(Base):
    """A receipt line's share of a landed-cost charge; once posted, how much of it went to inventory and how much
    to cost of goods sold (units already sold), and the average cost it raised."""

    __tablename__ = "finance_landed_cost_lines"
    __table_args__ = (
        sa.CheckConstraint("allocated_minor >= 0", name="ck_finance_landed_cost_line"),
        sa.Index("ix_finance_landed_cost_lines_receipt", "receipt_id"),
        sa.Index("ix_finance_landed_cost_lines_po", "purchase_order", "charge_id"),
    )

    charge_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("finance_landed_costs.id", name="fk_finance_landed_cost_line_charge"), primary_key=True
    )
    line_no: Mapped[int] = mapped_column(primary_key=True)
    receipt_id: Mapped[uuid.UUID]
    purchase_order: Mapped[str] = mapped_column(sa.String(20))
    po_line: Mapped[int]
    sku: Mapped[str] = mapped_column(sa.String(64))
    location: Mapped[str] = mapped_column(sa.String(40))
    quantity: Mapped[int] = mapped_column(sa.BigInteger)
    basis_amount: Mapped[int] = mapped_column(sa.BigInteger)  # the line's value (minor), weight (g) or units
    allocated_minor: Mapped[int] = mapped_column(sa.BigInteger)
    inventory_minor: Mapped[int | None] = mapped_column(sa.BigInteger)  # set when posted
    cogs_minor: Mapped[int | None] = mapped_column(sa.BigInteger)
    average_before_minor: Mapped[int | None] = mapped_column(sa.BigInteger)
    average_after_minor: Mapped[int | None] = mapped_column(sa.BigInteger)


class CostTransferRow(Base):
    """A stock transfer as costing saw it: the value it moved between locations at the source's average (zero for
    an item costed per item). Its event id is the key, so a transfer moves cost once however often it arrives."""

    __tablename__ = "finance_cost_transfers"

    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(sa.String(64))
    from_location: Mapped[str] = mapped_column(sa.String(40))
    to_location: Mapped[str] = mapped_column(sa.String(40))
    units: Mapped[int] = mapped_column(sa.BigInteger)
    value_minor: Mapped[int] = mapped_column(sa.BigInteger)
    at: Mapped[datetime]


class LineCostRow(Base):
    """The cost of goods sold one event posted for one order line: units shipped at the moving-average cost the
    shipment was costed at (positive), or units of a received return taken back off COGS (negative). Written with
    the journal entry, in its transaction, so Σ `cost_minor` over an order's lines equals the COGS the ledger holds
    for them; results per key code read it (ADR 0038). Only units whose item had a cost are recorded: a line with
    shipped units and no row was not costed (a kit, an item never received on a PO, a drop-ship line)."""

    __tablename__ = "finance_line_costs"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('shipment', 'return')", name="ck_finance_line_costs_kind"),
        sa.CheckConstraint(
            "(kind = 'shipment' AND units > 0 AND cost_minor >= 0) "
            "OR (kind = 'return' AND units < 0 AND cost_minor <= 0)",
            name="ck_finance_line_costs_sign",
        ),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # the order's own key first (co-location)
    line_no: Mapped[int] = mapped_column(primary_key=True)
    source_event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # the shipment's or return's event
    kind: Mapped[str] = mapped_column(sa.String(10))  # shipment | return
    units: Mapped[int]  # shipped (> 0) or returned (< 0)
    unit_cost_minor: Mapped[int] = mapped_column(sa.BigInteger)  # the moving average it was costed at
    cost_minor: Mapped[int] = mapped_column(sa.BigInteger)  # units x unit cost: Dr (> 0) or Cr (< 0) COGS
    currency: Mapped[str] = mapped_column(sa.String(3))
    posted_on: Mapped[date]


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


class DimensionBalanceRow(Base):
    """Σ debits and Σ credits per period, account, currency, division and channel of the lines that carry a
    dimension (ADR 0039): written with each entry, like `finance_period_balances`, so the statements filtered by
    division or channel read one row per account, period and dimension. Lines without one are only in the
    period balances."""

    __tablename__ = "finance_dimension_balances"
    __table_args__ = (sa.Index("ix_finance_dimension_balances_channel", "channel", "period"),)

    period: Mapped[str] = mapped_column(sa.String(7), primary_key=True)
    account_code: Mapped[str] = mapped_column(
        sa.String(20),
        sa.ForeignKey("finance_accounts.code", name="fk_finance_dimension_balance_account"),
        primary_key=True,
    )
    currency: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    division: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    debit_minor: Mapped[int] = mapped_column(sa.BigInteger)
    credit_minor: Mapped[int] = mapped_column(sa.BigInteger)


class FiscalYearRow(Base):
    """A fiscal year (a calendar year) once someone closed it (ADR 0039). Closing posts the year-end closing entry
    (revenue and expenses into retained earnings, in the year's closing period `YYYY-13`) in the same transaction
    as the conditional change of `status` to closed, so a year is closed — and its entry posted — once; reopening
    reverses that entry."""

    __tablename__ = "finance_fiscal_years"
    __table_args__ = (
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_finance_fiscal_year_status"),
    )

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(sa.String(6))
    closings: Mapped[int] = mapped_column(
        default=0
    )  # how many times it was closed (each reopen reverses one)
    closed_by: Mapped[str | None] = mapped_column(sa.String(320))
    closed_at: Mapped[datetime | None]
    reopened_by: Mapped[str | None] = mapped_column(sa.String(320))
    reopened_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(sa.String(500), default="")  # why it was last reopened
    version: Mapped[int] = mapped_column(default=1)


class UnappliedCashRow(Base):
    """A customer's payment received but not (all) applied to an invoice: held as a credit on the customer's
    account (the ledger's unapplied-cash liability) and applied to invoices later. `applied_minor` moves only by a
    conditional UPDATE, never past `amount_minor` (ADR 0030)."""

    __tablename__ = "finance_unapplied_cash"
    __table_args__ = (
        sa.CheckConstraint(
            "amount_minor > 0 AND applied_minor >= 0 AND applied_minor <= amount_minor",
            name="ck_finance_unapplied_cash_applied",
        ),
        # A customer's credits still open: the statement and applying read only these.
        sa.Index(
            "ix_finance_unapplied_cash_open",
            "customer_id",
            "received_on",
            sqlite_where=sa.text("applied_minor < amount_minor"),
            postgresql_where=sa.text("applied_minor < amount_minor"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)  # U-000001
    customer_id: Mapped[uuid.UUID]
    customer_number: Mapped[str] = mapped_column(sa.String(20))
    currency: Mapped[str] = mapped_column(sa.String(3))
    amount_minor: Mapped[int] = mapped_column(sa.BigInteger)
    applied_minor: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    method: Mapped[str] = mapped_column(sa.String(20))
    reference: Mapped[str] = mapped_column(sa.String(100), default="")
    received_on: Mapped[date]
    created_by: Mapped[str] = mapped_column(sa.String(320))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)


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


# The other tables of the context, from their own modules (every table is importable from here).
from ordersmith.finance.tables.payables import (  # noqa: E402
    LedgerTokenRow,
    MatchExceptionRow,
    MatchToleranceRow,
    PoLineBillingRow,
    VendorBillLineRow,
    VendorBillRow,
    VendorPaymentAllocationRow,
    VendorPaymentRow,
)
from ordersmith.finance.tables.settlements import SettlementLineRow, SettlementRow  # noqa: E402

__all__ = [
    "AccountMappingRow",
    "AccountRow",
    "AccountingExportItemRow",
    "AccountingExportRow",
    "CostTransferRow",
    "CostingPolicyRow",
    "DimensionBalanceRow",
    "FiscalYearRow",
    "ItemCostRow",
    "JournalEntryRow",
    "JournalLineRow",
    "LandedCostLineRow",
    "LandedCostRow",
    "LedgerTokenRow",
    "LineCostRow",
    "LocationCostRow",
    "MatchExceptionRow",
    "MatchToleranceRow",
    "PeriodBalanceRow",
    "PeriodRow",
    "PoLineBillingRow",
    "SettlementLineRow",
    "SettlementRow",
    "UnappliedCashRow",
    "VendorBillLineRow",
    "VendorBillRow",
    "VendorPaymentAllocationRow",
    "VendorPaymentRow",
]

"""Accounts payable tables: vendor bills matched three ways (PO, receipts, bill), the exception queue, vendor
payments, the match tolerances, and the sealed tokens of the accounting packages' APIs."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ordersmith.platform.db import Base

# ---- accounts payable ------------------------------------------------------------------------------------------
# Vendor bills matched three ways (PO, receipts, bill), the exception queue, vendor payments and the match
# tolerances. A bill's `paid_minor` only grows, by conditional UPDATEs that keep it within `total_minor`.

_BILL_STATUSES = "'entered', 'matched', 'exception', 'approved', 'partially_paid', 'paid', 'rejected'"


class VendorBillRow(Base):
    __tablename__ = "finance_vendor_bills"
    __table_args__ = (
        sa.UniqueConstraint("vendor", "vendor_invoice", name="uq_finance_vendor_bills_invoice"),
        sa.CheckConstraint(f"status IN ({_BILL_STATUSES})", name="ck_finance_vendor_bill_status"),
        sa.CheckConstraint(
            "total_minor >= 0 AND paid_minor >= 0 AND paid_minor <= total_minor",
            name="ck_finance_vendor_bill_paid",
        ),
        # aging reads the open statuses by due date; the lists page newest first (by id) within a filter
        sa.Index("ix_finance_vendor_bills_status", "status", "due_on"),
        sa.Index("ix_finance_vendor_bills_status_id", "status", "id"),
        sa.Index("ix_finance_vendor_bills_vendor", "vendor", "id"),
        sa.Index("ix_finance_vendor_bills_po", "purchase_order", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)  # VB-000001
    vendor: Mapped[str] = mapped_column(sa.String(40))  # the vendor's code
    vendor_invoice: Mapped[str] = mapped_column(sa.String(60))  # the vendor's own invoice number
    purchase_order: Mapped[str] = mapped_column(sa.String(20))  # the PO's number
    po_kind: Mapped[str] = mapped_column(sa.String(10))  # stock | drop_ship
    currency: Mapped[str] = mapped_column(sa.String(3))
    billed_on: Mapped[date]
    due_on: Mapped[date]
    status: Mapped[str] = mapped_column(sa.String(16))
    total_minor: Mapped[int] = mapped_column(sa.BigInteger)
    receipt_value_minor: Mapped[int] = mapped_column(sa.BigInteger)  # the units billed at the PO's unit costs
    # freight, duty, brokerage and other charge lines: landed costs, not goods (ADR 0041)
    charges_minor: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    paid_minor: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    reasons: Mapped[list[dict[str, object]]] = mapped_column(sa.JSON)  # the last match's reasons
    note: Mapped[str] = mapped_column(sa.String(500), default="")  # why an exception was accepted or rejected
    source: Mapped[str] = mapped_column(sa.String(10))  # api | import | console | cli
    entered_by: Mapped[str] = mapped_column(sa.String(320))
    approved_by: Mapped[str | None] = mapped_column(sa.String(320))
    approved_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)


class VendorBillLineRow(Base):
    __tablename__ = "finance_vendor_bill_lines"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0 AND unit_price_minor >= 0", name="ck_finance_vendor_bill_line"),
        sa.CheckConstraint(
            "kind IN ('goods', 'freight', 'duty', 'brokerage', 'other')",
            name="ck_finance_vendor_bill_line_kind",
        ),
    )

    bill_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("finance_vendor_bills.id", name="fk_finance_bill_line_bill"), primary_key=True
    )
    line_no: Mapped[int] = mapped_column(primary_key=True)
    po_line: Mapped[int]
    sku: Mapped[str] = mapped_column(sa.String(64))
    quantity: Mapped[int]
    unit_price_minor: Mapped[int] = mapped_column(sa.BigInteger)
    unit_cost_minor: Mapped[int] = mapped_column(sa.BigInteger)  # the PO line's, when the bill was matched
    # goods (a PO line) or a landed-cost charge (freight, duty, brokerage, other: po_line 0, not matched)
    kind: Mapped[str] = mapped_column(sa.String(10), default="goods", server_default="goods")


class PoLineBillingRow(Base):
    """Units billed per PO line on bills that are not rejected: one row a PO line, locked while a bill is matched
    so that two bills entered at once for the same goods see each other."""

    __tablename__ = "finance_po_line_billing"
    __table_args__ = (sa.CheckConstraint("billed_quantity >= 0", name="ck_finance_po_line_billed"),)

    purchase_order: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    line_no: Mapped[int] = mapped_column(primary_key=True)
    billed_quantity: Mapped[int] = mapped_column(sa.BigInteger)


class MatchExceptionRow(Base):
    """A bill that failed its match, waiting in the queue until it matches again, is accepted or is rejected."""

    __tablename__ = "finance_match_exceptions"
    __table_args__ = (
        sa.CheckConstraint("status IN ('open', 'resolved')", name="ck_finance_match_exception_status"),
        sa.Index("ix_finance_match_exceptions_queue", "status", "id"),
        sa.Index("ix_finance_match_exceptions_bill", "bill_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    bill_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("finance_vendor_bills.id", name="fk_finance_match_exception_bill")
    )
    status: Mapped[str] = mapped_column(sa.String(8))
    reasons: Mapped[list[dict[str, object]]] = mapped_column(sa.JSON)
    raised_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(sa.String(320))
    resolution: Mapped[str | None] = mapped_column(sa.String(10))  # accepted | rejected | rematched
    note: Mapped[str] = mapped_column(sa.String(500), default="")


class VendorPaymentRow(Base):
    __tablename__ = "finance_vendor_payments"
    __table_args__ = (
        sa.CheckConstraint("amount_minor > 0", name="ck_finance_vendor_payment_amount"),
        sa.Index("ix_finance_vendor_payments_vendor", "vendor", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)  # VP-000001
    vendor: Mapped[str] = mapped_column(sa.String(40))
    currency: Mapped[str] = mapped_column(sa.String(3))
    amount_minor: Mapped[int] = mapped_column(sa.BigInteger)
    method: Mapped[str] = mapped_column(sa.String(10))  # check | ach | wire | card
    reference: Mapped[str] = mapped_column(sa.String(80), default="")  # check number, bank reference
    paid_on: Mapped[date]
    created_by: Mapped[str] = mapped_column(sa.String(320))
    created_at: Mapped[datetime]


class VendorPaymentAllocationRow(Base):
    __tablename__ = "finance_vendor_payment_allocations"
    __table_args__ = (
        sa.CheckConstraint("amount_minor > 0", name="ck_finance_vendor_payment_allocation"),
        sa.Index("ix_finance_vendor_payment_allocations_bill", "bill_id"),
    )

    payment_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("finance_vendor_payments.id", name="fk_finance_allocation_payment"), primary_key=True
    )
    bill_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("finance_vendor_bills.id", name="fk_finance_allocation_bill"), primary_key=True
    )
    amount_minor: Mapped[int] = mapped_column(sa.BigInteger)


class MatchToleranceRow(Base):
    """The three-way match's tolerances: a vendor's own, or everyone's (`*`). Percentages in basis points."""

    __tablename__ = "finance_match_tolerances"
    __table_args__ = (
        sa.CheckConstraint(
            "quantity_bp >= 0 AND quantity_bp <= 10000 AND price_bp >= 0 AND price_bp <= 10000 "
            "AND amount_minor >= 0",
            name="ck_finance_match_tolerance",
        ),
    )

    vendor: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    quantity_bp: Mapped[int]
    price_bp: Mapped[int]
    amount_minor: Mapped[int] = mapped_column(sa.BigInteger)
    updated_by: Mapped[str] = mapped_column(sa.String(320))
    updated_at: Mapped[datetime]


class LedgerTokenRow(Base):
    """The latest OAuth refresh token of an accounting package that rotates them (QuickBooks Online), sealed."""

    __tablename__ = "ledger_tokens"

    target: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    sealed: Mapped[str] = mapped_column(sa.String(2000))
    updated_at: Mapped[datetime]

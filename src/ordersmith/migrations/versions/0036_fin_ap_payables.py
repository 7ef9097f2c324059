"""Finance: accounts payable and the three-way match (ADR 0029): vendor bills and their lines, units billed per PO
line, the match-exception queue, vendor payments and their allocations to bills, match tolerances per vendor; and
the chart's purchase price variance account (5200) with the roles payable (2000), price_variance (5200) and
disbursement (1000).

Revision ID: 0034_fin_ap
Revises: 0034_chan2
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ordersmith.kernel.clock import utcnow
from ordersmith.platform.db import UTCDateTime

revision: str = "0034_fin_ap"
down_revision: str | None = "0034_chan2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_ACCOUNTS = (("5200", "Purchase price variance", "expense"),)
_MAPPINGS = (
    ("role", "payable", "2000"),
    ("role", "price_variance", "5200"),
    ("role", "disbursement", "1000"),
)


def _seed_chart() -> None:
    bind = op.get_bind()
    accounts = sa.table(
        "finance_accounts",
        sa.column("id", sa.Uuid()),
        sa.column("code", sa.String()),
        sa.column("name", sa.String()),
        sa.column("type", sa.String()),
        sa.column("active", sa.Boolean()),
        sa.column("created_at", UTCDateTime()),
        sa.column("updated_at", UTCDateTime()),
        sa.column("version", sa.Integer()),
    )
    mappings = sa.table(
        "finance_account_mappings",
        sa.column("kind", sa.String()),
        sa.column("key", sa.String()),
        sa.column("account_code", sa.String()),
        sa.column("updated_at", UTCDateTime()),
    )
    have = set(bind.execute(sa.select(accounts.c.code)).scalars())
    at = utcnow()
    rows = [
        {
            "id": uuid.uuid5(uuid.NAMESPACE_OID, f"ordersmith.finance.account.{code}"),
            "code": code,
            "name": name,
            "type": kind,
            "active": True,
            "created_at": at,
            "updated_at": at,
            "version": 1,
        }
        for code, name, kind in _ACCOUNTS
        if code not in have
    ]
    if rows:
        op.bulk_insert(accounts, rows)
    mapped = {(r.kind, r.key) for r in bind.execute(sa.select(mappings.c.kind, mappings.c.key))}
    new = [
        {"kind": kind, "key": key, "account_code": code, "updated_at": at}
        for kind, key, code in _MAPPINGS
        if (kind, key) not in mapped
    ]
    if new:
        op.bulk_insert(mappings, new)


def upgrade() -> None:
    _seed_chart()
    op.create_table(
        "finance_match_tolerances",
        sa.Column("vendor", sa.String(length=40), nullable=False),
        sa.Column("quantity_bp", sa.Integer(), nullable=False),
        sa.Column("price_bp", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=320), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "quantity_bp >= 0 AND quantity_bp <= 10000 AND price_bp >= 0 AND price_bp <= 10000 AND amount_minor >= 0",
            name="ck_finance_match_tolerance",
        ),
        sa.PrimaryKeyConstraint("vendor"),
    )
    op.create_table(
        "finance_po_line_billing",
        sa.Column("purchase_order", sa.String(length=20), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("billed_quantity", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("billed_quantity >= 0", name="ck_finance_po_line_billed"),
        sa.PrimaryKeyConstraint("purchase_order", "line_no"),
    )
    op.create_table(
        "finance_vendor_bills",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("vendor", sa.String(length=40), nullable=False),
        sa.Column("vendor_invoice", sa.String(length=60), nullable=False),
        sa.Column("purchase_order", sa.String(length=20), nullable=False),
        sa.Column("po_kind", sa.String(length=10), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("billed_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("receipt_value_minor", sa.BigInteger(), nullable=False),
        sa.Column("paid_minor", sa.BigInteger(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("entered_by", sa.String(length=320), nullable=False),
        sa.Column("approved_by", sa.String(length=320), nullable=True),
        sa.Column("approved_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('entered', 'matched', 'exception', 'approved', 'partially_paid', 'paid', 'rejected')",
            name="ck_finance_vendor_bill_status",
        ),
        sa.CheckConstraint(
            "total_minor >= 0 AND paid_minor >= 0 AND paid_minor <= total_minor",
            name="ck_finance_vendor_bill_paid",
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
        sa.UniqueConstraint("vendor", "vendor_invoice", name="uq_finance_vendor_bills_invoice"),
    )
    with op.batch_alter_table("finance_vendor_bills", schema=None) as batch_op:
        batch_op.create_index("ix_finance_vendor_bills_po", ["purchase_order", "id"], unique=False)
        batch_op.create_index("ix_finance_vendor_bills_status_id", ["status", "id"], unique=False)
        batch_op.create_index("ix_finance_vendor_bills_vendor", ["vendor", "id"], unique=False)
        batch_op.create_index("ix_finance_vendor_bills_status", ["status", "due_on"], unique=False)

    op.create_table(
        "finance_vendor_payments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("vendor", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("reference", sa.String(length=80), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name="ck_finance_vendor_payment_amount"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    with op.batch_alter_table("finance_vendor_payments", schema=None) as batch_op:
        batch_op.create_index("ix_finance_vendor_payments_vendor", ["vendor", "id"], unique=False)

    op.create_table(
        "finance_match_exceptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("bill_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("raised_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=320), nullable=True),
        sa.Column("resolution", sa.String(length=10), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.CheckConstraint("status IN ('open', 'resolved')", name="ck_finance_match_exception_status"),
        sa.ForeignKeyConstraint(
            ["bill_id"], ["finance_vendor_bills.id"], name="fk_finance_match_exception_bill"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("finance_match_exceptions", schema=None) as batch_op:
        batch_op.create_index("ix_finance_match_exceptions_bill", ["bill_id"], unique=False)
        batch_op.create_index("ix_finance_match_exceptions_queue", ["status", "id"], unique=False)

    op.create_table(
        "finance_vendor_bill_lines",
        sa.Column("bill_id", sa.Uuid(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("po_line", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("unit_cost_minor", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("quantity > 0 AND unit_price_minor >= 0", name="ck_finance_vendor_bill_line"),
        sa.ForeignKeyConstraint(["bill_id"], ["finance_vendor_bills.id"], name="fk_finance_bill_line_bill"),
        sa.PrimaryKeyConstraint("bill_id", "line_no"),
    )
    op.create_table(
        "finance_vendor_payment_allocations",
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("bill_id", sa.Uuid(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name="ck_finance_vendor_payment_allocation"),
        sa.ForeignKeyConstraint(["bill_id"], ["finance_vendor_bills.id"], name="fk_finance_allocation_bill"),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["finance_vendor_payments.id"], name="fk_finance_allocation_payment"
        ),
        sa.PrimaryKeyConstraint("payment_id", "bill_id"),
    )
    with op.batch_alter_table("finance_vendor_payment_allocations", schema=None) as batch_op:
        batch_op.create_index("ix_finance_vendor_payment_allocations_bill", ["bill_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("finance_vendor_payment_allocations", schema=None) as batch_op:
        batch_op.drop_index("ix_finance_vendor_payment_allocations_bill")

    op.drop_table("finance_vendor_payment_allocations")
    op.drop_table("finance_vendor_bill_lines")
    with op.batch_alter_table("finance_match_exceptions", schema=None) as batch_op:
        batch_op.drop_index("ix_finance_match_exceptions_queue")
        batch_op.drop_index("ix_finance_match_exceptions_bill")

    op.drop_table("finance_match_exceptions")
    with op.batch_alter_table("finance_vendor_payments", schema=None) as batch_op:
        batch_op.drop_index("ix_finance_vendor_payments_vendor")

    op.drop_table("finance_vendor_payments")
    with op.batch_alter_table("finance_vendor_bills", schema=None) as batch_op:
        batch_op.drop_index("ix_finance_vendor_bills_vendor")
        batch_op.drop_index("ix_finance_vendor_bills_status_id")
        batch_op.drop_index("ix_finance_vendor_bills_status")
        batch_op.drop_index("ix_finance_vendor_bills_po")

    op.drop_table("finance_vendor_bills")
    op.drop_table("finance_po_line_billing")
    op.drop_table("finance_match_tolerances")
    # The account and its mappings stay: postings may name them (an account is never deleted).

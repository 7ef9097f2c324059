"""Inventory costing: landed costs and per-location moving averages (ADR 0041)

`finance_item_costs` gains `value_minor` (the units' value at cost: the inventory subledger, seeded as units times
the average each row already holds) and `by_location`; `finance_location_costs` holds one average per item and
location for items costed per location; `finance_costing_policies` says which items are (`*`: every item, written
here as off); `finance_landed_costs` / `finance_landed_cost_lines` hold freight, duty, brokerage and other charges
allocated over PO receipt lines; `finance_cost_transfers` records the value each stock transfer moved (once per
event). Vendor bill lines gain a `kind` (goods, or a charge line) and bills their `charges_minor`. The chart gains
2060 "Landed costs accrued" with the `landed_cost` role mapped to it.

Revision ID: 0048_fincost
Revises: 0046_finmisc
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordersmith.platform.db
from ordersmith.kernel.clock import utcnow
from ordersmith.platform.db import UTCDateTime

revision: str = "0048_fincost"
down_revision: str | None = "0046_finmisc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Added to the default chart by this revision (finance.rules.DEFAULT_CHART / DEFAULT_MAPPINGS say the same).
_ACCOUNT = ("2060", "Landed costs accrued (freight, duty)", "liability")
_MAPPING = ("role", "landed_cost", "2060")


def _seed() -> None:
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
    at = utcnow()
    code, name, kind = _ACCOUNT
    if bind.execute(sa.select(accounts.c.code).where(accounts.c.code == code)).first() is None:
        op.bulk_insert(
            accounts,
            [
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
            ],
        )
    found = bind.execute(
        sa.select(mappings.c.kind).where(mappings.c.kind == _MAPPING[0], mappings.c.key == _MAPPING[1])
    ).first()
    if found is None:
        op.bulk_insert(
            mappings,
            [{"kind": _MAPPING[0], "key": _MAPPING[1], "account_code": _MAPPING[2], "updated_at": at}],
        )
    policies = sa.table(
        "finance_costing_policies",
        sa.column("sku", sa.String()),
        sa.column("by_location", sa.Boolean()),
        sa.column("updated_by", sa.String()),
        sa.column("updated_at", UTCDateTime()),
    )
    op.bulk_insert(
        policies, [{"sku": "*", "by_location": False, "updated_by": "migration", "updated_at": at}]
    )


def upgrade() -> None:
    with op.batch_alter_table("finance_item_costs") as batch:
        batch.add_column(sa.Column("value_minor", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("by_location", sa.Boolean(), nullable=False, server_default=sa.false()))
    # Each item's value at cost starts as its units at the average it holds (what the ledger was told, up to the
    # rounding of earlier averages: ADR 0041 says how to true that up).
    op.execute("UPDATE finance_item_costs SET value_minor = units * average_cost_minor")
    op.create_table(
        "finance_location_costs",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("average_cost_minor", sa.BigInteger(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("value_minor", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("average_cost_minor >= 0", name="ck_finance_location_cost"),
        sa.PrimaryKeyConstraint("sku", "location"),
    )
    op.create_table(
        "finance_costing_policies",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("by_location", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(length=320), nullable=False),
        sa.Column("updated_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sku"),
    )
    op.create_table(
        "finance_landed_costs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("basis", sa.String(length=6), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=80), nullable=False),
        sa.Column("memo", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name="ck_finance_landed_cost_amount"),
        sa.CheckConstraint(
            "kind IN ('freight', 'duty', 'brokerage', 'other')", name="ck_finance_landed_cost_kind"
        ),
        sa.CheckConstraint("basis IN ('value', 'weight', 'units')", name="ck_finance_landed_cost_basis"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    op.create_index(
        "ix_finance_landed_costs_created", "finance_landed_costs", ["created_at", "id"], unique=False
    )
    op.create_table(
        "finance_landed_cost_lines",
        sa.Column("charge_id", sa.Uuid(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("receipt_id", sa.Uuid(), nullable=False),
        sa.Column("purchase_order", sa.String(length=20), nullable=False),
        sa.Column("po_line", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=40), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("basis_amount", sa.BigInteger(), nullable=False),
        sa.Column("allocated_minor", sa.BigInteger(), nullable=False),
        sa.Column("inventory_minor", sa.BigInteger(), nullable=True),
        sa.Column("cogs_minor", sa.BigInteger(), nullable=True),
        sa.Column("average_before_minor", sa.BigInteger(), nullable=True),
        sa.Column("average_after_minor", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("allocated_minor >= 0", name="ck_finance_landed_cost_line"),
        sa.ForeignKeyConstraint(
            ["charge_id"], ["finance_landed_costs.id"], name="fk_finance_landed_cost_line_charge"
        ),
        sa.PrimaryKeyConstraint("charge_id", "line_no"),
    )
    op.create_index(
        "ix_finance_landed_cost_lines_receipt", "finance_landed_cost_lines", ["receipt_id"], unique=False
    )
    op.create_index(
        "ix_finance_landed_cost_lines_po",
        "finance_landed_cost_lines",
        ["purchase_order", "charge_id"],
        unique=False,
    )
    op.create_table(
        "finance_cost_transfers",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("from_location", sa.String(length=40), nullable=False),
        sa.Column("to_location", sa.String(length=40), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("value_minor", sa.BigInteger(), nullable=False),
        sa.Column("at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    with op.batch_alter_table("finance_vendor_bill_lines") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=10), nullable=False, server_default="goods"))
        batch.create_check_constraint(
            "ck_finance_vendor_bill_line_kind", "kind IN ('goods', 'freight', 'duty', 'brokerage', 'other')"
        )
    with op.batch_alter_table("finance_vendor_bills") as batch:
        batch.add_column(sa.Column("charges_minor", sa.BigInteger(), nullable=False, server_default="0"))
    _seed()


def downgrade() -> None:
    with op.batch_alter_table("finance_vendor_bills") as batch:
        batch.drop_column("charges_minor")
    with op.batch_alter_table("finance_vendor_bill_lines") as batch:
        batch.drop_constraint("ck_finance_vendor_bill_line_kind", type_="check")
        batch.drop_column("kind")
    op.drop_table("finance_cost_transfers")
    op.drop_index("ix_finance_landed_cost_lines_po", table_name="finance_landed_cost_lines")
    op.drop_index("ix_finance_landed_cost_lines_receipt", table_name="finance_landed_cost_lines")
    op.drop_table("finance_landed_cost_lines")
    op.drop_index("ix_finance_landed_costs_created", table_name="finance_landed_costs")
    op.drop_table("finance_landed_costs")
    op.drop_table("finance_costing_policies")
    op.drop_table("finance_location_costs")
    with op.batch_alter_table("finance_item_costs") as batch:
        batch.drop_column("by_location")
        batch.drop_column("value_minor")
    op.execute("DELETE FROM finance_account_mappings WHERE kind = 'role' AND key = 'landed_cost'")

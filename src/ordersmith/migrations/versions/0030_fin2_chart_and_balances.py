"""Finance: the default chart of accounts and its mapping rules written by the migration (reads never write),
per-period account balances kept beside the journal so statements read one row per account and period, and an
index on a customer's open invoices (receivables, statements, the credit decision's past-due check).

Revision ID: 0029_fin2
Revises: 0029_mkt
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ordersmith.kernel.clock import utcnow
from ordersmith.platform.db import UTCDateTime

revision: str = "0029_fin2"
down_revision: str | None = "0029_mkt"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The default chart as of this revision (a later change to `finance.rules.DEFAULT_CHART` comes with its own
# migration; tests/integration/test_finance.py checks that a migrated database holds exactly the default).
_CHART = (
    ("1000", "Cash in bank", "asset"),
    ("1010", "Cash in tills", "asset"),
    ("1020", "Undeposited checks", "asset"),
    ("1100", "Card processor clearing", "asset"),
    ("1110", "PayPal clearing", "asset"),
    ("1190", "Other tender clearing", "asset"),
    ("1200", "Accounts receivable", "asset"),
    ("1300", "Inventory", "asset"),
    ("2000", "Accounts payable", "liability"),
    ("2050", "Goods received not invoiced", "liability"),
    ("2100", "Sales tax payable", "liability"),
    ("2200", "Gift card liability", "liability"),
    ("2210", "Store credit liability", "liability"),
    ("2300", "Deferred revenue (customer deposits)", "liability"),
    ("3000", "Owner's equity", "equity"),
    ("3900", "Retained earnings", "equity"),
    ("4000", "Sales revenue", "revenue"),
    ("4010", "Sales revenue — web", "revenue"),
    ("4020", "Sales revenue — stores", "revenue"),
    ("4030", "Sales revenue — catalog and phone", "revenue"),
    ("4040", "Sales revenue — marketplaces", "revenue"),
    ("4100", "Shipping revenue", "revenue"),
    ("4200", "Sales discounts", "revenue"),
    ("4300", "Sales returns and allowances", "revenue"),
    ("5000", "Cost of goods sold", "expense"),
    ("5100", "Inventory shrinkage", "expense"),
    ("6100", "Payment processor fees", "expense"),
    ("6200", "Bad debts", "expense"),
)
_MAPPINGS = (
    ("tender", "card", "1100"),
    ("tender", "paypal", "1110"),
    ("tender", "cash", "1010"),
    ("tender", "check", "1020"),
    ("tender", "gift_card", "2200"),
    ("tender", "store_credit", "2210"),
    ("tender", "on_account", "1200"),
    ("tender", "transfer", "1000"),
    ("tender", "*", "1190"),
    ("revenue", "web", "4010"),
    ("revenue", "store", "4020"),
    ("revenue", "catalog", "4030"),
    ("revenue", "phone", "4030"),
    ("revenue", "marketplace", "4040"),
    ("revenue", "*", "4000"),
    ("tax", "*", "2100"),
    ("role", "receivable", "1200"),
    ("role", "deferred_revenue", "2300"),
    ("role", "shipping_revenue", "4100"),
    ("role", "discounts", "4200"),
    ("role", "returns", "4300"),
    ("role", "inventory", "1300"),
    ("role", "grni", "2050"),
    ("role", "cogs", "5000"),
    ("role", "shrinkage", "5100"),
)


def upgrade() -> None:
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
        for code, name, kind in _CHART
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

    # A customer's open invoices (the credit decision's past-due check, statements, aging of one customer).
    op.create_index("ix_invoices_customer_open", "invoices", ["customer_id", "status", "due_on"])

    op.create_table(
        "finance_period_balances",
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("account_code", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("debit_minor", sa.BigInteger(), nullable=False),
        sa.Column("credit_minor", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_code"], ["finance_accounts.code"], name="fk_finance_period_balance_account"
        ),
        sa.PrimaryKeyConstraint("period", "account_code", "currency"),
    )
    op.execute(
        "INSERT INTO finance_period_balances (period, account_code, currency, debit_minor, credit_minor) "
        "SELECT e.period, l.account_code, e.currency, SUM(l.debit_minor), SUM(l.credit_minor) "
        "FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id "
        "GROUP BY e.period, l.account_code, e.currency"
    )


def downgrade() -> None:
    op.drop_table("finance_period_balances")
    op.drop_index("ix_invoices_customer_open", table_name="invoices")
    # The seeded accounts stay: journal lines may name them.

"""Finance, issue 18 posting rules and collections (ADR 0030): accounts for unapplied cash, gift-card breakage and
cards given away with their mapping rules; invoices' written-off amount and overdue flag (with the partial index the
overdue job reads); gift cards' partial indexes for the expiry job and the liability check; unapplied customer cash.

Revision ID: 0034_fin_rules
Revises: 0034_cont
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ordersmith.kernel.clock import utcnow
from ordersmith.platform.db import UTCDateTime

revision: str = "0034_fin_rules"
down_revision: str | None = "0034_cont"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Added to the default chart by this revision (finance.rules.DEFAULT_CHART / DEFAULT_MAPPINGS say the same).
_CHART = (
    ("2400", "Unapplied customer cash", "liability"),
    ("4500", "Gift card breakage", "revenue"),
    ("6300", "Gift cards and store credit given", "expense"),
)
_MAPPINGS = (
    ("tender", "unapplied_cash", "2400"),
    ("role", "unapplied_cash", "2400"),
    ("role", "breakage", "4500"),
    ("role", "goodwill", "6300"),
    ("role", "bad_debts", "6200"),
    ("role", "processor_fees", "6100"),
)


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


def upgrade() -> None:
    _seed()
    with op.batch_alter_table("invoices") as batch:
        batch.add_column(sa.Column("written_off_minor", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("overdue_on", sa.Date(), nullable=True))
        batch.create_check_constraint(
            "ck_invoices_written_off", "written_off_minor >= 0 AND written_off_minor <= paid_minor"
        )
    unflagged = sa.text("status = 'open' AND overdue_on IS NULL")
    op.create_index(
        "ix_invoices_due_unflagged",
        "invoices",
        ["due_on"],
        sqlite_where=unflagged,
        postgresql_where=unflagged,
    )
    expiring = sa.text("status = 'active' AND expires_on IS NOT NULL")
    op.create_index(
        "ix_gift_cards_expiring",
        "gift_cards",
        ["expires_on"],
        sqlite_where=expiring,
        postgresql_where=expiring,
    )
    holding = sa.text("balance_minor > 0 AND status <> 'inactive'")
    op.create_index(
        "ix_gift_cards_outstanding",
        "gift_cards",
        ["kind", "currency", "balance_minor"],
        sqlite_where=holding,
        postgresql_where=holding,
    )
    op.create_table(
        "finance_unapplied_cash",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("customer_number", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("applied_minor", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "amount_minor > 0 AND applied_minor >= 0 AND applied_minor <= amount_minor",
            name="ck_finance_unapplied_cash_applied",
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    open_credit = sa.text("applied_minor < amount_minor")
    op.create_index(
        "ix_finance_unapplied_cash_open",
        "finance_unapplied_cash",
        ["customer_id", "received_on"],
        sqlite_where=open_credit,
        postgresql_where=open_credit,
    )


def downgrade() -> None:
    op.drop_index("ix_finance_unapplied_cash_open", table_name="finance_unapplied_cash")
    op.drop_table("finance_unapplied_cash")
    op.drop_index("ix_gift_cards_outstanding", table_name="gift_cards")
    op.drop_index("ix_gift_cards_expiring", table_name="gift_cards")
    op.drop_index("ix_invoices_due_unflagged", table_name="invoices")
    with op.batch_alter_table("invoices") as batch:
        batch.drop_constraint("ck_invoices_written_off", type_="check")
        batch.drop_column("overdue_on")
        batch.drop_column("written_off_minor")
    # The seeded accounts stay: journal lines may name them.

"""Finance, ledger dimensions and year-end closing (ADR 0039): journal lines carry their division and sales channel,
summed per period in `finance_dimension_balances`; `finance_fiscal_years` records closed years; the mapping role
`retained_earnings` (3900) takes a closed year's revenue and expenses.

The lines of entries posted before this revision are tagged here with the division and channel of the order their
source event names (reversals of them with their original's), and their dimension balances summed: the one UPDATE
journal lines ever see, made with the immutability trigger set aside for it and put back at once.

Revision ID: 0045_fincons
Revises: 0049_outbox_idx
"""

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from ordersmith.kernel.clock import utcnow
from ordersmith.platform.db import UTCDateTime

revision: str = "0045_fincons"
down_revision: str | None = "0049_outbox_idx"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Events about one order (finance.service.dimensions.ORDER_EVENTS as of this revision).
_ORDER_EVENTS = (
    "order.shipped",
    "order.shipped_in_part",
    "return.received",
    "payment.captured",
    "payment.refunded",
    "payment.failed",
    "invoice.payment_applied",
    "invoice.written_off",
    "gift_card.activated",
)
_BATCH = 1000
# The SQLite trigger 0027_finance wrote, dropped for the backfill and written again as it was.
_SQLITE_NO_UPDATE = """CREATE TRIGGER trg_journal_line_no_update BEFORE UPDATE ON journal_lines
    BEGIN SELECT RAISE(ABORT, 'journal lines are immutable'); END"""

_entries = sa.table(
    "journal_entries",
    sa.column("id", sa.Uuid()),
    sa.column("source_event_id", sa.Uuid()),
    sa.column("source_type", sa.String()),
    sa.column("reverses_id", sa.Uuid()),
)
_outbox = sa.table("outbox", sa.column("id", sa.Uuid()), sa.column("payload", sa.JSON()))
_orders = sa.table(
    "orders",
    sa.column("id", sa.Uuid()),
    sa.column("division", sa.String()),
    sa.column("channel", sa.String()),
)
_lines = sa.table(
    "journal_lines",
    sa.column("entry_id", sa.Uuid()),
    sa.column("division", sa.String()),
    sa.column("channel", sa.String()),
)


def upgrade() -> None:
    op.add_column(
        "journal_lines", sa.Column("division", sa.String(length=40), server_default="", nullable=False)
    )
    op.add_column(
        "journal_lines", sa.Column("channel", sa.String(length=40), server_default="", nullable=False)
    )
    op.create_table(
        "finance_dimension_balances",
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("account_code", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("division", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("debit_minor", sa.BigInteger(), nullable=False),
        sa.Column("credit_minor", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_code"], ["finance_accounts.code"], name="fk_finance_dimension_balance_account"
        ),
        sa.PrimaryKeyConstraint("period", "account_code", "currency", "division", "channel"),
    )
    op.create_index(
        "ix_finance_dimension_balances_channel",
        "finance_dimension_balances",
        ["channel", "period"],
        unique=False,
    )
    op.create_table(
        "finance_fiscal_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=6), nullable=False),
        sa.Column("closings", sa.Integer(), nullable=False),
        sa.Column("closed_by", sa.String(length=320), nullable=True),
        sa.Column("closed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("reopened_by", sa.String(length=320), nullable=True),
        sa.Column("reopened_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_finance_fiscal_year_status"),
        sa.PrimaryKeyConstraint("year"),
    )
    _seed_mapping()
    _backfill()


def _seed_mapping() -> None:
    bind = op.get_bind()
    mappings = sa.table(
        "finance_account_mappings",
        sa.column("kind", sa.String()),
        sa.column("key", sa.String()),
        sa.column("account_code", sa.String()),
        sa.column("updated_at", UTCDateTime()),
    )
    accounts = sa.table("finance_accounts", sa.column("code", sa.String()))
    has_account = bind.execute(sa.select(accounts.c.code).where(accounts.c.code == "3900")).first()
    mapped = bind.execute(
        sa.select(mappings.c.key).where(mappings.c.kind == "role", mappings.c.key == "retained_earnings")
    ).first()
    if has_account is not None and mapped is None:
        op.bulk_insert(
            mappings,
            [{"kind": "role", "key": "retained_earnings", "account_code": "3900", "updated_at": utcnow()}],
        )


def _tags(bind: Any) -> dict[Any, tuple[str, str]]:
    """The (division, channel) of each entry an order's event posted, and of each reversal of one."""
    tags: dict[Any, tuple[str, str]] = {}
    after = None
    while True:
        query = (
            sa.select(_entries.c.id, _entries.c.reverses_id, _outbox.c.payload)
            .select_from(_entries.outerjoin(_outbox, _outbox.c.id == _entries.c.source_event_id))
            .where(_entries.c.source_type.in_(_ORDER_EVENTS))
            .order_by(_entries.c.id)
            .limit(_BATCH)
        )
        if after is not None:
            query = query.where(_entries.c.id > after)
        rows = bind.execute(query).all()
        if not rows:
            return tags
        after = rows[-1].id
        named = {r.id: str(r.payload.get("order_id", "")) for r in rows if isinstance(r.payload, dict)}
        ids = []
        for order_id in set(named.values()):
            try:
                ids.append(uuid.UUID(order_id))
            except ValueError:
                continue
        found = {
            str(r.id): (r.division, r.channel)
            for r in bind.execute(sa.select(_orders).where(_orders.c.id.in_(ids))).all()
        }
        for entry_id, order_id in named.items():
            if order_id in found:
                tags[entry_id] = found[order_id]
        for r in rows:  # a reversal (no event of its own) takes its original's
            if r.reverses_id is not None and r.id not in tags and r.reverses_id in tags:
                tags[r.id] = tags[r.reverses_id]


def _backfill() -> None:
    bind = op.get_bind()
    tags = _tags(bind)
    if tags:
        postgres = bind.dialect.name == "postgresql"
        op.execute(
            "ALTER TABLE journal_lines DISABLE TRIGGER trg_journal_line_immutable"
            if postgres
            else "DROP TRIGGER trg_journal_line_no_update"
        )
        update = (
            sa.update(_lines)
            .where(_lines.c.entry_id == sa.bindparam("entry"))
            .values(division=sa.bindparam("d"), channel=sa.bindparam("c"))
        )
        items = sorted(tags.items(), key=lambda item: str(item[0]))
        for start in range(0, len(items), _BATCH):
            bind.execute(
                update, [{"entry": e, "d": d, "c": c} for e, (d, c) in items[start : start + _BATCH]]
            )
        op.execute(
            "ALTER TABLE journal_lines ENABLE TRIGGER trg_journal_line_immutable"
            if postgres
            else _SQLITE_NO_UPDATE
        )
    op.execute(
        "INSERT INTO finance_dimension_balances "
        "(period, account_code, currency, division, channel, debit_minor, credit_minor) "
        "SELECT e.period, l.account_code, e.currency, l.division, l.channel, SUM(l.debit_minor), SUM(l.credit_minor) "
        "FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id "
        "WHERE l.division <> '' OR l.channel <> '' "
        "GROUP BY e.period, l.account_code, e.currency, l.division, l.channel"
    )


def downgrade() -> None:
    op.drop_table("finance_fiscal_years")
    op.drop_index("ix_finance_dimension_balances_channel", table_name="finance_dimension_balances")
    op.drop_table("finance_dimension_balances")
    # Plain ALTER TABLE on both databases (SQLite ≥ 3.35): a batch copy would lose the journal's triggers.
    op.execute("ALTER TABLE journal_lines DROP COLUMN channel")
    op.execute("ALTER TABLE journal_lines DROP COLUMN division")
    # The retained_earnings mapping stays: ensure_chart would write it again.

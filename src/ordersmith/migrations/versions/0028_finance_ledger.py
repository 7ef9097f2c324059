"""Finance: chart of accounts, mapping rules, periods, the journal (entries and lines) and item costs, with the
triggers that keep every posted entry balanced and immutable on SQLite and PostgreSQL (ADR 0024).

Revision ID: 0027_finance
Revises: 0027_data2
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordersmith.platform.db

revision: str = "0027_finance"
down_revision: str | None = "0027_data2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = ordersmith.platform.db.UTCDateTime(timezone=True)

# SQLite: the lines go in first, the header last. The header's trigger checks the lines it closes; a line for an
# entry that is already posted is refused; nothing is ever updated or deleted.
_SQLITE = [
    """CREATE TRIGGER trg_journal_entry_balanced AFTER INSERT ON journal_entries
    WHEN (SELECT COUNT(*) FROM journal_lines WHERE entry_id = NEW.id) != NEW.line_count
      OR (SELECT COALESCE(SUM(debit_minor), 0) - COALESCE(SUM(credit_minor), 0)
          FROM journal_lines WHERE entry_id = NEW.id) != 0
    BEGIN SELECT RAISE(ABORT, 'journal entry is not balanced'); END""",
    """CREATE TRIGGER trg_journal_line_closed BEFORE INSERT ON journal_lines
    WHEN EXISTS (SELECT 1 FROM journal_entries WHERE id = NEW.entry_id)
    BEGIN SELECT RAISE(ABORT, 'journal entry is posted: lines cannot be added'); END""",
    """CREATE TRIGGER trg_journal_entry_no_update BEFORE UPDATE ON journal_entries
    BEGIN SELECT RAISE(ABORT, 'journal entries are immutable'); END""",
    """CREATE TRIGGER trg_journal_entry_no_delete BEFORE DELETE ON journal_entries
    BEGIN SELECT RAISE(ABORT, 'journal entries are immutable'); END""",
    """CREATE TRIGGER trg_journal_line_no_update BEFORE UPDATE ON journal_lines
    BEGIN SELECT RAISE(ABORT, 'journal lines are immutable'); END""",
    """CREATE TRIGGER trg_journal_line_no_delete BEFORE DELETE ON journal_lines
    BEGIN SELECT RAISE(ABORT, 'journal lines are immutable'); END""",
]

# PostgreSQL: constraint triggers deferred to commit check each entry touched (by its header or any of its lines):
# its lines number `line_count` and balance, and it has a header. Nothing is ever updated or deleted.
_POSTGRES = [
    """CREATE FUNCTION journal_check_entry() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      wanted uuid := (to_jsonb(NEW) ->> TG_ARGV[0])::uuid;  -- the entry's id: `id` of a header, `entry_id` of a line
      expected integer;
      counted integer;
      net bigint;
    BEGIN
      SELECT line_count INTO expected FROM journal_entries WHERE id = wanted;
      SELECT COUNT(*), COALESCE(SUM(debit_minor - credit_minor), 0) INTO counted, net
        FROM journal_lines WHERE entry_id = wanted;
      IF expected IS NULL OR counted <> expected OR net <> 0 THEN
        RAISE EXCEPTION 'journal entry % is not balanced', wanted USING ERRCODE = '23514';
      END IF;
      RETURN NULL;
    END $$""",
    """CREATE CONSTRAINT TRIGGER trg_journal_entry_balanced AFTER INSERT ON journal_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_check_entry('id')""",
    """CREATE CONSTRAINT TRIGGER trg_journal_line_balanced AFTER INSERT ON journal_lines
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_check_entry('entry_id')""",
    """CREATE FUNCTION journal_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '% rows are immutable', TG_TABLE_NAME USING ERRCODE = '23514';
    END $$""",
    """CREATE TRIGGER trg_journal_entry_immutable BEFORE UPDATE OR DELETE ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION journal_immutable()""",
    """CREATE TRIGGER trg_journal_line_immutable BEFORE UPDATE OR DELETE ON journal_lines
    FOR EACH ROW EXECUTE FUNCTION journal_immutable()""",
    """CREATE TRIGGER trg_journal_entry_no_truncate BEFORE TRUNCATE ON journal_entries
    FOR EACH STATEMENT EXECUTE FUNCTION journal_immutable()""",
    """CREATE TRIGGER trg_journal_line_no_truncate BEFORE TRUNCATE ON journal_lines
    FOR EACH STATEMENT EXECUTE FUNCTION journal_immutable()""",
]


def upgrade() -> None:
    op.create_table(
        "finance_accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "type IN ('asset', 'liability', 'equity', 'revenue', 'expense')", name="ck_finance_account_type"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "finance_account_mappings",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("account_code", sa.String(length=20), nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_code"], ["finance_accounts.code"], name="fk_finance_mapping_account"
        ),
        sa.PrimaryKeyConstraint("kind", "key"),
    )
    op.create_table(
        "finance_periods",
        sa.Column("code", sa.String(length=7), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=6), nullable=False),
        sa.Column("closed_by", sa.String(length=320), nullable=True),
        sa.Column("closed_at", _AT, nullable=True),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_finance_period_status"),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "journal_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("posted_on", sa.Date(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("source_event_id", sa.Uuid(), nullable=True),
        sa.Column("source_type", sa.String(length=60), nullable=False),
        sa.Column("reference", sa.String(length=80), nullable=False),
        sa.Column("memo", sa.String(length=500), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("reverses_id", sa.Uuid(), nullable=True),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.CheckConstraint("line_count >= 2", name="ck_journal_entry_lines"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reverses_id"),
        sa.UniqueConstraint("source_event_id", "rule", name="uq_journal_entries_source"),
    )
    op.create_index("ix_journal_entries_period", "journal_entries", ["period", "id"], unique=False)
    op.create_table(
        "journal_lines",
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("account_code", sa.String(length=20), nullable=False),
        sa.Column("debit_minor", sa.BigInteger(), nullable=False),
        sa.Column("credit_minor", sa.BigInteger(), nullable=False),
        sa.Column("memo", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "(debit_minor > 0 AND credit_minor = 0) OR (credit_minor > 0 AND debit_minor = 0)",
            name="ck_journal_line_one_side",
        ),
        sa.ForeignKeyConstraint(["account_code"], ["finance_accounts.code"], name="fk_journal_line_account"),
        sa.PrimaryKeyConstraint("entry_id", "line_no"),
    )
    op.create_index("ix_journal_lines_account", "journal_lines", ["account_code", "entry_id"], unique=False)
    op.create_table(
        "finance_item_costs",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("average_cost_minor", sa.BigInteger(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        sa.CheckConstraint("average_cost_minor >= 0", name="ck_finance_item_cost"),
        sa.PrimaryKeyConstraint("sku"),
    )
    for statement in _POSTGRES if op.get_bind().dialect.name == "postgresql" else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER trg_journal_line_no_truncate ON journal_lines")
        op.execute("DROP TRIGGER trg_journal_entry_no_truncate ON journal_entries")
        op.execute("DROP TRIGGER trg_journal_line_immutable ON journal_lines")
        op.execute("DROP TRIGGER trg_journal_entry_immutable ON journal_entries")
        op.execute("DROP TRIGGER trg_journal_line_balanced ON journal_lines")
        op.execute("DROP TRIGGER trg_journal_entry_balanced ON journal_entries")
        op.execute("DROP FUNCTION journal_immutable()")
        op.execute("DROP FUNCTION journal_check_entry()")
    op.drop_table("finance_item_costs")
    op.drop_index("ix_journal_lines_account", table_name="journal_lines")
    op.drop_table("journal_lines")
    op.drop_index("ix_journal_entries_period", table_name="journal_entries")
    op.drop_table("journal_entries")
    op.drop_table("finance_periods")
    op.drop_table("finance_account_mappings")
    op.drop_table("finance_accounts")

"""The relay's pending-events index keyed by id first

`ix_outbox_pending` (partial: undispatched events only) was keyed by `next_attempt_at`. The relay claims the oldest
pending events (`ORDER BY id LIMIT n`), and SQLite's planner answered that by walking the primary key — every
dispatched event in history — on every batch: the relay's cost grew with the outbox. Keyed by `(id,
next_attempt_at)` the claim walks only pending events, in order, on both databases.

Revision ID: 0049_outbox_idx
Revises: 0040_settle
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0049_outbox_idx"
down_revision: str | None = "0040_settle"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PENDING = sa.text("dispatched_at IS NULL")


def upgrade() -> None:
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["id", "next_attempt_at"],
        unique=False,
        sqlite_where=_PENDING,
        postgresql_where=_PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["next_attempt_at"],
        unique=False,
        sqlite_where=_PENDING,
        postgresql_where=_PENDING,
    )

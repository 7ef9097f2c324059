"""Channel visibility: the channels each customer belongs to, the channel of each outbox event, and the channel
that owns a webhook subscription (issue 14)

Existing rows are filled in: a customer belongs to the channel that created it and to every channel it ordered
through; an event is tagged with the channel its payload names, else with the channel of the order it names.

Revision ID: 0014_channel_visibility_c4f1
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_channel_visibility_c4f1"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_channels",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_customer_channels_customer", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("customer_id", "channel"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=60), nullable=True))
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=60), nullable=True))

    op.execute(
        "INSERT INTO customer_channels (customer_id, channel) "
        "SELECT id, created_channel FROM customers WHERE created_channel <> '' "
        "UNION SELECT DISTINCT o.customer_id, o.channel FROM orders o JOIN customers c ON c.id = o.customer_id"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE outbox SET channel = payload->>'channel' WHERE payload->>'channel' IS NOT NULL")
        op.execute(
            "UPDATE outbox SET channel = o.channel FROM orders o "
            "WHERE outbox.channel IS NULL AND outbox.payload->>'order_id' = o.id::text"
        )
    else:  # SQLite keeps a UUID as 32 hex digits; the payload writes it with dashes
        op.execute(
            "UPDATE outbox SET channel = json_extract(payload, '$.channel') "
            "WHERE json_type(payload, '$.channel') = 'text'"
        )
        op.execute(
            "UPDATE outbox SET channel = (SELECT o.channel FROM orders o "
            "WHERE o.id = replace(json_extract(outbox.payload, '$.order_id'), '-', '')) "
            "WHERE channel IS NULL AND json_type(payload, '$.order_id') = 'text'"
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.drop_column("channel")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("channel")
    op.drop_table("customer_channels")

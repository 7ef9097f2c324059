"""Fulfillment: shipments (with lines, packages, timeline), waves, bins and primary bins, count tasks, where each
location ships from, the carrier tracking events already handled; items' customs facts (HS code, origin); how an
order reaches its customer (shipped, taken at a store's till, picked up at a store)

Revision ID: 0017_fulfillment
Revises: 0016_sec_key_revocations
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordersmith.platform.db

revision: str = "0017_fulfillment"
down_revision: str | None = "0016_sec_key_revocations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bins",
        sa.Column("location", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("zone", sa.String(length=10), nullable=False),
        sa.Column("aisle", sa.String(length=10), nullable=False),
        sa.Column("bay", sa.String(length=10), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("walk_sequence", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("location", "code"),
    )
    with op.batch_alter_table("bins", schema=None) as batch_op:
        batch_op.create_index("ix_bins_walk", ["location", "walk_sequence"], unique=False)

    op.create_table(
        "carrier_events",
        sa.Column("carrier", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=120), nullable=False),
        sa.Column("tracking_number", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("carrier", "event_id"),
    )
    op.create_table(
        "count_tasks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("location", sa.String(length=40), nullable=False),
        sa.Column("bin", sa.String(length=40), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("missing", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("count_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_count_tasks_open", ["location", "status", "created_at"], unique=False)

    op.create_table(
        "item_bins",
        sa.Column("location", sa.String(length=40), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("bin", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("location", "sku"),
    )
    op.create_table(
        "location_docks",
        sa.Column("location", sa.String(length=40), nullable=False),
        sa.Column("address", sa.JSON(), nullable=False),
        sa.Column("label_format", sa.String(length=8), nullable=False),
        sa.Column("carrier", sa.String(length=40), nullable=False),
        sa.Column("updated_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("location"),
    )
    op.create_table(
        "packages",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("shipment_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("weight_g", sa.Integer(), nullable=False),
        sa.Column("length_mm", sa.Integer(), nullable=False),
        sa.Column("width_mm", sa.Integer(), nullable=False),
        sa.Column("height_mm", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("claimed_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("carrier", sa.String(length=40), nullable=False),
        sa.Column("service", sa.String(length=40), nullable=False),
        sa.Column("tracking_number", sa.String(length=60), nullable=False),
        sa.Column("label_id", sa.String(length=100), nullable=False),
        sa.Column("label_format", sa.String(length=8), nullable=False),
        sa.Column("label", sa.LargeBinary(), nullable=True),
        sa.Column("cost_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("labelled_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("manifest_id", sa.String(length=100), nullable=False),
        sa.CheckConstraint(
            "weight_g >= 0 AND length_mm >= 0 AND width_mm >= 0 AND height_mm >= 0", name="ck_packages_sizes"
        ),
        sa.PrimaryKeyConstraint("order_id", "id"),
    )
    with op.batch_alter_table("packages", schema=None) as batch_op:
        batch_op.create_index("ix_packages_shipment", ["shipment_id"], unique=False)
        batch_op.create_index("ix_packages_tracking", ["tracking_number"], unique=False)

    op.create_table(
        "shipment_events",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("shipment_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "id"),
    )
    with op.batch_alter_table("shipment_events", schema=None) as batch_op:
        batch_op.create_index("ix_shipment_events_shipment", ["shipment_id", "id"], unique=False)

    op.create_table(
        "shipment_lines",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("shipment_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("picked", sa.Integer(), nullable=False),
        sa.Column("packed", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.CheckConstraint(
            "quantity > 0 AND picked >= 0 AND packed >= 0 AND packed <= picked AND picked <= quantity",
            name="ck_shipment_lines_units",
        ),
        sa.PrimaryKeyConstraint("order_id", "shipment_id", "key"),
    )
    with op.batch_alter_table("shipment_lines", schema=None) as batch_op:
        batch_op.create_index(
            "ux_shipment_lines_live_key",
            ["key"],
            unique=True,
            postgresql_where=sa.text("status = 'open'"),
            sqlite_where=sa.text("status = 'open'"),
        )

    op.create_table(
        "shipments",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=24), nullable=False),
        sa.Column("order_number", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("location", sa.String(length=40), nullable=False),
        sa.Column("ship_to", sa.String(length=40), nullable=False),
        sa.Column("address", sa.JSON(), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("releasable", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("placed_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ship_by_on", sa.Date(), nullable=True),
        sa.Column("wave_id", sa.Uuid(), nullable=True),
        sa.Column("tote", sa.String(length=20), nullable=False),
        sa.Column("carrier", sa.String(length=40), nullable=False),
        sa.Column("service", sa.String(length=40), nullable=False),
        sa.Column("tracking_number", sa.String(length=60), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("picked_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("packed_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("shipped_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tracked_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("picked_by", sa.String(length=200), nullable=False),
        sa.Column("packed_by", sa.String(length=200), nullable=False),
        sa.Column("shipped_by", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("units >= 0", name="ck_shipments_units"),
        sa.PrimaryKeyConstraint("order_id", "id"),
        sa.UniqueConstraint("number"),
    )
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.create_index("ix_shipments_id", ["id"], unique=True)
        batch_op.create_index(
            "ix_shipments_in_transit",
            ["tracked_at"],
            unique=False,
            postgresql_where=sa.text("status IN ('shipped', 'exception') AND tracking_number <> ''"),
            sqlite_where=sa.text("status IN ('shipped', 'exception') AND tracking_number <> ''"),
        )
        batch_op.create_index(
            "ix_shipments_open_work",
            ["location", "status"],
            unique=False,
            postgresql_where=sa.text("status IN ('pending', 'picking', 'picked', 'packed', 'exception')"),
            sqlite_where=sa.text("status IN ('pending', 'picking', 'picked', 'packed', 'exception')"),
        )
        batch_op.create_index("ix_shipments_picked", ["location", "picked_at"], unique=False)
        batch_op.create_index("ix_shipments_shipped", ["location", "shipped_at"], unique=False)
        batch_op.create_index("ix_shipments_status", ["location", "status", "updated_at"], unique=False)
        batch_op.create_index("ix_shipments_tracking", ["tracking_number"], unique=False)
        batch_op.create_index(
            "ix_shipments_waiting",
            ["location", "rank", "placed_at"],
            unique=False,
            postgresql_where=sa.text("status = 'pending' AND wave_id IS NULL AND releasable"),
            sqlite_where=sa.text("status = 'pending' AND wave_id IS NULL AND releasable"),
        )
        batch_op.create_index("ix_shipments_wave", ["wave_id"], unique=False)

    op.create_table(
        "waves",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("location", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("shipments", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    with op.batch_alter_table("waves", schema=None) as batch_op:
        batch_op.create_index("ix_waves_location", ["location", "status", "created_at"], unique=False)

    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hs_code", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("country_of_origin", sa.String(length=2), nullable=True))

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("fulfillment", sa.String(length=12), server_default="ship", nullable=False)
        )
        batch_op.add_column(sa.Column("store", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("store")
        batch_op.drop_column("fulfillment")

    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("country_of_origin")
        batch_op.drop_column("hs_code")

    with op.batch_alter_table("waves", schema=None) as batch_op:
        batch_op.drop_index("ix_waves_location")

    op.drop_table("waves")
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_index("ix_shipments_wave")
        batch_op.drop_index(
            "ix_shipments_waiting",
            postgresql_where=sa.text("status = 'pending' AND wave_id IS NULL AND releasable"),
            sqlite_where=sa.text("status = 'pending' AND wave_id IS NULL AND releasable"),
        )
        batch_op.drop_index("ix_shipments_tracking")
        batch_op.drop_index("ix_shipments_status")
        batch_op.drop_index("ix_shipments_shipped")
        batch_op.drop_index("ix_shipments_picked")
        batch_op.drop_index(
            "ix_shipments_open_work",
            postgresql_where=sa.text("status IN ('pending', 'picking', 'picked', 'packed', 'exception')"),
            sqlite_where=sa.text("status IN ('pending', 'picking', 'picked', 'packed', 'exception')"),
        )
        batch_op.drop_index(
            "ix_shipments_in_transit",
            postgresql_where=sa.text("status IN ('shipped', 'exception') AND tracking_number <> ''"),
            sqlite_where=sa.text("status IN ('shipped', 'exception') AND tracking_number <> ''"),
        )
        batch_op.drop_index("ix_shipments_id")

    op.drop_table("shipments")
    with op.batch_alter_table("shipment_lines", schema=None) as batch_op:
        batch_op.drop_index(
            "ux_shipment_lines_live_key",
            postgresql_where=sa.text("status = 'open'"),
            sqlite_where=sa.text("status = 'open'"),
        )

    op.drop_table("shipment_lines")
    with op.batch_alter_table("shipment_events", schema=None) as batch_op:
        batch_op.drop_index("ix_shipment_events_shipment")

    op.drop_table("shipment_events")
    with op.batch_alter_table("packages", schema=None) as batch_op:
        batch_op.drop_index("ix_packages_tracking")
        batch_op.drop_index("ix_packages_shipment")

    op.drop_table("packages")
    op.drop_table("location_docks")
    op.drop_table("item_bins")
    with op.batch_alter_table("count_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_count_tasks_open")

    op.drop_table("count_tasks")
    op.drop_table("carrier_events")
    with op.batch_alter_table("bins", schema=None) as batch_op:
        batch_op.drop_index("ix_bins_walk")

    op.drop_table("bins")

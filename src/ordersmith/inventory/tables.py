"""Inventory tables. `stock_levels` is keyed by (item_id, location_id) and guarded by CHECK constraints; the
movement ledger is append-only; a reservation's parts (lines) say which location holds how many units."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ordersmith.platform.db import Base


class LocationRow(Base):
    __tablename__ = "locations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(20))
    division: Mapped[str | None] = mapped_column(sa.String(40))  # dedicated to one division, or shared
    priority: Mapped[int] = mapped_column(default=100)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class StockLevelRow(Base):
    __tablename__ = "stock_levels"
    __table_args__ = (
        sa.CheckConstraint("on_hand >= 0", name="ck_stock_on_hand_not_negative"),
        sa.CheckConstraint("reserved >= 0", name="ck_stock_reserved_not_negative"),
        sa.CheckConstraint("reserved <= on_hand", name="ck_stock_reserved_within_on_hand"),
        sa.CheckConstraint("safety_stock >= 0", name="ck_stock_safety_not_negative"),
    )

    item_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    location_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("locations.id"), primary_key=True)
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    safety_stock: Mapped[int] = mapped_column(default=0)
    # True when division pools exist here: reservations then take the locked path (ADR 0010).
    pooled: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    updated_at: Mapped[datetime]


class StockPoolRow(Base):
    """A division's ring-fence and buffer for one item at one shared location."""

    __tablename__ = "stock_pools"
    __table_args__ = (
        sa.CheckConstraint("ring_fence >= 0", name="ck_stock_pool_fence_not_negative"),
        sa.CheckConstraint("buffer >= 0", name="ck_stock_pool_buffer_not_negative"),
        sa.CheckConstraint("reserved >= 0", name="ck_stock_pool_reserved_not_negative"),
        sa.ForeignKeyConstraint(
            ["item_id", "location_id"],
            ["stock_levels.item_id", "stock_levels.location_id"],
            name="fk_stock_pools_level",
            ondelete="CASCADE",
        ),
    )

    item_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    location_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    division: Mapped[str] = mapped_column(
        sa.ForeignKey("divisions.code", name="fk_stock_pools_division"), primary_key=True
    )
    ring_fence: Mapped[int] = mapped_column(default=0)
    buffer: Mapped[int] = mapped_column(default=0)
    # Units this division holds reserved here (its active reservation lines), kept by the same transaction that
    # changes the level's `reserved`, under the level's row lock, so planning reads one row per division instead of
    # summing open reservations (ADR 0016); `verify` proves it.
    reserved: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))
    updated_at: Mapped[datetime]


class StockMovementRow(Base):
    __tablename__ = "stock_movements"
    __table_args__ = (sa.Index("ix_stock_movements_level", "item_id", "location_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    item_id: Mapped[uuid.UUID]
    location_id: Mapped[uuid.UUID]
    on_hand_delta: Mapped[int]
    reserved_delta: Mapped[int]
    reason: Mapped[str] = mapped_column(sa.String(20))
    reference: Mapped[str] = mapped_column(sa.String(200), default="")
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(sa.String(320))


_EXPIRING = "status = 'active' AND expires_at IS NOT NULL"


class ReservationRow(Base):
    __tablename__ = "reservations"
    __table_args__ = (
        # The expiry job reads only what is due: active reservations with an expiry, by time (ADR 0016).
        sa.Index(
            "ix_reservations_expiring",
            "expires_at",
            postgresql_where=sa.text(_EXPIRING),
            sqlite_where=sa.text(_EXPIRING),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    item_id: Mapped[uuid.UUID] = mapped_column(index=True)
    quantity: Mapped[int]
    division: Mapped[str | None] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(20))  # active | released | consumed | short
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class ReservationLineRow(Base):
    __tablename__ = "reservation_lines"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="ck_reservation_line_positive"),)

    reservation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("reservations.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # the kit's component, or the item itself
    location_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    quantity: Mapped[int]

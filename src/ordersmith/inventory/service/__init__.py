"""Inventory use cases: locations, adjustments, reservations (reserve / release / consume), availability, verify.

Invariants: every change to a stock level is one conditional UPDATE (atomic on SQLite and PostgreSQL) plus its
append-only movement row in the same transaction; `on_hand` equals the sum of its movements, `reserved` the
sum of its active reservation lines, and each division pool's `reserved` its division's active lines there, kept
in the same transaction under the level's lock (`verify` proves all three); nothing ever goes negative or
oversells. Every change emits `stock.changed` with the new availability per division.
"""

from ordersmith.inventory.service._common import (
    Availability,
    CountLine,
    Discrepancy,
    Location,
    LocationStock,
    PoolStock,
    Reservation,
    ReservationLine,
)
from ordersmith.inventory.service.allocated import (
    AllocatedHold,
    StalePlan,
    StockPicture,
    reserve_allocated,
    stock_picture,
)
from ordersmith.inventory.service.levels import PoolSetting, configure_level
from ordersmith.inventory.service.locations import create_location, get_location, list_locations
from ordersmith.inventory.service.positions import (
    LevelPosition,
    LowLevel,
    Movement,
    low_stock_count,
    low_stock_levels,
    on_hand_by_location,
    recent_movements,
    shipped_since,
    stock_positions,
)
from ordersmith.inventory.service.reservations import (
    consume,
    consume_all,
    get_reservation,
    release,
    release_all,
    release_expired,
    reserve,
    shorten_reservation,
)
from ordersmith.inventory.service.stock import (
    adjust_stock,
    get_availability,
    record_count,
    transfer_stock,
    verify,
)

__all__ = [
    "AllocatedHold",
    "Availability",
    "CountLine",
    "Discrepancy",
    "LevelPosition",
    "Location",
    "LocationStock",
    "LowLevel",
    "Movement",
    "PoolSetting",
    "PoolStock",
    "Reservation",
    "ReservationLine",
    "StalePlan",
    "StockPicture",
    "adjust_stock",
    "configure_level",
    "consume",
    "consume_all",
    "create_location",
    "get_availability",
    "get_location",
    "get_reservation",
    "list_locations",
    "low_stock_count",
    "low_stock_levels",
    "on_hand_by_location",
    "recent_movements",
    "record_count",
    "release",
    "release_all",
    "release_expired",
    "reserve",
    "reserve_allocated",
    "shipped_since",
    "shorten_reservation",
    "stock_picture",
    "stock_positions",
    "transfer_stock",
    "verify",
]

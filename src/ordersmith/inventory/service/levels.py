"""Stock-level settings: safety stock, and division pools (ring-fences and buffers) on shared locations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.inventory.service._common import (
    _LEVELS,
    Availability,
    _availability,
    _ensure_level,
    _location_by_code,
    _stock_changed,
    _stocked_item,
)
from ordersmith.inventory.tables import ReservationLineRow, ReservationRow, StockPoolRow
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.platform.db import UnitOfWork, use_case


@dataclass(frozen=True)
class PoolSetting:
    division: str
    ring_fence: int = 0  # units kept for this division: other divisions cannot reserve them
    buffer: int = 0  # units kept away from this division


@use_case
def configure_level(
    uow: UnitOfWork, *, sku: str, location: str, safety_stock: int, pools: Sequence[PoolSetting] = ()
) -> Availability:
    """Set a level's safety stock and replace its division pools (an empty list removes them).

    Pools only make sense where divisions share stock, so a location dedicated to one division refuses them.

    Raises:
        NotFound: unknown SKU or location.
        ValidationFailed: a negative figure, an unknown or repeated division, pools on a dedicated location.
    """
    if safety_stock < 0:
        raise ValidationFailed.on("safety_stock", "cannot be negative")
    item = _stocked_item(uow, sku)
    loc = _location_by_code(uow, location)
    known = {d.code for d in catalog.list_divisions(uow)}
    seen: set[str] = set()
    for n, pool in enumerate(pools):
        if pool.division not in known:
            raise ValidationFailed.on(f"pools.{n}.division", f"unknown division {pool.division!r}")
        if pool.division in seen:
            raise ValidationFailed.on(f"pools.{n}.division", f"{pool.division!r} appears twice")
        if pool.ring_fence < 0 or pool.buffer < 0:
            raise ValidationFailed.on(f"pools.{n}", "ring_fence and buffer cannot be negative")
        seen.add(pool.division)
    if pools and loc.division is not None:
        raise ValidationFailed.on(
            "pools", f"{location} is dedicated to {loc.division}: pools apply to shared locations only"
        )
    _ensure_level(uow, item.id, loc.id)
    before = _availability(uow, item.sku, item.id, None)
    here = (_LEVELS.c.item_id == item.id) & (_LEVELS.c.location_id == loc.id)
    # Taking the level's row lock first serialises this with reservations on the pooled (locked) path.
    uow.execute_core(sa.update(_LEVELS).where(here).values(  # type: ignore[arg-type]
        safety_stock=safety_stock, pooled=bool(pools), updated_at=uow.now()))  # fmt: skip
    uow.execute_core(
        sa.delete(StockPoolRow.__table__).where(  # type: ignore[arg-type]
            StockPoolRow.item_id == item.id, StockPoolRow.location_id == loc.id
        )
    )
    if pools:
        # Each pool's counter starts from what its division holds here now. Under the level's lock taken above, no
        # reservation can change these figures before commit, and one that started earlier has committed (READ
        # COMMITTED: this statement sees it) or will update the counters after us (its UPDATE sees `pooled`).
        # Summing open reservations is fine here: settings change rarely; reservations never do it (ADR 0016).
        held: dict[str, int] = {
            division: int(units)
            for division, units in uow.session.execute(
                sa.select(ReservationRow.division, sa.func.sum(ReservationLineRow.quantity))
                .join(ReservationRow, ReservationRow.id == ReservationLineRow.reservation_id)
                .where(ReservationLineRow.item_id == item.id, ReservationLineRow.location_id == loc.id,
                       ReservationRow.status == "active", ReservationRow.division.in_([p.division for p in pools]))
                .group_by(ReservationRow.division)
            )
        }  # fmt: skip
        uow.execute_core(
            sa.insert(StockPoolRow.__table__),  # type: ignore[arg-type]
            [{"item_id": item.id, "location_id": loc.id, "division": p.division, "ring_fence": p.ring_fence,
              "buffer": p.buffer, "reserved": held.get(p.division, 0), "updated_at": uow.now()} for p in pools],
        )  # fmt: skip
    previous = next((x for x in before.locations if x.location == location), None)
    uow.audit(
        "stock.level_configured",
        object_type="item",
        object_id=str(item.id),
        before=None if previous is None else {
            "location": location, "safety_stock": previous.safety_stock,
            "pools": [{"division": p.division, "ring_fence": p.ring_fence, "buffer": p.buffer}
                      for p in previous.pools]},
        after={"location": location, "safety_stock": safety_stock,
               "pools": [{"division": p.division, "ring_fence": p.ring_fence, "buffer": p.buffer} for p in pools]},
    )  # fmt: skip
    _stock_changed(uow, item, cause="level")
    return _availability(uow, item.sku, item.id, None)

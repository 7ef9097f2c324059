"""The warehouse's work on a shipment: pick (short picks shorten the hold, open a count task and re-allocate the
rest), scan-to-pack, packages, cancel (ship: `shipping.py`).

Invariant: a shipment's units are picked, packed or given back under its row lock; what is cancelled goes back to
the order in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, cast

import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.fulfillment.rules import cartons, transitions
from ordersmith.fulfillment.service._common import (
    Shipment,
    lines_of,
    locked_plain,
    move,
    packages_of,
    packages_plain,
    record,
    record_now,
    shipment_row,
    to_shipment,
)
from ordersmith.fulfillment.tables import (
    CountTaskRow,
    ItemBinRow,
    PackageRow,
    ShipmentLineRow,
    ShipmentRow,
)
from ordersmith.kernel.errors import Conflict, IllegalTransition, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.orders import service as orders
from ordersmith.platform.db import UnitOfWork, use_case


class ScanRefused(Conflict):
    """A scan the packer must not make: an item not on the shipment, or one more than was picked."""

    code: ClassVar[str] = "scan_refused"
    title: ClassVar[str] = "Scan refused"


@dataclass(frozen=True)
class PackageSpec:
    weight_g: int
    length_mm: int = 0
    width_mm: int = 0
    height_mm: int = 0


@use_case
def pick_shipment(
    uow: UnitOfWork, *, ref: str, found: dict[int, int] | None = None, channel: str | None = None
) -> Shipment:
    """The picker confirms the shipment's units (all of them, unless `found` names lines where fewer were in the
    bin: line number -> units found). A short line keeps what was found; the missing units leave stock as a short
    pick, a count task is opened for the bin, and the order allocates them again (another location, or a
    backorder) onto a new shipment.

    Raises:
        IllegalTransition: the shipment is not pending or picking.
        Conflict: its order is on hold or pending (nothing is picked for an order that may not ship).
        ValidationFailed: a line not on the shipment, or more found than it holds.
    """
    if not found:
        everything = _pick_everything(uow, ref, channel)
        if everything is not None:
            return everything
    row = shipment_row(uow, ref, lock=True, channel=channel)
    if row.status not in ("pending", "picking"):  # the state first: a cancelled one has given its lines back
        move(uow, row, "pick")  # raises, naming the state
    if not row.releasable:
        raise Conflict(
            f"order {row.order_number} is on hold or not released: its shipment waits (put it back)"
        )
    every = lines_of(uow, row)
    lines = [line for line in every if line.status == "open"]
    found = dict(found or {})
    by_line: dict[int, int] = {}
    for line in lines:
        by_line[line.line_no] = by_line.get(line.line_no, 0) + line.quantity
    for n, units in found.items():
        if n not in by_line:
            raise ValidationFailed.on(f"found.{n}", f"line {n} is not on shipment {row.number}")
        if units < 0 or units > by_line[n]:
            raise ValidationFailed.on(f"found.{n}", f"between 0 and the {by_line[n]} unit(s) to pick")
    shorts = []
    for line in lines:
        left = found.get(line.line_no, by_line[line.line_no])
        got = min(left, line.quantity)
        found[line.line_no] = left - got
        if got < line.quantity:
            shorts.append((line, got))
        line.picked = got
    for line, got in shorts:
        _short(uow, row, line, got)
    row.picked_at, row.picked_by = uow.now(), uow.actor.label
    if row.units == 0:
        move(uow, row, "cancel", {"reason": "nothing was found to pick"})
    else:
        move(
            uow,
            row,
            "pick",
            {
                "short": [
                    {"line": line.line_no, "sku": line.sku, "found": got, "missing": line.quantity - got}
                    for line, got in shorts
                ]
            },
        )
    uow.session.flush()
    # Without a short pick its lines are as read and changed here; a short one re-reads what re-allocation left.
    return to_shipment(uow, row, lines=None if shorts else every)


_LINES = ShipmentLineRow.__table__
_SHIPMENTS = ShipmentRow.__table__
_PICKED = transitions.next_status("picking", "pick")
_PICK_LINES = (
    sa.update(_LINES)  # type: ignore[arg-type]
    .where(_LINES.c.order_id == sa.bindparam("b_order"), _LINES.c.shipment_id == sa.bindparam("b_id"))
    .values(picked=sa.case((_LINES.c.status == "open", _LINES.c.quantity), else_=_LINES.c.picked))
    .returning(*_LINES.c)
)
_MARK_PICKED = (
    sa.update(_SHIPMENTS)  # type: ignore[arg-type]
    .where(_SHIPMENTS.c.order_id == sa.bindparam("b_order"), _SHIPMENTS.c.id == sa.bindparam("b_id"))
    .values(status=_PICKED, version=_SHIPMENTS.c.version + 1, updated_at=sa.bindparam("b_now"),
            picked_at=sa.bindparam("b_now"), picked_by=sa.bindparam("b_actor"))
    .returning(*_SHIPMENTS.c)
)  # fmt: skip


def _pick_everything(uow: UnitOfWork, ref: str, channel: str | None) -> Shipment | None:
    """A wave's common case, in set-based Core statements: every open line picked in full. None when the
    shipment is not one to pick (the full path then refuses it, naming why) or has nothing left to pick."""
    row = locked_plain(uow, ref, channel=channel)
    if row is None or row.status not in ("pending", "picking") or not row.releasable or row.units == 0:
        return None
    key = {"b_order": row.order_id, "b_id": row.id}
    every = sorted(uow.execute_core(_PICK_LINES, key).all(), key=lambda line: (line.line_no, line.key))
    picked = uow.execute_core(_MARK_PICKED, {**key, "b_now": uow.now(), "b_actor": uow.actor.label}).one()
    shipment = cast(ShipmentRow, picked)  # a Core row carries the mapped attributes' names
    record_now(uow, shipment, f"shipment.{_PICKED}", {"from": row.status, "to": _PICKED, "short": []})
    # No packages: a shipment gets them at the pack station, which a pending or picking one has not reached.
    return to_shipment(uow, shipment, lines=cast(list[ShipmentLineRow], every), packages=[])


def _short(uow: UnitOfWork, row: ShipmentRow, line: ShipmentLineRow, got: int) -> None:
    missing = line.quantity - got
    orders.short_pick(uow, ref=str(row.order_id), key=line.key, found=got, note=f"shipment {row.number}")
    bin_code = uow.session.scalar(
        sa.select(ItemBinRow.bin).where(
            ItemBinRow.location == row.location, ItemBinRow.sku == line.sku.upper()
        )
    )
    uow.session.add(
        CountTaskRow(
            id=new_id(),
            location=row.location,
            bin=bin_code or "",
            sku=line.sku,
            reason="short_pick",
            missing=missing,
            reference=f"shipment {row.number}",
            status="open",
            created_by=uow.actor.label,
            created_at=uow.now(),
            done_at=None,
        )
    )
    row.units -= missing
    if got == 0:
        line.status = "removed"
        row.lines -= 1
    else:
        line.quantity = got
    record(
        uow,
        row,
        "shipment.short_picked",
        {"line": line.line_no, "sku": line.sku, "found": got, "missing": missing, "bin": bin_code or ""},
    )


@use_case
def scan_item(uow: UnitOfWork, *, ref: str, code: str, channel: str | None = None) -> Shipment:
    """The packer scanned a barcode (GTIN or SKU) for this picked shipment: one more unit of its line is packed.

    Raises:
        ScanRefused: the item is not on the shipment, or every picked unit of it is packed already (nothing
            changes: the station beeps and shows why).
        IllegalTransition: the shipment is not picked (not yet picked, or packed already).
    """
    row = shipment_row(uow, ref, lock=True, channel=channel)
    if row.status != "picked":
        raise IllegalTransition(
            f"a {row.status} shipment is not at the pack station", state=row.status, action="scan"
        )
    sku = catalog.sku_for_barcode(uow, code=code) if code.strip() else None
    lines = [line for line in lines_of(uow, row, live=True) if sku and line.sku.upper() == sku.upper()]
    if not lines:
        raise ScanRefused(
            f"{code.strip()[:40] or 'nothing'} is not on shipment {row.number}", scanned=code[:40]
        )
    line = next((line for line in lines if line.packed < line.picked), None)
    if line is None:
        raise ScanRefused(
            f"every picked unit of {lines[0].sku} is packed already ({sum(x.picked for x in lines)})",
            scanned=code[:40],
        )
    line.packed += 1
    row.version += 1
    row.updated_at = uow.now()
    uow.session.flush()
    return to_shipment(uow, row)


@use_case
def pack_shipment(
    uow: UnitOfWork,
    *,
    ref: str,
    packages: list[PackageSpec] | None = None,
    all_units: bool = False,
    channel: str | None = None,
) -> Shipment:
    """Close the shipment's packing: every picked unit scanned (or, with `all_units`, vouched for by the caller),
    into `packages` (weights and sizes as weighed; when none are given, cartons chosen from the items' catalog
    sizes and weights).

    Raises:
        IllegalTransition: the shipment is not picked.
        ValidationFailed: units picked and not packed (without `all_units`), a package without weight.
    """
    if all_units and packages and all(spec.weight_g > 0 for spec in packages):
        boxed = _pack_everything(uow, ref, packages, channel)
        if boxed is not None:
            return boxed
    row = shipment_row(uow, ref, lock=True, channel=channel)
    if row.status != "picked":
        move(uow, row, "pack")  # raises, naming the state
    every = lines_of(uow, row)
    lines = [line for line in every if line.status == "open"]
    unpacked = sum(line.picked - line.packed for line in lines)
    if unpacked and not all_units:
        raise ValidationFailed.on("lines", f"{unpacked} picked unit(s) are not scanned yet")
    for line in lines:
        line.packed = line.picked
    specs = list(packages or []) or _estimate(uow, lines)
    for n, spec in enumerate(specs):
        if spec.weight_g <= 0:
            raise ValidationFailed.on(f"packages.{n}.weight_g", "weigh the package: more than 0 g")
    boxes = packages_of(uow, row)
    new = [
        PackageRow(
            order_id=row.order_id,
            id=new_id(),
            shipment_id=row.id,
            seq=seq,
            weight_g=spec.weight_g,
            length_mm=spec.length_mm,
            width_mm=spec.width_mm,
            height_mm=spec.height_mm,
            status="open",
            carrier="",
            service="",
            tracking_number="",
            label_id="",
            label_format="",
            label=None,
            cost_minor=0,
            currency="USD",
            created_at=uow.now(),
            labelled_at=None,
        )
        for seq, spec in enumerate(specs, len(boxes) + 1)
    ]
    uow.session.add_all(new)
    boxes += new
    row.packed_at, row.packed_by = uow.now(), uow.actor.label
    move(uow, row, "pack", {"packages": len(specs)})
    if row.kind == "pickup":  # the customer (and the channel) hear the order waits at the store's counter
        record(uow, row, "shipment.ready_for_pickup", {"store": row.location})
    uow.session.flush()
    return to_shipment(uow, row, lines=every, packages=boxes)


_PACKED = transitions.next_status("picked", "pack")
_PACK_LINES = (
    sa.update(_LINES)  # type: ignore[arg-type]
    .where(_LINES.c.order_id == sa.bindparam("b_order"), _LINES.c.shipment_id == sa.bindparam("b_id"))
    .values(packed=sa.case((_LINES.c.status == "open", _LINES.c.picked), else_=_LINES.c.packed))
    .returning(*_LINES.c)
)
_MARK_PACKED = (
    sa.update(_SHIPMENTS)  # type: ignore[arg-type]
    .where(_SHIPMENTS.c.order_id == sa.bindparam("b_order"), _SHIPMENTS.c.id == sa.bindparam("b_id"))
    .values(status=_PACKED, version=_SHIPMENTS.c.version + 1, updated_at=sa.bindparam("b_now"),
            packed_at=sa.bindparam("b_now"), packed_by=sa.bindparam("b_actor"))
    .returning(*_SHIPMENTS.c)
)  # fmt: skip
_INSERT_PACKAGES = sa.insert(PackageRow.__table__)  # type: ignore[arg-type]


def _pack_everything(
    uow: UnitOfWork, ref: str, specs: list[PackageSpec], channel: str | None
) -> Shipment | None:
    """A wave's common case, in set-based Core statements: every picked unit vouched for, into weighed
    packages. None when the shipment is not picked (the full path then refuses it, naming its state)."""
    row = locked_plain(uow, ref, channel=channel)
    if row is None or row.status != "picked":
        return None
    key, now = {"b_order": row.order_id, "b_id": row.id}, uow.now()
    every = sorted(uow.execute_core(_PACK_LINES, key).all(), key=lambda line: (line.line_no, line.key))
    boxes = packages_plain(uow, row.order_id, row.id)
    new = [
        {"order_id": row.order_id, "id": new_id(), "shipment_id": row.id, "seq": seq, "weight_g": spec.weight_g,
         "length_mm": spec.length_mm, "width_mm": spec.width_mm, "height_mm": spec.height_mm, "status": "open",
         "claimed_at": None, "carrier": "", "service": "", "tracking_number": "", "label_id": "", "label_format": "",
         "label": None, "cost_minor": 0, "currency": "USD", "created_at": now, "labelled_at": None, "manifest_id": ""}
        for seq, spec in enumerate(specs, len(boxes) + 1)
    ]  # fmt: skip
    uow.execute_core(_INSERT_PACKAGES, new)
    packed = cast(
        ShipmentRow, uow.execute_core(_MARK_PACKED, {**key, "b_now": now, "b_actor": uow.actor.label}).one()
    )
    record_now(
        uow, packed, f"shipment.{_PACKED}", {"from": row.status, "to": _PACKED, "packages": len(specs)}
    )
    if packed.kind == "pickup":  # the customer (and the channel) hear the order waits at the store's counter
        record_now(uow, packed, "shipment.ready_for_pickup", {"store": packed.location})
    made = [
        PackageRow(**values) for values in new
    ]  # not added to the session: written above, read by to_shipment
    return to_shipment(uow, packed, lines=cast(list[ShipmentLineRow], every), packages=[*boxes, *made])


def _estimate(uow: UnitOfWork, lines: list[ShipmentLineRow]) -> list[PackageSpec]:
    """Cartons for the packed units from their catalog sizes (an item without sizes counts as a small box)."""
    units: list[cartons.Unit] = []
    for line in lines:
        item = catalog.get_item(uow, sku=line.sku)
        unit = cartons.Unit(
            line.sku, item.weight_g or 500, item.length_mm or 250, item.width_mm or 200, item.height_mm or 50
        )
        units += [unit] * line.packed
    try:
        boxes = cartons.cartonize(units)
    except cartons.DoesNotFit as big:
        return [
            PackageSpec(
                sum(u.weight_g for u in units), big.unit.length_mm, big.unit.width_mm, big.unit.height_mm
            )
        ]
    return [PackageSpec(b.weight_g, b.carton.length_mm, b.carton.width_mm, b.carton.height_mm) for b in boxes]


@use_case
def cancel_shipment(uow: UnitOfWork, *, ref: str, reason: str, channel: str | None = None) -> Shipment:
    """Cancel what the shipment was to ship: its units are cancelled on the order (reservations released,
    payments void or refund what no longer ships), and the shipment is cancelled.

    Raises:
        IllegalTransition: the shipment has shipped or is cancelled already.
        ValidationFailed: no reason given.
    """
    if not reason.strip():
        raise ValidationFailed.on("reason", "say why the shipment is cancelled")
    row = shipment_row(uow, ref, lock=True, channel=channel)
    move(uow, row, "cancel", {"reason": reason.strip()})
    cuts: dict[int, int] = {}
    for line in lines_of(uow, row, live=True):
        cuts[line.line_no] = cuts.get(line.line_no, 0) + line.quantity
        line.status = "removed"
    if cuts:
        orders.cancel_order(
            uow, ref=str(row.order_id), reason=f"shipment {row.number}: {reason.strip()}", lines=cuts
        )
    row.units, row.lines = 0, 0
    uow.session.flush()
    return to_shipment(uow, row)

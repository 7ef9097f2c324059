"""The vendor's confirmation of a drop-ship (an API call, or a CSV of many, all or nothing)."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from ordersmith.fulfillment.rules import transitions
from ordersmith.fulfillment.service._common import (
    Shipment,
    announce,
    lines_of,
    move,
    record,
    shipment_row,
    to_shipment,
)
from ordersmith.fulfillment.service.drop_ship._common import (
    KIND,
)
from ordersmith.fulfillment.tables import ShipmentLineRow, ShipmentRow
from ordersmith.kernel.errors import Conflict, FieldError, NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.orders import service as orders
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.purchasing import service as purchasing

# --- the vendor's confirmation ---


def _drop_row(uow: UnitOfWork, ref: str, *, lock: bool, channel: str | None = None) -> ShipmentRow:
    """The drop-ship shipment by id or number, or by its PO's number (the open one first, else the latest)."""
    try:
        row = shipment_row(uow, ref, lock=lock, channel=channel)
    except NotFound:
        query = (
            sa.select(ShipmentRow)
            .where(ShipmentRow.purchase_order == ref.strip().upper()[:20], ShipmentRow.kind == KIND)
            .order_by(ShipmentRow.status.in_(sorted(transitions.OPEN)).desc(), ShipmentRow.id.desc())
            .limit(1)
        )
        found = uow.session.scalar(query)
        if found is None or (channel is not None and found.channel != channel):
            raise NotFound(f"no drop-ship shipment or PO {ref.strip()[:40]!r}") from None
        row = shipment_row(uow, found.id, lock=lock, channel=channel)
    if row.kind != KIND:
        raise Conflict(f"shipment {row.number} is not drop-shipped: it ships from {row.location}")
    return row


def _units(
    row: ShipmentRow, live: list[ShipmentLineRow], lines: dict[int, int] | None, field: str
) -> dict[int, int]:
    held: dict[int, int] = {}
    for line in live:
        held[line.line_no] = held.get(line.line_no, 0) + line.quantity
    if lines is None:
        return held
    if not lines:
        raise ValidationFailed.on(field, "name at least one line, or leave lines out to confirm them all")
    for n, units in lines.items():
        if n not in held:
            raise ValidationFailed.on(f"{field}.{n}", f"line {n} is not on shipment {row.number}")
        if not 1 <= units <= held[n]:
            raise ValidationFailed.on(f"{field}.{n}", f"between 1 and the {held[n]} unit(s) on the shipment")
    return dict(lines)


@use_case
def confirm_drop_ship(
    uow: UnitOfWork,
    *,
    ref: str,
    tracking: str,
    carrier: str = "",
    lines: dict[int, int] | None = None,
    channel: str | None = None,
) -> Shipment:
    """The vendor shipped the drop-ship shipment `ref` (its number or id, or its PO's number): `lines` (order line
    -> units; all of them when None) ship on the order, are confirmed on the PO (at its cost) and the shipment
    moves to shipped with `tracking` (`shipment.shipped` tells the channel). Units the vendor did not ship yet
    move to a new drop-ship shipment on the same PO.

    Raises:
        NotFound: no such shipment or PO.
        IllegalTransition: the shipment is shipped or cancelled already (a second confirmation changes nothing).
        Conflict: not a drop-ship shipment; the order no longer wants these units, or cannot ship (on hold).
        ValidationFailed: no tracking number; a line not on the shipment, or more units than it holds.
    """
    if not tracking.strip():
        raise ValidationFailed.on("tracking", "the vendor's tracking number is needed (the customer gets it)")
    row = _drop_row(uow, ref, lock=True, channel=channel)
    if row.status not in transitions.OPEN:
        move(uow, row, "confirm")  # raises, naming the state: only one confirmation moves it
    live = lines_of(uow, row, live=True)
    shipped = _units(row, live, lines, "lines")
    row.tracking_number, row.carrier = tracking.strip()[:60], carrier.strip()[:40]
    orders.ship_unstocked(
        uow, ref=str(row.order_id), lines=shipped, tracking=row.tracking_number, shipment=row.number
    )
    if row.purchase_order:
        po = purchasing.get_purchase_order(uow, number=row.purchase_order)
        by_sales_line = {line.sales_line: line.line for line in po.lines}
        purchasing.confirm_drop_ship(
            uow, number=po.number, lines={by_sales_line[n]: units for n, units in shipped.items()}
        )
    rest = _split(uow, row, live, shipped)
    row.shipped_at, row.shipped_by = uow.now(), uow.actor.label
    move(
        uow,
        row,
        "confirm",
        {
            "tracking_number": row.tracking_number,
            "carrier": row.carrier,
            "purchase_order": row.purchase_order or "",
            "drop_ship": True,
            "lines": [{"line": n, "quantity": q} for n, q in sorted(shipped.items())],
            "rest": rest.number if rest else None,
        },
    )
    uow.session.flush()
    return to_shipment(uow, row)


def _split(
    uow: UnitOfWork, row: ShipmentRow, live: list[ShipmentLineRow], shipped: dict[int, int]
) -> ShipmentRow | None:
    """Mark what shipped; what the vendor has not shipped yet goes on a new open shipment of the same PO."""
    left = dict(shipped)
    rest: list[tuple[ShipmentLineRow, int]] = []
    for line in live:
        units = min(left.get(line.line_no, 0), line.quantity)
        left[line.line_no] = left.get(line.line_no, 0) - units
        if units < line.quantity:
            rest.append((line, line.quantity - units))
        if units:
            line.status, line.quantity, line.picked, line.packed = "shipped", units, units, units
        else:
            line.status = "removed"
    row.units = sum(shipped.values())
    row.lines = sum(1 for line in live if line.status == "shipped")
    if not rest:
        return None
    uow.session.flush()  # the keys leave the live index before the new shipment takes them
    seq = uow.session.scalar(sa.select(sa.func.count()).where(ShipmentRow.order_id == row.order_id)) or 0
    now = uow.now()
    other = ShipmentRow(**{c.key: getattr(row, c.key) for c in ShipmentRow.__table__.columns})
    other.id, other.number, other.status, other.units, other.lines = (
        new_id(),
        f"{row.order_number}-{seq + 1}",
        "pending",
        0,
        0,
    )
    other.tracking_number, other.carrier, other.created_at, other.updated_at, other.version = (
        "",
        "",
        now,
        now,
        1,
    )
    other.shipped_at, other.shipped_by = None, ""
    uow.session.add(other)
    uow.session.flush()
    for line, units in rest:
        uow.session.add(
            ShipmentLineRow(
                order_id=line.order_id,
                shipment_id=other.id,
                key=line.key,
                line_no=line.line_no,
                sku=line.sku,
                name=line.name,
                gtin=line.gtin,
                quantity=units,
                picked=0,
                packed=0,
                status="open",
            )
        )
        other.units += units
        other.lines += 1
    record(
        uow,
        other,
        "shipment.created",
        {"ship_to": other.ship_to, "purchase_order": other.purchase_order, "split_from": row.number},
        emit=False,
    )
    announce(
        uow,
        other,
        "shipment.created",
        {
            "ship_to": other.ship_to,
            "method": other.method,
            "units": other.units,
            "purchase_order": other.purchase_order,
        },
    )
    return other


_COLUMNS = ("po_number", "shipment", "tracking", "carrier", "line", "quantity")


@dataclass
class _Group:
    """One shipment's rows in a CSV: its tracking number and the lines shipped (None: all of them)."""

    ref: str
    first_row: int
    tracking: str
    carrier: str
    lines: dict[int, int] | None


@use_case
def import_drop_ship_confirmations(uow: UnitOfWork, *, csv_text: str) -> dict[str, int]:
    """A vendor's CSV of what it shipped: columns `po_number` or `shipment`, `tracking`, `carrier`, and optionally
    `line` (the order line) with `quantity` (its units shipped; the whole line when empty). A shipment's rows share
    one tracking number; a row without `line` ships everything on its shipment. Every row is checked first (each
    error names `rows.<row>.<column>`, the header being row 1), then all are applied in this one transaction: all
    or nothing. Returns {"rows", "shipments", "units"}.

    Raises:
        ValidationFailed: no rows, missing or unknown columns, any bad row (every error at once); nothing changes.
        IllegalTransition, Conflict: as `confirm_drop_ship`, should a shipment change between check and apply.
    """
    reader = csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if "tracking" not in header or not {"po_number", "shipment"} & set(header):
        raise ValidationFailed.on(
            "csv", "columns: po_number or shipment, tracking, carrier; optional line, quantity"
        )
    unknown = sorted(set(header) - set(_COLUMNS))
    if unknown:
        raise ValidationFailed.on("csv", f"unknown column(s): {', '.join(unknown)[:200]}")
    reader.fieldnames = header
    groups: dict[uuid.UUID, _Group] = {}
    errors: list[FieldError] = []
    count = 0
    for number, raw in enumerate(reader, start=2):
        count += 1
        values = {k: (v or "").strip() for k, v in raw.items() if k in _COLUMNS and isinstance(v, str)}
        _check_row(uow, number, values, groups, errors)
    if count == 0:
        raise ValidationFailed.on("csv", "no rows")
    if errors:
        raise ValidationFailed(f"{len(errors)} error(s) in the CSV: nothing was applied", errors=errors[:100])
    units = 0
    for group in groups.values():
        done = confirm_drop_ship(
            uow, ref=group.ref, tracking=group.tracking, carrier=group.carrier, lines=group.lines
        )
        units += sum(line.quantity for line in done.lines if line.status == "shipped")
    return {"rows": count, "shipments": len(groups), "units": units}


def _check_row(
    uow: UnitOfWork,
    number: int,
    values: dict[str, str],
    groups: dict[uuid.UUID, _Group],
    errors: list[FieldError],
) -> None:
    """Check one row (appending its errors) and add it to its shipment's group."""
    before = len(errors)

    def fail(column: str, message: str) -> None:
        errors.append(FieldError(f"rows.{number}.{column}", message))

    column = "shipment" if values.get("shipment") else "po_number"
    ref, tracking, carrier = values.get(column, ""), values.get("tracking", ""), values.get("carrier", "")
    line_no, quantity = _whole(values.get("line", "")), _whole(values.get("quantity", ""))
    if not tracking or len(tracking) > 60:
        fail("tracking", "the vendor's tracking number (1-60 characters)")
    if len(carrier) > 40:
        fail("carrier", "at most 40 characters")
    if values.get("line") and line_no is None:
        fail("line", "an order line number (1 or more)")
    if values.get("quantity") and (quantity is None or line_no is None):
        fail("quantity", "a number of units (1 or more) with its line")
    if not ref:
        fail(column, "name the PO number or the shipment")
        return
    try:
        row = _drop_row(uow, ref, lock=False)
    except (NotFound, Conflict):
        fail(column, f"no drop-ship shipment or PO {ref[:40]!r}")
        return
    if row.status not in transitions.OPEN:
        fail(column, f"shipment {row.number} is {row.status} already")
        return
    if len(errors) > before:
        return
    group = groups.get(row.id)
    if group is None:
        group = groups[row.id] = _Group(
            row.number, number, tracking, carrier, None if line_no is None else {}
        )
    elif tracking != group.tracking:
        fail("tracking", f"shipment {row.number} has tracking {group.tracking!r} on row {group.first_row}")
        return
    elif group.lines is None or line_no is None:
        fail(
            "line", f"shipment {row.number} is on row {group.first_row} too: name a line on each of its rows"
        )
        return
    if group.lines is None or line_no is None:
        return
    held = {line.line_no: line.quantity for line in lines_of(uow, row, live=True)}
    if line_no not in held:
        fail("line", f"line {line_no} is not on shipment {row.number}")
    elif line_no in group.lines:
        fail("line", f"line {line_no} of shipment {row.number} is on an earlier row")
    elif (quantity or held[line_no]) > held[line_no]:
        fail("quantity", f"at most the {held[line_no]} unit(s) of line {line_no} on shipment {row.number}")
    else:
        group.lines[line_no] = quantity or held[line_no]


def _whole(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) <= 1_000_000 else None

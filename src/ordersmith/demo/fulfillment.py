"""Demo warehouse: where each location ships from (its dock, with the sandbox carrier), bins along a walk in the
three warehouses and the stores, and each stocked item's primary pick bin, so pick lists come out in walk order;
how the recent history is shipped (each day's work in waves per location, picked along the pick lists, packed,
labelled and shipped; drop-ship lines confirmed by their vendor), and the tracking of the parcels on their way
(delivered, or a carrier's exception).

Every step looks at the state first (an open wave is worked on, a shipped shipment left alone), so a load killed
half-way takes the day's work on where it stopped.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from ordersmith.catalog import service as catalog
from ordersmith.demo._framework import DemoReport, loader
from ordersmith.demo.catalog import DEMO_LOCATIONS
from ordersmith.fulfillment import service as fulfillment
from ordersmith.kernel.clock import FixedClock
from ordersmith.kernel.errors import OrdersmithError, ValidationFailed
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.platform.settings import Settings

_DOCKS = {
    "DC-EAST": ("East distribution center", "200 Harbor Way", "Boston", "MA", "02110", "pdf"),
    "DC-WEST": ("West distribution center", "4100 Logistics Pkwy", "Reno", "NV", "89502", "zpl"),
    "MKT-3PL": ("Marketplace fulfilment", "77 Commerce Dr", "Memphis", "TN", "38118", "zpl"),
    "STORE-NYC": ("New York store", "350 5th Ave", "New York", "NY", "10118", "pdf"),
    "STORE-SF": ("San Francisco store", "865 Market St", "San Francisco", "CA", "94103", "pdf"),
}
_PER_AISLE = 24  # bins per aisle: 4 bays x 3 levels, both sides of the aisle walked in one pass


def _skus(db: Database) -> list[str]:
    uow = db.unit_of_work(Actor.system("demo"))
    found, cursor = [], None
    while True:
        page = catalog.list_items(uow, limit=200, cursor=cursor)
        found += [item.sku for item in page.items if item.keeps_stock]
        cursor = page.next_cursor
        if cursor is None:
            return found


@loader("fulfillment: docks, bins and pick bins", stage=45)
def _warehouse(db: Database, settings: Settings, report: DemoReport) -> None:
    uow = db.unit_of_work(Actor.system("demo"))
    if fulfillment.list_bins(uow, location="DC-EAST", limit=1).items:
        return
    skus = _skus(db)
    with uow:  # one transaction per load: every dock, bin and assignment, or none
        for code, *_ in DEMO_LOCATIONS:
            name, line1, city, region, postal, label_format = _DOCKS[code]
            fulfillment.set_dock(
                uow,
                location=code,
                label_format=label_format,
                address={
                    "name": name,
                    "company": settings.retailer_name,
                    "line1": line1,
                    "city": city,
                    "region": region,
                    "postal_code": postal,
                    "country": "US",
                    "phone": "800-555-0100",
                },
            )
            for n, sku in enumerate(skus):
                aisle, slot = divmod(n, _PER_AISLE)
                bay, level = divmod(slot, 3)
                code_of_bin = f"{chr(65 + aisle // 10)}{aisle % 10 + 1:02d}-{bay + 1:02d}-{level + 1}"
                fulfillment.put_bin(
                    uow,
                    location=code,
                    code=code_of_bin,
                    walk_sequence=n * 10,
                    zone=code_of_bin[0],
                    aisle=code_of_bin[:3],
                    bay=f"{bay + 1:02d}",
                    level=str(level + 1),
                )
                fulfillment.assign_bin(uow, location=code, sku=sku, bin_code=code_of_bin)
    report.say(f"docks for {len(DEMO_LOCATIONS)} locations (sandbox carrier), {len(skus)} pick bins at each")


# --- the recent history, shipped through waves --------------------------------------------------------------------

_WAVE_SIZE = 60  # orders per wave: a picker's cart of totes
_PICKERS = 3
_PACKERS = 2
_TRACKED_AT_ONCE = 20_000


def _staff(db: Database, who: str, at: datetime) -> UnitOfWork:
    return db.unit_of_work(Actor.system(who), clock=FixedClock(at))


def ship_waves(db: Database, *, at: datetime, labelled: bool, carrier_clock: FixedClock) -> int:
    """The day's work at every location, from `at` (the evening after the day's orders): the waves a killed load
    left open first, then new waves of what waits until nothing does; each walked by up to three pickers along its
    pick lists, packed by two packers, labelled by the sandbox carrier (when `labelled`; its clock set to the hour
    the parcel left) and shipped. Returns the shipments shipped."""
    shipped = 0
    for location, *_ in DEMO_LOCATIONS:
        lead = _staff(db, "demo wave planner", at)
        waves = [
            w
            for s in ("released", "picking")
            for w in fulfillment.list_waves(lead, location=location, status=s).items
        ]
        while True:
            for wave in waves:
                shipped += _work_wave(db, wave.number, at, labelled=labelled, carrier_clock=carrier_clock)
            try:
                built = fulfillment.build_wave(
                    lead, location=location, filters=fulfillment.WaveFilters(max_orders=_WAVE_SIZE)
                )
            except ValidationFailed:
                break  # nothing waits here
            waves = [built]
    return shipped


def _work_wave(db: Database, number: str, at: datetime, *, labelled: bool, carrier_clock: FixedClock) -> int:
    """Pick the wave's shipments (each by the picker whose stretch of the walk reaches it first), then pack,
    label and ship them."""
    lead = _staff(db, "demo wave planner", at)
    walks = fulfillment.pick_lists(lead, ref=number, pickers=_PICKERS)
    picker_of: dict[str, int] = {}
    for walk in walks:
        for stop in walk.stops:
            for drop in stop.drops:
                picker_of.setdefault(drop.shipment, walk.picker)
    shipments = sorted(fulfillment.list_shipments(lead, wave=number, limit=500).items, key=lambda s: s.number)
    shipped = 0
    for n, summary in enumerate(shipments):
        picked_at = at + timedelta(minutes=30 + 2 * n)
        packed_at = picked_at + timedelta(minutes=40)
        picker = _staff(db, f"picker {picker_of.get(summary.number, 1)}", picked_at)
        packer = _staff(db, f"packer {n % _PACKERS + 1}", packed_at)
        status = summary.status
        if status in ("pending", "picking"):
            status = fulfillment.pick_shipment(picker, ref=summary.number).status
        if status == "picked":
            status = fulfillment.pack_shipment(packer, ref=summary.number, all_units=True).status
        if status != "packed":
            continue
        shipment = fulfillment.get_shipment(packer, ref=summary.number)
        if (
            labelled
            and shipment.kind == "ship"
            and not any(p.status == "labelled" for p in shipment.packages)
        ):
            carrier_clock.advance(packed_at - carrier_clock.now())
            with contextlib.suppress(OrdersmithError):  # the sandbox refuses what a real carrier would
                shipment = fulfillment.buy_labels(packer, ref=shipment.number)
        tracking = (
            "" if shipment.tracking_number else "1Z" + "".join(c for c in shipment.number if c.isdigit())
        )
        fulfillment.ship_shipment(packer, ref=shipment.number, tracking=tracking)
        shipped += 1
    return shipped


def confirm_drop_ships(db: Database, *, order_id: str, at: datetime) -> int:
    """The vendor's confirmation of the order's open drop-ship shipments, with its tracking number (as its daily
    CSV would bring it). Returns the shipments confirmed."""
    vendor = _staff(db, "demo purchasing", at)
    confirmed = 0
    for shipment in fulfillment.order_shipments(vendor, order_id=order_id):
        if shipment.kind == "drop_ship" and shipment.status == "pending":
            tracking = "LFT" + "".join(c for c in shipment.number if c.isdigit())
            fulfillment.confirm_drop_ship(vendor, ref=shipment.number, tracking=tracking, carrier="ups")
            confirmed += 1
    return confirmed


@loader("fulfillment: tracking of the parcels on their way", stage=55)
def _tracking(db: Database, settings: Settings, report: DemoReport) -> None:
    """Ask the sandbox carrier about every labelled parcel on its way, as the polling job does: those it delivered
    are delivered, those it could not deliver are exceptions (postal code 99999). Safe to run again: each carrier
    event is applied once."""
    fulfillment.setup_fulfillment(db, settings)  # the carrier on the real clock
    uow = db.unit_of_work(Actor.system("demo tracking"))
    # Every parcel at once (the job asks a bounded batch): the demo's are those of its last weeks, a few hundred.
    applied = fulfillment.poll_tracking(uow, limit=_TRACKED_AT_ONCE)
    if applied:
        report.say(
            f"{applied} tracking events from the sandbox carrier (parcels delivered, a few exceptions)"
        )

"""Fulfillment use cases: shipments following the order's allocation, waves and pick lists, pick / scan-to-pack /
ship / cancel, bins and count tasks, and the warehouse's productivity. See each module for its invariant."""

from typing import Any

from ordersmith.fulfillment.carriers import Carrier
from ordersmith.fulfillment.rules.transitions import STATUSES
from ordersmith.fulfillment.rules.waves import WaveFilters
from ordersmith.fulfillment.service._common import Package, Shipment, ShipmentLine, TimelineEntry
from ordersmith.fulfillment.service.bins import (
    Bin,
    CountTask,
    assign_bin,
    complete_count_task,
    list_bins,
    list_count_tasks,
    put_bin,
)
from ordersmith.fulfillment.service.carrying import (
    Dock,
    RateQuote,
    buy_labels,
    carrier_named,
    carrier_names,
    label_of,
    rate_shipment,
    set_dock,
    setup_carriers,
    void_labels,
)
from ordersmith.fulfillment.service.drop_ship import (
    DropShip,
    DropShipLine,
    confirm_drop_ship,
    import_drop_ship_confirmations,
    list_drop_ships,
    on_order_placed,
    wants_placed,
)
from ordersmith.fulfillment.service.papers import (
    commercial_invoice_pdf,
    customer_invoice_pdf,
    packing_slip_pdf,
    pick_list_pdf,
    setup_papers,
)
from ordersmith.fulfillment.service.queries import (
    LocationWork,
    Productivity,
    ShipmentSummary,
    WorkerRate,
    get_shipment,
    list_shipments,
    order_shipments,
    warehouse_productivity,
    warehouse_work,
)
from ordersmith.fulfillment.service.syncing import (
    on_order_event,
    on_order_events,
    sync_order,
    sync_orders,
    wants,
)
from ordersmith.fulfillment.service.tracking import (
    ManifestOut,
    check_address,
    close_day,
    poll_tracking,
    receive_webhook,
    record_tracking,
)
from ordersmith.fulfillment.service.waves import (
    PickList,
    Wave,
    build_wave,
    cancel_wave,
    get_wave,
    list_waves,
    pick_lists,
)
from ordersmith.fulfillment.service.work import (
    PackageSpec,
    ScanRefused,
    cancel_shipment,
    pack_shipment,
    pick_shipment,
    scan_item,
    ship_shipment,
)
from ordersmith.kernel.clock import Clock, system_clock
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.settings import Settings


def setup_fulfillment(
    db: Database,
    settings: Settings,
    *,
    carriers: dict[str, Carrier] | None = None,
    clock: Clock = system_clock,
) -> None:
    """Wire fulfillment for `db` (the API, the worker, the CLI and tests call it at start): the configured carriers
    (or `carriers`; the sandbox on `clock`), and what documents print as the retailer's own."""
    setup_carriers(db, settings, carriers=carriers, clock=clock)
    setup_papers(db, settings)


def _poll_job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    poll_tracking(uow)


def register() -> None:
    """Subscribers and jobs (idempotent: safe to call at every start): shipments follow their order's events (an
    order released with drop-ship lines is routed from its placing or release); parcels on their way are tracked
    every few minutes."""
    from ordersmith.platform import jobs, outbox

    outbox.unsubscribe(on_order_event)
    outbox.unsubscribe(on_order_events)
    outbox.subscribe_batch("order.*", on_order_events, when=wants)
    outbox.unsubscribe(on_order_placed)
    outbox.subscribe("order.*", on_order_placed, when=wants_placed)
    jobs.register("fulfillment.poll_tracking", _poll_job)
    jobs.schedule("poll-tracking", kind="fulfillment.poll_tracking", every_s=300)


__all__ = [
    "STATUSES",
    "Bin",
    "CountTask",
    "Dock",
    "DropShip",
    "DropShipLine",
    "LocationWork",
    "ManifestOut",
    "Package",
    "PackageSpec",
    "PickList",
    "Productivity",
    "RateQuote",
    "ScanRefused",
    "Shipment",
    "ShipmentLine",
    "ShipmentSummary",
    "TimelineEntry",
    "Wave",
    "WaveFilters",
    "WorkerRate",
    "assign_bin",
    "build_wave",
    "buy_labels",
    "cancel_shipment",
    "cancel_wave",
    "carrier_named",
    "carrier_names",
    "check_address",
    "close_day",
    "commercial_invoice_pdf",
    "complete_count_task",
    "confirm_drop_ship",
    "customer_invoice_pdf",
    "get_shipment",
    "get_wave",
    "import_drop_ship_confirmations",
    "label_of",
    "list_bins",
    "list_count_tasks",
    "list_drop_ships",
    "list_shipments",
    "list_waves",
    "order_shipments",
    "pack_shipment",
    "packing_slip_pdf",
    "pick_list_pdf",
    "pick_lists",
    "pick_shipment",
    "poll_tracking",
    "put_bin",
    "rate_shipment",
    "receive_webhook",
    "record_tracking",
    "register",
    "scan_item",
    "set_dock",
    "setup_fulfillment",
    "ship_shipment",
    "sync_order",
    "sync_orders",
    "void_labels",
    "warehouse_productivity",
    "warehouse_work",
]

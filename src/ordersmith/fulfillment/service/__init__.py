"""Fulfillment use cases: shipments following the order's allocation, waves and pick lists, pick / scan-to-pack /
ship / cancel, bins and count tasks, and the warehouse's productivity. See each module for its invariant."""

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
from ordersmith.fulfillment.service.queries import (
    Productivity,
    ShipmentSummary,
    WorkerRate,
    get_shipment,
    list_shipments,
    order_shipments,
    warehouse_productivity,
)
from ordersmith.fulfillment.service.syncing import on_order_event, sync_order, wants
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


def register() -> None:
    """Subscribers (idempotent: safe to call at every start): shipments follow their order's events."""
    from ordersmith.platform import outbox

    outbox.unsubscribe(on_order_event)
    outbox.subscribe("order.*", on_order_event, when=wants)


__all__ = [
    "Bin",
    "CountTask",
    "Package",
    "PackageSpec",
    "PickList",
    "Productivity",
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
    "cancel_shipment",
    "cancel_wave",
    "complete_count_task",
    "get_shipment",
    "get_wave",
    "list_bins",
    "list_count_tasks",
    "list_shipments",
    "list_waves",
    "order_shipments",
    "pack_shipment",
    "pick_lists",
    "pick_shipment",
    "put_bin",
    "register",
    "scan_item",
    "ship_shipment",
    "sync_order",
    "warehouse_productivity",
]

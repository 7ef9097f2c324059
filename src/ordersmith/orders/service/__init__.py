"""Order use cases: capture from every channel, holds, allocation and backorders, edits, cancellation, shipments,
returns, and reading orders.

Invariants: an order moves only along the transition table in `rules.py`, each move recorded as an order event;
a line's reserved units are exactly its active inventory reservations; prices come from our pricing only; a
refused request changes nothing.
"""

from ordersmith.orders.service._common import AllocationPart, Hold, Order, OrderLine, ShipTo
from ordersmith.orders.service.address_book import remember_ship_tos
from ordersmith.orders.service.allocating import (
    may_release_backorders,
    on_stock_changed,
    release_all_backorders,
    release_backorders,
)
from ordersmith.orders.service.capture import AlreadyPlaced, Placed, find_channel_order, place_order
from ordersmith.orders.service.changes import (
    cancel_order,
    due_for_release,
    hold_order,
    lock_for_payment,
    lock_for_shipping,
    lock_many_for_shipping,
    release_due_orders,
    release_order,
    release_when_due,
    resolve_hold,
    set_payment_status,
)
from ordersmith.orders.service.custom import check_placed, order_values, set_order_custom_fields, write_placed
from ordersmith.orders.service.edits import LineChange, OrderChanges, edit_order
from ordersmith.orders.service.history import HistoricalLine, HistoricalOrder, import_order
from ordersmith.orders.service.policies import hold_policy, return_policy
from ordersmith.orders.service.queries import (
    Barometers,
    ChannelDay,
    CustomerTotals,
    HeldOrder,
    OrderSummary,
    QueuedHold,
    ReturnSummary,
    TimelineEntry,
    barometers,
    channel_order_ids,
    customer_returns,
    customer_totals,
    find_orders,
    get_order,
    list_held_orders,
    list_holds,
    list_orders,
    move_orders_to_survivor,
    on_customer_merged,
    order_channels,
    order_dimensions,
    order_in_channel,
    order_numbers,
    order_timeline,
)
from ordersmith.orders.service.quoting import Priced, price_order, quote_order
from ordersmith.orders.service.requests import (
    LineRequest,
    NewCustomer,
    OrderRequest,
    PaymentFact,
    PaymentRequest,
    ShipToRequest,
)
from ordersmith.orders.service.return_queries import order_returns, returnable_units, returned_units
from ordersmith.orders.service.returns import (
    ReceivedLine,
    Return,
    ReturnLine,
    ReturnLineRequest,
    authorize_return,
    get_return,
    receive_return,
)
from ordersmith.orders.service.shipping import (
    record_shipment,
    ship_allocations,
    ship_unstocked,
    short_pick,
)
from ordersmith.platform.db import tag_order_events_with

__all__ = [
    "AllocationPart",
    "AlreadyPlaced",
    "Barometers",
    "ChannelDay",
    "CustomerTotals",
    "HeldOrder",
    "HistoricalLine",
    "HistoricalOrder",
    "Hold",
    "LineChange",
    "LineRequest",
    "NewCustomer",
    "Order",
    "OrderChanges",
    "OrderLine",
    "OrderRequest",
    "OrderSummary",
    "PaymentFact",
    "PaymentRequest",
    "Placed",
    "Priced",
    "QueuedHold",
    "ReceivedLine",
    "Return",
    "ReturnLine",
    "ReturnLineRequest",
    "ReturnSummary",
    "ShipTo",
    "ShipToRequest",
    "TimelineEntry",
    "authorize_return",
    "barometers",
    "cancel_order",
    "channel_order_ids",
    "check_placed",
    "customer_returns",
    "customer_totals",
    "due_for_release",
    "edit_order",
    "find_channel_order",
    "find_orders",
    "get_order",
    "get_return",
    "hold_order",
    "hold_policy",
    "import_order",
    "list_held_orders",
    "list_holds",
    "list_orders",
    "lock_for_payment",
    "lock_for_shipping",
    "lock_many_for_shipping",
    "may_release_backorders",
    "move_orders_to_survivor",
    "on_customer_merged",
    "on_stock_changed",
    "order_dimensions",
    "order_in_channel",
    "order_numbers",
    "order_returns",
    "order_timeline",
    "order_values",
    "place_order",
    "price_order",
    "quote_order",
    "receive_return",
    "record_shipment",
    "release_all_backorders",
    "release_backorders",
    "release_due_orders",
    "release_order",
    "release_when_due",
    "remember_ship_tos",
    "resolve_hold",
    "return_policy",
    "returnable_units",
    "returned_units",
    "set_order_custom_fields",
    "set_payment_status",
    "ship_allocations",
    "ship_unstocked",
    "short_pick",
    "write_placed",
]

# On import: every process that writes an order's events (API, worker, CLI) imports this package, so a payment's,
# an invoice's or a gift card's event is tagged with its order's channel wherever it is written.
tag_order_events_with(order_channels)

"""Channel use cases: connectors per channel instance, orders in exactly once through checkout, SKU mapping and
the `unmapped_sku` hold, the dead-letter list and replay, available-to-sell and shipment confirmations out, and a
health read per connector.

Invariants: one channel order is one order (see `inbound`); no call to a channel inside a transaction; every
sync is a job with retries and back-off whose last failure is dead-lettered with the payload and the error.
"""

from ordersmith.channels.service._common import Connector, setup_channels
from ordersmith.channels.service.changes import Change, apply_change, list_changes
from ordersmith.channels.service.dead_letters import DeadLetter, list_dead_letters, replay_dead_letter
from ordersmith.channels.service.inbound import (
    Received,
    WebhookOutcome,
    import_channel_order,
    receive_order,
    receive_webhook,
)
from ordersmith.channels.service.inbox import ChannelOrder, get_channel_order, list_channel_orders
from ordersmith.channels.service.managing import (
    Health,
    connector_health,
    create_connector,
    get_connector,
    list_connectors,
    set_credentials,
)
from ordersmith.channels.service.outbound import on_order_shipped, on_stock_changed, push_shipment, push_stock
from ordersmith.channels.service.polling import PollResult, poll_orders, poll_soon, queue_due_polls
from ordersmith.channels.service.prices import push_prices
from ordersmith.channels.service.sku_maps import Mapped, SkuMap, list_sku_maps, map_sku


def register() -> None:
    """Jobs and subscribers (idempotent: safe to call at every start)."""
    from ordersmith.channels.service import changes, inbound, order_changes_out, outbound, polling, prices
    from ordersmith.platform import jobs, outbox

    jobs.register(inbound.IMPORT_JOB, inbound._import_job)
    jobs.register(changes.APPLY_JOB, changes._apply_job)
    jobs.register(prices.PRICE_JOB, prices._price_job)
    jobs.register(outbound.STOCK_JOB, outbound._stock_job)
    jobs.register(outbound.SHIPMENT_JOB, outbound._shipment_job)
    jobs.register(order_changes_out.JOB, order_changes_out._job)
    jobs.register(polling.DUE_JOB, polling._due_job)
    jobs.register(polling.POLL_JOB, polling._poll_job)
    jobs.schedule(polling.SCHEDULE, kind=polling.DUE_JOB, every_s=polling.SCHEDULE_EVERY_S)
    outbox.unsubscribe(outbound.on_stock_changed)
    outbox.unsubscribe(outbound.on_order_shipped)
    outbox.unsubscribe(prices.on_price_changed)
    outbox.unsubscribe(order_changes_out.on_order_cancelled)
    outbox.unsubscribe(order_changes_out.on_payment_refunded)
    outbox.unsubscribe(order_changes_out.on_order_changed)
    outbox.subscribe_batch("stock.changed", outbound.on_stock_changed)
    outbox.subscribe_batch("price.changed", prices.on_price_changed)
    outbox.subscribe("order.shipped", outbound.on_order_shipped, when=outbound._has_channel)
    outbox.subscribe("order.shipped_in_part", outbound.on_order_shipped, when=outbound._has_channel)
    outbox.subscribe(
        "order.cancelled", order_changes_out.on_order_cancelled, when=order_changes_out.has_channel
    )
    outbox.subscribe(
        "payment.refunded", order_changes_out.on_payment_refunded, when=order_changes_out.has_channel
    )
    outbox.subscribe("order.changed", order_changes_out.on_order_changed, when=order_changes_out.has_channel)


__all__ = [
    "Change",
    "ChannelOrder",
    "Connector",
    "DeadLetter",
    "Health",
    "Mapped",
    "PollResult",
    "Received",
    "SkuMap",
    "WebhookOutcome",
    "apply_change",
    "connector_health",
    "create_connector",
    "get_channel_order",
    "get_connector",
    "import_channel_order",
    "list_changes",
    "list_channel_orders",
    "list_connectors",
    "list_dead_letters",
    "list_sku_maps",
    "map_sku",
    "on_order_shipped",
    "on_stock_changed",
    "poll_orders",
    "poll_soon",
    "push_prices",
    "push_shipment",
    "push_stock",
    "queue_due_polls",
    "receive_order",
    "receive_webhook",
    "register",
    "replay_dead_letter",
    "set_credentials",
    "setup_channels",
]

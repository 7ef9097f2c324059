"""Connectors by kind: each adapts one platform's documented API to `base.Connector`."""

from __future__ import annotations

from ordersmith.channels.connectors.amazon import AmazonConnector
from ordersmith.channels.connectors.base import (
    Access,
    AnswerLost,
    CallFailed,
    CallReport,
    CancellationNotice,
    CancelledLine,
    Connector,
    EarlierRefund,
    FeedStep,
    LineCancellationNotice,
    LineUnits,
    PollPage,
    PriceUpdate,
    PushesLineCancellations,
    PushesOrderChanges,
    PushesOrderChangesByFeed,
    PushesPrices,
    RateLimited,
    RefundNotice,
    RefundsByBaseline,
    ReportsChanges,
    Settles,
    ShipmentNotice,
    SignatureInvalid,
    StockUpdate,
)
from ordersmith.channels.connectors.ebay import EbayConnector
from ordersmith.channels.connectors.generic import GenericConnector
from ordersmith.channels.connectors.sftp import SftpCsvConnector
from ordersmith.channels.connectors.shopify import ShopifyConnector
from ordersmith.channels.connectors.woocommerce import WooCommerceConnector
from ordersmith.platform import plugins

_BY_KIND: dict[str, Connector] = {
    "generic": GenericConnector(),
    "shopify": ShopifyConnector(),
    "woocommerce": WooCommerceConnector(),
    "amazon": AmazonConnector(),
    "ebay": EbayConnector(),
    "csv_sftp": SftpCsvConnector(),
}


def for_kind(kind: str) -> Connector:
    """The connector for `kind`: a built-in one, or one a plugin registered (docs/guides/plugins.md)."""
    found = _BY_KIND.get(kind)
    if found is not None:
        return found
    for contribution in plugins.contributions("connector"):
        if contribution.name == kind and isinstance(contribution.value, Connector):
            return contribution.value
    raise KeyError(kind)


def order_changes(kind: str) -> PushesOrderChanges | PushesOrderChangesByFeed | None:
    """The connector for `kind` when it takes our cancellations or refunds (by calls, or as feeds); None
    otherwise."""
    found = for_kind(kind)
    return found if isinstance(found, (PushesOrderChanges, PushesOrderChangesByFeed)) else None


def cancellation_refunds(kind: str) -> bool:
    """Whether the channel's cancellation of an order gives the buyer's money back by itself (Amazon charges at
    shipment): the refund of a cancellation we send is then not sent too."""
    try:
        found = for_kind(kind)
    except KeyError:
        return False
    return bool(getattr(found, "cancellation_refunds", False))


def kinds() -> tuple[str, ...]:
    """Every kind a connector can be created with: the built-in ones, then the plugins' (a plugin's value that is
    not a Connector, or that reuses a built-in kind, is left out and logged when loaded)."""
    extra = tuple(
        c.name
        for c in plugins.contributions("connector")
        if c.name not in _BY_KIND and isinstance(c.value, Connector)
    )
    return tuple(_BY_KIND) + extra


__all__ = [
    "Access",
    "AnswerLost",
    "CallFailed",
    "CallReport",
    "CancellationNotice",
    "CancelledLine",
    "Connector",
    "EarlierRefund",
    "FeedStep",
    "LineCancellationNotice",
    "LineUnits",
    "PollPage",
    "PriceUpdate",
    "PushesLineCancellations",
    "PushesOrderChanges",
    "PushesOrderChangesByFeed",
    "PushesPrices",
    "RateLimited",
    "RefundNotice",
    "RefundsByBaseline",
    "ReportsChanges",
    "Settles",
    "ShipmentNotice",
    "SignatureInvalid",
    "StockUpdate",
    "cancellation_refunds",
    "for_kind",
    "kinds",
    "order_changes",
]

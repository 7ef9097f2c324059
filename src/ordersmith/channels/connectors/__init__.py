"""Connectors by kind: each adapts one platform's documented API to `base.Connector`."""

from __future__ import annotations

from ordersmith.channels.connectors.amazon import AmazonConnector
from ordersmith.channels.connectors.base import (
    Access,
    CallFailed,
    CallReport,
    Connector,
    PollPage,
    RateLimited,
    ShipmentNotice,
    SignatureInvalid,
    StockUpdate,
)
from ordersmith.channels.connectors.ebay import EbayConnector
from ordersmith.channels.connectors.generic import GenericConnector
from ordersmith.channels.connectors.shopify import ShopifyConnector
from ordersmith.channels.connectors.woocommerce import WooCommerceConnector

_BY_KIND: dict[str, Connector] = {
    "generic": GenericConnector(),
    "shopify": ShopifyConnector(),
    "woocommerce": WooCommerceConnector(),
    "amazon": AmazonConnector(),
    "ebay": EbayConnector(),
}


def for_kind(kind: str) -> Connector:
    return _BY_KIND[kind]


__all__ = [
    "Access",
    "CallFailed",
    "CallReport",
    "Connector",
    "PollPage",
    "RateLimited",
    "ShipmentNotice",
    "SignatureInvalid",
    "StockUpdate",
    "for_kind",
]

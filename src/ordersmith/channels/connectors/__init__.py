"""Connectors by kind: each adapts one platform's documented API to `base.Connector`."""

from __future__ import annotations

from ordersmith.channels.connectors.base import (
    Access,
    CallFailed,
    CallReport,
    Connector,
    RateLimited,
    ShipmentNotice,
    SignatureInvalid,
    StockUpdate,
)
from ordersmith.channels.connectors.generic import GenericConnector
from ordersmith.channels.connectors.shopify import ShopifyConnector

_BY_KIND: dict[str, Connector] = {"generic": GenericConnector(), "shopify": ShopifyConnector()}


def for_kind(kind: str) -> Connector:
    return _BY_KIND[kind]


__all__ = [
    "Access",
    "CallFailed",
    "CallReport",
    "Connector",
    "RateLimited",
    "ShipmentNotice",
    "SignatureInvalid",
    "StockUpdate",
    "for_kind",
]

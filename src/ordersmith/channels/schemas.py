"""Channels API input. Answers are the service's own dataclasses (no mirrored output schemas)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from ordersmith.platform.schemas import Input

Code = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,39}$", examples=["shopify-us"])]
# The longest any credential may be (an SFTP or eBay signing private key); each is held to its own limit when put
Secret = Annotated[str, Field(min_length=1, max_length=8000)]


class ConnectorIn(Input):
    code: Code
    kind: Annotated[
        str,
        Field(
            pattern=r"^[a-z][a-z0-9_]{1,19}$",
            description="generic, shopify, woocommerce, amazon, ebay, or a kind a plugin registered",
            examples=["shopify"],
        ),
    ]
    sales_channel: Annotated[str, Field(min_length=1, max_length=40)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="shipping_method (required), shipping_methods, stock_buffer, stock_window_s; Shopify: "
        "shop_url, api_version, location_id; WooCommerce: store_url, poll_interval_s, shipped_status; Amazon: "
        "endpoint, marketplace_id, seller_id, product_type, token_url, poll_interval_s; eBay: endpoint, "
        "poll_interval_s, page_size, max_calls_per_s",
    )
    credentials: dict[Annotated[str, Field(max_length=40)], Secret] = Field(
        default_factory=dict,
        description="Shopify: access_token, webhook_secret; WooCommerce: consumer_key, consumer_secret, "
        "webhook_secret; Amazon and eBay: client_id, client_secret, refresh_token; eBay for EU/UK sellers also "
        "signing_key_jwe and signing_private_key (sealed; never shown again)",
    )


class CredentialsIn(Input):
    credentials: dict[Annotated[str, Field(max_length=40)], Secret]


class SkuMapIn(Input):
    channel_sku: Annotated[str, Field(min_length=1, max_length=100)]
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    listing_id: Annotated[str, Field(max_length=200)] = ""


class PollDue(BaseModel):
    next_poll_at: datetime

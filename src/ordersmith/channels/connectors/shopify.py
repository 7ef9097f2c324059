"""Shopify: orders arrive by the `orders/create` (and `orders/updated`) webhook, signed with the app's client
secret (`X-Shopify-Hmac-Sha256`: base64 of HMAC-SHA256 over the raw body); quantities, prices and fulfillments go
out through the GraphQL Admin API (`POST {shop}/admin/api/{version}/graphql.json`, header `X-Shopify-Access-Token`).

A SKU is mapped to its variant's inventory item (the listing id, `gid://shopify/InventoryItem/…`), which carries the
quantity. A price is the variant's: the push reads each inventory item's variant and product (`nodes`) and sets the
prices per product with `productVariantsBulkUpdate` (`allowPartialUpdates`), a Money decimal string; an item
Shopify does not know, or a variant it refuses (`userErrors` naming `variants.N`), is reported as refused while the
others are set.

Rate limits and the GraphQL session: `shopify_api` (a throttled call becomes `RateLimited`, so the job waits exactly
as asked instead of failing). Our cancellations, refunds and line cancellations out: `shopify_order_changes`.
Invariant: nothing here touches the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from ordersmith.channels import rules
from ordersmith.channels.connectors import fields
from ordersmith.channels.connectors import shopify_api as api
from ordersmith.channels.connectors.base import (
    Access,
    CallFailed,
    CallReport,
    PollPage,
    PriceUpdate,
    ShipmentNotice,
    SignatureInvalid,
    StockUpdate,
)
from ordersmith.channels.connectors.shopify_order_changes import OrderChanges
from ordersmith.kernel.errors import ValidationFailed

HMAC_HEADER = "x-shopify-hmac-sha256"
TOPIC_HEADER = "x-shopify-topic"
ORDER_TOPICS = ("orders/create", "orders/updated")
CHANGE_TOPICS = ("orders/cancelled", "refunds/create")
DEFAULT_API_VERSION = api.DEFAULT_API_VERSION
STOCK_BATCH = 100  # quantities per inventorySetQuantities call
PRICE_BATCH = 50  # inventory items read by one `nodes` query (at most 250); their prices set per product
_OPEN_STATES = ("OPEN", "IN_PROGRESS", "SCHEDULED")

SET_QUANTITIES = """
mutation SetAvailable($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { reason }
    userErrors { field message code }
  }
}"""

VARIANTS_OF = """
query VariantsOf($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on InventoryItem { id variant { id product { id } } }
  }
}"""

SET_PRICES = """
mutation SetPrices($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants, allowPartialUpdates: true) {
    productVariants { id price }
    userErrors { field message code }
  }
}"""

FULFILLMENT_ORDERS = """
query FulfillmentOrders($id: ID!, $after: String) {
  order(id: $id) {
    fulfillmentOrders(first: 50, after: $after) {
      nodes { id status }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""

CREATE_FULFILLMENT = """
mutation Ship($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status }
    userErrors { field message }
  }
}"""


def webhook_signature(secret: str, body: bytes) -> str:
    """The `X-Shopify-Hmac-Sha256` value Shopify sends for `body` under the app's client secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _address(raw: Mapping[str, Any], path: str) -> rules.ChannelAddress:
    name = fields.text(raw, "name", f"{path}.name") or " ".join(
        part for part in (fields.text(raw, "first_name", path), fields.text(raw, "last_name", path)) if part
    )
    if not name:
        raise ValidationFailed.on(f"{path}.name", "is required")
    return rules.ChannelAddress(
        name=name,
        line1=fields.text(raw, "address1", f"{path}.address1", required=True),
        line2=fields.text(raw, "address2", f"{path}.address2"),
        city=fields.text(raw, "city", f"{path}.city", required=True),
        region=fields.text(raw, "province_code", f"{path}.province_code", max_length=10),
        postal_code=fields.text(raw, "zip", f"{path}.zip", max_length=20),
        country=fields.text(raw, "country_code", f"{path}.country_code", required=True, max_length=2).upper(),
        phone=fields.text(raw, "phone", f"{path}.phone", max_length=40),
        company=fields.text(raw, "company", f"{path}.company"),
    )


def _taxes(raw: Any, path: str) -> list[rules.ReportedTax]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValidationFailed.on(path, "must be a list")
    found = []
    for n, tax in enumerate(raw):
        if not isinstance(tax, Mapping):
            raise ValidationFailed.on(f"{path}.{n}", "must be an object")
        found.append(
            rules.ReportedTax(
                title=fields.text(tax, "title", f"{path}.{n}.title"),
                rate=fields.decimal(tax, "rate", f"{path}.{n}.rate", ratio=True) or Decimal(0),
                amount=fields.decimal(tax, "price", f"{path}.{n}.price") or Decimal(0),
            )
        )
    return found


def _channel_sku(raw: Mapping[str, Any], path: str) -> str:
    """The line's SKU; a variant without one is known by its variant id (`variant:<id>`)."""
    sku = fields.text(raw, "sku", f"{path}.sku", max_length=100)
    if sku:
        return sku
    variant = fields.text(raw, "variant_id", f"{path}.variant_id", max_length=40)
    if not variant:
        raise ValidationFailed.on(f"{path}.sku", "a line needs a SKU or a variant_id")
    return f"variant:{variant}"


class ShopifyConnector(OrderChanges):
    kind = "shopify"
    pushes_stock = True
    pushes_shipments = True
    polls_orders = False
    signed_webhooks = True
    edits_address = True  # a later version with another ship-to is an address change (ADR 0050)
    stock_batch_size = STOCK_BATCH
    pushes_prices = True
    price_batch_size = PRICE_BATCH

    # --- inbound --------------------------------------------------------------------------------------------

    def parse_order(self, payload: Mapping[str, Any]) -> rules.ChannelOrder:
        lines = []
        for n, raw in enumerate(fields.items(payload, "line_items", "line_items")):
            path = f"line_items.{n}"
            if not isinstance(raw, Mapping):
                raise ValidationFailed.on(path, "must be an object")
            taxes = _taxes(raw.get("tax_lines"), f"{path}.tax_lines")
            lines.append(
                rules.ChannelLine(
                    channel_sku=_channel_sku(raw, path),
                    quantity=fields.integer(raw, "quantity", f"{path}.quantity"),
                    title=fields.text(raw, "title", f"{path}.title"),
                    unit_price=fields.decimal(raw, "price", f"{path}.price"),
                    tax=sum((t.amount for t in taxes), Decimal(0)),
                    line_id=fields.text(raw, "id", f"{path}.id", max_length=100),
                )
            )
        shipping_lines = payload.get("shipping_lines") or []
        if not isinstance(shipping_lines, list):
            raise ValidationFailed.on("shipping_lines", "must be a list")
        shipping_code = ""
        shipping = Decimal(0)
        for n, raw in enumerate(shipping_lines):
            if not isinstance(raw, Mapping):
                raise ValidationFailed.on(f"shipping_lines.{n}", "must be an object")
            shipping_code = shipping_code or fields.text(
                raw, "code", f"shipping_lines.{n}.code", max_length=100
            )
            shipping += fields.decimal(raw, "price", f"shipping_lines.{n}.price") or Decimal(0)
        billing = fields.section(payload, "billing_address", "billing_address", required=False)
        updated_at = fields.timestamp(payload, "updated_at", "updated_at")
        assert updated_at is not None
        taxes_included = payload.get("taxes_included", False)
        return rules.ChannelOrder(
            external_id=fields.text(payload, "id", "id", required=True, max_length=40),
            number=fields.text(payload, "name", "name", max_length=40),
            updated_at=updated_at,
            placed_at=fields.timestamp(payload, "created_at", "created_at", required=False),
            lines=lines,
            ship_to=_address(
                fields.section(payload, "shipping_address", "shipping_address"), "shipping_address"
            ),
            billing=_address(billing, "billing_address") if billing else None,
            currency=fields.text(payload, "currency", "currency", required=True, max_length=3).upper(),
            email=fields.text(payload, "email", "email", max_length=320),
            shipping_code=shipping_code,
            subtotal=fields.decimal(payload, "subtotal_price", "subtotal_price"),
            shipping=shipping if shipping_lines else None,
            total_tax=fields.decimal(payload, "total_tax", "total_tax"),
            total=fields.decimal(payload, "total_price", "total_price"),
            taxes=_taxes(payload.get("tax_lines"), "tax_lines"),
            taxes_included=taxes_included is True,
            attributes=fields.attributes(payload.get("note_attributes"), name_key="name", value_key="value"),
        )

    def wanted(self, payload: Mapping[str, Any]) -> bool:
        return True

    def poll_orders(self, access: Access, cursor: Mapping[str, Any], now: datetime) -> PollPage:
        # Never called (`polls_orders` is False): a permanent refusal were it called.
        raise CallFailed("this connector is not polled", permanent=True)

    def change_topic(self, headers: Mapping[str, str]) -> bool:
        topic = headers.get(TOPIC_HEADER)
        return topic is None or topic in ORDER_TOPICS or topic in CHANGE_TOPICS

    def changes(
        self, headers: Mapping[str, str] | None, payload: Mapping[str, Any]
    ) -> list[rules.ChannelChange]:
        """`refunds/create` (a Refund: its successful `refund` transactions' amounts) is a refund keyed by the
        refund's id; an order with `cancelled_at` (`orders/cancelled`, or any order delivery) is a cancellation."""
        topic = (headers or {}).get(TOPIC_HEADER)
        if topic == "refunds/create" and rules.ours(payload.get("note")):
            return []  # one of our refunds (its note carries our mark), reported back: ours already
        if topic == "refunds/create":
            transactions = payload.get("transactions") or []
            if not isinstance(transactions, list):
                raise ValidationFailed.on("transactions", "must be a list")
            amount, currency = Decimal(0), ""
            for n, raw in enumerate(transactions):
                if not isinstance(raw, Mapping):
                    raise ValidationFailed.on(f"transactions.{n}", "must be an object")
                if raw.get("kind") == "refund" and raw.get("status") == "success":
                    amount += fields.decimal(raw, "amount", f"transactions.{n}.amount") or Decimal(0)
                    currency = fields.text(
                        raw, "currency", f"transactions.{n}.currency", max_length=3
                    ).upper()
            at = fields.timestamp(payload, "created_at", "created_at")
            assert at is not None
            return [
                rules.ChannelChange(
                    external_id=fields.text(payload, "order_id", "order_id", required=True, max_length=40),
                    kind="refund",
                    key=fields.text(payload, "id", "id", required=True, max_length=40),
                    at=at,
                    reason=fields.text(payload, "note", "note") or "refunded on Shopify",
                    amount=amount if currency else None,
                    currency=currency,
                )
            ]
        if topic not in (None, *ORDER_TOPICS, "orders/cancelled") or not payload.get("cancelled_at"):
            return []
        at = fields.timestamp(payload, "cancelled_at", "cancelled_at")
        assert at is not None
        return [
            rules.ChannelChange(
                external_id=fields.text(payload, "id", "id", required=True, max_length=40),
                kind="cancel",
                key="cancel",
                at=at,
                reason=fields.text(payload, "cancel_reason", "cancel_reason") or "cancelled on Shopify",
            )
        ]

    def takes_topic(self, headers: Mapping[str, str]) -> bool:
        """Whether a (signed) delivery is an order this connector imports: `orders/create` or `orders/updated`;
        a delivery without a topic header is read as an order."""
        topic = headers.get(TOPIC_HEADER)
        return topic is None or topic in ORDER_TOPICS

    def verify_webhook(self, access: Access, headers: Mapping[str, str], body: bytes) -> None:
        secret = access.credentials.get("webhook_secret", "")
        given = headers.get(HMAC_HEADER, "")
        if not secret:
            raise SignatureInvalid("no webhook secret is set for this connector")
        if not given or not hmac.compare_digest(webhook_signature(secret, body), given.strip()):
            raise SignatureInvalid("the X-Shopify-Hmac-Sha256 signature does not match the body")

    # --- outbound -------------------------------------------------------------------------------------------

    def push_stock(self, access: Access, updates: Sequence[StockUpdate]) -> CallReport:
        location = str(access.config.get("location_id", ""))
        if not location:
            raise CallFailed("the connector has no Shopify location_id to set quantities at", permanent=True)
        report = CallReport()
        with api.client(access) as client:
            for batch in rules.batches(list(updates), STOCK_BATCH):
                quantities = [
                    {"inventoryItemId": u.listing_id, "locationId": location, "quantity": u.quantity}
                    for u in batch
                ]
                variables = {
                    "input": {
                        "name": "available",
                        "reason": "correction",
                        "ignoreCompareQuantity": True,
                        "quantities": quantities,
                    }
                }
                data = api.graphql(client, access, SET_QUANTITIES, variables, report)
                api.user_errors(data.get("inventorySetQuantities"), "inventorySetQuantities")
        return report

    def push_prices(self, access: Access, updates: Sequence[PriceUpdate]) -> CallReport:
        """Each update's variant price, set per product; what Shopify refuses for one variant lands in
        `report.refused` under the update's inventory item. Raises CallFailed or RateLimited for the whole push."""
        report = CallReport()
        with api.client(access) as client:
            for batch in rules.batches(list(updates), PRICE_BATCH):
                products = _variants_by_product(client, access, batch, report)
                for product, variants in products.items():
                    data = api.graphql(
                        client,
                        access,
                        SET_PRICES,
                        {
                            "productId": product,
                            "variants": [{"id": v, "price": u.price} for u, v in variants],
                        },
                        report,
                    )
                    answer = data.get("productVariantsBulkUpdate")
                    for n, problem in api.indexed_errors(answer, "variants"):
                        refused = variants if n is None or n >= len(variants) else [variants[n]]
                        for update, _ in refused:
                            report.refused[update.listing_id] = problem
        return report

    def push_shipment(self, access: Access, notice: ShipmentNotice) -> CallReport:
        report = CallReport()
        order_gid = f"gid://shopify/Order/{notice.external_id}"
        with api.client(access) as client:
            open_orders: list[str] = []
            after: str | None = None
            while True:
                data = api.graphql(
                    client, access, FULFILLMENT_ORDERS, {"id": order_gid, "after": after}, report
                )
                order = data.get("order")
                if not isinstance(order, Mapping):
                    raise CallFailed(f"Shopify knows no order {notice.external_id}", permanent=True)
                connection = order.get("fulfillmentOrders") or {}
                open_orders += [
                    n["id"] for n in connection.get("nodes", []) if n.get("status") in _OPEN_STATES
                ]
                page = connection.get("pageInfo") or {}
                if not page.get("hasNextPage"):
                    break
                after = page.get("endCursor")
            if not open_orders:
                return report  # already fulfilled on Shopify's side: nothing to say
            tracking = {"number": notice.tracking_number}
            if notice.carrier:
                tracking["company"] = notice.carrier
            if notice.tracking_url:
                tracking["url"] = notice.tracking_url
            fulfillment = {
                "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": f} for f in open_orders],
                "trackingInfo": tracking,
                "notifyCustomer": True,
            }
            data = api.graphql(client, access, CREATE_FULFILLMENT, {"fulfillment": fulfillment}, report)
            api.user_errors(data.get("fulfillmentCreate"), "fulfillmentCreate")
        return report


def _variants_by_product(
    client: httpx.Client, access: Access, batch: Sequence[PriceUpdate], report: CallReport
) -> dict[str, list[tuple[PriceUpdate, str]]]:
    """The updates grouped by their variant's product, each with the variant's id; an inventory item Shopify does
    not know (a null node, or no variant) is refused."""
    data = api.graphql(client, access, VARIANTS_OF, {"ids": [u.listing_id for u in batch]}, report)
    nodes = data.get("nodes")
    if not isinstance(nodes, list) or len(nodes) != len(batch):
        raise CallFailed("Shopify's nodes answer does not match the ids asked for")
    products: dict[str, list[tuple[PriceUpdate, str]]] = {}
    for update, node in zip(batch, nodes, strict=True):
        variant = node.get("variant") if isinstance(node, Mapping) else None
        product = variant.get("product") if isinstance(variant, Mapping) else None
        if not isinstance(variant, Mapping) or not isinstance(product, Mapping) or not variant.get("id"):
            report.refused[update.listing_id] = "Shopify knows no variant for this inventory item"
            continue
        products.setdefault(str(product["id"]), []).append((update, str(variant["id"])))
    return products

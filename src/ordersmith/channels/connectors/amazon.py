"""Amazon Selling Partner API: orders are polled (`getOrders` by `LastUpdatedAfter`/`LastUpdatedBefore`, page by
`NextToken`, then `getOrderItems` for each), quantities go out as Listings Items `patchListingsItem` on the
`fulfillment_availability` attribute, a shipment is confirmed with `confirmShipment` (its order items read
again from `getOrderItems`), and our cancellations and refunds go out as order feeds (`amazon_feeds`).

Auth: a Login with Amazon access token, refreshed from the seller's refresh token at the token endpoint and kept in
this process until shortly before it expires, is sent as `x-amz-access-token`; reading buyer addresses needs a
Restricted Data Token (Tokens API) for `getOrders`, obtained the same way. Rate limits: every answer may carry
`x-amzn-RateLimit-Limit` (requests per second; kept for the health read); a 429 is waited out in the call when the
wait is short, else raised as `RateLimited` for the job to come back later (`amazon_api`). `patchListingsItem` is
paced at its documented rate (5 a second, burst 5) before each call; when a push's turn would wait long, the listings
already sent count as sent and the rest are deferred to the next push (`CallReport.deferred`).

Only merchant-fulfilled orders that Amazon has released for shipping (`Unshipped`, `PartiallyShipped`) are read:
`Pending` orders carry no address and may still be cancelled. Invariant: nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from ordersmith.channels import rules
from ordersmith.channels.connectors import fields
from ordersmith.channels.connectors.amazon_api import ORDERS, Session, amazon_time, required
from ordersmith.channels.connectors.amazon_feeds import OrderFeeds
from ordersmith.channels.connectors.base import (
    Access,
    CallFailed,
    CallReport,
    PollPage,
    PriceUpdate,
    RateLimited,
    ShipmentNotice,
    SignatureInvalid,
    StockUpdate,
)
from ordersmith.kernel.errors import ValidationFailed

LISTINGS = "/listings/2021-08-01/items"
STATUSES = "Unshipped,PartiallyShipped"
POLLED_STATUSES = STATUSES + ",Canceled"  # a cancellation is read by the same poll (a change, not an order)
SETTLE = timedelta(minutes=2)  # getOrders refuses a LastUpdatedBefore later than two minutes ago
FIRST_POLL = timedelta(days=1)
STOCK_BATCH = 10  # Listings Items take one SKU a call: a push run sends one batch of this many
_CHANNEL = "Amazon"
_CARRIERS = {
    "ups": "UPS",
    "usps": "USPS",
    "fedex": "FedEx",
    "dhl": "DHL",
    "ontrac": "OnTrac",
    "royal mail": "Royal Mail",
    "canada post": "Canada Post",
}


def _money(raw: Any, path: str) -> Decimal | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ValidationFailed.on(path, "must be a Money object")
    return fields.decimal(raw, "Amount", f"{path}.Amount")


def _address(raw: Mapping[str, Any]) -> rules.ChannelAddress:
    path = "ShippingAddress"
    line2 = " ".join(
        part
        for part in (
            fields.text(raw, "AddressLine2", f"{path}.AddressLine2"),
            fields.text(raw, "AddressLine3", f"{path}.AddressLine3"),
        )
        if part
    )
    return rules.ChannelAddress(
        name=fields.text(raw, "Name", f"{path}.Name", required=True),
        line1=fields.text(raw, "AddressLine1", f"{path}.AddressLine1", required=True),
        line2=line2[: fields.MAX_TEXT],
        city=fields.text(raw, "City", f"{path}.City", required=True),
        region=fields.text(raw, "StateOrRegion", f"{path}.StateOrRegion", max_length=40),
        postal_code=fields.text(raw, "PostalCode", f"{path}.PostalCode", max_length=20),
        country=fields.text(raw, "CountryCode", f"{path}.CountryCode", required=True, max_length=2).upper(),
        phone=fields.text(raw, "Phone", f"{path}.Phone", max_length=40),
    )


class AmazonConnector(OrderFeeds):
    kind = "amazon"
    pushes_stock = True
    pushes_shipments = True
    signed_webhooks = False
    polls_orders = True
    stock_batch_size = STOCK_BATCH
    pushes_prices = True
    price_batch_size = STOCK_BATCH
    # One batch a run (two seconds of patchListingsItem's plan): each figure is read at most that long before it
    # goes out, and a full run queues the next at once.
    push_calls_per_run = 1

    # --- inbound --------------------------------------------------------------------------------------------

    def parse_order(self, payload: Mapping[str, Any]) -> rules.ChannelOrder:
        """An order as `getOrders` returns it, with its `getOrderItems` items under `OrderItems`."""
        lines = []
        subtotal = shipping = tax = Decimal(0)
        facilitated = False
        currency = ""
        for n, raw in enumerate(fields.items(payload, "OrderItems", "OrderItems")):
            path = f"OrderItems.{n}"
            if not isinstance(raw, Mapping):
                raise ValidationFailed.on(path, "must be an object")
            quantity = fields.integer(raw, "QuantityOrdered", f"{path}.QuantityOrdered", low=0)
            price = _money(raw.get("ItemPrice"), f"{path}.ItemPrice") or Decimal(0)
            line_tax = (_money(raw.get("ItemTax"), f"{path}.ItemTax") or Decimal(0)) + (
                _money(raw.get("ShippingTax"), f"{path}.ShippingTax") or Decimal(0)
            )
            subtotal += price
            tax += line_tax
            shipping += _money(raw.get("ShippingPrice"), f"{path}.ShippingPrice") or Decimal(0)
            collection = raw.get("TaxCollection")
            facilitated = facilitated or (
                isinstance(collection, Mapping) and collection.get("Model") == "MarketplaceFacilitator"
            )
            if isinstance(raw.get("ItemPrice"), Mapping):
                currency = currency or str(raw["ItemPrice"].get("CurrencyCode") or "")
            if quantity == 0:  # an item the buyer cancelled: nothing to ship
                continue
            lines.append(
                rules.ChannelLine(
                    channel_sku=fields.text(
                        raw, "SellerSKU", f"{path}.SellerSKU", required=True, max_length=100
                    ),
                    quantity=quantity,
                    title=fields.text(raw, "Title", f"{path}.Title", max_length=500)[: fields.MAX_TEXT],
                    unit_price=(price / quantity).quantize(Decimal("0.0001")),
                    tax=line_tax,
                    line_id=fields.text(raw, "OrderItemId", f"{path}.OrderItemId", max_length=100),
                )
            )
        if not lines:
            raise ValidationFailed.on("OrderItems", "no item left to ship (every quantity is 0)")
        total = fields.section(payload, "OrderTotal", "OrderTotal", required=False)
        updated_at = fields.timestamp(payload, "LastUpdateDate", "LastUpdateDate")
        assert updated_at is not None
        buyer = fields.section(payload, "BuyerInfo", "BuyerInfo", required=False)
        currency = fields.text(total, "CurrencyCode", "OrderTotal.CurrencyCode", max_length=3) or currency
        if not currency:
            raise ValidationFailed.on("OrderTotal.CurrencyCode", "is required")
        return rules.ChannelOrder(
            external_id=fields.text(payload, "AmazonOrderId", "AmazonOrderId", required=True, max_length=40),
            number=fields.text(payload, "AmazonOrderId", "AmazonOrderId", max_length=40),
            updated_at=updated_at,
            placed_at=fields.timestamp(payload, "PurchaseDate", "PurchaseDate", required=False),
            lines=lines,
            ship_to=_address(fields.section(payload, "ShippingAddress", "ShippingAddress")),
            currency=currency.upper(),
            email=fields.text(buyer, "BuyerEmail", "BuyerInfo.BuyerEmail", max_length=320),
            shipping_code=fields.text(
                payload, "ShipmentServiceLevelCategory", "ShipmentServiceLevelCategory", max_length=100
            ),
            subtotal=subtotal,
            shipping=shipping,
            total_tax=tax,
            total=fields.decimal(total, "Amount", "OrderTotal.Amount"),
            tax_collected_by="marketplace" if facilitated else "",
            ship_by=fields.timestamp(payload, "LatestShipDate", "LatestShipDate", required=False),
            attributes=fields.scalars(payload),
        )

    def wanted(self, payload: Mapping[str, Any]) -> bool:
        return (
            payload.get("OrderStatus") in STATUSES.split(",") and payload.get("FulfillmentChannel") != "AFN"
        )

    def takes_topic(self, headers: Mapping[str, str]) -> bool:
        return False

    def change_topic(self, headers: Mapping[str, str]) -> bool:
        return False

    def changes(
        self, headers: Mapping[str, str] | None, payload: Mapping[str, Any]
    ) -> list[rules.ChannelChange]:
        """An order whose `OrderStatus` is `Canceled` is a cancellation (Amazon refunds the buyer itself)."""
        if payload.get("OrderStatus") != "Canceled":
            return []
        at = fields.timestamp(payload, "LastUpdateDate", "LastUpdateDate")
        assert at is not None
        return [
            rules.ChannelChange(
                external_id=fields.text(
                    payload, "AmazonOrderId", "AmazonOrderId", required=True, max_length=40
                ),
                kind="cancel",
                key="cancel",
                at=at,
                reason="cancelled on Amazon",
            )
        ]

    def verify_webhook(self, access: Access, headers: Mapping[str, str], body: bytes) -> None:
        raise SignatureInvalid("Amazon orders are polled, not pushed")

    def poll_orders(self, access: Access, cursor: Mapping[str, Any], now: datetime) -> PollPage:
        """One `getOrders` page of the window [after, before) (before: two minutes ago when the window opened),
        each order with its items."""
        marketplace = required(access, "marketplace_id")
        after = str(cursor.get("after") or (now - FIRST_POLL).isoformat())
        before = str(cursor.get("before") or (now - SETTLE).isoformat())
        token = cursor.get("next_token")
        if not token and datetime.fromisoformat(after) >= datetime.fromisoformat(before):
            return PollPage(
                [], {"after": after}, True
            )  # polled again within two minutes: nothing settled yet
        report = CallReport()
        with Session(access, report) as session:
            # The window's filters go with every page: a NextToken pages the filtered list, it does not replace it.
            params: dict[str, str] = {
                "MarketplaceIds": marketplace,
                "LastUpdatedAfter": amazon_time(after),
                "LastUpdatedBefore": amazon_time(before),
                "OrderStatuses": POLLED_STATUSES,
                "FulfillmentChannels": "MFN",
                "MaxResultsPerPage": "100",
            }
            if token:
                params["NextToken"] = str(token)
            answer = session.call("GET", ORDERS, params=params, restricted=True)
            body = answer.get("payload") if isinstance(answer, Mapping) else None
            if not isinstance(body, Mapping):
                raise CallFailed("Amazon's getOrders answer has no payload")
            orders = []
            for order in body.get("Orders") or []:
                if isinstance(order, dict) and isinstance(order.get("AmazonOrderId"), str):
                    orders.append(order | {"OrderItems": session.order_items(order["AmazonOrderId"])})
            more = body.get("NextToken")
        if more:
            return PollPage(
                orders, {"after": after, "before": before, "next_token": str(more)}, False, report
            )
        return PollPage(orders, {"after": before}, True, report)

    # --- outbound -------------------------------------------------------------------------------------------

    def push_stock(self, access: Access, updates: Sequence[StockUpdate]) -> CallReport:
        # merge: sets the quantity of the DEFAULT (merchant) channel and keeps its handling time and restock
        # date, which a replace would clear
        return self._patch(
            access,
            "stock",
            [
                (
                    u.listing_id,
                    {
                        "op": "merge",
                        "path": "/attributes/fulfillment_availability",
                        "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": u.quantity}],
                    },
                )
                for u in updates
            ],
        )

    def push_prices(self, access: Access, updates: Sequence[PriceUpdate]) -> CallReport:
        """The listing's `purchasable_offer` in the marketplace: `our_price` as one schedule entry. The Listings
        API takes the amount as a JSON number: it is written as the price's own decimal literal (`exact_json`),
        never through a float."""
        marketplace = required(access, "marketplace_id")
        return self._patch(
            access,
            "prices",
            [
                (
                    u.listing_id,
                    {
                        "op": "replace",
                        "path": "/attributes/purchasable_offer",
                        "value": [
                            {
                                "marketplace_id": marketplace,
                                "currency": u.currency,
                                "our_price": [{"schedule": [{"value_with_tax": Decimal(u.price)}]}],
                            }
                        ],
                    },
                )
                for u in updates
            ],
        )

    def _patch(self, access: Access, what: str, patches: Sequence[tuple[str, dict[str, Any]]]) -> CallReport:
        """`patchListingsItem` for each listing; the listings Amazon refuses are named in one permanent failure
        after the others went out."""
        seller, marketplace = required(access, "seller_id"), required(access, "marketplace_id")
        product_type = str(access.config.get("product_type") or "PRODUCT")
        report = CallReport()
        refused = []
        with Session(access, report) as session:
            for n, (listing_id, patch) in enumerate(patches):
                try:
                    answer = session.call(
                        "PATCH",
                        f"{LISTINGS}/{quote(seller, safe='')}/{quote(listing_id, safe='')}",
                        params={"marketplaceIds": marketplace},
                        json={"productType": product_type, "patches": [patch]},
                        paced="patchListingsItem",
                    )
                except RateLimited as exc:
                    if n == 0:
                        raise  # nothing went out: the whole push comes back later
                    report.deferred = [listing for listing, _ in patches[n:]]
                    report.retry_after_s = exc.retry_after_s
                    break
                if isinstance(answer, Mapping) and answer.get("status") not in ("ACCEPTED", None):
                    issues = "; ".join(
                        str(i.get("message")) for i in answer.get("issues") or [] if isinstance(i, Mapping)
                    )
                    refused.append(f"{listing_id}: {issues or answer.get('status')}")
        if refused:
            raise CallFailed(f"Amazon refused {what} for {'; '.join(refused)[:300]}", permanent=True)
        return report

    def push_shipment(self, access: Access, notice: ShipmentNotice) -> CallReport:
        marketplace = required(access, "marketplace_id")
        report = CallReport()
        with Session(access, report) as session:
            items = session.order_items(notice.external_id)
            left = {
                str(i["OrderItemId"]): int(i["QuantityOrdered"]) - int(i.get("QuantityShipped") or 0)
                for i in items
                if isinstance(i.get("QuantityOrdered"), int) and i.get("OrderItemId")
            }
            shipped = [{"orderItemId": k, "quantity": q} for k, q in left.items() if q > 0]
            if not shipped:
                return report  # confirmed already: nothing left to ship on Amazon's side
            carrier = _CARRIERS.get(notice.carrier.strip().lower(), "Other")
            if notice.shipped_at is None:
                raise CallFailed("a shipment confirmation needs the ship date", permanent=True)
            package: dict[str, Any] = {
                "packageReferenceId": "1",
                "carrierCode": carrier,
                "trackingNumber": notice.tracking_number,
                "shipDate": amazon_time(notice.shipped_at.isoformat()),
                "orderItems": shipped,
            }
            if carrier == "Other":
                package["carrierName"] = notice.carrier or "Other"
            session.call(
                "POST",
                f"{ORDERS}/{quote(notice.external_id, safe='')}/shipmentConfirmation",
                json={"marketplaceId": marketplace, "packageDetail": package},
            )
        return report

"""eBay's Sell APIs (REST): orders are polled from the Fulfillment API (`getOrders` filtered by
`lastmodifieddate` over a fixed window and by `orderfulfillmentstatus` NOT_STARTED or IN_PROGRESS, paged by
`limit`/`offset` until no `next`), quantities go out by the Inventory API's `bulkUpdatePriceQuantity` (up to 25
SKUs a call, the inventory item's ship-to-home quantity), prices by the same call on the SKU's published
fixed-price offer in the connector's marketplace (found by `getOffers`; the price as `{"value": "12.34",
"currency": "USD"}`, each SKU's outcome read from the answer's `responses`, so one refused SKU does not sink the
others), and a shipment is confirmed by `createShippingFulfillment`
(the order's unshipped line items, the ship date, the carrier code and tracking number).

Auth, pacing and throttling: `ebay_api`. Our cancellations go through the Post-Order API (`ebay_post_order`).

Only paid orders still to ship are imported (`orderPaymentStatus` PAID, `orderFulfillmentStatus` NOT_STARTED or
IN_PROGRESS, not cancelled). Invariant: nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from ordersmith.channels import rules
from ordersmith.channels.connectors import fields
from ordersmith.channels.connectors.base import (
    Access,
    CallFailed,
    CallReport,
    PollPage,
    PriceUpdate,
    RateLimited,
    RefundNotice,
    ShipmentNotice,
    SignatureInvalid,
    StockUpdate,
)
from ordersmith.channels.connectors.ebay_api import Session, errors
from ordersmith.channels.connectors.ebay_post_order import PostOrderCancellations
from ordersmith.kernel.errors import ValidationFailed

ORDERS = "/sell/fulfillment/v1/order"
BULK_QUANTITY = "/sell/inventory/v1/bulk_update_price_quantity"
OFFERS = "/sell/inventory/v1/offer"
DEFAULT_MARKETPLACE = "EBAY_US"
OPEN_STATUSES = ("NOT_STARTED", "IN_PROGRESS")
STOCK_BATCH = 25  # bulkUpdatePriceQuantity takes at most 25 SKUs a call
PAGE_SIZE = 100
FIRST_POLL = timedelta(days=1)
OVERLAP = timedelta(minutes=1)  # the next window starts this much before the last ended
_CHANNEL = "eBay"
_CARRIERS = {
    "ups": "UPS",
    "usps": "USPS",
    "fedex": "FEDEX",
    "dhl": "DHL",
    "royal mail": "ROYAL_MAIL",
    "canada post": "CANADA_POST",
    "australia post": "AUSTRALIA_POST",
    "ontrac": "ONTRAC",
}


def _amount(raw: Any, path: str) -> tuple[Decimal, str] | None:
    """An eBay Amount (`{"value": "12.30", "currency": "USD"}`)."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ValidationFailed.on(path, "must be an Amount object")
    value = fields.decimal(raw, "value", f"{path}.value")
    if value is None:
        return None
    return value, fields.text(raw, "currency", f"{path}.currency", max_length=3).upper()


def _value(raw: Any, path: str) -> Decimal | None:
    found = _amount(raw, path)
    return None if found is None else found[0]


def _sum(raw: Any, path: str) -> Decimal:
    """The sum of the `amount`s of a list of tax objects (`taxes`, `ebayCollectAndRemitTaxes`)."""
    if raw is None:
        return Decimal(0)
    if not isinstance(raw, list):
        raise ValidationFailed.on(path, "must be a list")
    total = Decimal(0)
    for n, tax in enumerate(raw):
        if not isinstance(tax, Mapping):
            raise ValidationFailed.on(f"{path}.{n}", "must be an object")
        total += _value(tax.get("amount"), f"{path}.{n}.amount") or Decimal(0)
    return total


def _ship_to(payload: Mapping[str, Any]) -> tuple[rules.ChannelAddress, str, str]:
    """The first instruction with a shipping step: its address, the buyer's e-mail there, the shipping service."""
    instructions = payload.get("fulfillmentStartInstructions")
    if not isinstance(instructions, list) or not instructions:
        raise ValidationFailed.on("fulfillmentStartInstructions", "must be a non-empty list")
    n = next(
        (
            n
            for n, i in enumerate(instructions)
            if isinstance(i, Mapping) and i.get("shippingStep") is not None
        ),
        0,
    )
    if not isinstance(instructions[n], Mapping):
        raise ValidationFailed.on(f"fulfillmentStartInstructions.{n}", "must be an object")
    base = f"fulfillmentStartInstructions.{n}.shippingStep"
    step = fields.section(instructions[n], "shippingStep", base)
    ship_to = fields.section(step, "shipTo", f"{base}.shipTo")
    path = f"{base}.shipTo.contactAddress"
    address = fields.section(ship_to, "contactAddress", path)
    phone = fields.section(ship_to, "primaryPhone", f"{base}.shipTo.primaryPhone", required=False)
    return (
        rules.ChannelAddress(
            name=fields.text(ship_to, "fullName", f"{base}.shipTo.fullName", required=True),
            line1=fields.text(address, "addressLine1", f"{path}.addressLine1", required=True),
            line2=fields.text(address, "addressLine2", f"{path}.addressLine2"),
            city=fields.text(address, "city", f"{path}.city", required=True),
            region=fields.text(address, "stateOrProvince", f"{path}.stateOrProvince", max_length=40),
            postal_code=fields.text(address, "postalCode", f"{path}.postalCode", max_length=20),
            country=fields.text(
                address, "countryCode", f"{path}.countryCode", required=True, max_length=2
            ).upper(),
            phone=fields.text(phone, "phoneNumber", f"{base}.shipTo.primaryPhone.phoneNumber", max_length=40),
            company=fields.text(ship_to, "companyName", f"{base}.shipTo.companyName"),
        ),
        fields.text(ship_to, "email", f"{base}.shipTo.email", max_length=320),
        fields.text(step, "shippingServiceCode", f"{base}.shippingServiceCode", max_length=100),
    )


def _channel_sku(raw: Mapping[str, Any], path: str) -> str:
    """The line's SKU; a listing without one is known by its item id (`item:<legacyItemId>`)."""
    sku = fields.text(raw, "sku", f"{path}.sku", max_length=100)
    if sku:
        return sku
    item = fields.text(raw, "legacyItemId", f"{path}.legacyItemId", max_length=40)
    if not item:
        raise ValidationFailed.on(f"{path}.sku", "a line needs a SKU or a legacyItemId")
    return f"item:{item}"


class EbayConnector(PostOrderCancellations):
    kind = "ebay"
    pushes_stock = True
    pushes_shipments = True
    signed_webhooks = False
    polls_orders = True
    stock_batch_size = STOCK_BATCH
    pushes_prices = True
    price_batch_size = STOCK_BATCH
    pushes_refunds = True

    # --- inbound --------------------------------------------------------------------------------------------

    def parse_order(self, payload: Mapping[str, Any]) -> rules.ChannelOrder:
        """An order as the Fulfillment API's `getOrders` returns it."""
        lines = []
        collected = False
        ship_by: datetime | None = None
        for n, raw in enumerate(fields.items(payload, "lineItems", "lineItems")):
            path = f"lineItems.{n}"
            if not isinstance(raw, Mapping):
                raise ValidationFailed.on(path, "must be an object")
            quantity = fields.integer(raw, "quantity", f"{path}.quantity")
            cost = _value(raw.get("lineItemCost"), f"{path}.lineItemCost")
            remitted = _sum(raw.get("ebayCollectAndRemitTaxes"), f"{path}.ebayCollectAndRemitTaxes")
            # eBay repeats a collect-and-remit tax under `taxes`: count it once
            tax = remitted or _sum(raw.get("taxes"), f"{path}.taxes")
            collected = collected or remitted > 0
            instructions = fields.section(
                raw,
                "lineItemFulfillmentInstructions",
                f"{path}.lineItemFulfillmentInstructions",
                required=False,
            )
            by = fields.timestamp(
                instructions,
                "shipByDate",
                f"{path}.lineItemFulfillmentInstructions.shipByDate",
                required=False,
            )
            ship_by = by if ship_by is None or (by is not None and by < ship_by) else ship_by
            lines.append(
                rules.ChannelLine(
                    channel_sku=_channel_sku(raw, path),
                    quantity=quantity,
                    title=fields.text(raw, "title", f"{path}.title", max_length=500)[: fields.MAX_TEXT],
                    unit_price=None if cost is None else (cost / quantity).quantize(Decimal("0.0001")),
                    tax=tax,
                    line_id=fields.text(raw, "lineItemId", f"{path}.lineItemId", max_length=100),
                )
            )
        summary = fields.section(payload, "pricingSummary", "pricingSummary")
        total = _amount(summary.get("total"), "pricingSummary.total")
        if total is None:
            raise ValidationFailed.on("pricingSummary.total", "is required")
        if not total[1]:
            raise ValidationFailed.on("pricingSummary.total.currency", "is required")
        updated_at = fields.timestamp(payload, "lastModifiedDate", "lastModifiedDate")
        assert updated_at is not None
        ship_to, email, service = _ship_to(payload)
        buyer = fields.section(payload, "buyer", "buyer", required=False)
        registered = fields.section(
            buyer, "buyerRegistrationAddress", "buyer.buyerRegistrationAddress", required=False
        )
        order_id = fields.text(payload, "orderId", "orderId", required=True, max_length=100)
        return rules.ChannelOrder(
            external_id=order_id,
            number=fields.text(payload, "legacyOrderId", "legacyOrderId", max_length=40) or order_id[:40],
            updated_at=updated_at,
            placed_at=fields.timestamp(payload, "creationDate", "creationDate", required=False),
            lines=lines,
            ship_to=ship_to,
            currency=total[1],
            email=email
            or fields.text(registered, "email", "buyer.buyerRegistrationAddress.email", max_length=320),
            shipping_code=service,
            subtotal=_value(summary.get("priceSubtotal"), "pricingSummary.priceSubtotal"),
            shipping=_value(summary.get("deliveryCost"), "pricingSummary.deliveryCost"),
            total_tax=_value(summary.get("tax"), "pricingSummary.tax"),
            total=total[0],
            tax_collected_by="marketplace" if collected else "",
            ship_by=ship_by,
            marketplace_fees=_value(payload.get("totalMarketplaceFee"), "totalMarketplaceFee"),
            attributes=fields.scalars(payload),
        )

    def wanted(self, payload: Mapping[str, Any]) -> bool:
        cancel = payload.get("cancelStatus")
        cancelled = isinstance(cancel, Mapping) and cancel.get("cancelState") == "CANCELED"
        return (
            payload.get("orderPaymentStatus") == "PAID"
            and payload.get("orderFulfillmentStatus") in OPEN_STATUSES
            and not cancelled
        )

    def takes_topic(self, headers: Mapping[str, str]) -> bool:
        return False

    def change_topic(self, headers: Mapping[str, str]) -> bool:
        return False

    def changes(
        self, headers: Mapping[str, str] | None, payload: Mapping[str, Any]
    ) -> list[rules.ChannelChange]:
        """`cancelStatus.cancelState` CANCELED is a cancellation (at `cancelledDate`); each
        `paymentSummary.refunds` entry whose `refundStatus` is REFUNDED, a refund keyed by its `refundId` (or
        `refundReferenceId`)."""
        order_id = fields.text(payload, "orderId", "orderId", required=True, max_length=100)
        found: list[rules.ChannelChange] = []
        cancel = payload.get("cancelStatus")
        if isinstance(cancel, Mapping) and cancel.get("cancelState") == "CANCELED":
            at = fields.timestamp(cancel, "cancelledDate", "cancelStatus.cancelledDate", required=False)
            at = at or fields.timestamp(payload, "lastModifiedDate", "lastModifiedDate")
            assert at is not None
            found.append(rules.ChannelChange(order_id, "cancel", "cancel", at, "cancelled on eBay"))
        summary = fields.section(payload, "paymentSummary", "paymentSummary", required=False)
        refunds = summary.get("refunds") or []
        if not isinstance(refunds, list):
            raise ValidationFailed.on("paymentSummary.refunds", "must be a list")
        for n, raw in enumerate(refunds):
            path = f"paymentSummary.refunds.{n}"
            if not isinstance(raw, Mapping):
                raise ValidationFailed.on(path, "must be an object")
            if raw.get("refundStatus") != "REFUNDED":
                continue  # PENDING is reported again once done; FAILED moved no money
            amount = _amount(raw.get("amount"), f"{path}.amount")
            key = fields.text(raw, "refundId", f"{path}.refundId", max_length=100) or fields.text(
                raw, "refundReferenceId", f"{path}.refundReferenceId", required=True, max_length=100
            )
            at = fields.timestamp(raw, "refundDate", f"{path}.refundDate", required=False)
            at = at or fields.timestamp(payload, "lastModifiedDate", "lastModifiedDate")
            assert at is not None
            found.append(
                rules.ChannelChange(
                    order_id,
                    "refund",
                    key,
                    at,
                    "refunded on eBay",
                    None if amount is None else amount[0],
                    "" if amount is None else amount[1],
                )
            )
        return found

    def verify_webhook(self, access: Access, headers: Mapping[str, str], body: bytes) -> None:
        raise SignatureInvalid("eBay orders are polled, not pushed")

    def poll_orders(self, access: Access, cursor: Mapping[str, Any], now: datetime) -> PollPage:
        """One `getOrders` page of the open orders modified in the window [after, before] (before: now when the
        window opened). Pages go by offset; should the window's `total` change while it is read (an order shipped
        or cancelled leaves it, shifting later orders to lower offsets), the window is read again from its start,
        so no order slips between two pages — a repeat is one order in the inbox."""
        after = str(cursor.get("after") or (now - FIRST_POLL).isoformat())
        before = str(cursor.get("before") or now.isoformat())
        offset = int(cursor.get("offset") or 0)
        total = cursor.get("total")
        if "before" not in cursor and datetime.fromisoformat(after) >= datetime.fromisoformat(before):
            return PollPage([], {"after": after}, True)
        limit = int(access.config.get("page_size") or PAGE_SIZE)
        report = CallReport()
        with Session(access, report) as session:
            answer = session.call(
                "GET",
                ORDERS,
                params={
                    "filter": f"lastmodifieddate:[{_ebay_time(after)}..{_ebay_time(before)}],"
                    f"orderfulfillmentstatus:{{{'|'.join(OPEN_STATUSES)}}}",
                    "limit": str(limit),
                    "offset": str(offset),
                },
            )
        if not isinstance(answer, Mapping) or not isinstance(answer.get("total", 0), int):
            raise CallFailed("eBay's getOrders answer is not an order page")
        found = answer.get("total", 0)
        orders = [
            o for o in answer.get("orders") or [] if isinstance(o, dict) and isinstance(o.get("orderId"), str)
        ]
        window = {"after": after, "before": before}
        if total is not None and found != total:  # the window changed under the pages: read it again
            return PollPage(orders, window | {"offset": 0, "total": None}, False, report)
        if answer.get("next") and orders:
            return PollPage(orders, window | {"offset": offset + limit, "total": found}, False, report)
        # eBay does not say whether its date range includes its ends, and indexes a change with some lag: the next
        # window starts a minute early (an order in the overlap is delivered twice, recorded once).
        return PollPage(
            orders, {"after": (datetime.fromisoformat(before) - OVERLAP).isoformat()}, True, report
        )

    # --- outbound -------------------------------------------------------------------------------------------

    def push_stock(self, access: Access, updates: Sequence[StockUpdate]) -> CallReport:
        report = CallReport()
        refused = []
        with Session(access, report) as session:
            for batch in rules.batches(list(updates), STOCK_BATCH):
                answer = session.call(
                    "POST",
                    BULK_QUANTITY,
                    json={
                        "requests": [
                            {"sku": u.listing_id, "shipToLocationAvailability": {"quantity": u.quantity}}
                            for u in batch
                        ]
                    },
                )
                for response in answer.get("responses") or [] if isinstance(answer, Mapping) else []:
                    if isinstance(response, Mapping) and response.get("statusCode") not in (200, None):
                        refused.append(f"{response.get('sku')}: {errors(response)}")
        if refused:
            raise CallFailed(f"eBay refused stock for {'; '.join(refused)[:300]}", permanent=True)
        return report

    def push_prices(self, access: Access, updates: Sequence[PriceUpdate]) -> CallReport:
        """Each SKU's published fixed-price offer (`getOffers`) gets the price; a SKU with no such offer, or one
        eBay refuses in the answer's `responses`, lands in `report.refused` under its SKU."""
        marketplace = str(access.config.get("marketplace_id") or DEFAULT_MARKETPLACE)
        report = CallReport()
        with Session(access, report) as session:
            for batch in rules.batches(list(updates), STOCK_BATCH):
                requests = []
                for update in batch:
                    offers = _published_offers(session, update.listing_id, marketplace, report)
                    if offers:
                        price = {"value": update.price, "currency": update.currency}
                        requests.append(
                            {
                                "sku": update.listing_id,
                                "offers": [{"offerId": o, "price": price} for o in offers],
                            }
                        )
                if not requests:
                    continue
                answer = session.call("POST", BULK_QUANTITY, json={"requests": requests})
                for response in answer.get("responses") or [] if isinstance(answer, Mapping) else []:
                    if isinstance(response, Mapping) and response.get("statusCode") not in (200, None):
                        report.refused[str(response.get("sku"))] = (
                            f"offer {response.get('offerId')}: {errors(response)}"
                        )
        return report

    def push_shipment(self, access: Access, notice: ShipmentNotice) -> CallReport:
        if notice.shipped_at is None:
            raise CallFailed("a shipping fulfillment needs the ship date", permanent=True)
        report = CallReport()
        order = f"{ORDERS}/{quote(notice.external_id, safe='')}"
        with Session(access, report) as session:
            done = session.call("GET", f"{order}/shipping_fulfillment")
            sent = [
                f
                for f in (done.get("fulfillments") or [] if isinstance(done, Mapping) else [])
                if isinstance(f, Mapping)
            ]
            if notice.tracking_number and any(
                f.get("shipmentTrackingNumber") == notice.tracking_number for f in sent
            ):
                return report  # sent before (a retry after the answer was lost): not twice
            found = session.call("GET", order)
            items = found.get("lineItems") if isinstance(found, Mapping) else None
            if not isinstance(items, list):
                raise CallFailed(f"eBay's order {notice.external_id} has no lineItems")
            lines = [
                {"lineItemId": str(i["lineItemId"]), "quantity": int(i["quantity"])}
                for i in items
                if isinstance(i, Mapping)
                and i.get("lineItemId")
                and isinstance(i.get("quantity"), int)
                and i.get("lineItemFulfillmentStatus") != "FULFILLED"
            ]
            if not lines:
                return report  # every line shipped already on eBay's side
            session.call(
                "POST",
                f"{order}/shipping_fulfillment",
                json={
                    "lineItems": lines,
                    "shippedDate": _ebay_time(notice.shipped_at.isoformat()),
                    "shippingCarrierCode": _CARRIERS.get(
                        notice.carrier.strip().lower(), notice.carrier.strip() or "Other"
                    ),
                    "trackingNumber": notice.tracking_number,
                },
            )
        return report

    def refund_baseline(self, access: Access, notice: RefundNotice) -> tuple[str, ...]:
        report = CallReport()
        with Session(access, report) as session:
            return tuple(str(r.get("refundId") or "") for r in _refunds(session, notice.external_id))

    def push_refund(self, access: Access, notice: RefundNotice) -> CallReport:
        """`issue_refund` of the amount at the order level (reason OTHER, our reason as the comment). eBay keeps no
        reference of ours on a refund, so the order's refunds read before the first attempt (`notice.baseline`)
        tell a retry whether the refund a lost answer made is there: a new refund of this amount and currency, not
        FAILED, is taken as ours."""
        if notice.baseline is None:
            raise CallFailed("an eBay refund needs the order's refunds read first", permanent=True)
        report = CallReport()
        order = f"{ORDERS}/{quote(notice.external_id, safe='')}"
        with Session(access, report) as session:
            for refund in _refunds(session, notice.external_id):
                raw = refund.get("amount")
                amount: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
                if (
                    str(refund.get("refundId") or "") not in notice.baseline
                    and refund.get("refundStatus") != "FAILED"
                    and str(amount.get("currency") or "") == notice.currency
                    and _decimal(amount.get("value")) == notice.amount
                ):
                    return report  # made by an attempt whose answer was lost
            answer = session.call(
                "POST",
                f"{order}/issue_refund",
                signed=True,
                json={
                    "reasonForRefund": "OTHER",
                    "comment": notice.reason[:100],
                    "orderLevelRefundAmount": {"value": str(notice.amount), "currency": notice.currency},
                },
            )
            if isinstance(answer, Mapping) and answer.get("refundStatus") == "FAILED":
                raise CallFailed(f"eBay did not refund order {notice.external_id} (FAILED)", permanent=True)
        return report


def _refunds(session: Session, external_id: str) -> list[Mapping[str, Any]]:
    found = session.call("GET", f"{ORDERS}/{quote(external_id, safe='')}")
    if not isinstance(found, Mapping):
        raise CallFailed(f"eBay's order {external_id} is not an object")
    raw = found.get("paymentSummary")
    summary: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    return [r for r in summary.get("refunds") or [] if isinstance(r, Mapping)]


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _published_offers(session: Session, sku: str, marketplace: str, report: CallReport) -> list[str]:
    """The ids of the SKU's published fixed-price offers in the marketplace (`getOffers`); none: the SKU is
    refused (an offer not yet published takes its price from `updateOffer`, not from here)."""
    try:
        answer = session.call("GET", OFFERS, params={"sku": sku, "marketplace_id": marketplace})
    except RateLimited:
        raise
    except CallFailed as exc:
        if exc.status in (400, 404):  # eBay answers an unknown SKU with an error, not an empty list
            report.refused[sku] = f"no offer: {exc}"
            return []
        raise
    offers = [
        str(o["offerId"])
        for o in (answer.get("offers") or [] if isinstance(answer, Mapping) else [])
        if isinstance(o, Mapping)
        and o.get("offerId")
        and o.get("status") == "PUBLISHED"
        and o.get("format", "FIXED_PRICE") == "FIXED_PRICE"
        and o.get("marketplaceId", marketplace) == marketplace
    ]
    if not offers:
        report.refused[sku] = f"no published fixed-price offer on {marketplace}"
    return offers


def _ebay_time(iso: str) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, as eBay's filters and dates take it."""
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

"""Amazon: our cancellations and refunds of its orders go out as order feeds (Feeds API 2021-06-30), the only
way the SP-API takes them from a seller — a cancellation as an order acknowledgement (`POST_ORDER_ACKNOWLEDGEMENT_
DATA`, `StatusCode` Failure with a `CancelReason` on each item still to ship; a cancellation of some lines, the
rest of the order going on, as `StatusCode` Success with a `CancelReason` on those items only — whole items: part of
an item's units cannot be cancelled this way and goes to a person), a refund as an order adjustment
(`POST_PAYMENT_ADJUSTMENT_DATA`, `ItemPriceAdjustments` per item). Each goes in three steps (`PushesOrderChanges
ByFeed`): `createFeedDocument` and the upload of the XML to the pre-signed URL Amazon returns; `createFeed`; then
`getFeed` until it is `DONE` and its processing report (`getFeedDocument`, gzip when Amazon says so) read for
errors.

Once only: a refund's `createFeed` whose answer is lost (no answer, a 5xx other than 503) is never sent again by
itself (`AnswerLost`): Amazon keeps no reference of ours a second submission could be checked against. An
acknowledgement sent twice cancels nothing twice, so a cancellation is retried like any call.

Money: a refund is allocated over the order's items, `Principal` first, then `Shipping`, then (where the seller
collects tax) `Tax` and `ShippingTax`: a return's refund first to the returned units' share of their items
(`RefundNotice.lines`), then — and any other refund — over the items in Amazon's order, each component up to what
it has left after the order's earlier refunds to Amazon (`RefundNotice.earlier`, replayed in the order they were
queued), so no refund asks an item for more than it has left. Where Amazon collects an item's tax as marketplace
facilitator, the share sent for that item is net of its tax and Amazon refunds the tax with it. A cancellation's
refund is never sent: Amazon charges the buyer at shipment, so its cancellation gives everything back
(`cancellation_refunds`). Invariant: nothing here touches the database.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree as ET

import httpx

from ordersmith.channels.connectors.amazon_api import Session, required
from ordersmith.channels.connectors.base import (
    Access,
    AnswerLost,
    CallFailed,
    CallReport,
    CancellationNotice,
    EarlierRefund,
    FeedStep,
    LineCancellationNotice,
    LineUnits,
    RateLimited,
    RefundNotice,
)
from ordersmith.kernel.money import currency_exponent

FEEDS = "/feeds/2021-06-30"
CONTENT_TYPE = "text/xml; charset=UTF-8"
CANCEL_FEED = "POST_ORDER_ACKNOWLEDGEMENT_DATA"
REFUND_FEED = "POST_PAYMENT_ADJUSTMENT_DATA"
CHECK_AFTER_S = 60  # Amazon processes an order feed within minutes: look again after this (`feed_check_s`)
FEED_CHECK_RANGE_S = (1, 3600)
# The reasons Amazon's schemas take (`CancelReason`, `AdjustmentReason`).
CANCEL_REASONS = ("NoInventory", "ShippingAddressUndeliverable", "CustomerExchange", "BuyerCanceled",
                  "GeneralAdjustment", "CarrierCreditDecision", "RiskAssessmentInformationNotValid",
                  "CarrierCoverageFailure", "CustomerReturn", "MerchandiseNotReceived")  # fmt: skip
ADJUSTMENT_REASONS = ("NoInventory", "CustomerReturn", "GeneralAdjustment", "CouldNotShip", "DifferentItem",
                      "Abandoned", "CustomerCancel", "PriceError", "ProductOutofStock", "CustomerAddressIncorrect",
                      "Exchange", "Other", "CarrierCreditDecision", "RiskAssessmentInformationNotValid",
                      "CarrierCoverageFailure", "TransactionRecord", "Undeliverable", "RefusedDelivery")  # fmt: skip
UNAVAILABLE = 503  # answered before Amazon took the request: safe to send again
# Our words -> the reasons Amazon's schemas take (first match wins; a connector may set its own default).
_CANCEL_REASONS = (
    (("stock", "inventory", "backorder"), "NoInventory"),
    (("address", "undeliverable"), "ShippingAddressUndeliverable"),
    (("fraud", "risk"), "RiskAssessmentInformationNotValid"),
    (("customer", "buyer", "called"), "BuyerCanceled"),
)
_ADJUSTMENT_REASONS = (
    (("return",), "CustomerReturn"),
    (("stock", "inventory", "backorder"), "NoInventory"),
    (("address", "undeliverable"), "CustomerAddressIncorrect"),
    (("price",), "PriceError"),
    (("cancel",), "CustomerCancel"),
    (("ship", "lost", "damaged"), "CouldNotShip"),
)
_COMPONENTS = (("ItemPrice", "Principal"), ("ShippingPrice", "Shipping"))
_TAX_COMPONENTS = (("ItemTax", "Tax"), ("ShippingTax", "ShippingTax"))


class OrderFeeds:
    """The Amazon connector's cancellations and refunds out (mixed into `AmazonConnector`)."""

    pushes_cancellations = True
    pushes_line_cancellations = True  # whole items: part of an item's units is dead-lettered for a person
    pushes_refunds = True
    cancellation_refunds = True

    def prepare_change(
        self, access: Access, notice: CancellationNotice | LineCancellationNotice | RefundNotice
    ) -> FeedStep:
        seller = required(access, "seller_id")
        required(access, "marketplace_id")
        report = CallReport()
        with Session(access, report) as session:
            items = session.order_items(notice.external_id)
            if isinstance(notice, LineCancellationNotice):
                whole_items = _items_to_cancel(notice, items)
                if not whole_items:  # nothing of them left to ship: cancelled (or shipped) on Amazon already
                    return FeedStep({}, report, done=True)
                reason = _reason(notice.reason, _CANCEL_REASONS, access.config.get("cancel_reason"))
                feed_type, document = (
                    CANCEL_FEED,
                    acknowledgement(seller, notice.external_id, whole_items, reason, whole_order=False),
                )
            elif isinstance(notice, CancellationNotice):
                open_items = _open_items(items)
                if not open_items:  # nothing left to ship: cancelled (or shipped) on Amazon already
                    return FeedStep({}, report, done=True)
                reason = _reason(notice.reason, _CANCEL_REASONS, access.config.get("cancel_reason"))
                feed_type, document = (
                    CANCEL_FEED,
                    acknowledgement(seller, notice.external_id, open_items, reason),
                )
            else:
                reason = _reason(notice.reason, _ADJUSTMENT_REASONS, access.config.get("refund_reason"))
                feed_type, document = REFUND_FEED, adjustment(seller, notice, items, reason)
            made = session.call("POST", f"{FEEDS}/documents", json={"contentType": CONTENT_TYPE})
            if not isinstance(made, Mapping) or not made.get("feedDocumentId") or not made.get("url"):
                raise CallFailed("Amazon's createFeedDocument answer has no feedDocumentId or url")
            _transfer(
                session, "PUT", str(made["url"]), content=document, headers={"Content-Type": CONTENT_TYPE}
            )
        handle = {
            "feed_type": feed_type,
            "document_id": str(made["feedDocumentId"]),
            "order": notice.external_id,
        }
        return FeedStep(handle, report)

    def submit_change(self, access: Access, step: FeedStep) -> FeedStep:
        marketplace = required(access, "marketplace_id")
        report = CallReport()
        feed_type = str(step.handle["feed_type"])
        body = {"feedType": feed_type, "marketplaceIds": [marketplace],
                "inputFeedDocumentId": str(step.handle["document_id"])}  # fmt: skip
        with Session(access, report) as session:
            try:
                made = session.call("POST", f"{FEEDS}/feeds", json=body)
            except RateLimited:
                raise
            except CallFailed as exc:
                if feed_type == REFUND_FEED and _maybe_taken(exc):
                    raise AnswerLost(
                        f"Amazon may have taken the refund of order {step.handle.get('order')} ({exc}): check its "
                        "refunds on Seller Central before replaying, or it may be refunded twice"
                    ) from exc
                raise
        feed_id = made.get("feedId") if isinstance(made, Mapping) else None
        if not feed_id:
            if feed_type == REFUND_FEED:
                raise AnswerLost(
                    f"Amazon answered no feedId for the refund of order {step.handle.get('order')}: check its "
                    "refunds on Seller Central before replaying"
                )
            raise CallFailed("Amazon's createFeed answer has no feedId")
        return FeedStep(step.handle | {"feed_id": str(feed_id)}, report, wait_s=_check_after(access))

    def change_outcome(self, access: Access, step: FeedStep) -> FeedStep:
        feed_id = str(step.handle["feed_id"])
        what = "cancellation" if step.handle.get("feed_type") == CANCEL_FEED else "refund"
        order = step.handle.get("order")
        report = CallReport()
        with Session(access, report) as session:
            feed = session.call("GET", f"{FEEDS}/feeds/{quote(feed_id, safe='')}")
            status = feed.get("processingStatus") if isinstance(feed, Mapping) else None
            if status in ("IN_QUEUE", "IN_PROGRESS"):
                return FeedStep(step.handle, report, wait_s=_check_after(access))
            if status == "CANCELLED":
                raise CallFailed(f"Amazon cancelled feed {feed_id} (the {what} of order {order}) before "
                                 "processing it: nothing changed on Amazon; replay to send it again",
                                 permanent=True)  # fmt: skip
            if status not in ("DONE", "FATAL"):
                raise CallFailed(f"Amazon's getFeed answered an unknown processingStatus {status!r}")
            result = feed.get("resultFeedDocumentId")
            if not result:
                raise CallFailed(f"Amazon's feed {feed_id} ended {status} with no processing report",
                                 permanent=status == "FATAL")  # fmt: skip
            document = session.call("GET", f"{FEEDS}/documents/{quote(str(result), safe='')}")
            if not isinstance(document, Mapping) or not document.get("url"):
                raise CallFailed("Amazon's getFeedDocument answer has no url")
            text = _transfer(session, "GET", str(document["url"]))
            if document.get("compressionAlgorithm") == "GZIP":
                try:
                    text = gzip.decompress(text)
                except (OSError, EOFError) as exc:
                    raise CallFailed(f"Amazon's processing report of feed {feed_id} is not gzip") from exc
        errors = processing_errors(text)
        if errors or status == "FATAL":
            raise CallFailed(
                f"Amazon refused the {what} of order {order} (feed {feed_id}): "
                f"{'; '.join(errors) or 'the feed failed'}"[:1000],
                permanent=True,
            )
        return FeedStep(step.handle, report, done=True)


def _check_after(access: Access) -> float:
    return float(access.config.get("feed_check_s") or CHECK_AFTER_S)


def _open_items(items: Sequence[Mapping[str, Any]]) -> list[tuple[str, int]]:
    """(OrderItemId, quantity still to ship) of each item with some left."""
    left = []
    for item in items:
        ordered, shipped = item.get("QuantityOrdered"), item.get("QuantityShipped") or 0
        if (
            item.get("OrderItemId")
            and isinstance(ordered, int)
            and isinstance(shipped, int)
            and ordered > shipped
        ):
            left.append((str(item["OrderItemId"]), ordered - shipped))
    return left


def _items_to_cancel(
    notice: LineCancellationNotice, items: Sequence[Mapping[str, Any]]
) -> list[tuple[str, int]]:
    """(OrderItemId, units still to ship) of each item the notice cancels; an item with nothing left to ship is
    done. Raises CallFailed (permanent) for an item Amazon does not list, or for part of an item's units: the
    acknowledgement cancels whole items, so those units are for a person (ship the rest, refund the difference)."""
    by_id = {str(item["OrderItemId"]): item for item in items if item.get("OrderItemId")}
    cancel = []
    for line in notice.lines:
        item = by_id.get(line.line_id)
        if item is None:
            raise CallFailed(
                f"Amazon lists no item {line.line_id} in order {notice.external_id}", permanent=True
            )
        ordered, shipped = item.get("QuantityOrdered"), item.get("QuantityShipped") or 0
        left = ordered - shipped if isinstance(ordered, int) and isinstance(shipped, int) else 0
        if left <= 0:
            continue
        if line.quantity < left:
            raise CallFailed(
                f"Amazon cancels whole items only: item {line.line_id} of order {notice.external_id} has {left} "
                f"unit(s) still to ship and {line.quantity} were cancelled; nothing sent — ship the rest and "
                "refund the cancelled units on Seller Central",
                permanent=True,
            )
        cancel.append((line.line_id, left))
    return cancel


def _reason(ours: str, table: tuple[tuple[tuple[str, ...], str], ...], default: Any) -> str:
    words = ours.lower()
    for keys, theirs in table:
        if any(k in words for k in keys):
            return theirs
    return str(default or "GeneralAdjustment")


def _envelope(seller: str, message_type: str) -> tuple[ET.Element, ET.Element]:
    root = ET.Element("AmazonEnvelope", {"xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
                                         "xsi:noNamespaceSchemaLocation": "amzn-envelope.xsd"})  # fmt: skip
    header = ET.SubElement(root, "Header")
    ET.SubElement(header, "DocumentVersion").text = "1.01"
    ET.SubElement(header, "MerchantIdentifier").text = seller
    ET.SubElement(root, "MessageType").text = message_type
    message = ET.SubElement(root, "Message")
    ET.SubElement(message, "MessageID").text = "1"
    return root, message


def _xml(root: ET.Element) -> bytes:
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def acknowledgement(
    seller: str, order_id: str, items: Sequence[tuple[str, int]], reason: str, *, whole_order: bool = True
) -> bytes:
    """An order acknowledgement cancelling `items` (each whole: the feed names items, not units): the whole order
    (`StatusCode` Failure), or only these items while the rest of the order goes on (Success)."""
    root, message = _envelope(seller, "OrderAcknowledgement")
    ack = ET.SubElement(message, "OrderAcknowledgement")
    ET.SubElement(ack, "AmazonOrderID").text = order_id
    ET.SubElement(ack, "StatusCode").text = "Failure" if whole_order else "Success"
    for item_id, _quantity in items:
        item = ET.SubElement(ack, "Item")
        ET.SubElement(item, "AmazonOrderItemCode").text = item_id
        ET.SubElement(item, "CancelReason").text = reason
    return _xml(root)


def adjustment(seller: str, notice: RefundNotice, items: Sequence[Mapping[str, Any]], reason: str) -> bytes:
    """An order adjustment refunding `notice.amount` over the order's items (module docstring). Raises CallFailed
    (permanent) when the order's items cannot hold it."""
    places = currency_exponent(notice.currency)
    quantum = Decimal(1).scaleb(-places)
    charged = {str(item["OrderItemId"]): item for item in items if item.get("OrderItemId")}
    if not charged:
        raise CallFailed(f"Amazon lists no items for order {notice.external_id}", permanent=True)
    fill = _Fill(
        charged, {item_id: _charges(item, notice.currency) for item_id, item in charged.items()}, quantum
    )
    # What the order's earlier refunds to Amazon took of each item, replayed in the order they were queued
    for refund in notice.earlier or ((EarlierRefund(notice.before),) if notice.before > 0 else ()):
        fill.take(refund.amount, refund.lines)
    taken, short = fill.take(notice.amount, notice.lines)
    if short > 0:
        raise CallFailed(
            f"a refund of {notice.amount} {notice.currency} is more than Amazon charged for order "
            f"{notice.external_id}: nothing sent; refund it on Seller Central",
            permanent=True,
        )
    root, message = _envelope(seller, "OrderAdjustment")
    body = ET.SubElement(message, "OrderAdjustment")
    ET.SubElement(body, "AmazonOrderID").text = notice.external_id
    mark = "os-" + hashlib.sha256(notice.key.encode()).hexdigest()[:24]
    for n, item_id in enumerate(charged):
        parts = taken.get(item_id)
        if not parts:
            continue
        adjusted = ET.SubElement(body, "AdjustedItem")
        ET.SubElement(adjusted, "AmazonOrderItemCode").text = item_id
        ET.SubElement(adjusted, "MerchantAdjustmentItemID").text = f"{mark}-{n + 1}"
        ET.SubElement(adjusted, "AdjustmentReason").text = reason
        prices = ET.SubElement(adjusted, "ItemPriceAdjustments")
        for name in fill.charged[item_id]:  # in the components' order
            if parts.get(name, 0) > 0:
                component = ET.SubElement(prices, "Component")
                ET.SubElement(component, "Type").text = name
                amount = ET.SubElement(component, "Amount", {"currency": notice.currency})
                amount.text = f"{parts[name]:.{places}f}"
    return _xml(root)


class _Fill:
    """What each item of the order has left to refund, by component, taken by one refund after another: first the
    returned units' share of their items (a return's refund goes to the items returned), then whatever is left of
    the refund over the items in Amazon's order, each component up to what it has left. Where Amazon collected an
    item's tax as marketplace facilitator it refunds that tax with the share we send, so what we send for an item is
    net of its tax (`gross`: the item's charge with that tax over its charge without). Per item, what is sent is
    worked out on the running totals (all the refund money the item has absorbed, over its rate, less what was sent
    before), so rounding never drifts: ten refunds of 4.00 send exactly what one of 40.00 would."""

    def __init__(
        self,
        items: Mapping[str, Mapping[str, Any]],
        charges: Mapping[str, tuple[dict[str, Decimal], Decimal]],
        quantum: Decimal,
    ) -> None:
        self.items, self.quantum = items, quantum
        self.charged = {item_id: components for item_id, (components, _tax) in charges.items()}
        self.left = {item_id: dict(components) for item_id, components in self.charged.items()}
        self.gross: dict[str, Decimal] = {}
        for item_id, (components, tax) in charges.items():
            base = sum(components.values(), Decimal(0))
            self.gross[item_id] = (base + tax) / base if tax > 0 and base > 0 else Decimal(1)
        self.absorbed = dict.fromkeys(
            self.charged, Decimal(0)
        )  # refund money each item has taken, with its tax
        self.sent = dict.fromkeys(self.charged, Decimal(0))  # what was sent for it (net of Amazon's tax)

    def _round(self, value: Decimal) -> Decimal:
        return value.quantize(self.quantum, rounding=ROUND_HALF_UP)

    def _take_item(
        self,
        item_id: str,
        amount: Decimal,
        caps: Mapping[str, Decimal] | None,
        taken: dict[str, dict[str, Decimal]],
    ) -> Decimal:
        """Take as much of `amount` as the item's components hold (each also up to `caps` when given); returns
        what is left of the amount."""
        left = self.left[item_id]
        rooms = {name: min(room, caps[name]) if caps is not None else room for name, room in left.items()}
        capacity = sum((r for r in rooms.values() if r > 0), Decimal(0))
        gross = self.gross[item_id]
        wanted = self._round((self.absorbed[item_id] + amount) / gross) - self.sent[item_id]
        net = min(wanted, capacity)
        if amount <= 0 or net <= 0:
            return amount
        rest = net
        for name, room in rooms.items():
            part = min(rest, room)
            if part > 0:
                left[name] -= part
                taken.setdefault(item_id, {})[name] = taken.get(item_id, {}).get(name, Decimal(0)) + part
                rest -= part
        self.sent[item_id] += net
        if net == wanted:  # the item held all of it
            self.absorbed[item_id] += amount
            return Decimal(0)
        used = min(max(self._round(self.sent[item_id] * gross) - self.absorbed[item_id], Decimal(0)), amount)
        self.absorbed[item_id] += used
        return amount - used

    def take(
        self, amount: Decimal, lines: Sequence[LineUnits]
    ) -> tuple[dict[str, dict[str, Decimal]], Decimal]:
        """Take a refund of `amount` for `lines` (none: not a return's); returns what is sent per item and
        component, and what of the amount no item could hold."""
        taken: dict[str, dict[str, Decimal]] = {}
        for line in lines:
            item = self.items.get(line.line_id)
            ordered = item.get("QuantityOrdered") if item is not None else None
            if not isinstance(ordered, int) or ordered <= 0:
                continue  # an item Amazon does not list (or with no quantity): the refund goes in Amazon's order
            share = Decimal(min(line.quantity, ordered)) / ordered
            caps = {
                name: self._round(charged * share) for name, charged in self.charged[line.line_id].items()
            }
            amount = self._take_item(line.line_id, amount, caps, taken)
        for item_id in self.left:
            amount = self._take_item(item_id, amount, None, taken)
        # a cent per item grossed up and rounded may be left over where the last of an item was taken
        return taken, amount if amount > self.quantum * len(taken) else Decimal(0)


def _charges(item: Mapping[str, Any], currency: str) -> tuple[dict[str, Decimal], Decimal]:
    """What Amazon charged for an item that a refund may give back, by component in the order they are used, and
    the tax Amazon collected on it as marketplace facilitator (refunded by Amazon, not by us)."""
    collection = item.get("TaxCollection")
    facilitated = isinstance(collection, Mapping) and collection.get("Model") == "MarketplaceFacilitator"
    components = {name: _amount(item.get(field), currency) for field, name in _COMPONENTS}
    taxes = {name: _amount(item.get(field), currency) for field, name in _TAX_COMPONENTS}
    if facilitated:
        return components, sum(taxes.values(), Decimal(0))
    return components | taxes, Decimal(0)


def _amount(raw: Any, currency: str) -> Decimal:
    if not isinstance(raw, Mapping) or str(raw.get("CurrencyCode") or currency).upper() != currency.upper():
        return Decimal(0)
    try:
        value = Decimal(str(raw.get("Amount") or "0"))
    except InvalidOperation:
        return Decimal(0)
    return value if value.is_finite() and value > 0 else Decimal(0)


def processing_errors(report: bytes) -> list[str]:
    """The errors of an XML feed's processing report (`ResultCode` Error), each with its code and description;
    warnings are not errors. Raises CallFailed when the report is not one."""
    try:
        root = ET.fromstring(report)  # noqa: S314 - expat >= 2.4 refuses entity expansion attacks
    except ET.ParseError as exc:
        raise CallFailed(f"Amazon's processing report is not XML: {exc}", permanent=True) from exc
    summary = root.find(".//ProcessingReport")
    if summary is None:
        raise CallFailed("Amazon's processing report has no ProcessingReport", permanent=True)
    errors = []
    for result in summary.iter("Result"):
        if (result.findtext("ResultCode") or "").strip() == "Error":
            code = (result.findtext("ResultMessageCode") or "").strip()
            text = (result.findtext("ResultDescription") or "").strip()
            errors.append(f"{code} {text}".strip())
    failed = (summary.findtext("ProcessingSummary/MessagesWithError") or "0").strip()
    if not errors and failed not in ("", "0"):
        errors.append(f"{failed} message(s) with errors")
    return errors


def _transfer(session: Session, method: str, url: str, **kwargs: Any) -> bytes:
    """A call to Amazon's document storage at a pre-signed URL (no SP-API token goes there)."""
    session.report.calls += 1
    try:
        response = session.client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise CallFailed(f"Amazon's document storage did not answer: {type(exc).__name__}") from exc
    if response.status_code >= 500:
        raise CallFailed(
            f"Amazon's document storage answered {response.status_code}", status=response.status_code
        )
    if response.status_code >= 400:
        raise CallFailed(f"Amazon's document storage refused {method} ({response.status_code})", permanent=True,
                         status=response.status_code)  # fmt: skip
    return response.content


def _maybe_taken(exc: CallFailed) -> bool:
    """Whether a failed `createFeed` may still have created the feed: no answer after the request went out, or a
    server error other than 503 (a 4xx, a 429 or a 503 is answered before anything is made)."""
    if exc.status is not None:
        return exc.status >= 500 and exc.status != UNAVAILABLE
    return not isinstance(exc.__cause__, httpx.ConnectError | httpx.ConnectTimeout)

"""eBay: our cancellation of an eBay order goes out through the Post-Order API (`POST /post-order/v2/cancellation`,
a seller-initiated cancellation of the whole order, which eBay approves at once and closes with the buyer's full
refund), after the order is read from the Fulfillment API: an order eBay shows cancelled, or with a cancellation
under way, is done (our earlier attempt whose answer was lost, or the buyer's); a buyer's open request is approved
(`POST /post-order/v2/cancellation/{cancelId}/approve`) instead of a second one made; a shipped order is refused for
a person (take it back as a return).

The Post-Order API takes the OAuth user token as `Authorization: IAF <token>` and the marketplace as
`X-EBAY-C-MARKETPLACE-ID` in its own spelling (`EBAY-US`, `EBAY-UK`, `EBAY-DE`, the three it serves); the seller's
reason is one of three (`OUT_OF_STOCK_OR_CANNOT_FULFILL`, `BUYER_ASKED_CANCEL`, `ADDRESS_ISSUES`), taken from our
reason's words or the connector's `cancel_reason`. eBay refunds the buyer itself when the cancellation closes, so
the refund of a cancellation is not sent on top (`cancellation_refunds`). Both calls carry eBay's digital signature
when the connector holds a signing key (EU and UK sellers: `ebay_signing`). Invariant: nothing here touches the
database.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from ordersmith.channels.connectors.base import Access, CallFailed, CallReport, CancellationNotice
from ordersmith.channels.connectors.ebay_api import Session

ORDERS = "/sell/fulfillment/v1/order"
CANCELLATION = "/post-order/v2/cancellation"
DEFAULT_MARKETPLACE = "EBAY_US"
SELLER_REASONS = ("OUT_OF_STOCK_OR_CANNOT_FULFILL", "BUYER_ASKED_CANCEL", "ADDRESS_ISSUES")
DEFAULT_REASON = "OUT_OF_STOCK_OR_CANNOT_FULFILL"  # the honest catch-all: we cannot fulfil it
_MARKETPLACES = {"EBAY_US": "EBAY-US", "EBAY_GB": "EBAY-UK", "EBAY_DE": "EBAY-DE"}
_REASONS = (
    (("address", "undeliverable"), "ADDRESS_ISSUES"),
    (("customer", "buyer", "called"), "BUYER_ASKED_CANCEL"),
    (("stock", "inventory", "backorder"), "OUT_OF_STOCK_OR_CANNOT_FULFILL"),
)
_UNDER_WAY = ("CANCELED", "IN_PROGRESS")


class PostOrderCancellations:
    """The eBay connector's cancellations out (mixed into `EbayConnector`)."""

    pushes_cancellations = True
    # The Post-Order API cancels whole orders only: a cancellation of some lines goes to a person, who refunds
    # those units on eBay (dead-lettered with what to do)
    pushes_line_cancellations = False
    cancellation_refunds = True

    def push_cancellation(self, access: Access, notice: CancellationNotice) -> CallReport:
        report = CallReport()
        marketplace = str(access.config.get("marketplace_id") or DEFAULT_MARKETPLACE)
        headers = {"X-EBAY-C-MARKETPLACE-ID": _MARKETPLACES.get(marketplace, marketplace.replace("_", "-"))}
        with Session(access, report) as session:
            order = session.call("GET", f"{ORDERS}/{quote(notice.external_id, safe='')}")
            if not isinstance(order, Mapping):
                raise CallFailed(f"eBay's order {notice.external_id} is not an object")
            status = order.get("cancelStatus")
            cancel: Mapping[str, Any] = status if isinstance(status, Mapping) else {}
            asked = _buyer_request(cancel)
            if asked is not None:  # the buyer asked first: approving it cancels the order
                session.call("POST", f"{CANCELLATION}/{quote(asked, safe='')}/approve", scheme="IAF",
                             headers=headers, signed=True)  # fmt: skip
                return report
            if cancel.get("cancelState") in _UNDER_WAY:
                return report  # cancelled, or a cancellation under way (ours whose answer was lost)
            if order.get("orderFulfillmentStatus") == "FULFILLED":
                raise CallFailed(
                    f"eBay order {notice.external_id} has shipped: not cancelled there; take it back as a return",
                    permanent=True,
                )
            body: dict[str, Any] = {
                "legacyOrderId": str(order.get("legacyOrderId") or notice.external_id),
                "cancelReason": _reason(notice.reason, access.config.get("cancel_reason")),
                "buyerPaid": False,
            }
            paid_at = _paid_at(order)
            if paid_at:
                body |= {"buyerPaid": True, "buyerPaidDate": {"value": paid_at}}
            answer = session.call("POST", CANCELLATION, scheme="IAF", json=body, headers=headers, signed=True)
            if not isinstance(answer, Mapping) or not answer.get("cancelId"):
                raise CallFailed(
                    f"eBay did not cancel order {notice.external_id}: {_ineligible(answer)}", permanent=True
                )
        return report


def _buyer_request(cancel: Mapping[str, Any]) -> str | None:
    """The id of the buyer's cancellation request still waiting for the seller, if any."""
    for request in cancel.get("cancelRequests") or []:
        if (
            isinstance(request, Mapping)
            and request.get("cancelInitiator") == "BUYER"
            and request.get("cancelRequestState") == "REQUESTED"
            and request.get("cancelRequestId")
        ):
            return str(request["cancelRequestId"])
    return None


def _paid_at(order: Mapping[str, Any]) -> str | None:
    if order.get("orderPaymentStatus") not in ("PAID", "PARTIALLY_REFUNDED"):
        return None
    summary = order.get("paymentSummary")
    payments = summary.get("payments") if isinstance(summary, Mapping) else None
    for payment in payments or []:
        if isinstance(payment, Mapping) and payment.get("paymentDate"):
            return str(payment["paymentDate"])
    return str(order.get("creationDate") or "") or None


def _reason(ours: str, default: Any) -> str:
    words = ours.lower()
    for keys, theirs in _REASONS:
        if any(k in words for k in keys):
            return theirs
    return str(default or DEFAULT_REASON)


def _ineligible(answer: Any) -> str:
    """Why eBay answered no cancellation id (`orderEligibilityResult.failureReason`, or its warnings)."""
    if not isinstance(answer, Mapping):
        return "no answer"
    result = answer.get("orderEligibilityResult")
    reasons = result.get("failureReason") if isinstance(result, Mapping) else None
    if isinstance(reasons, list) and reasons:
        return ", ".join(str(r) for r in reasons)[:300]
    warnings = answer.get("warnings")
    if isinstance(warnings, list) and warnings:
        return "; ".join(str(w.get("message") if isinstance(w, Mapping) else w) for w in warnings)[:300]
    return "no cancelId in its answer"

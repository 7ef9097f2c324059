"""Shopify: our cancellations and refunds of its orders, and cancellations of some of their lines, through the
GraphQL Admin API (`shopify_api`). A cancellation is `orderCancel` with no refund and no restock (money goes by our
refund notices, stock by our pushes), its job waited for briefly in the call; a refund is `refundCreate` against the
order's captured transactions (a return's naming the returned units); a line cancellation a `refundCreate` of the
cancelled units with no transaction (`NO_RESTOCK`). Each refund's note carries our key's mark (`refund_mark`),
looked for among the order's refunds first, so a retry after a lost answer makes nothing twice. Invariant: nothing
here touches the database.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import httpx

from ordersmith.channels.connectors import shopify_api as api
from ordersmith.channels.connectors.base import (
    Access,
    CallFailed,
    CallReport,
    CancellationNotice,
    LineCancellationNotice,
    RefundNotice,
)

ORDER_STATE = """
query OrderState($id: ID!) {
  order(id: $id) {
    id
    cancelledAt
    transactions(first: 100) {
      id kind status gateway parentTransaction { id }
      amountSet { presentmentMoney { amount currencyCode } }
    }
    refunds(first: 250) { id note }
    lineItems(first: 250) { nodes { id refundableQuantity } }
  }
}"""

CANCEL_ORDER = """
mutation Cancel($orderId: ID!, $reason: OrderCancelReason!, $staffNote: String) {
  orderCancel(orderId: $orderId, reason: $reason, refund: false, restock: false, notifyCustomer: true,
              staffNote: $staffNote) {
    job { id done }
    orderCancelUserErrors { field message code }
  }
}"""

JOB_STATE = """
query Job($id: ID!) {
  job(id: $id) { id done }
}"""
# `orderCancel` only starts a job: it is looked at after each of these waits (seconds), then the order read again
CANCEL_JOB_WAITS_S = (0.25, 0.5, 1.0, 2.0)

CREATE_REFUND = """
mutation Refund($input: RefundInput!) {
  refundCreate(input: $input) {
    refund { id }
    userErrors { field message }
  }
}"""
_CAPTURED = ("SALE", "CAPTURE")


def refund_mark(key: str) -> str:
    """What our refund's note carries so a refund sent again (its answer lost) is found instead of made twice."""
    return f"[ordersmith:{key}]"


class OrderChanges:
    """The Shopify connector's cancellations, refunds and line cancellations out (mixed into `ShopifyConnector`)."""

    pushes_cancellations = True
    pushes_refunds = True
    pushes_line_cancellations = True

    def push_cancellation(self, access: Access, notice: CancellationNotice) -> CallReport:
        """`orderCancel` with no refund and no restock (money goes by our refund notices, stock by our pushes);
        an order Shopify shows cancelled already is left as it is."""
        report = CallReport()
        order_gid = f"gid://shopify/Order/{notice.external_id}"
        with api.client(access) as client:
            order = _order_state(client, access, order_gid, notice.external_id, report)
            if order.get("cancelledAt"):
                return report
            data = api.graphql(client, access, CANCEL_ORDER,
                            {"orderId": order_gid, "reason": "OTHER", "staffNote": notice.reason[:255]},
                            report)  # fmt: skip
            answer = data.get("orderCancel")
            problems = (answer or {}).get("orderCancelUserErrors") if isinstance(answer, Mapping) else None
            if problems:
                text = "; ".join(str(p.get("message")) for p in problems if isinstance(p, Mapping))
                raise CallFailed(f"orderCancel refused: {text[:300]}", permanent=True)
            job = (answer or {}).get("job") if isinstance(answer, Mapping) else None
            _wait_for_job(client, access, job if isinstance(job, Mapping) else {}, notice.external_id, report)
            if not _order_state(client, access, order_gid, notice.external_id, report).get("cancelledAt"):
                raise CallFailed(
                    f"Shopify's cancellation of order {notice.external_id} finished without cancelling it: "
                    "cancel it in Shopify's admin, or replay",
                    permanent=True,
                )
        return report

    def push_refund(self, access: Access, notice: RefundNotice) -> CallReport:
        """`refundCreate` against the order's captured transactions (the first ones first), its note carrying our
        key: a refund already made under that key (an answer lost on the way) is not made again. A return's refund
        also names the returned units as its refund line items (`NO_RESTOCK`: our stock pushes set Shopify's
        figure), as many as Shopify still counts refundable on each line, so the order shows them returned."""

        def refund(gid: str, order: Mapping[str, Any], mark: str) -> dict[str, Any]:
            made = {"orderId": gid, "note": f"{notice.reason[:200]} {mark}", "notify": True,
                    "currency": notice.currency, "transactions": _refund_transactions(gid, order, notice)}  # fmt: skip
            returned = _returned_line_items(order, notice)
            return {**made, "refundLineItems": returned} if returned else made

        return _refund_once(access, notice.external_id, notice.key, refund)

    def push_line_cancellation(self, access: Access, notice: LineCancellationNotice) -> CallReport:
        """`refundCreate` with the cancelled units as its refund line items and no transaction (no money: that
        goes by its own refund notice; `NO_RESTOCK`: our stock pushes set Shopify's figure), which takes them off
        the order's fulfillment; its note carries our key, so one already made under it is not made again."""
        lines = [{"lineItemId": _line_gid(x.line_id), "quantity": x.quantity, "restockType": "NO_RESTOCK"}
                 for x in notice.lines]  # fmt: skip
        return _refund_once(access, notice.external_id, notice.key, lambda gid, order, mark: {
            "orderId": gid, "note": f"Cancelled: {notice.reason[:200]} {mark}", "notify": False,
            "refundLineItems": lines, "transactions": []})  # fmt: skip


def _refund_once(
    access: Access,
    external_id: str,
    key: str,
    refund: Callable[[str, Mapping[str, Any], str], dict[str, Any]],
) -> CallReport:
    """`refundCreate` of `refund(order gid, order state, mark)` — its note carrying our key's mark — unless one of
    the order's refunds carries the mark already (made before, its answer lost on the way)."""
    report = CallReport()
    order_gid = f"gid://shopify/Order/{external_id}"
    mark = refund_mark(key)
    with api.client(access) as client:
        order = _order_state(client, access, order_gid, external_id, report)
        if any(mark in str((r or {}).get("note") or "") for r in order.get("refunds") or []):
            return report
        data = api.graphql(client, access, CREATE_REFUND, {"input": refund(order_gid, order, mark)}, report)
        api.user_errors(data.get("refundCreate"), "refundCreate")
    return report


def _refund_transactions(
    order_gid: str, order: Mapping[str, Any], notice: RefundNotice
) -> list[dict[str, Any]]:
    """REFUND transactions of `notice.amount` against the order's successful captures in its currency, the first
    ones first, each for at most what it still holds. Raises CallFailed (permanent) when they hold less."""
    transactions = []
    left = notice.amount
    every = [t for t in order.get("transactions") or [] if isinstance(t, Mapping)]
    refunded: dict[str, Decimal] = {}  # what each capture has given back already
    for t in every:
        parent = (t.get("parentTransaction") or {}).get("id")
        if t.get("kind") == "REFUND" and t.get("status") == "SUCCESS" and parent:
            refunded[parent] = refunded.get(parent, Decimal(0)) + _presented(t)[0]
    for t in every:
        amount, currency = _presented(t)
        if t.get("kind") not in _CAPTURED or t.get("status") != "SUCCESS" or left <= 0:
            continue
        if currency != notice.currency:  # the buyer's (presentment) currency: what we refund in
            continue
        part = min(left, amount - refunded.get(str(t.get("id")), Decimal(0)))
        if part > 0:
            transactions.append({"orderId": order_gid, "parentId": t["id"], "gateway": t.get("gateway"),
                                 "kind": "REFUND", "amount": str(part)})  # fmt: skip
            left -= part
    if left > 0:
        raise CallFailed(
            f"Shopify holds less still refundable in {notice.currency} than the {notice.amount} to refund",
            permanent=True,
        )
    return transactions


def _returned_line_items(order: Mapping[str, Any], notice: RefundNotice) -> list[dict[str, Any]]:
    """The refund's returned units (`notice.lines`) as refund line items: those whose line the order was imported
    with an id for, each for at most what Shopify still counts refundable on it (units refunded there before, by a
    person or by us, are not named twice — Shopify would refuse the whole refund, money and all)."""
    refundable: dict[str, int] = {}
    for node in ((order.get("lineItems") or {}).get("nodes")) or []:
        if isinstance(node, Mapping) and isinstance(node.get("refundableQuantity"), int):
            refundable[str(node.get("id"))] = node["refundableQuantity"]
    items = []
    for line in notice.lines:
        gid = _line_gid(line.line_id) if line.line_id else ""
        units = min(line.quantity, refundable.get(gid, 0))
        if units > 0:
            refundable[gid] -= units
            items.append({"lineItemId": gid, "quantity": units, "restockType": "NO_RESTOCK"})
    return items


def _line_gid(line_id: str) -> str:
    """A line item's GraphQL id from the id its order's webhook gave (`id`, a number)."""
    return line_id if line_id.startswith("gid://") else f"gid://shopify/LineItem/{line_id}"


def _presented(transaction: Mapping[str, Any]) -> tuple[Decimal, str]:
    """A transaction's amount and currency as the buyer paid (presentment money)."""
    money = ((transaction.get("amountSet") or {}).get("presentmentMoney")) or {}
    try:
        amount = Decimal(str(money.get("amount") or "0"))
    except ArithmeticError:
        amount = Decimal(0)
    return amount, str(money.get("currencyCode") or "")


def _wait_for_job(
    client: httpx.Client, access: Access, job: Mapping[str, Any], external_id: str, report: CallReport
) -> None:
    """Wait (briefly, in the call) for Shopify's job to finish; one still running after the waits is a failure the
    push retries later (the retry finds the order cancelled and is done)."""
    done, job_id = job.get("done") is True, job.get("id")
    for wait in CANCEL_JOB_WAITS_S:
        if done or not job_id:
            break
        time.sleep(wait)
        state = api.graphql(client, access, JOB_STATE, {"id": job_id}, report).get("job")
        done = isinstance(state, Mapping) and state.get("done") is True
    if not done and job_id:
        raise CallFailed(
            f"Shopify is still cancelling order {external_id} (job {job_id}): looked at again later"
        )


def _order_state(
    client: httpx.Client, access: Access, order_gid: str, external_id: str, report: CallReport
) -> Mapping[str, Any]:
    data = api.graphql(client, access, ORDER_STATE, {"id": order_gid}, report)
    order = data.get("order")
    if not isinstance(order, Mapping):
        raise CallFailed(f"Shopify knows no order {external_id}", permanent=True)
    return order

"""Which rule posts which event (pure): the registry the posting subscriber dispatches by, and its filter."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ordersmith.finance.rules.buying import (
    post_invoice_payment_applied,
    post_landed_cost_recorded,
    post_po_received,
    post_settlement_imported,
    post_stock_changed,
    post_vendor_bill_approved,
    post_vendor_payment_made,
    posts_stock,
)
from ordersmith.finance.rules.core import PostingRule
from ordersmith.finance.rules.sales import (
    post_gift_card_activated,
    post_gift_card_expired,
    post_gift_card_issued,
    post_gift_card_reloaded,
    post_invoice_written_off,
    post_order_shipped,
    post_order_shipped_in_part,
    post_payment_captured,
    post_payment_failed,
    post_payment_refunded,
    post_return_received,
    post_unapplied_cash_received,
)

RULES: dict[str, PostingRule] = {
    "settlement.imported": post_settlement_imported,
    "payment.captured": post_payment_captured,
    "payment.refunded": post_payment_refunded,
    "order.shipped": post_order_shipped,
    "po.received": post_po_received,
    "invoice.payment_applied": post_invoice_payment_applied,
    "vendor_bill.approved": post_vendor_bill_approved,
    "vendor_payment.made": post_vendor_payment_made,
    # issue 18, posting rules (ADR 0030)
    "order.shipped_in_part": post_order_shipped_in_part,
    "return.received": post_return_received,
    "gift_card.issued": post_gift_card_issued,
    "gift_card.reloaded": post_gift_card_reloaded,
    "gift_card.activated": post_gift_card_activated,
    "gift_card.expired": post_gift_card_expired,
    "payment.failed": post_payment_failed,
    "invoice.written_off": post_invoice_written_off,
    "unapplied_cash.received": post_unapplied_cash_received,
    "stock.changed": post_stock_changed,
    # issue 18, landed costs (ADR 0041)
    "landed_cost.recorded": post_landed_cost_recorded,
}


def posts(event_type: str, payload: Mapping[str, Any]) -> bool:
    """Whether an event may post (a rule knows its type; a `stock.changed` only when it gains or loses goods, or
    is a transfer whose value costing may move between locations): the subscriber's filter, so the many
    reservation events never reach it."""
    if event_type == "stock.changed":
        return posts_stock(payload) or (payload.get("cause") == "transfer" and bool(payload.get("transfer")))
    return event_type in RULES

"""Posting rules of stock and buying (pure): goods gained or lost, purchase-order receipts, invoice payments applied,
vendor bills and payments, landed costs and processor settlements (ADR 0024, 0030, 0041).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ordersmith.finance.rules.core import Line, Mappings, Posting, _minor, _pair, resolve

# Stock causes that are a gain or loss of goods (`stock.changed` with `on_hand_delta`; a short pick's missing
# units are a loss until a count finds them); receipts (PO receipts
# post `po.received`), returns (`return.received`), transfers (no change in value), reservations and shipments
# are posted elsewhere or move no value.
SHRINKAGE_CAUSES = frozenset({"adjustment", "count", "damaged", "shrinkage", "short_pick"})


def post_stock_changed(
    payload: Mapping[str, Any], facts: Mapping[str, Any], mappings: Mappings
) -> Posting | None:
    """Units found or lost outside a sale, a receipt or a return (an adjustment, a count's variance, damage):
    at moving-average cost, a loss is Dr inventory shrinkage / Cr inventory, a gain the reverse. An item without a
    cost (never received on a PO) posts nothing. A transfer between locations posts nothing (one inventory
    account); costing moves its value between the locations of an item costed per location.

    facts: currency, unit_cost_minor (the SKU's average cost), value_minor (the units at cost, when costing gives
    it).
    """
    if not posts_stock(payload):
        return None
    delta = int(payload["on_hand_delta"])
    value = (
        int(facts["value_minor"])  # the units at cost, as costing moved them (ADR 0041)
        if "value_minor" in facts
        else abs(delta) * int(facts.get("unit_cost_minor") or 0)
    )
    if value == 0:
        return None
    inventory, shrinkage = resolve(mappings, "role", "inventory"), resolve(mappings, "role", "shrinkage")
    lines = _pair(shrinkage, inventory, value) if delta < 0 else _pair(inventory, shrinkage, value)
    sku, cause = payload.get("sku", ""), payload.get("cause", "")
    where = payload.get("location", "")
    return Posting(
        "stock.changed", str(facts["currency"]), lines, f"{sku} {cause} {delta:+d} at {where}", str(sku)
    )


def posts_stock(payload: Mapping[str, Any]) -> bool:
    """Whether a `stock.changed` event is a gain or loss of goods the ledger posts (most are reservations)."""
    return bool(payload.get("on_hand_delta")) and payload.get("cause") in SHRINKAGE_CAUSES


def post_po_received(
    payload: Mapping[str, Any], facts: Mapping[str, Any], mappings: Mappings
) -> Posting | None:
    """Goods received on a stock PO: Dr inventory / Cr goods received not invoiced, at the PO lines' unit cost
    (`facts['unit_cost_minor'][line]`) times the quantity received."""
    currency = str(facts["currency"])
    costs: Mapping[int, int] = facts["unit_cost_minor"]
    value = sum(costs[int(line["line"])] * int(line["quantity"]) for line in payload.get("lines", []))
    if value == 0:
        return None
    lines = _pair(resolve(mappings, "role", "inventory"), resolve(mappings, "role", "grni"), value)
    return Posting(
        "po.received",
        currency,
        lines,
        f"receipt on {payload.get('number', '')}",
        str(payload.get("number", "")),
    )


def post_invoice_payment_applied(
    payload: Mapping[str, Any], facts: Mapping[str, Any], mappings: Mappings
) -> Posting | None:
    """A customer pays an invoice on account: Dr the means of payment (a check into undeposited checks, a bank
    transfer into cash in bank, …) / Cr accounts receivable. A `credit` (a refund on account applied to the
    invoice) posts nothing here: the refund's own entry credited accounts receivable."""
    method = str(payload.get("method", ""))
    if method == "credit":
        return None
    currency = str(payload["currency"])
    amount = _minor(str(payload["amount"]), currency)
    if amount == 0:
        return None
    lines = _pair(resolve(mappings, "tender", method), resolve(mappings, "role", "receivable"), amount)
    number = str(payload.get("number", ""))
    return Posting(
        "invoice.payment_applied", currency, lines, f"{method} received on invoice {number}", number
    )


def post_vendor_bill_approved(
    payload: Mapping[str, Any], facts: Mapping[str, Any], mappings: Mappings
) -> Posting | None:
    """A vendor bill approved for payment (three-way matched): Dr goods received not invoiced at the PO's cost of
    the units billed (what receiving credited), Dr purchase price variance when the vendor billed more than that
    (Cr when less) / Cr accounts payable at the bill's total. A drop-ship PO's goods never passed through
    inventory or GRNI: their cost goes straight to cost of goods sold. The bill's charge lines (freight, duty,
    brokerage: `charges`) clear what landed-cost charges accrued: Dr landed costs accrued (ADR 0041)."""
    currency = str(payload["currency"])
    total = _minor(str(payload["total"]), currency)
    receipt = _minor(str(payload["receipt_value"]), currency)
    charges = _minor(str(payload.get("charges") or "0"), currency)
    variance = total - charges - receipt
    clearing = resolve(mappings, "role", "cogs" if payload.get("kind") == "drop_ship" else "grni")
    price_variance = resolve(mappings, "role", "price_variance")
    lines = (
        Line(clearing, debit_minor=receipt),
        Line(resolve(mappings, "role", "landed_cost") if charges else clearing, debit_minor=charges),
        Line(price_variance, debit_minor=max(variance, 0), credit_minor=max(-variance, 0)),
        Line(resolve(mappings, "role", "payable"), credit_minor=total),
    )
    kept = tuple(line for line in lines if line.debit_minor or line.credit_minor)
    if not kept:
        return None
    number = str(payload.get("number", ""))
    return Posting(
        "vendor_bill.approved",
        currency,
        kept,
        f"bill {payload.get('vendor_invoice', '')} from {payload.get('vendor', '')} "
        f"on {payload.get('purchase_order', '')}",
        number,
    )


def post_vendor_payment_made(
    payload: Mapping[str, Any], facts: Mapping[str, Any], mappings: Mappings
) -> Posting | None:
    """A payment to a vendor against its bills: Dr accounts payable / Cr the bank account payments go out of."""
    currency = str(payload["currency"])
    amount = _minor(str(payload["amount"]), currency)
    if amount == 0:
        return None
    lines = _pair(resolve(mappings, "role", "payable"), resolve(mappings, "role", "disbursement"), amount)
    number = str(payload.get("number", ""))
    return Posting(
        "vendor_payment.made",
        currency,
        lines,
        f"{payload.get('method', '')} payment {number} to {payload.get('vendor', '')}",
        number,
    )


def post_landed_cost_recorded(
    payload: Mapping[str, Any], facts: Mapping[str, Any], mappings: Mappings
) -> Posting | None:
    """A landed-cost charge: Dr inventory (units in stock) and COGS (units sold) / Cr landed costs accrued. The rule
    lives with the rest of inventory costing (`costing.post_landed_cost`, ADR 0041)."""
    from ordersmith.finance import costing  # imports this module: resolved at call time

    return costing.post_landed_cost(payload, facts, mappings)


def _side(account: str, signed: int) -> Line:
    """A line on `account` for a signed amount: a debit when positive, a credit when negative."""
    return Line(account, debit_minor=signed) if signed > 0 else Line(account, credit_minor=-signed)


def post_settlement_imported(
    payload: Mapping[str, Any], facts: Mapping[str, Any], mappings: Mappings
) -> Posting | None:
    """A processor's payout, from its settlement file: Dr cash in bank (the payout's net) and Dr payment processor
    fees / Cr the processor's clearing account (what the captures less refunds put there); a negative payout or a
    fee refund on the other sides. Disputes and adjustments stay in clearing, listed on the settlement."""
    currency = str(payload["currency"])
    net, fees = int(payload["net_minor"]), int(payload["fees_minor"])
    clearing = resolve(mappings, "tender", str(payload.get("method", "card")))
    lines = tuple(
        x
        for x in (
            _side(resolve(mappings, "role", "disbursement"), net) if net else None,
            _side(resolve(mappings, "role", "processor_fees"), fees) if fees else None,
            _side(clearing, -(net + fees)) if net + fees else None,
        )
        if x is not None
    )
    if len(lines) < 2:
        return None
    return Posting("settlement.imported", currency, lines, f"{payload.get('processor', '')} payout",
                   str(payload.get("number", "")))  # fmt: skip

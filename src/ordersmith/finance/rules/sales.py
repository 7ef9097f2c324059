"""Posting rules of the selling side (pure): payments captured, refunded and failed, orders and shipments, returns,
gift cards, invoices written off and cash received unapplied. Each is `rule(payload, facts, mappings) -> Posting |
None` (ADR 0024, 0030).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ordersmith.finance.rules.core import Line, Mappings, Posting, _minor, _pair, compact, resolve


def post_payment_captured(
    payload: Mapping[str, Any], facts: Mapping[str, Any], mappings: Mappings
) -> Posting | None:
    """Money taken: Dr the tender's clearing (cash, checks, gift-card or store-credit liability) / Cr deferred
    revenue (customer deposit until the goods ship). Captured against an invoice on account (the invoicing
    'capture' at shipment): Dr accounts receivable / Cr deferred revenue. A `fee` in the payload (a processor
    that reports its fee with the capture): also Dr payment processor fees / Cr the same clearing account."""
    currency = str(payload["currency"])
    amount = _minor(str(payload["amount"]), currency)
    if amount == 0:
        return None
    if payload.get("invoice"):
        debit = resolve(mappings, "role", "receivable")
    else:
        debit = resolve(mappings, "tender", str(payload.get("method", "")))
    lines: tuple[Line, ...] = _pair(debit, resolve(mappings, "role", "deferred_revenue"), amount)
    fee = _minor(str(payload["fee"]), currency) if payload.get("fee") else 0
    if fee > 0:  # the processor kept its fee out of what it will pay out: an expense, less in clearing
        lines += _pair(resolve(mappings, "role", "processor_fees"), debit, fee)
    return Posting(
        "payment.captured",
        currency,
        lines,
        f"{payload.get('method', '')} captured",
        str(payload.get("invoice") or payload.get("payment_id", "")),
    )


def post_payment_refunded(
    payload: Mapping[str, Any], facts: Mapping[str, Any], mappings: Mappings
) -> Posting | None:
    """Money given back: Cr the tender's clearing (or store-credit liability when refunded to store credit) /
    Dr sales returns and allowances — or Dr deferred revenue when the order was not yet shipped (`facts['shipped']`
    false: the deposit goes back, no sale is undone)."""
    currency = str(payload["currency"])
    amount = _minor(str(payload["amount"]), currency)
    if amount == 0:
        return None
    to = "store_credit" if payload.get("to") == "store_credit" else str(payload.get("method", ""))
    credit = resolve(mappings, "tender", to)
    debit = resolve(mappings, "role", "returns" if facts.get("shipped") else "deferred_revenue")
    lines = (Line(debit, debit_minor=amount), Line(credit, credit_minor=amount))
    return Posting("payment.refunded", currency, lines, f"refund to {to}", str(payload.get("payment_id", "")))


def post_order_shipped(
    payload: Mapping[str, Any], facts: Mapping[str, Any], mappings: Mappings
) -> Posting | None:
    """The sale is recognised when the order has shipped: Dr deferred revenue (the order total) and Dr sales
    discounts / Cr revenue (by division, then channel), shipping revenue and sales tax payable (by jurisdiction).
    With `facts['cost_minor']` (the goods at cost), also Dr cost of goods sold / Cr inventory.

    facts: currency, merchandise, surcharges, discounts, shipping, tax, total (decimal strings), division,
    channel, jurisdiction, cost_minor (optional).

    An event that says what shipped before it (`shipped_before`, so its facts carry `lines`) recognises only what
    is left of the order (`post_shipment`): its earlier shipments recognised their share.
    """
    if facts.get("lines") is not None:
        return post_shipment(payload, {**facts, "final": True}, mappings)
    currency = str(facts["currency"])

    def m(name: str) -> int:
        return _minor(str(facts[name]), currency)

    merchandise, surcharges, discounts = m("merchandise"), m("surcharges"), m("discounts")
    shipping, tax, total = m("shipping"), m("tax"), m("total")
    assert merchandise + surcharges - discounts + shipping + tax == total, "the order's figures do not add up"
    revenue = resolve(mappings, "revenue", str(facts.get("division", "")), str(facts.get("channel", "")))
    lines = [
        Line(resolve(mappings, "role", "deferred_revenue"), debit_minor=total),
        Line(resolve(mappings, "role", "discounts"), debit_minor=discounts),
        Line(revenue, credit_minor=merchandise + surcharges),
        Line(resolve(mappings, "role", "shipping_revenue"), credit_minor=shipping),
        Line(resolve(mappings, "tax", str(facts.get("jurisdiction", ""))), credit_minor=tax),
    ]
    cost = int(facts.get("cost_minor") or 0)
    if cost:
        lines += _pair(resolve(mappings, "role", "cogs"), resolve(mappings, "role", "inventory"), cost)
    kept = tuple(line for line in lines if line.debit_minor or line.credit_minor)
    if not kept:
        return None
    return Posting(
        "order.shipped",
        currency,
        kept,
        f"order {payload.get('number', '')} shipped",
        str(payload.get("number", "")),
    )


# ---- issue 18: revenue per shipment, returns, gift cards, store credit, checks, write-offs, stock (ADR 0030) -----


def _signed(account: str, amount: int, *, debit: bool) -> Line:
    """A line on the side asked for, or on the other side when `amount` is negative (a rounding remainder)."""
    if (amount >= 0) == debit:
        return Line(account, debit_minor=abs(amount))
    return Line(account, credit_minor=abs(amount))


_PARTS = ("merchandise", "surcharge", "discount", "tax")


def _share(amount: int, units: int, of: int) -> int:
    """The part of a line's `amount` that `units` of its `of` open units carry (floored, so the parts of every unit
    add back to the whole at `units == of`)."""
    if of <= 0 or units <= 0:
        return 0
    return amount * min(units, of) // of


def _through(lines: Mapping[int, Mapping[str, Any]], upto: Mapping[int, int], gift: bool) -> dict[str, int]:
    """Σ of each money part of the lines (gift-card lines only, or every line) over their first `upto` units."""
    sums = dict.fromkeys(_PARTS, 0)
    for n, line in lines.items():
        if gift and not line.get("gift_card"):
            continue
        open_units = int(line["quantity"]) - int(line.get("cancelled", 0))
        for part in _PARTS:
            sums[part] += _share(int(line[f"{part}_minor"]), upto.get(n, 0), open_units)
    return sums


def line_units(raw: Mapping[Any, Any] | None) -> dict[int, int]:
    """A line → units map from an event payload (JSON turned its integer keys into strings)."""
    return {int(n): int(units) for n, units in (raw or {}).items()}


def shipment_parts(
    payload: Mapping[str, Any], facts: Mapping[str, Any]
) -> tuple[dict[str, int], dict[str, int]]:
    """What one shipment recognises, in minor units: (every line's parts plus `shipping` and `shipping_tax`, the
    gift-card lines' parts). A shipment recognises the share of each line its units carry (of the line's units not
    cancelled); the order's shipping charges and their tax go with its first shipment; the shipment that completes
    the order (`facts['final']`) takes whatever the order's totals still hold, so rounding and late changes to the
    order end on it and the order is recognised exactly once in full."""
    lines = {int(n): line for n, line in facts["lines"].items()}
    before, now = line_units(payload.get("shipped_before")), line_units(payload.get("lines"))
    after = {n: before.get(n, 0) + now.get(n, 0) for n in set(before) | set(now)}
    first = not any(before.values())
    shipping, shipping_tax = int(facts["shipping_minor"]), int(facts["shipping_tax_minor"])
    done_all, done_gift = _through(lines, before, False), _through(lines, before, True)
    full = {n: int(line["quantity"]) for n, line in lines.items()}
    if facts.get("final"):
        totals = {k: _minor(str(facts["totals"][k]), str(facts["currency"])) for k in facts["totals"]}
        shipped_earlier = 0 if first else 1
        parts = {
            "merchandise": totals["merchandise"] - done_all["merchandise"],
            "surcharge": totals["surcharges"] - done_all["surcharge"],
            "discount": totals["discounts"] - done_all["discount"],
            "shipping": totals["shipping"] - shipping * shipped_earlier,
        }
        parts["tax"] = totals["tax"] - done_all["tax"] - shipping_tax * shipped_earlier
        gift_upto = full
    else:
        upto_all = _through(lines, after, False)
        parts = {p: upto_all[p] - done_all[p] for p in _PARTS}
        parts["shipping"] = shipping if first else 0
        parts["tax"] += shipping_tax if first else 0
        gift_upto = after
    upto_gift = _through(lines, gift_upto, True)
    gift = {p: upto_gift[p] - done_gift[p] for p in _PARTS}
    return parts, gift


def post_shipment(payload: Mapping[str, Any], facts: Mapping[str, Any], mappings: Mappings) -> Posting | None:
    """Revenue per shipment (`order.shipped_in_part`, and `order.shipped` for the one that completes the order):
    Dr deferred revenue, Dr sales discounts / Cr revenue (division, then channel), shipping revenue and sales tax
    payable (jurisdiction), for what this shipment recognises (`shipment_parts`); and Dr COGS / Cr inventory for
    this shipment's units at moving-average cost. A gift-card line is no sale: its value moved from deferred
    revenue to the gift-card liability when the card was activated (`gift_card.activated`), so it is left out of
    both sides here.

    facts: currency, division, channel, jurisdiction, final, totals (the order's, decimal strings), shipping_minor
    and shipping_tax_minor (Σ over its ship-tos), lines (line → quantity, cancelled, merchandise_minor,
    surcharge_minor, discount_minor, tax_minor, gift_card, unit_cost_minor).
    """
    currency = str(facts["currency"])
    parts, gift = shipment_parts(payload, facts)
    goods = parts["merchandise"] + parts["surcharge"] - gift["merchandise"] - gift["surcharge"]
    discounts = parts["discount"] - gift["discount"]
    deferred = goods - discounts + parts["shipping"] + parts["tax"]
    revenue = resolve(mappings, "revenue", str(facts.get("division", "")), str(facts.get("channel", "")))
    lines = [
        _signed(resolve(mappings, "role", "deferred_revenue"), deferred, debit=True),
        _signed(resolve(mappings, "role", "discounts"), discounts, debit=True),
        _signed(revenue, goods, debit=False),
        _signed(resolve(mappings, "role", "shipping_revenue"), parts["shipping"], debit=False),
        _signed(resolve(mappings, "tax", str(facts.get("jurisdiction", ""))), parts["tax"], debit=False),
    ]
    by_line = {int(n): line for n, line in facts["lines"].items()}
    cost = sum(
        int(by_line[n]["cost_minor"])
        if "cost_minor" in by_line[n]  # the shipment's units at cost, as costing issued them (ADR 0041)
        else int(by_line[n].get("unit_cost_minor") or 0) * units
        for n, units in line_units(payload.get("lines")).items()
        if n in by_line
    )
    if cost:
        lines += _pair(resolve(mappings, "role", "cogs"), resolve(mappings, "role", "inventory"), cost)
    kept = compact(lines)
    if not kept:
        return None
    number = str(payload.get("number", ""))
    shipment = str(payload.get("shipment") or "")
    rule = "order.shipped" if facts.get("final") else "order.shipped_in_part"
    return Posting(rule, currency, kept, f"order {number} shipment {shipment}".strip(), shipment or number)


def post_order_shipped_in_part(
    payload: Mapping[str, Any], facts: Mapping[str, Any], mappings: Mappings
) -> Posting | None:
    """Part of an order shipped: its share is recognised (`post_shipment`). An event from before shipments carried
    `shipped_before` (no `lines` in its facts) posts nothing, as it did then: its order is recognised whole when it
    completes."""
    if facts.get("lines") is None:
        return None
    return post_shipment(payload, {**facts, "final": False}, mappings)


def post_return_received(
    payload: Mapping[str, Any], facts: Mapping[str, Any], mappings: Mappings
) -> Posting | None:
    """Goods of a return arrived: restocked units go back into inventory at their moving-average cost (Dr inventory
    / Cr cost of goods sold: the cost of that sale is undone); scrapped units are a loss (Dr inventory shrinkage /
    Cr cost of goods sold: the cost moves from the sale to shrinkage). The money side is the refund's
    (`payment.refunded`). Units of an item without a cost (a kit, never received on a PO) post nothing.

    facts: currency, unit_cost_minor (sku → average cost).
    """
    costs: Mapping[str, int] = facts.get("unit_cost_minor", {})
    restocked = scrapped = 0
    for line in payload.get("lines", []):
        value = int(costs.get(str(line.get("sku", "")), 0)) * int(line["quantity"])
        if line.get("disposition") == "scrap":
            scrapped += value
        else:
            restocked += value
    cogs = resolve(mappings, "role", "cogs")
    lines = [
        Line(resolve(mappings, "role", "inventory"), debit_minor=restocked),
        Line(resolve(mappings, "role", "shrinkage"), debit_minor=scrapped),
        Line(cogs, credit_minor=restocked + scrapped),
    ]
    kept = tuple(line for line in lines if line.debit_minor or line.credit_minor)
    if not kept:
        return None
    number = str(payload.get("return", ""))
    return Posting("return.received", str(facts["currency"]), kept, f"return {number} received", number)


def _card_liability(mappings: Mappings, kind: str) -> str:
    return resolve(mappings, "tender", "store_credit" if kind == "store_credit" else "gift_card")


def post_gift_card_issued(
    payload: Mapping[str, Any], facts: Mapping[str, Any], mappings: Mappings
) -> Posting | None:
    """A card issued by staff (`funded_by: issuer`): a gift card given away is an expense (Dr gift cards and store
    credit given), store credit given is an allowance on sales (Dr sales returns and allowances); both / Cr the
    card's liability. A card sold on an order posts when it is activated (`gift_card.activated`), store credit for
    a refund through the refund (`payment.refunded`), and an event from before `funded_by` existed posts nothing
    (as it did then)."""
    if payload.get("funded_by") != "issuer":
        return None
    currency = str(payload["currency"])
    amount = _minor(str(payload["amount"]), currency)
    if amount <= 0:
        return None
    kind = str(payload.get("kind", "gift_card"))
    debit = resolve(mappings, "role", "returns" if kind == "store_credit" else "goodwill")
    card = f"{kind.replace('_', ' ')} …{payload.get('last_four', '')}"
    return Posting(
        "gift_card.issued",
        currency,
        _pair(debit, _card_liability(mappings, kind), amount),
        f"{card} issued",
        str(payload.get("gift_card_id", "")),
    )


def post_gift_card_reloaded(
    payload: Mapping[str, Any], facts: Mapping[str, Any], mappings: Mappings
) -> Posting | None:
    """Value added to a card by staff: posted like a card they issue (`post_gift_card_issued`)."""
    posting = post_gift_card_issued(payload, facts, mappings)
    if posting is None:
        return None
    return Posting("gift_card.reloaded", posting.currency, posting.lines, "card reloaded", posting.reference)


def post_gift_card_activated(
    payload: Mapping[str, Any], facts: Mapping[str, Any], mappings: Mappings
) -> Posting | None:
    """A card sold on an order becomes usable once the order is paid: its value is no deposit on goods any more but
    a liability to the card's holder (Dr deferred revenue / Cr gift-card liability). The order's shipments leave
    the card's line out of revenue."""
    if not payload.get("amount"):
        return None  # an event from before activation carried the amount
    currency = str(payload["currency"])
    amount = _minor(str(payload["amount"]), currency)
    if amount <= 0:
        return None
    liability = _card_liability(mappings, str(payload.get("kind", "gift_card")))
    return Posting(
        "gift_card.activated",
        currency,
        _pair(resolve(mappings, "role", "deferred_revenue"), liability, amount),
        "gift card sold on an order activated",
        str(payload.get("gift_card_id", "")),
    )


def post_gift_card_expired(
    payload: Mapping[str, Any], facts: Mapping[str, Any], mappings: Mappings
) -> Posting | None:
    """A card expired with value left: the liability goes (Dr gift-card or store-credit liability) to the breakage
    policy's account (role `breakage`: breakage income by default; map it to an unclaimed-property liability where
    the law makes unused balances the state's)."""
    currency = str(payload["currency"])
    amount = _minor(str(payload["amount"]), currency)
    if amount <= 0:
        return None
    liability = _card_liability(mappings, str(payload.get("kind", "gift_card")))
    return Posting(
        "gift_card.expired",
        currency,
        _pair(liability, resolve(mappings, "role", "breakage"), amount),
        f"card …{payload.get('last_four', '')} expired with value left",
        str(payload.get("gift_card_id", "")),
    )


def post_payment_failed(
    payload: Mapping[str, Any], facts: Mapping[str, Any], mappings: Mappings
) -> Posting | None:
    """A check bounced after it was deposited: the capture is undone for what it still held (`reversed`, the
    amount captured and not refunded), Dr deferred revenue / Cr undeposited checks. If the goods shipped already,
    deferred revenue shows the debit of goods shipped and not paid for (the order is held; the customer's record
    says so). Other failures moved no money."""
    if payload.get("reason_code") != "check_bounced" or not payload.get("reversed"):
        return None
    currency = str(payload["currency"])
    amount = _minor(str(payload["reversed"]), currency)
    if amount <= 0:
        return None
    check = resolve(mappings, "tender", str(payload.get("method", "check")))
    return Posting(
        "payment.failed",
        currency,
        _pair(resolve(mappings, "role", "deferred_revenue"), check, amount),
        f"check {payload.get('check', '')} bounced".replace("  ", " "),
        str(payload.get("payment_id", "")),
    )


def post_invoice_written_off(
    payload: Mapping[str, Any], facts: Mapping[str, Any], mappings: Mappings
) -> Posting | None:
    """What a customer will never pay on an invoice: Dr bad debts / Cr accounts receivable."""
    currency = str(payload["currency"])
    amount = _minor(str(payload["amount"]), currency)
    if amount <= 0:
        return None
    number = str(payload.get("number", ""))
    return Posting(
        "invoice.written_off",
        currency,
        _pair(resolve(mappings, "role", "bad_debts"), resolve(mappings, "role", "receivable"), amount),
        f"invoice {number} written off",
        number,
    )


def post_unapplied_cash_received(
    payload: Mapping[str, Any], facts: Mapping[str, Any], mappings: Mappings
) -> Posting | None:
    """A customer's payment not (yet) applied to an invoice: Dr the means of payment / Cr unapplied customer cash.
    Applied later, it is an invoice payment by `unapplied_cash` (Dr unapplied cash / Cr receivables)."""
    currency = str(payload["currency"])
    amount = _minor(str(payload["amount"]), currency)
    if amount <= 0:
        return None
    reference = str(payload.get("receipt", ""))
    return Posting(
        "unapplied_cash.received",
        currency,
        _pair(
            resolve(mappings, "tender", str(payload.get("method", ""))),
            resolve(mappings, "role", "unapplied_cash"),
            amount,
        ),
        f"{payload.get('method', '')} received from {payload.get('customer_number', '')}, not applied",
        reference,
    )

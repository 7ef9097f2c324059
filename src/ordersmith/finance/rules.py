"""Finance rules (pure): the default chart of accounts, account mapping, balancing, periods and the posting rules
that turn a business event into journal lines.

Invariant: every entry these rules produce is balanced (Σ debits = Σ credits, per currency, in integer minor
units) and has at least two lines; `check_balanced` asserts it, and the database refuses anything else (ADR 0024).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ordersmith.kernel.money import Money

ACCOUNT_TYPES = ("asset", "liability", "equity", "revenue", "expense")

# The default chart of a US retailer: (code, name, type). Codes follow the usual 1xxx assets, 2xxx liabilities,
# 3xxx equity, 4xxx revenue (and its contras), 5xxx cost of sales, 6xxx operating expenses.
DEFAULT_CHART: tuple[tuple[str, str, str], ...] = (
    ("1000", "Cash in bank", "asset"),
    ("1010", "Cash in tills", "asset"),
    ("1020", "Undeposited checks", "asset"),
    ("1100", "Card processor clearing", "asset"),
    ("1110", "PayPal clearing", "asset"),
    ("1190", "Other tender clearing", "asset"),
    ("1200", "Accounts receivable", "asset"),
    ("1250", "Disputed card payments (chargebacks)", "asset"),  # ADR 0040
    ("1300", "Inventory", "asset"),
    ("2000", "Accounts payable", "liability"),
    ("2050", "Goods received not invoiced", "liability"),
    ("2060", "Landed costs accrued (freight, duty)", "liability"),
    ("2100", "Sales tax payable", "liability"),
    ("2200", "Gift card liability", "liability"),
    ("2210", "Store credit liability", "liability"),
    ("2300", "Deferred revenue (customer deposits)", "liability"),
    ("2400", "Unapplied customer cash", "liability"),
    ("3000", "Owner's equity", "equity"),
    ("3900", "Retained earnings", "equity"),
    ("4000", "Sales revenue", "revenue"),
    ("4010", "Sales revenue — web", "revenue"),
    ("4020", "Sales revenue — stores", "revenue"),
    ("4030", "Sales revenue — catalog and phone", "revenue"),
    ("4040", "Sales revenue — marketplaces", "revenue"),
    ("4100", "Shipping revenue", "revenue"),
    ("4200", "Sales discounts", "revenue"),
    ("4300", "Sales returns and allowances", "revenue"),
    ("4500", "Gift card breakage", "revenue"),
    ("5000", "Cost of goods sold", "expense"),
    ("5100", "Inventory shrinkage", "expense"),
    ("5200", "Purchase price variance", "expense"),
    ("6100", "Payment processor fees", "expense"),
    ("6110", "Chargeback fees", "expense"),  # ADR 0040
    ("6150", "Chargeback losses", "expense"),  # ADR 0040
    ("6200", "Bad debts", "expense"),
    ("6300", "Gift cards and store credit given", "expense"),
)

# Mapping rules: (kind, key) → account code; key "*" is the fallback of its kind. Kinds: tender (payment method),
# revenue (division, then channel), tax (jurisdiction), and the fixed roles.
ANY = "*"
DEFAULT_MAPPINGS: tuple[tuple[str, str, str], ...] = (
    ("tender", "card", "1100"),
    ("tender", "paypal", "1110"),
    ("tender", "cash", "1010"),
    ("tender", "check", "1020"),
    ("tender", "gift_card", "2200"),
    ("tender", "store_credit", "2210"),
    ("tender", "on_account", "1200"),
    ("tender", "transfer", "1000"),
    ("tender", ANY, "1190"),
    ("revenue", "web", "4010"),
    ("revenue", "store", "4020"),
    ("revenue", "catalog", "4030"),
    ("revenue", "phone", "4030"),
    ("revenue", "marketplace", "4040"),
    ("revenue", ANY, "4000"),
    ("tax", ANY, "2100"),
    ("role", "receivable", "1200"),
    ("role", "deferred_revenue", "2300"),
    ("role", "shipping_revenue", "4100"),
    ("role", "discounts", "4200"),
    ("role", "returns", "4300"),
    ("role", "inventory", "1300"),
    ("role", "grni", "2050"),
    ("role", "cogs", "5000"),
    ("role", "shrinkage", "5100"),
    ("role", "payable", "2000"),
    ("role", "price_variance", "5200"),
    ("role", "disbursement", "1000"),
    # issue 18, posting rules and receivables (ADR 0030)
    ("tender", "unapplied_cash", "2400"),
    ("role", "unapplied_cash", "2400"),
    ("role", "breakage", "4500"),
    ("role", "goodwill", "6300"),
    ("role", "bad_debts", "6200"),
    ("role", "processor_fees", "6100"),
    # issue 18, year-end closing (ADR 0039): where a closed year's revenue and expenses go
    ("role", "retained_earnings", "3900"),
    # issue 18, disputes (ADR 0040)
    ("role", "disputes", "1250"),
    ("role", "dispute_fees", "6110"),
    ("role", "dispute_losses", "6150"),
    # issue 18, landed costs (ADR 0041)
    ("role", "landed_cost", "2060"),
)
MAPPING_KINDS = ("tender", "revenue", "tax", "role")


class Unbalanced(ValueError):
    """The lines of an entry do not balance (or are too few, or mix currencies)."""


class UnmappedAccount(LookupError):
    """No mapping rule names an account for this kind and key (and there is no fallback)."""


@dataclass(frozen=True)
class Line:
    """One journal line: exactly one of debit or credit is positive, in minor units of the entry's currency.
    `division` and `channel` are the line's dimensions (the order's, for a line an order's event posts; "" for
    none), by which the statements can be filtered (ADR 0039)."""

    account: str
    debit_minor: int = 0
    credit_minor: int = 0
    memo: str = ""
    division: str = ""
    channel: str = ""


@dataclass(frozen=True)
class Posting:
    """What a rule posts for one event: a balanced entry, not yet placed in a period."""

    rule: str
    currency: str
    lines: tuple[Line, ...]
    memo: str
    reference: str = ""


def check_balanced(lines: Sequence[Line]) -> None:
    """Raise `Unbalanced` unless there are ≥ 2 lines, each one-sided and positive, and debits equal credits."""
    if len(lines) < 2:
        raise Unbalanced("an entry needs at least two lines")
    for n, line in enumerate(lines):
        if line.debit_minor < 0 or line.credit_minor < 0:
            raise Unbalanced(f"line {n}: amounts are never negative")
        if (line.debit_minor > 0) == (line.credit_minor > 0):
            raise Unbalanced(f"line {n}: exactly one of debit and credit must be positive")
    debits = sum(line.debit_minor for line in lines)
    credits = sum(line.credit_minor for line in lines)
    if debits != credits:
        raise Unbalanced(f"debits {debits} and credits {credits} differ by {debits - credits}")


def compact(lines: Sequence[Line]) -> tuple[Line, ...]:
    """Drop zero lines and net the debits and credits of each account into one line (in first-seen order)."""
    if len({line.account for line in lines}) == len(lines) and all(
        (line.debit_minor > 0) != (line.credit_minor > 0)
        and line.debit_minor >= 0
        and line.credit_minor >= 0
        and not (line.memo or line.division or line.channel)
        for line in lines
    ):
        return tuple(lines)  # already compact (most entries): the same lines, not rebuilt
    net: dict[str, int] = {}
    for line in lines:
        net[line.account] = net.get(line.account, 0) + line.debit_minor - line.credit_minor
    return tuple(
        Line(account, debit_minor=max(amount, 0), credit_minor=max(-amount, 0))
        for account, amount in net.items()
        if amount
    )


def reversal(lines: Sequence[Line]) -> tuple[Line, ...]:
    """The lines that undo `lines`: each debit becomes a credit and vice versa (dimensions kept)."""
    return tuple(
        Line(line.account, line.credit_minor, line.debit_minor, line.memo, line.division, line.channel)
        for line in lines
    )


def resolve(mappings: Mapping[tuple[str, str], str], kind: str, *keys: str) -> str:
    """The account for the first key that has a rule of `kind`, else the kind's fallback (`*`)."""
    for key in (*keys, ANY):
        code = mappings.get((kind, key))
        if code is not None:
            return code
    raise UnmappedAccount(f"no account is mapped for {kind} {'/'.join(keys) or ANY}")


# ---- periods -------------------------------------------------------------------------------------------------


def period_of(day: date) -> str:
    """The calendar-month period a day falls in, e.g. `2026-12`."""
    return f"{day.year:04d}-{day.month:02d}"


def period_bounds(code: str) -> tuple[date, date]:
    """First and last day of a `YYYY-MM` period. Raises ValueError on anything else."""
    if len(code) != 7 or code[4] != "-" or not (code[:4].isdigit() and code[5:].isdigit()):
        raise ValueError("a period is written YYYY-MM")
    year, month = int(code[:4]), int(code[5:])
    if not 1 <= month <= 12 or year < 1:
        raise ValueError("a period is written YYYY-MM")
    if month == 12:
        return date(year, 12, 1), date(year, 12, 31)
    return date(year, month, 1), date.fromordinal(date(year, month + 1, 1).toordinal() - 1)


def next_period(code: str) -> str:
    year, month = int(code[:4]), int(code[5:])
    return f"{year + 1:04d}-01" if month == 12 else f"{year:04d}-{month + 1:02d}"


def open_period_for(day: date, closed: set[str]) -> tuple[str, str]:
    """The period a posting dated `day` goes to: its own, or the next one that is not closed; with a note saying
    why when it moved."""
    wanted = period_of(day)
    period = wanted
    while period in closed:
        period = next_period(period)
    note = (
        "" if period == wanted else f"dated {day.isoformat()} in closed period {wanted}: posted in {period}"
    )
    return period, note


# ---- posting rules -------------------------------------------------------------------------------------------
# Each rule is `rule(event_payload, facts, mappings) -> Posting | None`. `facts` are figures the subscriber read
# through the owning context's service (the event payloads do not carry them all); None means "nothing to post".

Mappings = Mapping[tuple[str, str], str]


def _minor(text: str, currency: str) -> int:
    return Money(Decimal(text), currency).minor


def _pair(debit: str, credit: str, amount: int) -> tuple[Line, Line]:
    return Line(debit, debit_minor=amount), Line(credit, credit_minor=amount)


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


PostingRule = Callable[[Mapping[str, Any], Mapping[str, Any], Mappings], "Posting | None"]


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


# ---- moving-average cost -------------------------------------------------------------------------------------


def moving_average(on_hand: int, average_minor: int, received: int, unit_cost_minor: int) -> int:
    """The new average unit cost after receiving `received` units at `unit_cost_minor` onto `on_hand` units
    valued at `average_minor` each (rounded half up to a minor unit). Stock at or below zero takes the new cost."""
    if received <= 0:
        return average_minor
    if on_hand <= 0:
        return unit_cost_minor
    total = on_hand * average_minor + received * unit_cost_minor
    units = on_hand + received
    return (2 * total + units) // (2 * units)


# ---- financial statements ------------------------------------------------------------------------------------
# Built from per-period balances already summed by account: the statements are arithmetic on those sums. Revenue,
# liabilities and equity are credit-normal (shown as credit minus debit); assets and expenses debit-normal.


@dataclass(frozen=True)
class AccountBalance:
    """One account's sums over the periods a statement covers, in minor units of `currency`."""

    account_code: str
    name: str
    type: str
    currency: str
    net_minor: int  # debits minus credits, over every period the statement reads
    this_year_minor: int = 0  # the part of `net_minor` posted in the fiscal year of the statement's date


@dataclass(frozen=True)
class StatementLine:
    account_code: str
    name: str
    amount_minor: int  # in the account's normal direction: a contra account (discounts, returns) is negative


@dataclass(frozen=True)
class IncomeStatementFigures:
    currency: str
    revenue: tuple[StatementLine, ...]
    expenses: tuple[StatementLine, ...]
    total_revenue_minor: int
    total_expenses_minor: int
    net_income_minor: int


@dataclass(frozen=True)
class BalanceSheetFigures:
    currency: str
    assets: tuple[StatementLine, ...]
    liabilities: tuple[StatementLine, ...]
    equity: tuple[StatementLine, ...]
    earlier_earnings_minor: int  # revenue less expenses of earlier fiscal years, not yet closed to equity
    current_earnings_minor: int  # revenue less expenses of this fiscal year up to the date
    total_assets_minor: int
    total_liabilities_minor: int
    total_equity_minor: int  # equity accounts plus both earnings
    balanced: bool  # assets = liabilities + equity


_CREDIT_NORMAL = {"liability", "equity", "revenue"}


def _line(balance: AccountBalance, amount_minor: int) -> StatementLine:
    sign = -1 if balance.type in _CREDIT_NORMAL else 1
    return StatementLine(balance.account_code, balance.name, sign * amount_minor)


def _by_currency(balances: Sequence[AccountBalance]) -> dict[str, list[AccountBalance]]:
    found: dict[str, list[AccountBalance]] = {}
    for balance in sorted(balances, key=lambda b: (b.currency, b.account_code)):
        found.setdefault(balance.currency, []).append(balance)
    return found


def income_statement(balances: Sequence[AccountBalance]) -> list[IncomeStatementFigures]:
    """Revenue, expenses and net income per currency from the revenue and expense accounts' sums over a range of
    periods (other account types are ignored; accounts netting to zero are left out)."""
    out = []
    for currency, group in _by_currency(balances).items():
        revenue = tuple(_line(b, b.net_minor) for b in group if b.type == "revenue" and b.net_minor)
        expenses = tuple(_line(b, b.net_minor) for b in group if b.type == "expense" and b.net_minor)
        total_revenue = sum(line.amount_minor for line in revenue)
        total_expenses = sum(line.amount_minor for line in expenses)
        out.append(
            IncomeStatementFigures(
                currency, revenue, expenses, total_revenue, total_expenses, total_revenue - total_expenses
            )
        )
    return out


def balance_sheet(balances: Sequence[AccountBalance]) -> list[BalanceSheetFigures]:
    """Assets, liabilities and equity per currency from every account's sums up to a date. Revenue and expenses not
    yet closed into equity show as earnings: of earlier fiscal years, and of this one (`this_year_minor`). On a
    balanced journal, assets always equal liabilities plus equity."""
    out = []
    for currency, group in _by_currency(balances).items():

        def section(kind: str, accounts: list[AccountBalance] = group) -> tuple[StatementLine, ...]:
            return tuple(_line(b, b.net_minor) for b in accounts if b.type == kind and b.net_minor)

        assets, liabilities, equity = section("asset"), section("liability"), section("equity")
        earnings = [b for b in group if b.type in ("revenue", "expense")]
        current = -sum(b.this_year_minor for b in earnings)
        earlier = -sum(b.net_minor for b in earnings) - current
        total_assets = sum(line.amount_minor for line in assets)
        total_liabilities = sum(line.amount_minor for line in liabilities)
        total_equity = sum(line.amount_minor for line in equity) + earlier + current
        out.append(
            BalanceSheetFigures(
                currency,
                assets,
                liabilities,
                equity,
                earlier,
                current,
                total_assets,
                total_liabilities,
                total_equity,
                total_assets == total_liabilities + total_equity,
            )
        )
    return out

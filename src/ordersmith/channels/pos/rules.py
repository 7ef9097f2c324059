"""Pure POS rules: how a till's tenders become an order's payments, what a refusal of a sale the till handed over
means for the store manager, and what a cash drawer should hold.

Invariants: a sale pays with at most one cash tender, and that tender pays what the other tenders leave (so a
price that changed while the till was offline never makes the tenders disagree with the order: the drawer shows
the difference); change is never more than the cash handed over; a card needs the network (there is no
store-and-forward), so an offline sale has none; the drawer's expected cash is its float plus cash taken, less
change and cash refunds.
"""

from __future__ import annotations

from dataclasses import dataclass

from ordersmith.kernel.money import Money

CASH = "cash"
CARD = "card"
GIFT_METHODS = frozenset({"gift_card", "store_credit"})
TENDER_METHODS = (CASH, CARD, "gift_card", "store_credit")

# Why a sale the till handed over could not become an order (the refusal's code → the flag's reason).
FLAG_REASONS = {
    "insufficient_stock": "stock_gone",
    "gift_card_balance_insufficient": "gift_card_short",
    "coupon_exhausted": "coupon_used_up",
    "payment_declined": "card_declined",
    "conflict": "held",  # a sale carried out cannot wait on hold (a hold rule fired)
    "validation_failed": "refused",
    "not_found": "refused",
}
# Refusals that say nothing about the sale itself (the request is being answered, or the caller may not): never a flag.
NOT_ABOUT_THE_SALE = frozenset(
    {"idempotency_in_progress", "idempotency_key_reused", "forbidden", "not_authenticated"}
)


@dataclass(frozen=True)
class Tender:
    """One tender as the till took it. Cash: `received` (handed over) and `change` (given back), no amount — it
    pays what the others leave. Anything else: its `amount`."""

    method: str
    amount: Money | None = None
    token: str = ""
    received: Money | None = None
    change: Money | None = None


@dataclass(frozen=True)
class Payment:
    """What the order is paid with: `amount` None pays the rest."""

    method: str
    amount: Money | None
    token: str


def tender_refusal(tenders: list[Tender], *, offline: bool, currency: str) -> tuple[str, str] | None:
    """(field, why) when the tenders cannot be a till's payment; None when they can."""
    if not tenders:
        return "tenders", "a sale is paid with at least one tender"
    cash = [n for n, t in enumerate(tenders) if t.method == CASH]
    if len(cash) > 1:
        return f"tenders.{cash[1]}.method", "one cash tender per sale: it pays what the other tenders leave"
    for n, tender in enumerate(tenders):
        field = f"tenders.{n}"
        if tender.method not in TENDER_METHODS:
            return f"{field}.method", f"must be one of {', '.join(TENDER_METHODS)}"
        amounts = [m for m in (tender.amount, tender.received, tender.change) if m is not None]
        if any(m.currency != currency for m in amounts):
            return field, f"amounts are in the store's currency, {currency}"
        if any(m < Money.zero(currency) for m in amounts):
            return field, "amounts are not negative"
        if tender.method == CASH:
            if tender.amount is not None:
                return (
                    f"{field}.amount",
                    "cash pays what the other tenders leave: give `received` and `change`",
                )
            if tender.received is None:
                return f"{field}.received", "the cash handed over"
            if tender.change is not None and tender.change > tender.received:
                return f"{field}.change", "change cannot be more than the cash handed over"
            continue
        if tender.received is not None or tender.change is not None:
            return field, "only cash is handed over and given change"
        if tender.amount is None:
            return f"{field}.amount", "what this tender pays"
        if not tender.token:
            what = "the card's vault token" if tender.method == CARD else "the card's code"
            return f"{field}.token", what
        if tender.method == CARD and offline:
            return (
                f"{field}.method",
                "a card needs the network (no store-and-forward): take cash or a gift card",
            )
    return None


def payments(tenders: list[Tender]) -> list[Payment]:
    """The order's payments, in the till's order: cash without an amount (it pays the rest), the rest as taken."""
    return [Payment(t.method, None if t.method == CASH else t.amount, t.token) for t in tenders]


def cash_facts(tenders: list[Tender], currency: str) -> tuple[Money, Money]:
    """(cash handed over, change given) of a sale."""
    zero = Money.zero(currency)
    cash = next((t for t in tenders if t.method == CASH), None)
    if cash is None:
        return zero, zero
    return cash.received or zero, cash.change or zero


FLAGGED_STATUSES = frozenset({402, 404, 409, 422})  # refusals of the sale; anything else is asked again later


def flag_reason(code: str, status: int) -> str | None:
    """The flag a refusal (its code and status) puts on a sale the till handed over; None: not a refusal of the sale
    (the caller, the request's key, or a service that did not answer — the till sends it again)."""
    if code in NOT_ABOUT_THE_SALE or status not in FLAGGED_STATUSES:
        return None
    return FLAG_REASONS.get(code, "refused")


def expected_drawer(*, opening_float: Money, cash_in: Money, change_out: Money, cash_refunds: Money) -> Money:
    """What the drawer should hold: the float, plus cash handed over, less change given and cash refunded."""
    return opening_float + cash_in - change_out - cash_refunds


# --- receipts -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptLine:
    sku: str
    name: str
    quantity: int
    unit_price: Money
    discount: Money
    total: Money  # with its tax


@dataclass(frozen=True)
class ReceiptTender:
    label: str  # "Cash", "Visa ····4242", "Gift card …ABCD"
    amount: Money


@dataclass(frozen=True)
class Receipt:
    store_name: str
    store_address: list[str]
    register: str
    sale_id: str
    order_number: str | None
    rung_at: str  # as the store reads it
    lines: list[ReceiptLine]
    merchandise: Money
    discounts: Money
    tax: Money
    total: Money
    tenders: list[ReceiptTender]
    cash_received: Money
    change_given: Money
    footer: str
    status: str  # placed | flagged | resolved


def receipt_text(receipt: Receipt) -> str:
    """The receipt as plain text, for e-mail (the printed one is the same, laid out by the console)."""
    width = 44

    def row(left: str, right: str) -> str:
        return f"{left[: width - len(right) - 1]:<{width - len(right)}}{right}"

    out = [receipt.store_name, *receipt.store_address, ""]
    out.append(row(f"Register {receipt.register}", receipt.rung_at))
    out.append(f"Order {receipt.order_number}" if receipt.order_number else "Order: to be confirmed")
    out.append("-" * width)
    for line in receipt.lines:
        out.append(row(f"{line.quantity} x {line.name}", str(line.total.amount)))
        out.append(
            f"  {line.sku} @ {line.unit_price.amount}"
            + (f", less {line.discount.amount}" if not line.discount.is_zero() else "")
        )
    out.append("-" * width)
    if not receipt.discounts.is_zero():
        out.append(row("Discounts", f"-{receipt.discounts.amount}"))
    out.append(row("Tax", str(receipt.tax.amount)))
    out.append(row(f"Total {receipt.total.currency}", str(receipt.total.amount)))
    for tender in receipt.tenders:
        out.append(row(tender.label, str(tender.amount.amount)))
    if not receipt.cash_received.is_zero():
        out.append(row("Cash handed over", str(receipt.cash_received.amount)))
        out.append(row("Change", str(receipt.change_given.amount)))
    out += ["", f"Sale {receipt.sale_id}"]
    if receipt.footer:
        out += ["", receipt.footer]
    return "\n".join(out) + "\n"

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
    ("1300", "Inventory", "asset"),
    ("2000", "Accounts payable", "liability"),
    ("2050", "Goods received not invoiced", "liability"),
    ("2100", "Sales tax payable", "liability"),
    ("2200", "Gift card liability", "liability"),
    ("2210", "Store credit liability", "liability"),
    ("2300", "Deferred revenue (customer deposits)", "liability"),
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
    ("5000", "Cost of goods sold", "expense"),
    ("5100", "Inventory shrinkage", "expense"),
    ("5200", "Purchase price variance", "expense"),
    ("6100", "Payment processor fees", "expense"),
    ("6200", "Bad debts", "expense"),
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
)
MAPPING_KINDS = ("tender", "revenue", "tax", "role")


class Unbalanced(ValueError):
    """The lines of an entry do not balance (or are too few, or mix currencies)."""


class UnmappedAccount(LookupError):
    """No mapping rule names an account for this kind and key (and there is no fallback)."""


@dataclass(frozen=True)
class Line:
    """One journal line: exactly one of debit or credit is positive, in minor units of the entry's currency."""

    account: str
    debit_minor: int = 0
    credit_minor: int = 0
    memo: str = ""


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
    net: dict[str, int] = {}
    for line in lines:
        net[line.account] = net.get(line.account, 0) + line.debit_minor - line.credit_minor
    return tuple(
        Line(account, debit_minor=max(amount, 0), credit_minor=max(-amount, 0))
        for account, amount in net.items()
        if amount
    )


def totals_by_account(lines: Sequence[Line]) -> list[tuple[str, tuple[int, int]]]:
    """Σ debits and Σ credits of `lines` per account (not netted), in account-code order."""
    totals: dict[str, tuple[int, int]] = {}
    for line in lines:
        debit, credit = totals.get(line.account, (0, 0))
        totals[line.account] = (debit + line.debit_minor, credit + line.credit_minor)
    return sorted(totals.items())


def reversal(lines: Sequence[Line]) -> tuple[Line, ...]:
    """The lines that undo `lines`: each debit becomes a credit and vice versa."""
    return tuple(Line(line.account, line.credit_minor, line.debit_minor, line.memo) for line in lines)


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
    'capture' at shipment): Dr accounts receivable / Cr deferred revenue."""
    currency = str(payload["currency"])
    amount = _minor(str(payload["amount"]), currency)
    if amount == 0:
        return None
    if payload.get("invoice"):
        debit = resolve(mappings, "role", "receivable")
    else:
        debit = resolve(mappings, "tender", str(payload.get("method", "")))
    lines = _pair(debit, resolve(mappings, "role", "deferred_revenue"), amount)
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
    """
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
    inventory or GRNI: their cost goes straight to cost of goods sold."""
    currency = str(payload["currency"])
    total = _minor(str(payload["total"]), currency)
    receipt = _minor(str(payload["receipt_value"]), currency)
    variance = total - receipt
    clearing = resolve(mappings, "role", "cogs" if payload.get("kind") == "drop_ship" else "grni")
    price_variance = resolve(mappings, "role", "price_variance")
    lines = (
        Line(clearing, debit_minor=receipt),
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
RULES: dict[str, PostingRule] = {
    "payment.captured": post_payment_captured,
    "payment.refunded": post_payment_refunded,
    "order.shipped": post_order_shipped,
    "po.received": post_po_received,
    "invoice.payment_applied": post_invoice_payment_applied,
    "vendor_bill.approved": post_vendor_bill_approved,
    "vendor_payment.made": post_vendor_payment_made,
}


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

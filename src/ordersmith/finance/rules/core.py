"""Finance rules' core (pure): the default chart of accounts and account mapping, journal lines and postings,
balancing, periods, and the moving-average cost.

Invariant: every entry the posting rules produce is balanced (Σ debits = Σ credits, per currency, in integer minor
units) and has at least two lines; `check_balanced` asserts it, and the database refuses anything else (ADR 0024).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, NamedTuple

from ordersmith.kernel.money import Money, currency_exponent

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


class Line(NamedTuple):
    """One journal line: exactly one of debit or credit is positive, in minor units of the entry's currency.
    `division` and `channel` are the line's dimensions (the order's, for a line an order's event posts; "" for
    none), by which the statements can be filtered (ADR 0039)."""

    account: str
    debit_minor: int = 0
    credit_minor: int = 0
    memo: str = ""
    division: str = ""
    channel: str = ""


class Posting(NamedTuple):
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
    accounts: set[str] = set()
    for line in lines:
        debit, credit = line.debit_minor, line.credit_minor
        if (
            (debit > 0) == (credit > 0)
            or debit < 0
            or credit < 0
            or line.memo
            or line.division
            or line.channel
            or line.account in accounts
        ):
            break
        accounts.add(line.account)
    else:
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


_QUANTA: dict[str, tuple[Decimal, int]] = {}  # per checked currency: its minor unit and exponent


def _minor(text: str, currency: str) -> int:
    """An event's amount (decimal text) in integer minor units of `currency`, rounded as `Money` rounds (half to
    even): what `Money(Decimal(text), currency).minor` gives, without building the Money (a rule reads one or two
    per event, the relay thousands a second)."""
    found = _QUANTA.get(currency)
    if found is None:
        Money(0, currency)  # refuses a malformed code
        exponent = currency_exponent(currency)
        found = _QUANTA[currency] = (Decimal(1).scaleb(-exponent), exponent)
    quantum, exponent = found
    try:
        return int(Decimal(text).quantize(quantum, rounding=ROUND_HALF_EVEN).scaleb(exponent))
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal amount: {text!r}") from exc


def _pair(debit: str, credit: str, amount: int) -> tuple[Line, Line]:
    return Line(debit, debit_minor=amount), Line(credit, credit_minor=amount)


PostingRule = Callable[[Mapping[str, Any], Mapping[str, Any], Mappings], "Posting | None"]


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

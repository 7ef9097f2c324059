"""Year-end closing (pure): the closing period of a fiscal year and the closing entry's lines.

A fiscal year is a calendar year. Its closing entry lives in the year's **closing period** `YYYY-13`, which sorts
after `YYYY-12` and before `(YYYY+1)-01`: a statement of the year's months (`YYYY-01` to `YYYY-12`) never sees it,
and everything from the next year on does — the balance sheet then finds the year's revenue and expenses in
retained earnings instead of in earnings not yet closed (ADR 0039).

Invariant: the closing lines of a currency bring every revenue and expense account to zero for the year, per
division and channel, and put the difference on retained earnings per division and channel, so each currency's
lines balance (and so does each dimension's share of them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from ordersmith.finance.rules import Line, check_balanced

CLOSING_RULE = "year_end.close"  # the rule of a closing entry (its reversal, on reopening, is a `reversal`)
CLOSING_SOURCE = "fiscal_year.closed"
CLOSING_MONTH = 13
FIRST_YEAR, LAST_YEAR = 1900, 9998  # a year whose next year is still a period code


def check_year(year: int) -> None:
    """Raise ValueError unless `year` is a fiscal year the ledger can close."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"a year from {FIRST_YEAR} to {LAST_YEAR}")


def closing_period(year: int) -> str:
    """The period a year's closing entry is posted in, e.g. `2026-13`."""
    return f"{year:04d}-{CLOSING_MONTH}"


def closing_year(code: str) -> int | None:
    """The year whose closing period `code` is, or None when it is not one."""
    if len(code) == 7 and code[4] == "-" and code[:4].isdigit() and code[5:] == str(CLOSING_MONTH):
        return int(code[:4])
    return None


def closing_day(year: int) -> date:
    """The day a closing entry is dated: the year's last."""
    return date(year, 12, 31)


def year_periods(year: int) -> tuple[str, ...]:
    """The twelve monthly periods of a fiscal year, in order."""
    return tuple(f"{year:04d}-{month:02d}" for month in range(1, 13))


@dataclass(frozen=True)
class YearBalance:
    """What a revenue or expense account holds for the year in one currency and dimension: Σ debits - Σ credits
    over the year's twelve periods."""

    account: str
    currency: str
    division: str
    channel: str
    net_minor: int


def with_untagged(totals: Mapping[tuple[str, str], int], tagged: Sequence[YearBalance]) -> list[YearBalance]:
    """Every account's year split by dimension: the lines that carry one (`tagged`, from the dimension balances)
    and, as division and channel "", what is left of the account's total (`totals`, keyed (account, currency),
    from the period balances)."""
    left = dict(totals)
    for balance in tagged:
        key = (balance.account, balance.currency)
        left[key] = left.get(key, 0) - balance.net_minor
    untagged = [YearBalance(account, currency, "", "", net) for (account, currency), net in left.items()]
    return [b for b in (*tagged, *untagged) if b.net_minor]


def _line(account: str, signed: int, memo: str, division: str, channel: str) -> Line:
    """A line taking `signed` minor units off the account: credited when positive, debited when negative."""
    return Line(
        account,
        debit_minor=max(-signed, 0),
        credit_minor=max(signed, 0),
        memo=memo,
        division=division,
        channel=channel,
    )


def closing_lines(
    balances: Sequence[YearBalance], retained_earnings: str, year: int
) -> dict[str, tuple[Line, ...]]:
    """The closing entry's lines per currency: each account and dimension brought to zero (a debit balance
    credited, a credit balance debited) and retained earnings taking the difference per dimension — a credit
    when the year made money. A currency whose accounts are all at zero has no entry."""
    out: dict[str, tuple[Line, ...]] = {}
    by_currency: dict[str, list[YearBalance]] = {}
    for balance in balances:
        if balance.net_minor:
            by_currency.setdefault(balance.currency, []).append(balance)
    for currency, group in sorted(by_currency.items()):
        lines: list[Line] = []
        earnings: dict[tuple[str, str], int] = {}
        for b in sorted(group, key=lambda b: (b.account, b.division, b.channel)):
            lines.append(
                _line(b.account, b.net_minor, f"close {year} to retained earnings", b.division, b.channel)
            )
            earnings[(b.division, b.channel)] = earnings.get((b.division, b.channel), 0) + b.net_minor
        for (division, channel), net in sorted(earnings.items()):
            if net:  # retained earnings takes the opposite of what the accounts gave up
                memo = f"loss of {year}" if net > 0 else f"earnings of {year}"
                lines.append(_line(retained_earnings, -net, memo, division, channel))
        check_balanced(lines)
        out[currency] = tuple(lines)
    return out

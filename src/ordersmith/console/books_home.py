"""The accountant's home (`/` for the accountant role): the month's close as a worklist, never a page to click
through — what customers owe and who is late (the aging's totals and the ten largest past-due balances, the
subledger against the control account), vendor bills waiting in the exception queue, the latest settlements and
their differences, months still open behind the current one and last year's close, whether the books balance, and
the latest exports to the accounting package.

Every figure is a bounded read: the aging over open invoices (what is owed, not invoicing history), the period
balances (one row per account and month), a page of at most a few rows of the queue, settlements and exports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request

from ordersmith.console._books import BUCKET_LABELS, books_nav, current_period
from ordersmith.finance import service as finance
from ordersmith.kernel.money import Money
from ordersmith.platform.access import Principal
from ordersmith.platform.http import unit_of_work

LATE_SHOWN = 10
QUEUE_COUNTED = 20
SETTLEMENTS_SHOWN = 5
EXPORTS_SHOWN = 3


@dataclass(frozen=True)
class Late:
    """A customer with something past due: the aging row and what of it is past due."""

    row: finance.AgingRow
    past_due: Money


def accountant_home(request: Request, principal: Principal) -> dict[str, Any]:
    uow = unit_of_work(request)
    today = uow.now().date()
    current = current_period(today)
    aging = finance.ar_aging(uow, as_of=today)
    late = [Late(r, sum(r.buckets[1:], Money.zero(r.currency))) for r in aging.rows]
    late = sorted(
        (x for x in late if not x.past_due.is_zero()), key=lambda x: (-x.past_due.minor, x.row.oldest_due_on)
    )
    queue = None
    if principal.can("payables:read"):
        found = finance.list_match_exceptions(uow, limit=QUEUE_COUNTED)
        queue = f"{QUEUE_COUNTED}+" if found.next_cursor else str(len(found.items))
    months = finance.list_periods(uow)
    behind = [p for p in months if p.status == "open" and p.code < current]
    last_year = finance.get_fiscal_year(uow, year=today.year - 1)
    trial = finance.trial_balance(uow, period=current, cumulative=True)
    return {
        "books": books_nav(principal),
        "today": today,
        "aging": aging,
        "late": late[:LATE_SHOWN],
        "late_count": len(late),
        "labels": BUCKET_LABELS,
        "queue": queue,
        "settlements": finance.list_settlements(uow, limit=SETTLEMENTS_SHOWN),
        "behind": behind,
        "current": current,
        "last_year": last_year,
        "last_year_started": any(p.code.startswith(f"{today.year - 1}-") for p in months),
        "balanced": trial.balanced,
        "exports": finance.list_exports(uow, limit=EXPORTS_SHOWN).items,
    }

"""The year-end close under concurrency, through a real server on SQLite and PostgreSQL (ADR 0039): closes of one
year at the same moment post one closing entry; reopens at the same moment reverse it once; a close racing the
reopening of one of the year's months leaves either the year closed or the month open, never a closed year with an
open month."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from ordersmith.finance import service as finance
from ordersmith.kernel.money import Money
from ordersmith.platform.db import UnitOfWork
from tests.builders import make_api_key
from tests.races.test_fulfillment_race import codes, rows
from tests.races.test_payment_race import race
from tests.support.server import running_server

pytestmark = pytest.mark.slow


@pytest.fixture
def books(uow: UnitOfWork) -> str:
    """2026 with a sale of 80.00 in dollars and one of 30.00 in euros, every month closed; a key that may close
    years. Returns the key."""
    finance.ensure_chart(uow)
    for currency, amount in (("USD", "80.00"), ("EUR", "30.00")):
        money = Money(Decimal(amount), currency)
        finance.post_manual_entry(
            uow,
            posted_on=date(2026, 5, 4),
            currency=currency,
            memo="a sale",
            lines=[finance.ManualLine("1000", debit=money), finance.ManualLine("4000", credit=money)],
        )
    for month in range(1, 13):
        finance.close_period(uow, period=f"2026-{month:02d}")
    scopes = ["finance:read", "finance:write", "finance:year_end"]
    return make_api_key(uow, name="controller", scopes=scopes).secret


def closing_entries(uow: UnitOfWork) -> list[tuple[str, str]]:
    return rows(
        uow, "SELECT rule, currency FROM journal_entries WHERE period = '2026-13' ORDER BY rule, currency"
    )


def test_six_closes_of_a_year_at_once_post_one_closing_entry_per_currency(
    db_url: str, uow: UnitOfWork, books: str, tmp_path: Path
) -> None:
    auth = {"Authorization": f"Bearer {books}"}
    with running_server(db_url, tmp_path / "server.log") as server:
        url = server.url
        # when six people close 2026 at the same moment
        closes = race(6, lambda c, i: c.post(f"{url}/api/v1/fiscal-years/2026/close", headers=auth))
        # then one closed it; five were told it is closed already
        assert codes(closes) == Counter({(200, ""): 1, (409, "fiscal_year_closed"): 5}), [
            a.text for a in closes
        ]
        # and there is one closing entry per currency
        assert closing_entries(uow) == [("year_end.close", "EUR"), ("year_end.close", "USD")]
        # when four people reopen it at the same moment
        reopens = race(
            4,
            lambda c, i: c.post(
                f"{url}/api/v1/fiscal-years/2026/reopen", json={"note": f"n{i}"}, headers=auth
            ),
        )
        # then one reopened it, and each closing entry was reversed once
        assert codes(reopens) == Counter({(200, ""): 1, (409, "conflict"): 3}), [a.text for a in reopens]
    assert closing_entries(uow) == [
        ("reversal", "EUR"),
        ("reversal", "USD"),
        ("year_end.close", "EUR"),
        ("year_end.close", "USD"),
    ]
    assert rows(uow, "SELECT year, status, closings FROM finance_fiscal_years") == [(2026, "open", 1)]
    for currency in ("USD", "EUR"):
        assert finance.unposted_amount(uow, currency=currency).is_zero()


def test_a_close_racing_the_reopening_of_a_month_never_leaves_a_closed_year_with_an_open_month(
    db_url: str, uow: UnitOfWork, books: str, tmp_path: Path
) -> None:
    auth = {"Authorization": f"Bearer {books}"}
    outcomes: Counter[str] = Counter()
    with running_server(db_url, tmp_path / "server.log") as server:
        url = server.url
        calls = {0: f"{url}/api/v1/fiscal-years/2026/close", 1: f"{url}/api/v1/periods/2026-11/reopen"}
        for round_ in range(4):
            # when the year's close and November's reopening arrive together
            close, reopen = sorted(
                race(2, lambda c, i: c.post(calls[i], headers=auth)), key=lambda a: a.url.path
            )
            year = rows(uow, "SELECT status FROM finance_fiscal_years WHERE year = 2026")
            month = rows(uow, "SELECT status FROM finance_periods WHERE code = '2026-11'")
            # then exactly one of them won, and the books say so
            assert sorted((close.status_code, reopen.status_code)) == [200, 409], (close.text, reopen.text)
            if close.status_code == 200:
                assert (year, month) == ([("closed",)], [("closed",)])
                outcomes["year closed"] += 1
                reopened = f"{url}/api/v1/fiscal-years/2026/reopen"
                assert server_post(reopened, auth, {"note": f"round {round_}"}) == 200
            else:
                assert month == [("open",)] and year in ([], [("open",)])
                outcomes["month reopened"] += 1
                assert server_post(f"{url}/api/v1/periods/2026-11/close", auth) == 200
    # and every closing entry in force matches a closed year (none is: the year was reopened each round)
    in_force = rows(
        uow,
        "SELECT COUNT(*) FROM journal_entries e WHERE e.rule = 'year_end.close' AND NOT EXISTS "
        "(SELECT 1 FROM journal_entries r WHERE r.reverses_id = e.id)",
    )
    assert in_force == [(0,)] and sum(outcomes.values()) == 4


def server_post(url: str, auth: dict[str, str], body: dict[str, str] | None = None) -> int:
    return httpx.post(url, json=body, headers=auth, timeout=60).status_code

"""The year-end closing's pure rules (ADR 0039): the closing period, the split of an account's year into its
dimensions, and the closing lines — balanced, bringing every account and dimension to zero, retained earnings
taking each dimension's result."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordersmith.finance import closing, rules
from ordersmith.finance.closing import YearBalance


def test_the_closing_period_sorts_between_december_and_the_next_january():
    assert closing.closing_period(2026) == "2026-13"
    assert "2026-12" < closing.closing_period(2026) < "2027-01"
    assert (
        closing.closing_year("2026-13"),
        closing.closing_year("2026-12"),
        closing.closing_year("26-13"),
    ) == (
        2026,
        None,
        None,
    )
    assert closing.closing_day(2026) == date(2026, 12, 31)
    assert closing.year_periods(2026)[0] == "2026-01" and closing.year_periods(2026)[-1] == "2026-12"
    with pytest.raises(ValueError):
        closing.check_year(10_000)


def test_what_the_dimension_balances_do_not_hold_of_an_account_is_its_untagged_part():
    totals = {("4000", "USD"): -10_000, ("5000", "USD"): 4_000, ("4100", "USD"): -500}
    tagged = [
        YearBalance("4000", "USD", "web", "web", -7_000),
        YearBalance("5000", "USD", "web", "web", 4_000),
    ]
    assert sorted(closing.with_untagged(totals, tagged), key=lambda b: (b.account, b.division)) == [
        YearBalance("4000", "USD", "", "", -3_000),
        YearBalance("4000", "USD", "web", "web", -7_000),
        YearBalance("4100", "USD", "", "", -500),
        YearBalance("5000", "USD", "web", "web", 4_000),
    ]


def test_a_profitable_year_credits_retained_earnings_and_a_loss_debits_it():
    balances = [
        YearBalance("4000", "USD", "", "", -10_000),
        YearBalance("5000", "USD", "", "", 6_000),
        YearBalance("4000", "EUR", "", "", -100),
        YearBalance("6100", "EUR", "", "", 300),
    ]
    lines = closing.closing_lines(balances, "3900", 2026)
    assert [(x.account, x.debit_minor, x.credit_minor) for x in lines["USD"]] == [
        ("4000", 10_000, 0),
        ("5000", 0, 6_000),
        ("3900", 0, 4_000),
    ]
    assert [(x.account, x.debit_minor, x.credit_minor, x.memo) for x in lines["EUR"]][-1] == (
        "3900",
        200,
        0,
        "loss of 2026",
    )


def test_a_currency_whose_accounts_are_all_at_zero_has_no_closing_entry():
    assert closing.closing_lines([YearBalance("4000", "USD", "", "", 0)], "3900", 2026) == {}


_DIMENSION = st.sampled_from([("", ""), ("web", "web"), ("store", "store-1"), ("catalog", "phone")])
_BALANCE = st.builds(
    lambda account, currency, dims, net: YearBalance(account, currency, dims[0], dims[1], net),
    st.sampled_from(["4000", "4010", "4200", "5000", "6100"]),
    st.sampled_from(["USD", "EUR"]),
    _DIMENSION,
    st.integers(min_value=-(10**12), max_value=10**12),
)


@given(st.lists(_BALANCE, max_size=40, unique_by=lambda b: (b.account, b.currency, b.division, b.channel)))
def test_the_closing_lines_balance_and_leave_nothing_but_retained_earnings(balances: list[YearBalance]):
    for currency, lines in closing.closing_lines(balances, "3900", 2026).items():
        rules.check_balanced(lines)
        left: dict[tuple[str, str, str], int] = {}
        for b in balances:
            if b.currency == currency:
                left[(b.account, b.division, b.channel)] = b.net_minor
        for x in lines:
            key = (x.account, x.division, x.channel)
            left[key] = left.get(key, 0) + x.debit_minor - x.credit_minor
        # every revenue and expense account is at zero per dimension; retained earnings holds each dimension's
        # result (the opposite of what its accounts held)
        assert {k: v for k, v in left.items() if v and k[0] != "3900"} == {}
        for (account, division, channel), held in left.items():
            if account == "3900":
                gave = sum(
                    b.net_minor
                    for b in balances
                    if b.currency == currency and (b.division, b.channel) == (division, channel)
                )
                assert held == gave

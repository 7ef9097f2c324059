"""The ledger's dimensions against real SQLite and PostgreSQL (ADR 0039): the lines of an order's entries carry its
division and channel; the trial balance, income statement and balance sheet filtered by division and/or channel
read only those lines (and balance); manual entries may name them, reversals keep them; an unknown dimension is
refused naming its field; the migration tags the entries posted before it from their events' orders."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from ordersmith.finance import service as finance
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.payments import service as payments
from ordersmith.platform import migrate
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.settings import Settings
from tests.builders import (
    channel,
    make_account_customer,
    make_order_shop,
    order_request,
    place_on_account,
    place_paid,
    ship_and_invoice,
)
from tests.integration.test_finance_posting_rules import dispatch_all


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


@pytest.fixture
def shop(uow: UnitOfWork, db: Database, settings: Settings) -> UnitOfWork:
    finance.ensure_chart(uow)
    payments.setup_payments(db, settings)
    make_order_shop(uow)
    finance.register()
    yield uow
    finance.unregister()


def two_sales(uow: UnitOfWork, db: Database) -> None:
    """A cash sale of a tee at the store till (channel store-1, division store: shipped as it is placed) and a
    phone order of two tees and a mug on account (channel phone, division catalog), shipped and invoiced."""
    request = order_request(
        ("TEE", 1), fulfillment="taken", store="STORE1", payments=[orders.PaymentRequest(method="cash")]
    )
    place_paid(uow, channel=channel(uow, "store-1"), request=request)
    customer = make_account_customer(uow)
    ship_and_invoice(uow, place_on_account(uow, customer.number))
    dispatch_all(db, uow)


def tagged_lines(db: Database) -> list[tuple[str, str, str, str]]:
    with db.engine.connect() as conn:
        query = sa.text(
            "SELECT e.rule, l.account_code, l.division, l.channel FROM journal_lines l "
            "JOIN journal_entries e ON e.id = l.entry_id ORDER BY e.rule, l.account_code"
        )
        return [tuple(r) for r in conn.execute(query)]  # type: ignore[misc]


def balances(found: finance.TrialBalance) -> dict[str, int]:
    return {row.account_code: row.balance.minor for row in found.rows if row.balance.minor}


def test_an_order_s_entries_carry_its_division_and_channel_and_the_trial_balance_filters_by_them(
    shop: UnitOfWork, db: Database
):
    # given a store sale and a phone sale on account, posted
    two_sales(shop, db)
    period = finance.list_periods(shop)[-1].code
    # then every line of each order's entries carries the order's division and channel
    dims = {(rule, division, channel) for rule, _account, division, channel in tagged_lines(db)}
    assert dims == {
        ("payment.captured", "store", "store-1"),
        ("order.shipped", "store", "store-1"),
        ("payment.captured", "catalog", "phone"),
        ("order.shipped", "catalog", "phone"),
    }
    # when the trial balance is asked for the store division, the phone channel, and both together
    everything = finance.trial_balance(shop, period=period)
    store = finance.trial_balance(shop, period=period, division="store")
    phone = finance.trial_balance(shop, period=period, channel="phone")
    nothing = finance.trial_balance(shop, period=period, division="store", channel="phone")
    # then each holds only its own sale, balances, and with the other adds up to the whole
    assert (store.division, store.channel, phone.channel) == ("store", "", "phone")
    assert store.balanced and phone.balanced and everything.balanced
    assert balances(store) == {"1010": 2700, "4020": -2000, "4100": -500, "2100": -200}
    assert balances(phone) == {"1200": 6000, "4030": -5000, "4100": -500, "2100": -500}
    whole = balances(everything)
    assert {a: balances(store).get(a, 0) + balances(phone).get(a, 0) for a in whole} == whole
    assert nothing.rows == [] and nothing.balanced


def test_the_income_statement_and_balance_sheet_of_a_division_or_channel_read_only_its_lines(
    shop: UnitOfWork, db: Database
):
    # given both sales posted
    two_sales(shop, db)
    period = finance.list_periods(shop)[-1].code
    # when the income statement of the store division and the balance sheet of the phone channel are asked for
    (store,) = finance.income_statement(
        shop, from_period=period, to_period=period, division="store"
    ).currencies
    sheet = finance.balance_sheet(shop, period=period, channel="phone")
    # then the store sold one tee (20.00) and its shipping (5.00), and nothing else
    assert [(x.account_code, x.amount_minor) for x in store.revenue] == [("4020", 2000), ("4100", 500)]
    assert (store.expenses, store.net_income_minor) == ((), 2500)
    # and the phone channel's sheet balances: what the customer owes = the tax owed + the sale's earnings
    (phone,) = sheet.currencies
    assert phone.balanced and sheet.channel == "phone"
    assert [(x.account_code, x.amount_minor) for x in phone.assets] == [("1200", 6000)]
    assert [(x.account_code, x.amount_minor) for x in phone.liabilities] == [("2100", 500)]
    assert phone.current_earnings_minor == 5500


def test_an_unknown_division_or_channel_is_refused_naming_it(shop: UnitOfWork):
    for kwargs, field in (
        ({"division": "wholesale"}, "division"),
        ({"channel": "nope"}, "channel"),
        ({"channel": "bad channel!"}, "channel"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            finance.trial_balance(shop, period="2026-01", **kwargs)
        assert [e.field for e in refused.value.errors] == [field]
    with pytest.raises(ValidationFailed) as refused:
        finance.income_statement(shop, from_period="2026-01", to_period="2026-01", division="x", channel="y")
    assert [e.field for e in refused.value.errors] == ["division", "channel"]


def test_a_manual_entry_may_name_a_division_and_its_reversal_keeps_it(shop: UnitOfWork, db: Database):
    # given an adjustment charged to the web division's web channel
    entry = finance.post_manual_entry(
        shop,
        posted_on=date(2026, 3, 10),
        currency="USD",
        memo="web's share of the photo shoot",
        lines=[
            finance.ManualLine("6300", debit=usd("120.00")),
            finance.ManualLine("1000", credit=usd("120.00")),
        ],
        division="web",
        channel="web",
    )
    assert {(x.division, x.channel) for x in entry.lines} == {("web", "web")}
    web = finance.trial_balance(shop, period="2026-03", division="web")
    assert balances(web) == {"6300": 12000, "1000": -12000}
    # when it is reversed
    undone = finance.reverse_entry(shop, entry_id=entry.id, posted_on=date(2026, 3, 11))
    # then the reversal carries the same dimensions, and the division nets to zero
    assert {(x.division, x.channel) for x in undone.lines} == {("web", "web")}
    assert balances(finance.trial_balance(shop, period="2026-03", division="web")) == {}
    # and an entry naming an unknown division is refused, writing nothing
    with pytest.raises(ValidationFailed) as refused:
        finance.post_manual_entry(
            shop,
            posted_on=date(2026, 3, 10),
            currency="USD",
            memo="x",
            lines=[
                finance.ManualLine("6300", debit=usd("1.00")),
                finance.ManualLine("1000", credit=usd("1.00")),
            ],
            division="wholesale",
        )
    assert [e.field for e in refused.value.errors] == ["division"]
    assert len(finance.list_journal(shop, period="2026-03").items) == 2


def test_the_migration_tags_the_entries_posted_before_it_from_their_events_orders(
    shop: UnitOfWork, db: Database, db_url: str
):
    # given both sales posted, a reversal of the store sale's capture, and what the running system tagged
    two_sales(shop, db)
    captures = finance.list_journal(shop, rule="payment.captured").items
    (capture,) = [e for e in captures if e.lines[0].division == "store"]
    finance.reverse_entry(shop, entry_id=capture.id, posted_on=capture.posted_on)
    before = tagged_lines(db)
    period = finance.list_periods(shop)[-1].code
    store = balances(finance.trial_balance(shop, period=period, division="store"))
    db.dispose()
    # when the schema goes back to before the dimensions and forward again
    config = migrate.alembic_config(db_url)
    command.downgrade(config, ScriptDirectory.from_config(config).get_revision("0045_fincons").down_revision)
    migrate.upgrade(db_url)
    # then every line is tagged as it was (the reversal from its original), and the dimension balances agree
    assert tagged_lines(db) == before
    assert ("reversal", "1010", "store", "store-1") in before
    assert balances(finance.trial_balance(shop, period=period, division="store")) == store
    # and the journal is still immutable
    with db.engine.connect() as conn, pytest.raises(sa.exc.DBAPIError):
        conn.execute(sa.text("UPDATE journal_lines SET division = 'web'"))

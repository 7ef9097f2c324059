"""Accounts receivable against real SQLite and PostgreSQL: invoices on account posted through the relay, payments
applied posting collections, aging by days past due, the subledger equal to the control account, a customer's
statement, and the credit hold when something is past due."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ordersmith.finance import service as finance
from ordersmith.kernel.clock import FixedClock
from ordersmith.kernel.errors import NotFound
from ordersmith.kernel.money import Money
from ordersmith.payments import service as payments
from ordersmith.platform import outbox
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.platform.settings import Settings
from ordersmith.platform.tables import OutboxRow
from tests.builders import make_account_customer, make_order_shop, place_on_account, ship_and_invoice
from tests.integration.test_cli import run


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


@pytest.fixture
def shop(uow: UnitOfWork, db: Database, settings: Settings) -> UnitOfWork:
    payments.setup_payments(db, settings)
    make_order_shop(uow)
    finance.register()
    yield uow
    finance.unregister()


def dispatch_all(db: Database, uow: UnitOfWork) -> None:
    while outbox.dispatch_batch(db.unit_of_work(uow.actor)):
        pass


def test_an_invoice_ages_is_collected_and_the_subledger_always_equals_the_control_account(
    shop: UnitOfWork, db: Database
):
    # given a 60.00 order on account shipped and invoiced net 30, 20.00 of it paid by check, and the relay run
    customer = make_account_customer(shop)
    ship_and_invoice(shop, place_on_account(shop, customer.number))
    (invoice,) = payments.list_invoices(shop, customer_id=customer.id).items
    payments.apply_invoice_payment(shop, invoice=invoice.number, amount=usd("20.00"), method="check")
    dispatch_all(db, shop)
    # when the aging is read today and 45 days on (15 days past due)
    today = invoice.issued_on
    now = finance.ar_aging(shop, as_of=today)
    later = finance.ar_aging(shop, as_of=today + timedelta(days=45))
    # then 40.00 is current today and 1-30 days past due later; the control account holds the same 40.00
    (row,) = now.rows
    assert (row.customer_number, row.invoices, row.total) == (customer.number, 1, usd("40.00"))
    assert [m.minor for m in row.buckets] == [4000, 0, 0, 0, 0, 0]
    assert [m.minor for m in later.rows[0].buckets] == [0, 4000, 0, 0, 0, 0]
    assert later.buckets == ("current", "days_1_30", "days_31_60", "days_61_90", "days_91_120", "over_120")
    (check,) = now.reconciliation
    assert (check.subledger, check.control, check.difference) == (usd("40.00"), usd("40.00"), usd("0.00"))
    # and the check went to undeposited checks against receivables
    (collected,) = finance.list_journal(shop, rule="invoice.payment_applied").items
    assert [(x.account_code, x.debit.minor, x.credit.minor) for x in collected.lines] == [
        ("1020", 2000, 0),
        ("1200", 0, 2000),
    ]
    # when the rest comes by bank transfer
    payments.apply_invoice_payment(shop, invoice=invoice.number, amount=usd("40.00"), method="transfer")
    dispatch_all(db, shop)
    # then nothing is owed, in the subledger or the ledger, and the books balance
    settled = finance.ar_aging(shop, as_of=today)
    assert (settled.rows, settled.totals) == ([], [])
    assert [(r.subledger.minor, r.control.minor) for r in settled.reconciliation] == []
    period = finance.list_periods(shop)[-1].code
    assert finance.trial_balance(shop, period=period).balanced is True


def test_the_invoice_events_carry_the_amounts_the_ledger_posts(shop: UnitOfWork, db: Database):
    # given an invoiced order on account
    customer = make_account_customer(shop)
    ship_and_invoice(shop, place_on_account(shop, customer.number))
    (invoice,) = payments.list_invoices(shop, customer_id=customer.id).items
    # when it is paid in full
    payments.apply_invoice_payment(shop, invoice=invoice.number, amount=usd("60.00"), method="check")
    # then the payment applied says how much, how and on which day, and the paid event says the total
    with db.session() as session:
        rows = session.scalars(sa.select(OutboxRow).where(OutboxRow.type.like("invoice.%")))
        found = {row.type: outbox.to_event(row).payload for row in rows}
    applied, paid = found["invoice.payment_applied"], found["invoice.paid"]
    assert (applied["amount"], applied["currency"], applied["method"], applied["balance"]) == (
        "60.00",
        "USD",
        "check",
        "0.00",
    )
    assert applied["received_on"] == invoice.issued_on.isoformat()
    assert (paid["number"], paid["total"], paid["currency"]) == (invoice.number, "60.00", "USD")


def test_a_statement_lists_open_invoices_aged_and_something_past_due_puts_new_orders_on_credit_hold(
    shop: UnitOfWork, db: Database
):
    # given an invoice of 60.00 due in 30 days
    customer = make_account_customer(shop)
    ship_and_invoice(shop, place_on_account(shop, customer.number))
    (invoice,) = payments.list_invoices(shop, customer_id=customer.id).items
    # when the statement is read 40 days on, and an order on account is placed that day
    later = invoice.issued_on + timedelta(days=40)
    statement = finance.customer_statement(shop, customer=customer.number, as_of=later)
    clock = FixedClock(shop.now() + timedelta(days=40))
    held = place_on_account(db.unit_of_work(Actor.system("test"), clock=clock), customer.number)
    # then the invoice is 10 days past due, the statement says the customer is on credit hold, and the order is held
    (item,) = statement.items
    assert (item.invoice, item.balance, item.days_past_due) == (invoice.number, usd("60.00"), 10)
    assert [m.minor for m in statement.aging[0].buckets] == [0, 6000, 0, 0, 0, 0]
    assert statement.credit_hold is True
    assert statement.credit_note == f"invoice {invoice.number} is 10 day(s) past due"
    assert held.status == "on_hold"
    (hold,) = [h for h in held.holds if h.status == "active"]
    assert hold.reason == "credit_limit" and f"invoice {invoice.number} past due since" in hold.detail
    # and the day it was issued, the statement shows no hold
    fresh = finance.customer_statement(shop, customer=customer.number, as_of=invoice.issued_on)
    assert (fresh.credit_hold, fresh.items[0].days_past_due) == (False, 0)


def test_a_statement_of_an_unknown_customer_is_not_found(shop: UnitOfWork):
    with pytest.raises(NotFound):
        finance.customer_statement(shop, customer="C-999999", as_of=shop.now().date())


def test_the_aging_and_a_statement_are_printed_by_the_cli(shop: UnitOfWork, db: Database, db_url: str):
    # given an invoice of 60.00 posted through the relay
    customer = make_account_customer(shop)
    ship_and_invoice(shop, place_on_account(shop, customer.number))
    (invoice,) = payments.list_invoices(shop, customer_id=customer.id).items
    dispatch_all(db, shop)
    later = (invoice.issued_on + timedelta(days=31)).isoformat()
    # when the aging and the customer's statement are printed a day past due
    aging = run(db_url, "finance", "aging", "--as-of", later)
    statement = run(db_url, "finance", "statement", customer.number, "--as-of", later)
    bad = run(db_url, "finance", "aging", "--as-of", "tomorrow")
    # then the figures are there, the subledger agrees with the control account, and a bad date fails in one line
    assert aging.returncode == 0, aging.stderr
    assert customer.number in aging.stdout and "TOTAL" in aging.stdout
    assert "USD: subledger 60.00, control account 60.00, difference 0.00" in aging.stdout
    assert statement.returncode == 0, statement.stderr
    assert invoice.number in statement.stdout and "Total due 60.00 USD" in statement.stdout
    assert f"Credit hold: invoice {invoice.number} is 1 day(s) past due" in statement.stdout
    assert bad.returncode != 0 and bad.stderr.count("\n") == 1 and "--as-of" in bad.stderr

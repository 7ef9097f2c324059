"""`ordersmith finance …` against real databases: the chart, the trial balance of a period, closing it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ordersmith.finance import service as finance
from ordersmith.kernel.money import Money
from ordersmith.platform.db import UnitOfWork
from tests.integration.test_cli import run


def test_the_trial_balance_of_a_period_is_printed_and_a_period_is_closed(db_url: str, uow: UnitOfWork):
    # given opening cash posted in November
    finance.ensure_chart(uow)
    finance.post_manual_entry(
        uow,
        posted_on=date(2026, 11, 3),
        currency="USD",
        memo="opening cash",
        lines=[
            finance.ManualLine("1000", debit=Money(Decimal("500.00"), "USD")),
            finance.ManualLine("3000", credit=Money(Decimal("500.00"), "USD")),
        ],
    )
    # when its trial balance is asked for, and the period closed
    shown = run(db_url, "finance", "trial-balance", "2026-11")
    closed = run(db_url, "finance", "close", "2026-11")
    again = run(db_url, "finance", "close", "2026-11")
    # then each account's sums are printed and the period balances; closing twice fails in one line
    assert shown.returncode == 0, shown.stderr
    assert "Cash in bank" in shown.stdout and "-500.00" in shown.stdout
    assert "2026-11: balanced, 2 account(s)" in shown.stdout
    assert (closed.returncode, closed.stdout.strip()) == (0, "2026-11 closed (2026-11-01 to 2026-11-30)")
    assert again.returncode != 0 and again.stderr.count("\n") == 1
    assert [p.status for p in finance.list_periods(uow)] == ["closed"]


def test_a_malformed_period_fails_in_one_line(db_url: str):
    bad = run(db_url, "finance", "trial-balance", "November")
    assert bad.returncode != 0
    assert bad.stderr.strip().startswith("error:") and "YYYY-MM" in bad.stderr


def test_an_invoice_is_written_off_and_a_dunning_letter_and_a_pdf_statement_are_printed(
    db_url: str, uow: UnitOfWork, db, settings, tmp_path
):
    from datetime import timedelta

    from ordersmith.payments import service as payments
    from tests.builders import make_account_customer, make_order_shop, place_on_account, ship_and_invoice

    # given a 60.00 invoice on account
    payments.setup_payments(db, settings)
    make_order_shop(uow)
    customer = make_account_customer(uow)
    ship_and_invoice(uow, place_on_account(uow, customer.number))
    (invoice,) = payments.list_invoices(uow, customer_id=customer.id).items
    late = (invoice.due_on + timedelta(days=45)).isoformat()
    # when a letter and a PDF statement are printed, a write-off without a reason and one too large are tried,
    # and then 20.00 is written off
    letter = run(db_url, "finance", "dunning", customer.number, "--as-of", late)
    pdf = run(
        db_url, "finance", "statement", customer.number, "--as-of", late, "--pdf", str(tmp_path / "s.pdf")
    )
    no_reason = run(db_url, "finance", "write-off", invoice.number, "--reason", " ")
    too_much = run(
        db_url, "finance", "write-off", invoice.number, "--reason", "bankrupt", "--amount", "60.01"
    )
    done = run(db_url, "finance", "write-off", invoice.number, "--reason", "disputed", "--amount", "20.00")
    # then the letter is the second notice, the statement a PDF, the refusals one line each and nothing changed by
    # them, and the write-off leaves 40.00 owed
    assert letter.returncode == 0, letter.stderr
    assert "Second notice" in letter.stdout and invoice.number in letter.stdout
    assert pdf.returncode == 0 and (tmp_path / "s.pdf").read_bytes().startswith(b"%PDF-")
    assert no_reason.returncode == 2 and no_reason.stderr.count("\n") == 1
    assert too_much.returncode == 2 and too_much.stderr.count("\n") == 1
    assert done.returncode == 0, done.stderr
    after = payments.get_invoice(uow, ref=invoice.number)
    assert (after.balance, after.written_off) == (
        Money(Decimal("40.00"), "USD"),
        Money(Decimal("20.00"), "USD"),
    )

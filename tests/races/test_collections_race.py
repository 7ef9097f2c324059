"""Collections under concurrency, through a real server on SQLite and PostgreSQL: eight applications of one
customer's 100.00 of unapplied cash at once never apply more than was received; ten write-offs of one invoice at
once write it off once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import httpx
import sqlalchemy as sa

from ordersmith.finance import service as finance
from ordersmith.kernel.money import Money
from ordersmith.payments import service as payments
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.settings import Settings
from tests.builders import (
    make_account_customer,
    make_api_key,
    make_order_shop,
    place_on_account,
    ship_and_invoice,
)
from tests.support.server import running_server


def race(n: int, call: Callable[[httpx.Client, int], httpx.Response]) -> list[httpx.Response]:
    answers: list[httpx.Response] = []
    lock = threading.Lock()
    barrier = threading.Barrier(n)

    def one(i: int) -> None:
        with httpx.Client(timeout=120) as client:
            barrier.wait()
            response = call(client, i)
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def invoices(uow: UnitOfWork, db: Database, settings: Settings, count: int) -> tuple[str, list[str]]:
    """A customer with `count` invoices of 60.00 on account; returns (customer number, invoice numbers)."""
    payments.setup_payments(db, settings)
    make_order_shop(uow)
    customer = make_account_customer(uow)
    for _ in range(count):
        ship_and_invoice(uow, place_on_account(uow, customer.number))
    found = payments.list_invoices(uow, customer_id=customer.id).items
    return customer.number, sorted(i.number for i in found)


def test_eight_applications_of_one_credit_at_once_never_apply_more_than_was_received(
    db_url: str, uow: UnitOfWork, db: Database, settings: Settings, tmp_path: Path
) -> None:
    # given three 60.00 invoices (a fourth order to the address in an hour is held as fraud velocity) and 100.00
    # of the customer's unapplied cash
    customer, numbers = invoices(uow, db, settings, 3)
    held = finance.receive_unapplied_cash(uow, customer=customer, amount=Money(Decimal("100.00"), "USD"),
                                          method="check")  # fmt: skip
    auth = {"Authorization": f"Bearer {make_api_key(uow, name='admin').secret}"}
    # when eight requests at once each apply 30.00 of it to one of the invoices
    with running_server(db_url, tmp_path / "server.log") as server:
        answers = race(
            8,
            lambda c, i: c.post(
                f"{server.url}/api/v1/ar/unapplied-cash/{held.number}/apply",
                headers=auth,
                json={"invoice": numbers[i % 3], "amount": "30.00"},
            ),
        )
    # then three fit (90.00 of 100.00), five are refused, and the invoices took exactly what was applied
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * 3 + [409] * 5, [a.text for a in answers]
    with db.engine.connect() as conn:
        applied = conn.execute(sa.text("SELECT applied_minor FROM finance_unapplied_cash")).scalar_one()
        paid = conn.execute(
            sa.text("SELECT SUM(amount_minor) FROM invoice_payments WHERE method = 'unapplied_cash'")
        ).scalar_one()
    assert (applied, paid) == (9000, 9000)


def test_ten_write_offs_of_one_invoice_at_once_write_it_off_once(
    db_url: str, uow: UnitOfWork, db: Database, settings: Settings, tmp_path: Path
) -> None:
    _, (number,) = invoices(uow, db, settings, 1)
    auth = {"Authorization": f"Bearer {make_api_key(uow, name='admin').secret}"}
    with running_server(db_url, tmp_path / "server.log") as server:
        answers = race(
            10,
            lambda c, i: c.post(
                f"{server.url}/api/v1/ar/invoices/{number}/write-off",
                headers=auth,
                json={"reason": f"race {i}"},
            ),
        )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [409] * 9, [a.text for a in answers]
    with db.engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT paid_minor, written_off_minor, status FROM invoices WHERE number = :n"),
            {"n": number},
        ).one()
        events = conn.execute(
            sa.text("SELECT COUNT(*) FROM outbox WHERE type = 'invoice.written_off'")
        ).scalar_one()
    assert tuple(row) == (6000, 6000, "written_off") and events == 1

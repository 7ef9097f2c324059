"""Money under concurrency, through a real server on SQLite and PostgreSQL: thirty-two orders paid by one gift card
at once never take more than it holds; ten refunds of 60 % of one capture at once give back one; twenty captures
with one idempotency key at once capture once at the processor."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from ordersmith.payments.tables import GiftCardLedgerRow, GiftCardRow, PaymentRow
from ordersmith.platform.db import UnitOfWork
from tests.builders import make_api_key, make_order_shop
from tests.support.server import running_server

ADDRESS = {
    "ref": "main",
    "name": "Buyer",
    "line1": "1 Market St",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US",
    "method": "ground",
}


@pytest.fixture
def shop(uow: UnitOfWork) -> str:
    make_order_shop(uow)
    return make_api_key(uow, name="admin").secret


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


def paid_order(url: str, key: str) -> tuple[str, str]:
    """A 60.00 order paid by a sandbox Visa through the vault; returns (order id, payment id)."""
    auth = {"Authorization": f"Bearer {key}"}
    token = httpx.post(
        f"{url}/vault/v1/cards",
        json={"number": "4242424242424242", "exp_month": 12, "exp_year": 2031},
        headers=auth,
    ).json()["token"]
    order = httpx.post(
        f"{url}/api/v1/orders",
        headers=auth,
        timeout=30,
        json={
            "channel": "web",
            "lines": [{"sku": "TEE", "quantity": 2}, {"sku": "MUG", "quantity": 1}],
            "ship_tos": [ADDRESS],
            "payments": [{"method": "card", "token": token}],
        },
    )
    assert order.status_code == 201, order.text
    payments = httpx.get(f"{url}/api/v1/orders/{order.json()['id']}/payments", headers=auth).json()
    return order.json()["id"], payments[0]["id"]


def test_thirty_two_orders_on_one_gift_card_never_take_more_than_it_holds(
    db_url: str, uow: UnitOfWork, shop: str, tmp_path: Path
) -> None:
    auth = {"Authorization": f"Bearer {shop}"}
    with running_server(db_url, tmp_path / "server.log") as server:
        code = httpx.post(f"{server.url}/api/v1/gift-cards", json={"amount": "100.00"}, headers=auth).json()[
            "code"
        ]
        body = {
            "channel": "web",
            "lines": [{"sku": "MUG", "quantity": 1}],
            "ship_tos": [ADDRESS],
            "payments": [{"method": "gift_card", "token": code}],
        }  # fmt: skip  (16.00 each)
        answers = race(32, lambda c, i: c.post(f"{server.url}/api/v1/orders", json=body, headers=auth))
    statuses = sorted(a.status_code for a in answers)
    # 100.00 pays six 16.00 orders; every other one is refused with the card's balance
    assert statuses.count(201) == 6 and statuses.count(409) == 26, statuses
    refusals = [a.json() for a in answers if a.status_code == 409]
    assert {r["code"] for r in refusals} == {"gift_card_balance_insufficient"}
    with uow:
        (card,) = uow.session.scalars(sa.select(GiftCardRow)).all()
        ledger = uow.session.scalar(sa.select(sa.func.sum(GiftCardLedgerRow.amount_minor)))
        paid = uow.session.scalar(sa.select(sa.func.sum(PaymentRow.captured_minor)))
    assert card.balance_minor == 400 and ledger == 400  # 4.00 left, never below zero, the ledger agrees
    assert paid == 9600


def test_ten_refunds_of_sixty_percent_at_once_give_back_one(
    db_url: str, uow: UnitOfWork, shop: str, tmp_path: Path
) -> None:
    auth = {"Authorization": f"Bearer {shop}"}
    with running_server(db_url, tmp_path / "server.log") as server:
        _, payment = paid_order(server.url, shop)
        httpx.post(
            f"{server.url}/api/v1/payments/{payment}/capture", json={}, headers=auth
        ).raise_for_status()
        answers = race(
            10,
            lambda c, i: c.post(
                f"{server.url}/api/v1/payments/{payment}/refund",
                headers=auth,
                json={"amount": "36.00", "reason": f"race {i}"},
            ),
        )
        final = httpx.get(f"{server.url}/api/v1/payments/{payment}", headers=auth).json()
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [409] * 9, statuses
    assert final["refunded"]["amount"] == "36.00" and final["refundable"]["amount"] == "24.00"
    with sqlite3.connect(tmp_path / "sandbox_gateway.db") as conn:
        assert conn.execute(
            "SELECT count(*), sum(amount) FROM operations WHERE kind = 'refund'"
        ).fetchone() == (1, 3600)


def test_twenty_captures_with_one_key_at_once_capture_once_at_the_processor(
    db_url: str, uow: UnitOfWork, shop: str, tmp_path: Path
) -> None:
    auth = {"Authorization": f"Bearer {shop}", "Idempotency-Key": "capture-once"}
    with running_server(db_url, tmp_path / "server.log") as server:
        _, payment = paid_order(server.url, shop)
        answers = race(
            20,
            lambda c, i: c.post(
                f"{server.url}/api/v1/payments/{payment}/capture", headers=auth, json={"amount": "60.00"}
            ),
        )
    statuses = [a.status_code for a in answers]
    assert statuses == [200] * 20, [a.text for a in answers if a.status_code != 200]
    assert {a.json()["captured"]["amount"] for a in answers} == {"60.00"}
    with sqlite3.connect(tmp_path / "sandbox_gateway.db") as conn:
        assert conn.execute("SELECT count(*) FROM operations WHERE kind = 'capture'").fetchone() == (1,)
    with uow:
        captured = uow.session.scalar(sa.select(PaymentRow.captured_minor))
    assert Decimal(captured) / 100 == Decimal("60.00")

"""Checkout under concurrency, through a real server on SQLite and PostgreSQL: ten tenders added to one unpaid order
at once collect what is unpaid once (one authorization at the processor); twenty identical orders with one
Idempotency-Key while the processor is slow make one order and one authorization, and an unrelated write in the same
server completes meanwhile (no transaction or lock is held across the processor's network call)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from ordersmith.payments.gateways.sandbox import SandboxProcessor
from ordersmith.payments.gateways.sandbox_http import SandboxServer
from ordersmith.payments.tables import PaymentRow
from ordersmith.platform import sales_channels
from ordersmith.platform.db import UnitOfWork
from tests.builders import make_api_key, make_order_shop
from tests.races.test_payment_race import ADDRESS, race
from tests.support.server import running_server

pytestmark = pytest.mark.slow


@pytest.fixture
def shop(uow: UnitOfWork) -> str:
    make_order_shop(uow)
    # A web shop that collects payment: its orders wait for a tender (the test shop's own channels bill later).
    sales_channels.create_sales_channel(
        uow, code="shop", name="Shop", kind="web", division="web", currency="USD"
    )
    return make_api_key(uow, name="admin").secret


def _card(url: str, auth: dict[str, str]) -> str:
    # A server's first request warms its caches: on a loaded machine it can take longer than httpx's 5 s default.
    answer = httpx.post(f"{url}/vault/v1/cards", headers=auth, timeout=30,
                        json={"number": "4242424242424242", "exp_month": 12, "exp_year": 2031})  # fmt: skip
    assert answer.status_code == 201, answer.text
    return str(answer.json()["token"])


def _authorizations(books: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(books) as conn:
        return [(str(r[0]), int(r[1])) for r in conn.execute(
            "SELECT kind, amount FROM operations WHERE kind IN ('authorization', 'sale') ORDER BY at")]  # fmt: skip


def test_ten_card_tenders_added_to_one_unpaid_order_at_once_authorize_what_is_unpaid_once(
    db_url: str, uow: UnitOfWork, shop: str, tmp_path: Path
) -> None:
    # given an order of the collecting shop placed without a tender: it waits for its payment
    auth = {"Authorization": f"Bearer {shop}"}
    with running_server(db_url, tmp_path / "server.log") as server:
        order = httpx.post(f"{server.url}/api/v1/orders", headers=auth, timeout=30, json={
            "channel": "shop", "lines": [{"sku": "TEE", "quantity": 1}], "ship_tos": [ADDRESS]})  # fmt: skip
        assert order.status_code == 201, order.text
        assert (order.json()["status"], order.json()["payment_status"]) == ("on_hold", "pending")
        token = _card(server.url, auth)
        # when ten card tenders for what is unpaid arrive at once
        answers = race(10, lambda c, i: c.post(f"{server.url}/api/v1/orders/{order.json()['id']}/payments",
                                               headers=auth, json={"method": "card", "token": token}))  # fmt: skip
        after = httpx.get(f"{server.url}/api/v1/orders/{order.json()['id']}", headers=auth).json()
    # then one is taken, the others are told nothing is left unpaid
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [422] * 9, [a.text for a in answers]
    assert {a.json()["errors"][0]["message"] for a in answers if a.status_code == 422} == {
        "0.00 USD of the order is unpaid"
    }
    # and the processor authorized the order's total once; the order is covered and released
    assert _authorizations(tmp_path / "sandbox_gateway.db") == [("authorization", 2700)]
    with uow:
        amounts = uow.session.scalars(sa.select(PaymentRow.authorized_minor)).all()
    assert amounts == [2700]
    assert (after["status"], after["payment_status"]) == ("released", "authorized")


@pytest.fixture
def slow_processor(tmp_path: Path) -> Iterator[SandboxServer]:
    running = SandboxServer(SandboxProcessor(str(tmp_path / "books.db"))).start()
    yield running
    running.stop()


def test_twenty_identical_orders_with_one_key_and_a_slow_processor_make_one_order_and_block_no_other_write(
    db_url: str, uow: UnitOfWork, shop: str, tmp_path: Path, slow_processor: SandboxServer
) -> None:
    # given a processor that takes 3 s to answer an authorization
    slow = {"operation": "authorize", "fault": "delay", "times": 5, "delay_s": 8}
    httpx.post(f"{slow_processor.url}/_sandbox/faults", json=slow).raise_for_status()
    auth = {"Authorization": f"Bearer {shop}"}
    with running_server(db_url, tmp_path / "server.log", payment_gateway="sandbox_http",
                        sandbox_gateway_url=slow_processor.url, gateway_timeout_s="20") as server:  # fmt: skip
        token = _card(server.url, auth)
        body = {"channel": "web", "lines": [{"sku": "MUG", "quantity": 1}], "ship_tos": [ADDRESS],
                "payments": [{"method": "card", "token": token}]}  # fmt: skip
        headers = {**auth, "Idempotency-Key": "checkout-slow-1"}
        unrelated: list[float] = []

        def other_write() -> None:
            time.sleep(1.0)  # the first request is now waiting on the processor
            started = time.monotonic()
            answer = httpx.post(
                f"{server.url}/api/v1/gift-cards", headers=auth, json={"amount": "5.00"}, timeout=30
            )
            assert answer.status_code == 201, answer.text
            unrelated.append(time.monotonic() - started)

        writer = threading.Thread(target=other_write)
        writer.start()
        # when twenty identical requests arrive at once
        answers = race(20, lambda c, i: c.post(f"{server.url}/api/v1/orders", json=body, headers=headers))
        writer.join()
    # then every answer is the one order
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 19
    # and the processor authorized once
    assert _authorizations(tmp_path / "books.db") == [("authorization", 1600)]
    with uow:
        assert uow.session.scalar(sa.text("SELECT count(*) FROM orders")) == 1
    # and the unrelated write did not wait for the processor (which answered 7 s after that write began; the margin
    # is for a loaded machine, where a write alone can take a second or two)
    assert unrelated and unrelated[0] < 4.0, unrelated

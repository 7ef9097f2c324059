"""Till sales under concurrency, through a real server on SQLite and PostgreSQL: the same queued sale sent ten times
at once (a till replaying its queue from two tabs, a flaky network) is one order and one charge — one card
authorization at the processor, one cash payment counted once into its shift; an offline sale that cannot be filled,
sent ten times at once, is one flag; and two offline sales racing for the store's last unit are one order and one
flag, whichever lands first."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ordersmith.channels.pos import service as pos
from ordersmith.platform.access import CHANNEL_KEY_SCOPES, ROLE_SCOPES
from ordersmith.platform.db import UnitOfWork
from tests.builders import make_api_key
from tests.races.test_payment_race import race
from tests.support.pos_shop import make_pos_shop, sale_body
from tests.support.server import running_server

pytestmark = pytest.mark.slow


@pytest.fixture
def till(uow: UnitOfWork) -> str:
    """The POS shop, and the key of its till channel (a third-party till, or the console's session alike)."""
    make_pos_shop(uow)
    scopes = sorted(ROLE_SCOPES["store"] & CHANNEL_KEY_SCOPES)
    return make_api_key(uow, scopes=scopes, channel="till", name="till").secret


def counted(uow: UnitOfWork, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with uow.db.read_engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql), params)]


def _authorizations(books: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(books) as conn:
        return [
            (str(r[0]), int(r[1]))
            for r in conn.execute(
                "SELECT kind, amount FROM operations WHERE kind IN ('authorization', 'sale') ORDER BY at"
            )
        ]


def test_the_same_card_sale_sent_ten_times_at_once_is_one_order_and_one_authorization(
    db_url: str, uow: UnitOfWork, till: str, tmp_path: Path
) -> None:
    auth = {"Authorization": f"Bearer {till}"}
    with running_server(db_url, tmp_path / "server.log") as server:
        card = httpx.post(
            f"{server.url}/vault/v1/cards",
            headers=auth,
            timeout=30,
            json={"number": "4242424242424242", "exp_month": 12, "exp_year": 2031},
        )
        assert card.status_code == 201, card.text
        # a tee and a mug (33.00), 20.00 on the card and the rest in cash
        body = sale_body(
            ("TEE", 1),
            ("MUG", 1),
            tenders=[
                {"method": "card", "amount": "20.00", "token": card.json()["token"]},
                {"method": "cash", "received": "20.00", "change": "7.00"},
            ],
        )
        answers = race(10, lambda c, i: c.post(f"{server.url}/api/v1/pos/sales", json=body, headers=auth))
    # then every answer is the one order
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.json()["order"]["id"] for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 9
    # and the card was authorized once, the cash recorded once
    assert _authorizations(tmp_path / "sandbox_gateway.db") == [("authorization", 2000)]
    assert counted(uow, "SELECT count(*) FROM orders") == [(1,)]
    assert sorted(counted(uow, "SELECT method, amount_minor FROM payments")) == [
        ("card", 2000),
        ("cash", 1300),
    ]
    assert counted(uow, "SELECT count(*) FROM pos_sales") == [(1,)]


def test_the_same_offline_cash_sale_sent_ten_times_at_once_is_one_order_counted_once_into_its_shift(
    db_url: str, uow: UnitOfWork, till: str, tmp_path: Path
) -> None:
    shift = pos.open_shift(uow, principal=None, register="R1", opening_float="100.00")
    auth = {"Authorization": f"Bearer {till}"}
    body = sale_body(("CAP", 2), offline=True, shift=str(shift.id))
    with running_server(db_url, tmp_path / "server.log") as server:
        answers = race(10, lambda c, i: c.post(f"{server.url}/api/v1/pos/sales", json=body, headers=auth))
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.json()["order"]["number"] for a in answers}) == 1
    assert counted(uow, "SELECT count(*) FROM orders") == [(1,)]
    assert counted(uow, "SELECT count(*) FROM payments") == [(1,)]
    assert counted(uow, "SELECT cash_in_minor, change_out_minor, sales FROM pos_shifts") == [(5000, 2800, 1)]
    assert counted(
        uow,
        "SELECT on_hand FROM stock_levels s JOIN items i ON i.id = s.item_id "
        "JOIN locations l ON l.id = s.location_id WHERE i.sku = 'CAP' AND l.code = 'STORE1'",
    ) == [(2,)]


def test_an_unfillable_offline_sale_sent_ten_times_at_once_is_one_flag_and_no_order(
    db_url: str, uow: UnitOfWork, till: str, tmp_path: Path
) -> None:
    shift = pos.open_shift(uow, principal=None, register="R1", opening_float="0.00")
    auth = {"Authorization": f"Bearer {till}"}
    body = sale_body(
        ("CAP", 5),
        offline=True,
        shift=str(shift.id),
        tenders=[{"method": "cash", "received": "70.00", "change": "1.25"}],
    )
    with running_server(db_url, tmp_path / "server.log") as server:
        answers = race(10, lambda c, i: c.post(f"{server.url}/api/v1/pos/sales", json=body, headers=auth))
    assert {(a.status_code, a.json()["code"]) for a in answers} == {(409, "pos_sale_flagged")}, [
        a.text for a in answers
    ]
    assert counted(uow, "SELECT count(*) FROM orders") == [(0,)]
    assert counted(uow, "SELECT status, reason FROM pos_sales") == [("flagged", "stock_gone")]
    assert counted(uow, "SELECT cash_in_minor, sales FROM pos_shifts") == [(7000, 1)]


def test_two_offline_sales_racing_for_the_last_caps_are_one_order_and_one_flag(
    db_url: str, uow: UnitOfWork, till: str, tmp_path: Path
) -> None:
    auth = {"Authorization": f"Bearer {till}"}
    bodies = [sale_body(("CAP", 3), offline=True, sale_id=uuid.uuid4()) for _ in range(2)]
    with running_server(db_url, tmp_path / "server.log") as server:
        answers = race(2, lambda c, i: c.post(f"{server.url}/api/v1/pos/sales", json=bodies[i], headers=auth))
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    assert counted(uow, "SELECT count(*) FROM orders") == [(1,)]
    assert sorted(counted(uow, "SELECT status FROM pos_sales")) == [("flagged",), ("placed",)]

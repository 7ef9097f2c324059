"""Fulfillment under concurrency, through a real server on SQLite and PostgreSQL: eight packers confirming one packed
shipment ship it once (stock leaves once); six waves built at once never share a shipment; twelve scans at the pack
station at once never pack more than was picked; a short pick racing the order's cancellation leaves stock,
reservations and shipments consistent whichever lands first.

Shipments are made by the outbox relay inside the server (a subscriber of the order's events), so each test waits,
bounded, for the relay to have dispatched everything before it looks."""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.inventory import service as inventory
from ordersmith.kernel.money import Money
from ordersmith.platform.db import UnitOfWork
from ordersmith.pricing import service as pricing
from tests.builders import make_api_key, make_order_shop, stock
from tests.races.test_payment_race import ADDRESS, race
from tests.support.server import running_server

pytestmark = pytest.mark.slow

WAIT_S = 20.0
_STREETS = itertools.count(1)


@pytest.fixture
def shop(uow: UnitOfWork) -> str:
    """The order shop plus PEN (60 at EAST, 20 at WEST): EAST comes first, WEST takes what EAST cannot give.
    Returns a staff key holding every scope."""
    make_order_shop(uow)
    catalog.create_item(uow, sku="PEN", name="Pen", divisions=["web", "catalog", "store"], weight_g=20)
    stock(uow, sku="PEN", location="EAST", quantity=60)
    stock(uow, sku="PEN", location="WEST", quantity=20)
    pricing.create_price_list(uow, code="pens", name="Pens", currency="USD", priority=5,
                              prices=[pricing.PriceEntry("PEN", Money(Decimal("2.00"), "USD"))])  # fmt: skip
    return make_api_key(uow, name="staff").secret


def rows(uow: UnitOfWork, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """A read of our own, outside the server (never taking SQLite's writer lock)."""
    with uow.db.read_engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql), params)]


def wait_until(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {WAIT_S} s for {what}")
        time.sleep(0.05)


def settled(uow: UnitOfWork) -> None:
    """Wait until the relay has dispatched every event (the shipments follow their orders), none failing."""
    wait_until(
        "the relay", lambda: rows(uow, "SELECT count(*) FROM outbox WHERE dispatched_at IS NULL")[0][0] == 0
    )
    assert rows(uow, "SELECT type, last_error FROM outbox WHERE last_error IS NOT NULL") == []


def place(client: httpx.Client, url: str, lines: list[tuple[str, int]]) -> dict[str, Any]:
    """A released order placed by staff (each to its own street: three to one address in an hour are held)."""
    address = {**ADDRESS, "line1": f"{next(_STREETS)} Market St"}
    body = {"channel": "web", "lines": [{"sku": s, "quantity": q} for s, q in lines], "ship_tos": [address]}
    answer = client.post(f"{url}/api/v1/orders", json=body)
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "released", answer.text
    return dict(answer.json())


def shipments_of(client: httpx.Client, url: str, order: str, count: int = 1) -> list[dict[str, Any]]:
    """The order's shipments, oldest first, once the relay has made `count` of them."""
    found: list[dict[str, Any]] = []

    def made() -> bool:
        nonlocal found
        answer = client.get(f"{url}/api/v1/shipments", params={"order": order})
        assert answer.status_code == 200, answer.text
        found = sorted(answer.json()["items"], key=lambda s: s["number"])
        return len(found) >= count

    wait_until(f"the shipments of order {order}", made)
    return found


def on_hand(uow: UnitOfWork, sku: str, location: str) -> tuple[int, int]:
    """(on hand, reserved) of the item at the location."""
    found = inventory.get_availability(uow, sku=sku)
    return next((loc.on_hand, loc.reserved) for loc in found.locations if loc.location == location)


def codes(answers: list[httpx.Response]) -> Counter[tuple[int, str]]:
    return Counter((a.status_code, a.json().get("code", "") if a.status_code >= 400 else "") for a in answers)


def pick_racing_cancel(
    url: str, auth: dict[str, str], shipment: str, order_id: str, pick_lead_s: float
) -> tuple[httpx.Response, ...]:
    """A picker who found none of line 1's units, and the order's cancellation, released together (the pick
    `pick_lead_s` ahead; negative: behind): (pick, cancel)."""
    calls = [
        (f"{url}/api/v1/shipments/{shipment}/pick", {"found": {"1": 0}}, max(0.0, -pick_lead_s)),
        (f"{url}/api/v1/orders/{order_id}/cancel", {"reason": "x"}, max(0.0, pick_lead_s)),
    ]

    def send(client: httpx.Client, i: int) -> httpx.Response:
        path, body, delay_s = calls[i]
        time.sleep(delay_s)
        return client.post(path, json=body, headers=auth)

    return tuple(sorted(race(2, send), key=lambda a: a.url.path.endswith("/cancel")))


def payloads(uow: UnitOfWork, event_type: str) -> list[dict[str, Any]]:
    """The outbox events of a type, oldest first (SQLite hands JSON back as text)."""
    found = rows(uow, "SELECT payload FROM outbox WHERE type = :t ORDER BY id", t=event_type)
    return [json.loads(p) if isinstance(p, str) else dict(p) for (p,) in found]


def staff(url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60)


def test_eight_packers_confirming_one_packed_shipment_ship_it_once_and_stock_leaves_once(
    db_url: str, uow: UnitOfWork, shop: str, tmp_path: Path
) -> None:
    auth = {"Authorization": f"Bearer {shop}"}
    with running_server(db_url, tmp_path / "server.log") as server, staff(server.url, shop) as client:
        # given an order of two tees, its shipment at EAST picked and packed through the API
        order = place(client, server.url, [("TEE", 2)])
        (shipment,) = shipments_of(client, server.url, order["number"])
        number = shipment["number"]
        assert (shipment["location"], shipment["status"], shipment["units"]) == ("EAST", "pending", 2)
        assert client.post(f"/api/v1/shipments/{number}/pick", json={}).status_code == 200
        packed = client.post(f"/api/v1/shipments/{number}/pack",
                             json={"all_units": True, "packages": [{"weight_g": 500}]})  # fmt: skip
        assert (packed.status_code, packed.json()["status"]) == (200, "packed"), packed.text
        settled(uow)
        tee_east = on_hand(uow, "TEE", "EAST")
        # when eight packers confirm it at once
        answers = race(8, lambda c, i: c.post(f"{server.url}/api/v1/shipments/{number}/ship", headers=auth,
                                              json={"tracking": f"1Z{i:03d}", "carrier": "ups"}))  # fmt: skip
        settled(uow)
        after = client.get(f"/api/v1/shipments/{number}").json()
        order_after = client.get(f"/api/v1/orders/{order['id']}").json()
    # then one confirmation moved it, the seven others were refused naming its state
    assert codes(answers) == Counter({(200, ""): 1, (409, "illegal_transition"): 7}), [
        a.text for a in answers
    ]
    winner = next(a.json() for a in answers if a.status_code == 200)
    assert {a.json()["state"] for a in answers if a.status_code == 409} == {"shipped"}
    assert (after["status"], after["tracking_number"], after["version"]) == (
        "shipped",
        winner["tracking_number"],
        winner["version"],
    )
    assert [e["kind"] for e in after["timeline"]] == ["shipment.created", "shipment.line_added",
        "shipment.picked", "shipment.packed", "shipment.shipped"]  # fmt: skip
    assert [line["status"] for line in after["lines"]] == ["shipped"]
    # and the order shipped once, its two units leaving EAST's stock once, by one shipment movement
    assert (order_after["status"], order_after["lines"][0]["shipped"]) == ("shipped", 2)
    assert [p["to"] for p in payloads(uow, "order.shipped")] == ["shipped"]
    # (one confirmation tells the channel once: the move, with the tracking number it left with)
    shipped = payloads(uow, "shipment.shipped")
    assert [(p["number"], p.get("to"), p.get("tracking_number")) for p in shipped] == [
        (number, "shipped", winner["tracking_number"])]  # fmt: skip
    assert on_hand(uow, "TEE", "EAST") == (tee_east[0] - 2, tee_east[1] - 2)
    moved = rows(uow, "SELECT l.code, m.on_hand_delta, m.reserved_delta FROM stock_movements m "
                      "JOIN locations l ON l.id = m.location_id WHERE m.reason = 'shipment'")  # fmt: skip
    assert moved == [("EAST", -2, -2)]
    assert rows(
        uow, "SELECT status FROM reservations WHERE key LIKE :k", k=f"ord:{order['id'].replace('-', '')}:%"
    ) == [("consumed",)]
    assert inventory.verify(uow) == []


def test_six_waves_built_at_once_never_put_one_shipment_in_two_waves(
    db_url: str, uow: UnitOfWork, shop: str, tmp_path: Path
) -> None:
    auth = {"Authorization": f"Bearer {shop}"}
    body = {"location": "EAST", "max_orders": 8}
    with running_server(db_url, tmp_path / "server.log") as server, staff(server.url, shop) as client:
        # given twenty released orders of a pen each, their shipments waiting at EAST
        numbers = [place(client, server.url, [("PEN", 1)])["number"] for _ in range(20)]
        for number in numbers:
            shipments_of(client, server.url, number)
        settled(uow)
        # when six waves of at most eight are built at once with the same filters
        answers = race(6, lambda c, i: c.post(f"{server.url}/api/v1/waves", headers=auth, json=body))
        made = [a.json() for a in answers if a.status_code == 201]
        raced = {w["number"]: client.get("/api/v1/shipments", params={"wave": w["number"], "limit": 100}).json()
                 for w in made}  # fmt: skip
        waved = rows(uow, "SELECT count(*) FROM shipments WHERE wave_id IS NOT NULL")[0][0]
        events = rows(uow, "SELECT count(*) FROM shipment_events WHERE kind = 'shipment.picking'")[0][0]
        # and afterwards waves are built one at a time until none is left
        more = []
        while (answer := client.post("/api/v1/waves", json=body)).status_code == 201:
            more.append(answer.json())
        assert (answer.status_code, answer.json()["errors"][0]["field"]) == (422, "filters"), answer.text
        every = {w["number"]: client.get("/api/v1/shipments", params={"wave": w["number"], "limit": 100}).json()
                 for w in made + more}  # fmt: skip
    # then every answer was a wave or "nothing left", and the refused ones made no wave and took nothing
    assert {a.status_code for a in answers} <= {201, 422}, [a.text for a in answers]
    assert made, [a.text for a in answers]
    assert {a.json()["errors"][0]["field"] for a in answers if a.status_code == 422} <= {"filters"}
    assert len(rows(uow, "SELECT id FROM waves")) == len(made) + len(more)
    # and each wave holds what its counters say, each shipment in one wave only, each into its own tote
    taken = [s["number"] for page in raced.values() for s in page["items"]]
    assert len(taken) == len(set(taken)) == sum(w["shipments"] for w in made) == waved == events
    assert 1 <= waved <= 20
    if db_url.startswith("sqlite"):  # one writer at a time: the waves take eight, eight and the last four
        assert (sorted(a.status_code for a in answers), sorted(w["shipments"] for w in made)) == (
            [201, 201, 201, 422, 422, 422],
            [4, 8, 8],
        )
    # (the waves built afterwards took nothing from those built in the race)
    assert {number: every[number] for number in raced} == raced
    for wave in made + more:
        items = every[wave["number"]]["items"]
        assert (len(items), sum(s["units"] for s in items)) == (wave["shipments"], wave["units"])
        assert sorted(s["tote"] for s in items) == [f"T{n:02d}" for n in range(1, len(items) + 1)]
        assert {s["status"] for s in items} == {"picking"}
    # and nothing was lost: with the waves built after the race, the twenty are each in exactly one wave
    everything = Counter(s["order_number"] for page in every.values() for s in page["items"])
    assert everything == Counter(numbers)
    assert rows(uow, "SELECT count(*) FROM shipment_events WHERE kind = 'shipment.picking'") == [(20,)]
    assert rows(uow, "SELECT count(*) FROM shipments WHERE status = 'pending' OR tote = ''") == [(0,)]


def test_twelve_scans_at_the_pack_station_at_once_never_pack_more_than_was_picked(
    db_url: str, uow: UnitOfWork, shop: str, tmp_path: Path
) -> None:
    auth = {"Authorization": f"Bearer {shop}"}
    with running_server(db_url, tmp_path / "server.log") as server, staff(server.url, shop) as client:
        # given a picked shipment of three pens
        order = place(client, server.url, [("PEN", 3)])
        (shipment,) = shipments_of(client, server.url, order["number"])
        number = shipment["number"]
        picked = client.post(f"/api/v1/shipments/{number}/pick", json={})
        assert (picked.status_code, picked.json()["status"]) == (200, "picked"), picked.text
        # when twelve scans of a pen arrive at once
        answers = race(12, lambda c, i: c.post(f"{server.url}/api/v1/shipments/{number}/scan", headers=auth,
                                               json={"code": "PEN"}))  # fmt: skip
        after = client.get(f"/api/v1/shipments/{number}").json()
        # then packing needs no vouching: every picked unit was scanned
        packed = client.post(f"/api/v1/shipments/{number}/pack", json={"packages": [{"weight_g": 80}]})
    # then three were packed and nine refused as one too many
    assert codes(answers) == Counter({(200, ""): 3, (409, "scan_refused"): 9}), [a.text for a in answers]
    assert sorted(line["packed"] for a in answers if a.status_code == 200 for line in a.json()["lines"]) == [
        1,
        2,
        3,
    ]
    # and the refusals changed nothing: the line shows three picked and three packed, one version per scan
    assert [(line["picked"], line["packed"]) for line in after["lines"]] == [(3, 3)]
    assert (after["status"], after["version"]) == ("picked", picked.json()["version"] + 3)
    assert (packed.status_code, packed.json()["status"]) == (200, "packed"), packed.text
    assert rows(uow, "SELECT picked, packed FROM shipment_lines") == [(3, 3)]


def test_a_short_pick_racing_the_order_s_cancellation_leaves_stock_reservations_and_shipments_consistent(
    db_url: str, uow: UnitOfWork, shop: str, tmp_path: Path
) -> None:
    auth = {"Authorization": f"Bearer {shop}"}
    outcomes: list[str] = []
    # Released together in most rounds (which lands first is up to the server); in two, one goes well ahead, so
    # both orders are seen on both databases.
    leads = [0.0, 0.0, 0.0, 0.5, -0.5, 0.0]
    with running_server(db_url, tmp_path / "server.log") as server, staff(server.url, shop) as client:
        for round_no, lead in enumerate(leads):
            # given an order of two pens, its shipment waiting at EAST
            order = place(client, server.url, [("PEN", 2)])
            (shipment,) = shipments_of(client, server.url, order["number"])
            assert (shipment["location"], shipment["units"]) == ("EAST", 2)
            settled(uow)
            east, west = on_hand(uow, "PEN", "EAST"), on_hand(uow, "PEN", "WEST")
            shorts = rows(uow, "SELECT count(*) FROM stock_movements WHERE reason = 'short_pick'")[0][0]
            # when the picker finds none of them while the order is cancelled
            pick, cancel = pick_racing_cancel(server.url, auth, shipment["number"], order["id"], lead)
            settled(uow)
            # then the cancellation always wins the order; the pick either happened first or found nothing to do
            assert (cancel.status_code, cancel.json()["status"]) == (200, "cancelled"), cancel.text
            shipments = shipments_of(client, server.url, order["number"])
            key = f"ord:{order['id'].replace('-', '')}:%"
            if pick.status_code == 200:
                outcomes.append("pick first")
                # the two pens left EAST as a short pick (to be counted); what was held again for them went with
                # the cancellation
                assert (pick.json()["status"], pick.json()["units"]) == ("cancelled", 0), pick.text
                assert on_hand(uow, "PEN", "EAST") == (east[0] - 2, east[1] - 2)
                assert rows(uow, "SELECT count(*) FROM stock_movements WHERE reason = 'short_pick'") == [
                    (shorts + 1,)
                ]
                assert len(rows(uow, "SELECT id FROM count_tasks WHERE reference = :r",
                                r=f"shipment {shipment['number']}")) == 1  # fmt: skip
            else:
                outcomes.append("cancel first")
                assert pick.status_code == 409, pick.text
                assert pick.json()["code"] in ("conflict", "illegal_transition"), pick.text
                assert on_hand(uow, "PEN", "EAST") == (east[0], east[1] - 2)
                assert rows(uow, "SELECT count(*) FROM stock_movements WHERE reason = 'short_pick'") == [
                    (shorts,)
                ]
            assert on_hand(uow, "PEN", "WEST") == (west[0], west[1])
            # and nothing of the order is held or waits to ship
            assert [s for (s,) in rows(uow, "SELECT status FROM reservations WHERE key LIKE :k", k=key)
                    if s == "active"] == []  # fmt: skip
            assert {(s["status"], s["units"]) for s in shipments} == {("cancelled", 0)}, (round_no, shipments)
            # and no live shipment line anywhere holds units whose reservation is not active
            assert rows(uow, "SELECT sl.key, r.status FROM shipment_lines sl LEFT JOIN reservations r "
                             "ON r.key = sl.key WHERE sl.status = 'open' AND (r.status IS NULL OR "
                             "r.status <> 'active')") == []  # fmt: skip
            assert inventory.verify(uow) == []
    assert (outcomes[3], outcomes[4]) == ("pick first", "cancel first"), outcomes


def test_six_label_purchases_of_one_shipment_at_once_buy_one_label(
    db_url: str, uow: UnitOfWork, shop: str, tmp_path: Path
) -> None:
    import sqlite3

    auth = {"Authorization": f"Bearer {shop}"}
    dock = {"address": {"name": "Dock", "line1": "200 Harbor Way", "city": "Boston", "region": "MA",
                        "postal_code": "02110", "country": "US"}}  # fmt: skip
    with running_server(db_url, tmp_path / "server.log") as server, staff(server.url, shop) as client:
        # given a packed shipment at EAST, whose dock ships with the sandbox carrier
        assert client.put("/api/v1/locations/EAST/dock", json=dock).status_code == 200
        order = place(client, server.url, [("PEN", 3)])
        (shipment,) = shipments_of(client, server.url, order["number"])
        number = shipment["number"]
        assert client.post(f"/api/v1/shipments/{number}/pick", json={}).status_code == 200
        packed = client.post(f"/api/v1/shipments/{number}/pack", json={"all_units": True,
                                                                      "packages": [{"weight_g": 300}]})  # fmt: skip
        assert packed.status_code == 200, packed.text
        # when six packers press "Buy label" at once
        answers = race(6, lambda c, i: c.post(f"{server.url}/api/v1/shipments/{number}/labels", headers=auth,
                                              json={}))  # fmt: skip
        after = client.get(f"/api/v1/shipments/{number}").json()
    # then one label was bought (the carrier charged once); the others were refused and bought nothing
    assert codes(answers) == Counter({(200, ""): 1, (409, "conflict"): 5}), [a.text for a in answers]
    with sqlite3.connect(tmp_path / "sandbox_carrier.db") as conn:
        assert conn.execute("SELECT count(*) FROM labels").fetchone()[0] == 1
    (package,) = after["packages"]
    assert package["status"] == "labelled" and after["tracking_number"] == package["tracking_number"]


def test_ten_till_sales_of_a_store_s_last_three_units_carry_out_three(
    db_url: str, uow: UnitOfWork, shop: str, tmp_path: Path
) -> None:
    # given three tees at STORE1 (the warehouses have more), and ten tills selling one each at once
    till = make_api_key(uow, scopes=["orders:write", "orders:read"], channel="store-1", name="till").secret
    body = {"lines": [{"sku": "TEE", "quantity": 1}], "ship_tos": [ADDRESS], "fulfillment": "taken",
            "store": "STORE1", "payments": [{"method": "cash"}]}  # fmt: skip
    with running_server(db_url, tmp_path / "server.log") as server:
        answers = race(10, lambda c, i: c.post(f"{server.url}/api/v1/orders", json={**body, "external_id": f"t{i}"},
                                               headers={"Authorization": f"Bearer {till}"}))  # fmt: skip
        settled(uow)
    # then three sales went out of the store, the rest were refused; the warehouses' tees never moved
    assert sorted(a.status_code for a in answers) == [201] * 3 + [409] * 7, [a.text for a in answers]
    assert all(a.json()["status"] == "shipped" for a in answers if a.status_code == 201)
    assert on_hand(uow, "TEE", "STORE1") == (0, 0)
    assert on_hand(uow, "TEE", "EAST") == (10, 0) and on_hand(uow, "TEE", "WEST") == (10, 0)
    assert rows(uow, "SELECT kind, status, count(*) FROM shipments GROUP BY kind, status") == [
        ("taken", "shipped", 3)
    ]
    assert inventory.verify(uow) == []

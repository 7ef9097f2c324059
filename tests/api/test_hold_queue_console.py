"""The console's hold queue through the ASGI app, on SQLite and PostgreSQL (issue 17): one dense row per order
(customer, age, amount, every reason), release or cancel in one step with a note, and a manager's bulk release
of the selected orders with one note — each order audited with it; refusals change nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.kernel.clock import utcnow
from ordersmith.kernel.ids import new_id
from ordersmith.orders import service as orders
from ordersmith.orders.tables import OrderHoldRow
from ordersmith.platform.tables import AuditRow
from tests.api.conftest import login
from tests.builders import channel, make_order_shop, order_request, ship_to


@pytest.fixture
def held(admin_db: Any) -> list[orders.Order]:
    """Three held orders: Ann's (held by hand, and also for review), Bob's (undeliverable) and Cy's."""
    make_order_shop(admin_db)
    made = []
    for name, postal in (("Ann Buyer", "94105"), ("Bob Smith", "ABC"), ("Cy Young", "94105")):
        order = orders.place_order(admin_db, channel=channel(admin_db, "phone"), request=order_request(
            ("MUG", 1), ship_tos=[ship_to(name=name, postal_code=postal)])).order  # fmt: skip
        if order.status != "on_hold":
            order = orders.hold_order(admin_db, ref=order.number, note=f"{name} asked us to wait")
        made.append(order)
    with admin_db:  # a second active hold on Ann's order: still one row
        admin_db.session.add(OrderHoldRow(order_id=made[0].id, id=new_id(), reason="payment_review",
                                          detail="check the card", status="active",
                                          placed_at=utcnow() + timedelta(seconds=1), placed_by="test"))  # fmt: skip
    return made


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr class="hold-row" data-number="(\d+)">', html)


def _statuses(admin_db: Any, held: list[orders.Order]) -> list[str]:
    return [orders.get_order(admin_db, ref=o.number).status for o in held]


def test_the_queue_shows_one_dense_row_per_order(client: TestClient, admin_db: Any, held) -> None:
    login(client, admin_db, role="manager")
    page = client.get("/holds")
    assert page.status_code == 200
    assert _rows(page.text) == [o.number for o in held]  # one row each, the longest held first
    ann = page.text.split(f'data-number="{held[0].number}"')[1].split("</tr>")[0]
    assert (
        "Ann Buyer" in ann
        and "manual" in ann
        and "payment review" in ann
        and f"${held[0].total.amount}" in ann
    )
    assert re.search(r'<td class="num"[^>]*>\d+\xa0min</td>', ann)  # its age
    assert 'type="checkbox" name="order"' in ann and 'formaction="/orders/' in ann
    bob = page.text.split(f'data-number="{held[1].number}"')[1].split("</tr>")[0]
    assert "Bob Smith" in bob and "undeliverable" in bob


def test_a_manager_releases_the_selected_orders_with_one_note(
    client: TestClient, admin_db: Any, held
) -> None:
    csrf = login(client, admin_db, role="manager")
    chosen = held[:2]
    form = {"csrf_token": csrf, "note": "all checked with the customers", "order": [o.number for o in chosen]}
    form |= {f"version-{o.number}": str(orders.get_order(admin_db, ref=o.number).version) for o in chosen}
    answer = client.post("/holds/release", data=form)
    assert answer.status_code == 200, answer.text
    assert f"Released 2: {chosen[0].number}, {chosen[1].number}" in answer.text
    assert _rows(answer.text) == [held[2].number]
    assert _statuses(admin_db, held) == ["released", "released", "on_hold"]
    # each order released by its own use case, audited with the note, every hold of it resolved
    with admin_db:
        audits = admin_db.session.scalars(
            sa.select(AuditRow).where(AuditRow.action == "order.released")
        ).all()
    assert sorted(a.object_id for a in audits) == sorted(str(o.id) for o in chosen)
    assert {a.after["note"] for a in audits} == {"all checked with the customers"}
    assert all(h.status == "released" for h in orders.get_order(admin_db, ref=held[0].number).holds)


def test_an_order_changed_since_the_manager_looked_is_named_and_left_alone(
    client: TestClient, admin_db: Any, held
) -> None:
    csrf = login(client, admin_db, role="manager")
    versions = {o.number: orders.get_order(admin_db, ref=o.number).version for o in held[:2]}
    orders.edit_order(admin_db, ref=held[1].number, changes=orders.OrderChanges(
        lines=[orders.LineChange(line_no=1, quantity=2)]), expected_version=versions[held[1].number])  # fmt: skip
    form = {"csrf_token": csrf, "note": "ok", "order": list(versions)}
    form |= {f"version-{n}": str(v) for n, v in versions.items()}
    answer = client.post("/holds/release", data=form)
    assert answer.status_code == 200
    assert f"Released 1: {held[0].number}" in answer.text and f"{held[1].number}: " in answer.text
    assert _statuses(admin_db, held) == ["released", "on_hold", "on_hold"]


def test_a_refused_bulk_release_changes_nothing(client: TestClient, admin_db: Any, held) -> None:
    versions = [orders.get_order(admin_db, ref=o.number).version for o in held]
    everyone = [o.number for o in held]
    cases = [
        ("agent", {"note": "please"}, 403),  # a manager's decision
        ("manager", {"note": "   "}, 422),  # no note
        ("manager", {"note": "ok", "order": []}, 422),  # nothing selected
        ("manager", {"note": "ok", "csrf_token": "forged"}, 403),
    ]
    signed_in: dict[str, str] = {}
    for role, fields, status in cases:
        if role not in signed_in:
            client.cookies.clear()
            signed_in[role] = login(client, admin_db, role=role)
        answer = client.post(
            "/holds/release", data={"csrf_token": signed_in[role], "order": everyone} | fields
        )
        assert answer.status_code == status, (role, fields, answer.text)
        assert _statuses(admin_db, held) == ["on_hold"] * 3
        assert [orders.get_order(admin_db, ref=o.number).version for o in held] == versions


def test_a_row_cancels_in_one_step_with_its_note(client: TestClient, admin_db: Any, held) -> None:
    csrf = login(client, admin_db, role="manager")
    form = {"csrf_token": csrf, "note": "customer said no", "back": "holds"}
    answer = client.post(f"/orders/{held[2].number}/cancel", data=form, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/holds"
    cancelled = orders.get_order(admin_db, ref=held[2].number)
    assert cancelled.status == "cancelled"
    assert _statuses(admin_db, held[:2]) == ["on_hold", "on_hold"]

"""The customer page through the console, on SQLite and PostgreSQL: consent shown first, and "New order for this
customer" opening the phone-order screen with the customer and their default ship-to filled in."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ordersmith.customers import service as customers
from tests.api.conftest import login


def _customer(admin_db) -> str:  # type: ignore[no-untyped-def]
    details = customers.Details(
        first_name="Rosa",
        last_name="Diaz",
        emails=["rosa@example.com"],
        do_not_call=True,
        addresses=[
            customers.Address(kind="ship_to", line1="9 Old Rd", city="Boise", country="US", postal_code="83702",
                              region="ID"),
            customers.Address(kind="ship_to", name="Rosa at work", line1="200 Main St", city="Denver",
                              country="US", postal_code="80202", region="CO", is_default=True),
        ],
    )  # fmt: skip
    return customers.create_customer(admin_db, details=details).number


def test_an_agent_sees_consent_first_and_starts_an_order_for_the_customer(
    client: TestClient, admin_db
) -> None:  # type: ignore[no-untyped-def]
    # given a customer who does not want calls, with a default ship-to address at work
    number = _customer(admin_db)
    login(client, admin_db, role="agent")
    # when an agent opens the customer's page
    page = client.get(f"/customers/{number}")
    # then consent is shown as a warning above everything, with a way to start an order for them
    assert page.status_code == 200
    assert 'id="consent" class="card notice warn"' in page.text and "do not call" in page.text
    assert f'href="/phone-order?customer={number}"' in page.text
    # and the phone-order screen opens with the customer and the default ship-to filled in
    entry = client.get("/phone-order", params={"customer": number})
    assert entry.status_code == 200
    for value in (number, "Rosa at work", "200 Main St", "Denver", "80202"):
        assert f'value="{value}"' in entry.text


def test_an_unknown_customer_number_opens_an_empty_phone_order(client: TestClient, admin_db) -> None:  # type: ignore[no-untyped-def]
    # given an agent signed in
    login(client, admin_db, role="agent")
    # when the screen is opened for a customer that does not exist
    entry = client.get("/phone-order", params={"customer": "C-999999"})
    # then it opens empty, without an error
    assert entry.status_code == 200 and 'value="C-999999"' not in entry.text


def test_the_customer_page_shows_the_source_code_of_each_order_leading_to_its_orders(
    client: TestClient, admin_db
) -> None:  # type: ignore[no-untyped-def]
    from ordersmith.orders import service as orders
    from tests.builders import channel, make_order_shop, make_source_code, order_request

    # given a customer who ordered once from the fall catalogue's key code and once without one
    make_order_shop(admin_db)
    make_source_code(admin_db, "FALL26")
    number = _customer(admin_db)
    fall = order_request(("TEE", 1), customer=number, source_code="fall26")
    keyed = orders.place_order(admin_db, channel=channel(admin_db, "phone"), request=fall).order
    plain = orders.place_order(
        admin_db, channel=channel(admin_db), request=order_request(("MUG", 1), customer=number)
    ).order
    login(client, admin_db, role="agent")
    # when an agent opens the customer's page
    page = client.get(f"/customers/{number}")
    # then each order's row names its source code (a link to that code's orders), or none
    rows = page.text[page.text.index('id="customer-orders"') :].split("</table>")[0].split("<tr>")
    keyed_row = next(r for r in rows if f">{keyed.number}<" in r)
    plain_row = next(r for r in rows if f">{plain.number}<" in r)
    assert '<a href="/orders?source_code=FALL26">FALL26</a>' in keyed_row
    assert "FALL26" not in plain_row and '<span class="muted">—</span>' in plain_row
    assert client.get("/orders", params={"source_code": "FALL26"}).text.count(f">{keyed.number}<") >= 1


def test_the_customer_page_shows_the_rfm_segment_the_report_gives_from_the_stored_scores(
    client: TestClient, admin_db
) -> None:  # type: ignore[no-untyped-def]
    import time
    from datetime import UTC, datetime, timedelta
    from typing import Any

    import sqlalchemy as sa

    from ordersmith.marketing import service as marketing
    from ordersmith.orders import service as orders
    from ordersmith.reporting import service as reporting
    from tests.builders import channel, make_order_shop, order_request, ship_to

    # given seven buyers whose recency, frequency and spend differ, some tied (prices: tee 20, mug 10, lamp 80)
    make_order_shop(admin_db)
    now = datetime.now(UTC).replace(microsecond=0)
    plans = {"Ann": [(9, "MUG")] * 3, "Bo": [(6, "LAMP")], "Cy": [(8, "TEE"), (4, "TEE")],
             "Di": [(5, "MUG"), (4, "MUG"), (3, "MUG")], "Ed": [(3, "TEE"), (2, "TEE")], "Flo": [(2, "LAMP")],
             "Gus": [(1, "MUG")]}  # fmt: skip
    numbers = {}
    for name, plan in plans.items():
        number = customers.create_customer(
            admin_db, details=customers.Details(first_name=name, last_name="Buyer")
        ).number
        numbers[name] = number
        for n, (days_ago, sku) in enumerate(plan):
            request = order_request((sku, 1), customer=number, placed_at=now - timedelta(days=days_ago, minutes=n),
                                    ship_tos=[ship_to(line1=f"{n} Elm St")])  # fmt: skip
            orders.place_order(admin_db, channel=channel(admin_db, "phone"), request=request)
    # the app's relay keeps the facts: once it has handed every event on, a scoring run (the hourly run's work)
    # scores them (a run racing the relay's recompute could leave a customer with its provisional scores)
    pending = sa.select(sa.func.count()).select_from(sa.table("outbox", sa.column("dispatched_at")))
    for _ in range(600):
        with admin_db.db.engine.connect() as conn:
            if not conn.execute(pending.where(sa.column("dispatched_at").is_(None))).scalar_one():
                break
        time.sleep(0.05)
    marketing.score_rfm(admin_db)
    report = reporting.run_report(admin_db, name="rfm_customers", parameters={}).rows
    cells = {r["customer"]: r["cell"] for r in report}
    login(client, admin_db, role="manager")
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement.lower())

    engine = client.app.state.db.engine  # type: ignore[attr-defined]
    # when a manager opens every buyer's page
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        pages = {name: client.get(f"/customers/{number}") for name, number in numbers.items()}
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    # then each shows the cell the RFM report gives that customer, linking to the report
    for name, page in pages.items():
        cell = cells[numbers[name]]
        assert page.status_code == 200 and f"RFM {cell[0]}-{cell[1]}-{cell[2]}" in page.text, name
        assert 'href="/reports/rfm_customers?currency=USD"' in page.text
    assert len(set(cells.values())) > 3  # the buyers really fall in different cells
    # and no page scored anyone: each read its customer's stored scores (marketing's scoring job may run
    # meanwhile: its UPDATE of the stored scores is not a page's read)
    assert [s for s in seen if "ntile" in s and s.lstrip().startswith(("select", "with"))] == []
    page_reads = [s for s in seen if s.lstrip().startswith("select marketing_customer_facts.recency_score")]
    assert len(page_reads) == len(numbers)


def test_a_customer_without_orders_has_no_rfm_segment(client: TestClient, admin_db) -> None:  # type: ignore[no-untyped-def]
    number = _customer(admin_db)
    login(client, admin_db, role="agent")
    page = client.get(f"/customers/{number}")
    assert page.status_code == 200 and 'id="rfm"' not in page.text and "RFM " not in page.text

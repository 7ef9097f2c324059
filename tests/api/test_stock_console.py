"""The stock screen through the console, on SQLite and PostgreSQL: a style as a colour-by-size grid in the order
its sizes were given, and an item's levels with their division pools, what is on order, and movements naming
order numbers instead of reservation keys."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ordersmith.catalog import styles
from ordersmith.inventory import service as inventory
from ordersmith.orders import service as orders
from tests.api.conftest import login
from tests.builders import channel, make_order_shop, order_request, sent_purchase_order, stock


def test_a_style_reads_as_a_colour_by_size_grid_with_sizes_in_their_own_order(client: TestClient, admin_db):  # type: ignore[no-untyped-def]
    # given a shirt in two colours and sizes S, M, L, XL, with some stock
    make_order_shop(admin_db)
    styles.create_style(admin_db, code="OXF", name="Oxford shirt", divisions=["web"],
                        axes=[("colour", ["white", "blue"]), ("size", ["S", "M", "L", "XL"])])  # fmt: skip
    stock(admin_db, sku="OXF-BLUE-XL", location="EAST", quantity=7)
    login(client, admin_db, role="warehouse")
    # when the warehouse looks the style up
    page = client.get("/stock", params={"sku": "OXF"})
    # then a grid shows colours by sizes, sizes in the order given (not alphabetical), with each cell's units
    assert page.status_code == 200 and 'id="style-grid"' in page.text
    header = page.text[page.text.index('id="style-grid"') :]
    assert [header.index(f">{size}</th>") for size in ("S", "M", "L", "XL")] == sorted(
        header.index(f">{size}</th>") for size in ("S", "M", "L", "XL")
    )
    assert 'title="OXF-BLUE-XL">7</a>' in page.text


def test_an_items_page_names_orders_shows_pools_and_what_is_on_order(client: TestClient, admin_db):  # type: ignore[no-untyped-def]
    # given a tee with a catalog ring-fence at EAST, an order holding one, and a PO bringing 12 more
    make_order_shop(admin_db)
    inventory.configure_level(admin_db, sku="TEE", location="EAST", safety_stock=0,
                              pools=[inventory.PoolSetting("catalog", ring_fence=5)])  # fmt: skip
    order = orders.place_order(admin_db, channel=channel(admin_db), request=order_request(("TEE", 1))).order
    from tests.builders import make_vendor

    make_vendor(admin_db, code="ACME")
    from decimal import Decimal

    from ordersmith.kernel.money import Money
    from ordersmith.purchasing import service as purchasing

    purchasing.set_vendor_item(
        admin_db, vendor="ACME", sku="TEE", vendor_sku="A-TEE", cost=Money(Decimal("4"), "USD")
    )
    sent_purchase_order(admin_db, vendor="ACME", location="EAST", lines=[("TEE", 12)])
    login(client, admin_db, role="manager")
    # when a manager opens the tee's stock
    page = client.get("/stock", params={"sku": "TEE"})
    # then its movements name the order by number and line, the pool is shown, and 12 are on order at EAST
    assert page.status_code == 200
    assert f"order {order.number}, line 1" in page.text and "ord:" not in page.text
    assert "catalog: fence 5" in page.text
    east = page.text[page.text.index("<td>EAST</td>") :].split("</tr>")[0]
    assert '<td class="num">12</td>' in east


def test_the_low_stock_tile_opens_the_levels_running_low_fewest_free_first(client: TestClient, admin_db):  # type: ignore[no-untyped-def]
    # given a lamp with 2 free and tees with 3 free at the store (under 5, no safety stock set), and tees at EAST
    # with 10 free under a safety stock of 12; everything else has plenty
    make_order_shop(admin_db)
    inventory.configure_level(admin_db, sku="TEE", location="EAST", safety_stock=12)
    login(client, admin_db, role="manager")
    # when the manager follows the dashboard's low-stock tile
    dashboard = client.get("/dashboard")
    assert 'href="/stock?low=true">stock levels running low</a>' in dashboard.text
    page = client.get("/stock", params={"low": "true"})
    # then the three levels it counts, fewest free units first, each leading to its item
    assert page.status_code == 200
    table = page.text[page.text.index('id="low-stock"') :].split("</table>")[0]
    rows = [row.split("</tr>")[0] for row in table.split("<tbody>")[1].split("<tr>")[1:]]
    assert [(r.split('">')[1].split("<")[0], r.split("<td>")[2].split("<")[0]) for r in rows] == [
        ("LAMP", "EAST"), ("TEE", "STORE1"), ("TEE", "EAST")]  # fmt: skip
    assert '<a href="/stock?sku=LAMP">' in rows[0] and len(rows) == inventory.low_stock_count(admin_db)


def test_value_at_cost_per_level_and_in_total_only_for_roles_that_may_see_cost(client: TestClient, admin_db):  # type: ignore[no-untyped-def]
    # given tees received at a moving-average cost of 4.25 (finance's costing subledger) and lamps never costed
    import datetime as dt

    import sqlalchemy as sa

    from ordersmith.finance.tables import ItemCostRow

    make_order_shop(admin_db)
    with admin_db:
        admin_db.execute_core(sa.insert(ItemCostRow), {"sku": "TEE", "currency": "USD", "average_cost_minor": 425,
                              "units": 10, "updated_at": dt.datetime.now(dt.UTC)})  # fmt: skip
    tee = inventory.get_availability(admin_db, sku="TEE", division=None)
    login(client, admin_db, role="accountant")
    # when the accountant opens the tee's stock, then each level and the total are valued at cost
    page = client.get("/stock", params={"sku": "TEE"})
    assert page.status_code == 200 and "Value at cost" in page.text
    total = page.text[page.text.index('id="value-at-cost"') :].split("</span>")[0]
    assert f"{4.25 * tee.on_hand:,.2f}" in total and "4.25" in total
    for level in tee.locations:
        row = page.text[page.text.index(f"<td>{level.location}</td>") :].split("</tr>")[0]
        assert f"{4.25 * level.on_hand:,.2f}</td>" in row
    # and an item never received at a cost shows "no cost", never 0
    lamp = client.get("/stock", params={"sku": "LAMP"})
    assert "no cost" in lamp.text.split('id="value-at-cost"')[1].split("</span>")[0]
    # while an agent and the warehouse see quantities only
    for role in ("agent", "warehouse"):
        login(client, admin_db, role=role)
        page = client.get("/stock", params={"sku": "TEE"})
        assert (
            page.status_code == 200 and "Value at cost" not in page.text and "value-at-cost" not in page.text
        )


def test_the_stock_page_reads_cost_in_one_statement_whatever_the_levels(client: TestClient, admin_db):  # type: ignore[no-untyped-def]
    # given a tee stocked at two locations, and a manager (who may see cost) on its page
    from typing import Any

    import sqlalchemy as sa

    make_order_shop(admin_db)
    login(client, admin_db, role="manager")
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = client.app.state.db.engine  # type: ignore[attr-defined]
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        page = client.get("/stock", params={"sku": "TEE"})
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    # then the cost is read once for the page, not once per level
    assert page.status_code == 200 and "Value at cost" in page.text
    assert len(inventory.get_availability(admin_db, sku="TEE", division=None).locations) >= 2
    assert len([s for s in seen if "finance_item_costs" in s]) == 1

"""The report catalogue on both databases: each report's figures equal a hand-written SQL query over orders (and
returns, invoices, gift cards, stock) made in the test, and a few are pinned to values worked out by hand."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.kernel.clock import FixedClock
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.purchasing import service as purchasing
from ordersmith.reporting import render, service
from tests.builders import channel, make_order_shop, make_source_code, make_vendor, order_request

NOW = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)
DAY1, DAY2 = date(2026, 3, 18), date(2026, 3, 19)


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


@pytest.fixture
def shop(db: Database) -> UnitOfWork:
    uow = db.unit_of_work(Actor.system("test", origin="pytest"), clock=FixedClock(NOW))
    make_order_shop(uow)
    return uow


def place(uow: UnitOfWork, code: str, day: date, *lines: tuple[str, int], source: str | None = None):
    at = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=10)
    request = order_request(*lines, placed_at=at, source_code=source)
    return orders.place_order(uow, channel=channel(uow, code), request=request).order


@pytest.fixture
def sales(shop: UnitOfWork) -> UnitOfWork:
    """Four orders over two days on two channels: one cancelled in part, one shipped and partly returned, one
    waiting for a backordered lamp."""
    make_source_code(shop, "SPRING")
    place(shop, "web", DAY1, ("TEE", 2), ("MUG", 2), source="spring")  # 60.00
    cut = place(shop, "web", DAY1, ("TEE", 3))  # 60.00, one tee cancelled below: 40.00 still charged
    orders.cancel_order(shop, ref=cut.number, reason="customer asked", lines={1: 1})
    returned = place(shop, "phone", DAY2, ("TEE", 2), ("MUG", 1), source="SPRING")  # 50.00
    orders.record_shipment(shop, ref=returned.number)
    rma = orders.authorize_return(
        shop, order_ref=returned.number, lines=[orders.ReturnLineRequest(1, 1, "wrong_size")]
    )
    orders.receive_return(shop, ref=rma.number, location="EAST")
    place(shop, "phone", DAY2, ("LAMP", 3))  # 240.00, two in stock: one backordered
    return shop


def raw(uow: UnitOfWork, sql: str, **params: object) -> list[tuple]:
    with uow.db.session() as session:
        return [tuple(r) for r in session.execute(sa.text(sql), params).all()]


def day_bounds(day: date) -> dict[str, datetime]:
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    # SQLite keeps UTC as naive text: compare it with naive values
    return {"a": start, "b": start + timedelta(days=1)}


def bounds_for(uow: UnitOfWork, day: date) -> dict[str, object]:
    found = day_bounds(day)
    if uow.dialect == "sqlite":
        return {k: v.replace(tzinfo=None).isoformat(sep=" ") for k, v in found.items()}
    return dict(found)


SALES_SQL = """
SELECT o.channel, count(DISTINCT o.id), sum(l.quantity), sum(l.cancelled), sum(l.returned),
       sum(l.unit_price_minor * l.quantity),
       sum(l.merchandise_minor + l.surcharge_minor - l.discount_minor
           - CASE WHEN l.returned > 0
                  THEN (l.merchandise_minor + l.surcharge_minor - l.discount_minor) * l.returned
                       / (l.quantity - l.cancelled)
                  ELSE 0 END)
FROM orders o JOIN order_lines l ON l.order_id = o.id
WHERE o.placed_at >= :a AND o.placed_at < :b
GROUP BY o.channel ORDER BY o.channel
"""


def run(uow: UnitOfWork, name: str, **parameters: str):
    return service.run_report(uow, name=name, parameters=parameters)


def _sales_by_day_and_channel_equal_a_hand_written_query(sales: UnitOfWork):
    # when
    result = run(sales, "sales_by_day_channel", **{"from": "2026-03-18", "to": "2026-03-19"})
    # then: one row per day and channel, each equal to the hand-written SQL
    expected = []
    for day in (DAY1, DAY2):
        for channel_code, n, units, cancelled, returned, demand, net in raw(
            sales, SALES_SQL, **bounds_for(sales, day)
        ):
            expected.append(
                (
                    day,
                    channel_code,
                    n,
                    int(units),
                    int(cancelled),
                    int(returned),
                    Money.from_minor(int(demand), "USD"),
                    Money.from_minor(int(net), "USD"),
                )
            )
    got = [
        (
            r["period"],
            r["channel"],
            r["orders"],
            r["units"],
            r["cancelled_units"],
            r["returned_units"],
            r["demand"],
            r["net"],
        )
        for r in result.rows
    ]
    assert got == expected
    # and by hand: day 1 web: two orders, 7 units ordered, demand 60 + 60, net 60 + 40
    assert got[0] == (DAY1, "web", 2, 7, 1, 0, usd("120.00"), usd("100.00"))
    assert result.rows[0]["aov"] == usd("60.00")
    # day 2 phone: the returned tee takes 20.00 off the 50.00 order: 30.00 + 240.00
    assert got[1] == (DAY2, "phone", 2, 6, 0, 1, usd("290.00"), usd("270.00"))


def _grouping_by_month_and_a_channel_filter(sales: UnitOfWork):
    result = run(
        sales,
        "sales_by_day_channel",
        **{"from": "2026-03-01", "to": "2026-03-31", "grouping": "month", "channel": "phone"},
    )
    assert [(r["period"], r["channel"], r["orders"], r["demand"]) for r in result.rows] == [
        (date(2026, 3, 1), "phone", 2, usd("290.00"))
    ]
    weekly = run(
        sales, "sales_by_day_channel", **{"from": "2026-03-01", "to": "2026-03-31", "grouping": "week"}
    )
    assert {r["period"] for r in weekly.rows} == {date(2026, 3, 16)}  # Monday of the week


def _sales_by_source_code_groups_upper_cased_codes(sales: UnitOfWork):
    result = run(sales, "sales_by_source_code", **{"from": "2026-03-18", "to": "2026-03-19"})
    expected = raw(
        sales,
        """SELECT coalesce(o.source_code, ''), count(DISTINCT o.id), sum(l.unit_price_minor * l.quantity)
                             FROM orders o JOIN order_lines l ON l.order_id = o.id
                             GROUP BY coalesce(o.source_code, '') ORDER BY 3 DESC""",
    )
    assert [(r["source_code"], r["orders"], r["demand"].minor) for r in result.rows] == [
        (code, n, int(demand)) for code, n, demand in expected
    ]
    assert [(r["source_code"], r["demand"]) for r in result.rows] == [
        ("", usd("300.00")),
        ("SPRING", usd("110.00")),
    ]


def _top_items_rank_by_units(sales: UnitOfWork):
    result = run(sales, "top_items", **{"from": "2026-03-18", "to": "2026-03-19", "limit": "2"})
    expected = raw(
        sales,
        """SELECT l.sku, sum(l.quantity) FROM order_lines l GROUP BY l.sku
                             ORDER BY sum(l.quantity) DESC, sum(l.unit_price_minor * l.quantity) DESC LIMIT 2""",
    )
    assert [(r["code"], r["units"]) for r in result.rows] == [(sku, int(n)) for sku, n in expected]
    assert [(r["code"], r["units"]) for r in result.rows] == [("TEE", 7), ("LAMP", 3)]  # LAMP: more demand
    styles = run(sales, "top_items", **{"from": "2026-03-18", "to": "2026-03-19", "by": "style"})
    assert [(r["code"], r["name"], r["units"]) for r in styles.rows] == [("", "(no style)", 13)]


def _returns_by_reason_with_the_return_rate(sales: UnitOfWork):
    result = run(sales, "returns_by_reason", **{"from": "2026-03-18", "to": "2026-03-20"})
    assert [
        (r["reason"], r["sku"], r["returns"], r["units_returned"], r["units_sold"], r["return_rate"])
        for r in result.rows
    ] == [("wrong_size", "TEE", 1, 1, 6, Decimal("16.7"))]
    (sold,) = raw(sales, "SELECT sum(quantity - cancelled) FROM order_lines WHERE sku = 'TEE'")
    assert int(sold[0]) == 6


def _open_orders_and_fill_rate(sales: UnitOfWork):
    result = run(sales, "open_orders", **{"from": "2026-03-18", "to": "2026-03-19"})
    expected = raw(
        sales,
        """SELECT o.channel, count(*),
                                    sum(CASE WHEN o.status IN ('pending','on_hold','released','partially_shipped')
                                             THEN 1 ELSE 0 END),
                                    sum((SELECT sum(l.shipped) FROM order_lines l WHERE l.order_id = o.id))
                             FROM orders o GROUP BY o.channel ORDER BY o.channel""",
    )
    assert [(r["channel"], r["orders"], r["open_orders"], r["units_shipped"]) for r in result.rows] == [
        (c, n, int(open_), int(shipped)) for c, n, open_, shipped in expected
    ]
    phone = result.rows[0]
    assert (phone["units"], phone["units_shipped"], phone["unit_fill_rate"]) == (6, 3, Decimal("50.0"))
    assert (phone["orders_complete"], phone["order_fill_rate"]) == (1, Decimal("50.0"))


def _sales_tax_by_jurisdiction(sales: UnitOfWork):
    result = run(sales, "sales_tax", **{"from": "2026-03-18", "to": "2026-03-19"})
    (expected,) = raw(sales, "SELECT sum(tax_minor) FROM orders")
    assert [(r["country"], r["region"], r["orders"]) for r in result.rows] == [("US", "CA", 4)]
    assert result.rows[0]["tax"].minor == int(expected[0])
    (goods_tax,) = raw(sales, "SELECT sum(tax_minor) FROM order_lines")
    assert result.rows[0]["goods_tax"].minor == int(goods_tax[0])


def _backorders_by_item_and_by_age(sales: UnitOfWork):
    by_item = run(sales, "backorders_by_item")
    assert [(r["sku"], r["units"], r["orders"], r["oldest"], r["value"]) for r in by_item.rows] == [
        ("LAMP", 1, 1, DAY2, usd("80.00"))
    ]
    by_age = run(sales, "backorders_by_age")
    assert [(r["age"], r["units"], r["orders"]) for r in by_age.rows] == [("0-7 days", 1, 1)]


def _inventory_valuation_at_the_default_vendor_s_cost(shop: UnitOfWork):
    # given a vendor listing the tee at 4.00 and another at 3.00 (the default vendor's 4.00 wins)
    make_vendor(shop, code="ACME")
    make_vendor(shop, code="BETA")
    purchasing.set_vendor_item(shop, vendor="ACME", sku="TEE", vendor_sku="A-TEE", cost=usd("4.00"))
    purchasing.set_vendor_item(shop, vendor="BETA", sku="TEE", vendor_sku="B-TEE", cost=usd("3.00"))
    purchasing.set_vendor_item(shop, vendor="BETA", sku="MUG", vendor_sku="B-MUG", cost=usd("2.50"))
    catalog.set_default_vendor(shop, sku="TEE", vendor_id=purchasing.get_vendor(shop, code="ACME").id)
    # when
    result = run(shop, "inventory_valuation")
    # then: EAST 10 tees x 4 + 2 lamps and 5 towels uncosted; WEST 10 tees x 4 + 20 mugs x 2.50
    rows = {(r["group"], r["currency"]): (r["on_hand"], r["uncosted_units"], r["value"]) for r in result.rows}
    assert rows == {
        ("EAST", None): (7, 7, None),
        ("EAST", "USD"): (10, 0, usd("40.00")),
        ("STORE1", "USD"): (3, 0, usd("12.00")),
        ("WEST", "USD"): (30, 0, usd("90.00")),
    }
    by_division = run(shop, "inventory_valuation", by="division")
    assert {(r["group"], r["currency"]): r["value"] for r in by_division.rows} == {
        ("(shared)", None): None,
        ("(shared)", "USD"): usd("130.00"),
        ("store", "USD"): usd("12.00"),
    }


def _invoice(
    uow: UnitOfWork, number: str, customer: str, due_on: date, total: int, paid: int = 0, status: str = "open"
) -> None:
    from ordersmith.payments.tables import InvoiceRow

    with uow.db.session() as session, session.begin():
        session.add(
            InvoiceRow(
                id=uuid.uuid4(),
                number=number,
                order_id=uuid.uuid4(),
                order_number="1",
                payment_id=uuid.uuid4(),
                customer_id=uuid.uuid4(),
                customer_number=customer,
                terms="NET30",
                currency="USD",
                lines=[],
                merchandise_minor=total,
                shipping_minor=0,
                tax_minor=0,
                total_minor=total,
                paid_minor=paid,
                status=status,
                issued_on=due_on - timedelta(days=30),
                due_on=due_on,
                created_at=NOW,
                updated_at=NOW,
                version=1,
            )
        )


def _ar_aging_buckets_are_exact(shop: UnitOfWork):
    # given invoices due on each edge of every bucket, as of 2026-03-20
    as_of = date(2026, 3, 20)
    for n, (days_past_due, total) in enumerate(
        [
            (-5, 100),
            (0, 200),
            (1, 400),
            (30, 800),
            (31, 1600),
            (60, 3200),
            (61, 6400),
            (90, 12800),
            (91, 25600),
            (120, 51200),
            (121, 102400),
        ]
    ):
        _invoice(shop, f"I-{n}", "C-1", as_of - timedelta(days=days_past_due), total)
    _invoice(shop, "I-paid", "C-1", as_of - timedelta(days=200), 999, paid=999, status="paid")
    _invoice(shop, "I-part", "C-2", as_of - timedelta(days=45), 1000, paid=250)
    # when
    result = run(shop, "ar_aging", as_of="2026-03-20")
    # then
    cents = {
        r["customer"]: [
            r[b].minor
            for b in ("current", "days_1_30", "days_31_60", "days_61_90", "days_91_120", "over_120", "total")
        ]
        for r in result.rows
    }
    assert cents == {
        "C-1": [300, 1200, 4800, 19200, 76800, 102400, 204700],
        "C-2": [0, 0, 750, 0, 0, 0, 750],
    }
    overdue = run(shop, "overdue_invoices", as_of="2026-03-20", customer="C-2")
    assert [(r["invoice"], r["days_overdue"], r["balance"]) for r in overdue.rows] == [
        ("I-part", 45, usd("7.50"))
    ]
    assert len(run(shop, "overdue_invoices", as_of="2026-03-20").rows) == 10


def _gift_cards_outstanding(shop: UnitOfWork):
    from ordersmith.payments.tables import GiftCardRow

    with shop.db.session() as session, session.begin():
        for n, (kind, status, initial, balance) in enumerate(
            [
                ("gift_card", "active", 5000, 1200),
                ("gift_card", "active", 2500, 0),
                ("store_credit", "active", 700, 700),
                ("gift_card", "void", 9000, 9000),
            ]
        ):
            session.add(
                GiftCardRow(
                    id=uuid.uuid4(),
                    code_digest=f"d{n}",
                    last_four="1234",
                    kind=kind,
                    status=status,
                    currency="USD",
                    balance_minor=balance,
                    initial_minor=initial,
                    issued_by="t",
                    created_at=NOW,
                    updated_at=NOW,
                    version=1,
                )
            )
    result = run(shop, "gift_cards_outstanding")
    assert [
        (r["kind"], r["cards"], r["with_balance"], r["issued"], r["outstanding"]) for r in result.rows
    ] == [
        ("gift_card", 2, 1, usd("75.00"), usd("12.00")),
        ("store_credit", 1, 1, usd("7.00"), usd("7.00")),
    ]


def _bad_parameters_are_refused_naming_them(shop: UnitOfWork):
    with pytest.raises(ValidationFailed) as bad_date:
        run(shop, "sales_by_day_channel", **{"from": "2026-13-01"})
    assert bad_date.value.errors[0].field == "from"
    with pytest.raises(ValidationFailed) as backwards:
        run(shop, "sales_by_day_channel", **{"from": "2026-03-10", "to": "2026-03-01"})
    assert backwards.value.errors[0].field == "to"
    with pytest.raises(ValidationFailed) as unknown:
        run(shop, "gift_cards_outstanding", channel="web")
    assert unknown.value.errors[0].field == "channel"
    with pytest.raises(ValidationFailed) as choice:
        run(shop, "sales_by_day_channel", grouping="year")
    assert choice.value.errors[0].field == "grouping"
    with pytest.raises(NotFound):
        run(shop, "no_such_report")


def _every_report_renders_as_csv_xlsx_and_an_accessible_svg(sales: UnitOfWork):
    import csv
    import io

    import openpyxl

    for spec in service.list_reports():
        result = run(sales, spec.name)
        lines = list(csv.reader(io.StringIO("".join(render.to_csv(result)))))
        assert lines[0] == [c.name for c in spec.columns]
        assert len(lines) == len(result.rows) + 1
        sheet = openpyxl.load_workbook(io.BytesIO(render.to_xlsx(result)), read_only=True).active
        assert sum(1 for _ in sheet.iter_rows()) == len(result.rows) + 1
        svg = render.to_svg(result)
        assert svg.startswith("<svg") and "<script" not in svg and "http://kozea" not in svg
        assert f'<title id="chart-title">{spec.title}</title>' in svg.replace("&#x27;", "'")
        assert '<desc id="chart-desc">' in svg


def _stock_aging_and_slow_movers(sales: UnitOfWork):
    result = run(sales, "stock_aging", days="30")
    expected = raw(
        sales,
        """
        SELECT i.sku, l.code, s.on_hand,
               (SELECT coalesce(sum(-m.on_hand_delta), 0) FROM stock_movements m WHERE m.item_id = s.item_id
                  AND m.location_id = s.location_id AND m.reason = 'shipment')
        FROM stock_levels s JOIN items i ON i.id = s.item_id JOIN locations l ON l.id = s.location_id
        WHERE s.on_hand > 0""",
    )
    got = {(r["sku"], r["location"], r["on_hand"], r["shipped"]) for r in result.rows}
    assert got == {(sku, code, on_hand, int(shipped)) for sku, code, on_hand, shipped in expected}
    # slow movers first: what never shipped comes before what shipped today
    shipped = [r for r in result.rows if r["shipped"]]
    assert shipped and result.rows[-len(shipped) :] == shipped
    assert {(r["sku"], r["last_shipped"], r["days_idle"]) for r in shipped} == {
        (r["sku"], NOW.date(), 0) for r in shipped
    }
    idle = next(r for r in result.rows if r["sku"] == "TOWEL")
    assert (idle["shipped"], idle["last_shipped"], idle["last_received"], idle["days_of_stock"]) == (
        0,
        None,
        NOW.date(),
        None,
    )


def test_every_sales_report_equals_a_hand_written_query_on_the_same_orders(sales: UnitOfWork):
    """One set of orders (placing them is the slow part) checked by each sales report in turn."""
    _sales_by_day_and_channel_equal_a_hand_written_query(sales)
    _grouping_by_month_and_a_channel_filter(sales)
    _sales_by_source_code_groups_upper_cased_codes(sales)
    _top_items_rank_by_units(sales)
    _returns_by_reason_with_the_return_rate(sales)
    _open_orders_and_fill_rate(sales)
    _sales_tax_by_jurisdiction(sales)
    _backorders_by_item_and_by_age(sales)
    _stock_aging_and_slow_movers(sales)
    _every_report_renders_as_csv_xlsx_and_an_accessible_svg(sales)


def test_stock_receivables_and_gift_card_reports_and_refusals(shop: UnitOfWork):
    _inventory_valuation_at_the_default_vendor_s_cost(shop)
    _ar_aging_buckets_are_exact(shop)
    _gift_cards_outstanding(shop)
    _bad_parameters_are_refused_naming_them(shop)

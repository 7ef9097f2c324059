"""Line-level source codes against real SQLite and PostgreSQL (ADR 0038): a line keyed with another offer's code is
priced with that offer in checkout's one pricing pass and keeps the code; a bad line code is refused and nothing is
written; cancellations, returns, exchanges and edits inherit the line's code; and the results per key code, drop
and campaign — lines under their own code, finance's COGS, contribution margin, keyed and matched-back orders —
equal a hand computation."""

from __future__ import annotations

import csv
import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ordersmith.customers import service as customers
from ordersmith.customers.tables import CustomerRow
from ordersmith.data.exports import service as exports
from ordersmith.finance import service as finance
from ordersmith.finance.tables import LineCostRow
from ordersmith.inventory import service as inventory
from ordersmith.kernel.clock import FixedClock
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.marketing import service as marketing
from ordersmith.orders import service as orders
from ordersmith.orders.tables import OrderEventRow, OrderLineRow, OrderRow
from ordersmith.payments import service as payments
from ordersmith.platform import outbox
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.settings import Settings
from ordersmith.pricing import service as pricing
from ordersmith.purchasing import service as purchasing
from ordersmith.reporting import service as reporting
from tests.builders import channel, make_order_shop, make_vendor, order_request, place_paid, ship_to

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def usd(amount: str | int) -> Money:
    return Money(Decimal(amount), "USD")


@pytest.fixture
def shop(uow: UnitOfWork, db: Database, settings: Settings) -> UnitOfWork:
    uow.clock = FixedClock(NOW)
    finance.ensure_chart(uow)
    payments.setup_payments(db, settings)
    make_order_shop(uow)
    return uow


def count(uow: UnitOfWork, table: type) -> int:
    with uow:
        return int(uow.session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


def line(sku: str, quantity: int, code: str | None = None) -> orders.LineRequest:
    return orders.LineRequest(sku=sku, quantity=quantity, source_code=code)


def campaign(uow: UnitOfWork, *codes: tuple[str, int], cost: str = "0.05", **offers: Any) -> None:
    """Campaign FALL: one drop of the codes' pieces at `cost` each, in home on 1 October 2026; `offers` maps a code
    to its (price list, promotions)."""
    marketing.create_campaign(
        uow,
        code="FALL",
        name="Fall book",
        kind="catalog",
        currency="USD",
        drops=[marketing.NewDrop("D1", date(2026, 10, 1), sum(q for _, q in codes), usd(cost), "cover A")],
    )
    for code, quantity in codes:
        price_list, promotions = offers.get(code, (None, ()))
        marketing.create_source_code(
            uow,
            code=code,
            campaign="FALL",
            drop="D1",
            segment=code,
            quantity_mailed=quantity,
            price_list=price_list,
            promotions=promotions,
        )


def gift_book(uow: UnitOfWork) -> None:
    """The fall book's list (tees at 18) and the gift book's (mugs at 7, tees at 15) with 10 % off its lines."""
    pricing.create_price_list(
        uow,
        code="FALLBOOK",
        name="Fall book",
        currency="USD",
        priority=-5,
        offer_only=True,
        prices=[pricing.PriceEntry("TEE", usd("18.00"))],
    )
    pricing.create_price_list(
        uow,
        code="GIFTBOOK",
        name="Gift book",
        currency="USD",
        priority=-5,
        offer_only=True,
        prices=[pricing.PriceEntry("MUG", usd("7.00")), pricing.PriceEntry("TEE", usd("15.00"))],
    )
    pricing.create_promotion(
        uow,
        promotion=pricing.PromotionInput(
            code="GIFT10",
            name="10% off the gift book",
            kind="percent_off_items",
            percent=Decimal(10),
            coupon_required=True,
        ),
    )
    campaign(uow, ("F1", 600), ("G1", 400), F1=("FALLBOOK", ()), G1=("GIFTBOOK", ("GIFT10",)))


def test_a_line_from_another_offer_is_priced_with_it_in_the_one_checkout_pass_and_keeps_its_code(
    shop: UnitOfWork, db: Database, tmp_path: Path
):
    # given the order's code F1 (tees at 18) and the gift book's G1 (mugs at 7, tees at 15, 10 % off)
    gift_book(shop)
    # when an agent keys an order with F1 and one mug and one tee from the gift book, through checkout
    request = order_request(source_code="f1", ship_tos=[ship_to()])
    request = dataclasses.replace(
        request, lines=[line("TEE", 2), line("MUG", 1, "g1"), line("TEE", 1, "G1"), line("MUG", 1)]
    )
    placed = place_paid(shop, channel=channel(shop, "phone"), request=request).order
    # then each line is priced with its own offer — the gift book's lines at its prices less 10 %, the others with
    # the order's (the mug, which the fall book does not price, at retail) — in one quote with one set of totals
    assert [(x.sku, x.unit_price, x.price_list, x.discount) for x in placed.lines] == [
        ("TEE", usd("18.00"), "FALLBOOK", usd("0.00")),
        ("MUG", usd("7.00"), "GIFTBOOK", usd("0.70")),
        ("TEE", usd("15.00"), "GIFTBOOK", usd("1.50")),
        ("MUG", usd("10.00"), "USD", usd("0.00")),
    ]
    assert (placed.merchandise, placed.discounts) == (usd("68.00"), usd("2.20"))
    # and the order keeps F1; each line the code it counts under, its own where it has one (never the typed text)
    assert placed.source_code == "F1"
    assert [(x.source_code, x.own_source_code) for x in placed.lines] == [
        ("F1", None),
        ("G1", "G1"),
        ("G1", "G1"),
        ("F1", None),
    ]
    with shop:
        stored = shop.session.scalars(
            sa.select(OrderLineRow.source_code).order_by(OrderLineRow.line_no)
        ).all()
    assert stored == [None, "G1", "G1", None]
    assert [x.source_code for x in orders.get_order(shop, ref=placed.number).lines] == [
        "F1",
        "G1",
        "G1",
        "F1",
    ]
    # and the order-lines export carries each line's code
    path = tmp_path / "lines.csv"
    exports.stream_to_file(db, kind="order_lines", format="csv", filters={}, path=path)
    with path.open(newline="", encoding="utf-8") as handle:
        exported = list(csv.DictReader(handle))
    assert [(r["line_no"], r["source_code"]) for r in exported] == [
        ("1", "F1"),
        ("2", "G1"),
        ("3", "G1"),
        ("4", "F1"),
    ]


def test_an_order_without_line_codes_reads_the_master_list_no_more_than_before(
    shop: UnitOfWork, db: Database
):
    # given a code, and every statement that reads the master list counted
    gift_book(shop)
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "marketing_source_codes" in statement:
            seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", listen)
    try:
        # when an order keyed on its header only is placed, then one with a line keyed with another code
        plain = order_request(("TEE", 1), ("MUG", 1), source_code="F1")
        place_paid(shop, channel=channel(shop, "phone"), request=plain)
        header_only = len(seen)
        keyed = dataclasses.replace(
            plain, lines=[line("TEE", 1), line("MUG", 1, "G1")], ship_tos=[ship_to(line1="2 Market St")]
        )
        place_paid(shop, channel=channel(shop, "phone"), request=keyed)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listen)
    # then the header's code is read once, and only a line code adds a read (its own)
    assert header_only == 1
    assert len(seen) == 3


def test_a_bad_line_code_is_refused_naming_the_line_and_nothing_is_written(shop: UnitOfWork):
    # given a code and one that expired
    campaign(shop, ("F1", 600))
    marketing.create_source_code(
        shop,
        code="OLD",
        campaign="FALL",
        drop="D1",
        segment="old",
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 6, 30),
    )
    on_hand = inventory.get_availability(shop, sku="TEE").available
    before = (count(shop, OrderRow), count(shop, OrderLineRow), count(shop, CustomerRow))
    for code, reason in (("TYPO-NOPE", "is not a source code"), ("old", "expired on 2026-06-30")):
        # when an order with a good header code carries it on its second line (with a new customer to create)
        request = order_request(
            source_code="F1", new_customer=orders.NewCustomer(first_name="Ann", last_name="X")
        )
        request = dataclasses.replace(request, lines=[line("TEE", 1), line("MUG", 1, code)])
        with pytest.raises(ValidationFailed) as refused:
            orders.place_order(shop, channel=channel(shop, "phone"), request=request)
        # then it is refused naming that line's field, and no order, line, customer or stock moved
        assert [e.field for e in refused.value.errors] == ["lines.1.source_code"]
        assert reason in refused.value.detail
        with pytest.raises(ValidationFailed):
            place_paid(shop, channel=channel(shop, "phone"), request=request)
    assert (count(shop, OrderRow), count(shop, OrderLineRow), count(shop, CustomerRow)) == before
    assert inventory.get_availability(shop, sku="TEE").available == on_hand
    # and a channel that maps unknown codes to its default keys the line with the default, never the typo
    marketing.set_channel_policy(shop, channel="phone", on_unknown="default", default_code="F1")
    request = dataclasses.replace(order_request(), lines=[line("MUG", 1, "TYPO-NOPE")])
    placed = orders.place_order(shop, channel=channel(shop, "phone"), request=request).order
    assert [(x.source_code, x.own_source_code) for x in placed.lines] == [("F1", "F1")]


def test_cancellations_returns_exchanges_and_edits_inherit_the_line_code(shop: UnitOfWork, tmp_path: Path):
    # given an order keyed F1 whose second line came from the gift book (G1)
    gift_book(shop)
    request = dataclasses.replace(
        order_request(source_code="F1"), lines=[line("TEE", 2), line("MUG", 3, "G1")]
    )
    placed = orders.place_order(shop, channel=channel(shop, "phone"), request=request).order
    # when one mug is cancelled, the rest shipped, one mug returned for another and one tee returned
    orders.cancel_order(shop, ref=placed.number, reason="asked", lines={2: 1})
    orders.record_shipment(shop, ref=placed.number)
    back = [
        orders.ReturnLineRequest(2, 1, "wrong_size", exchange_sku="MUG"),
        orders.ReturnLineRequest(1, 1, "damaged"),
    ]
    rma = orders.authorize_return(shop, order_ref=placed.number, lines=back)
    received = orders.receive_return(shop, ref=rma.number, location="EAST")
    # then the cancelled part, the return's lines and the exchange's line carry their order line's code
    with shop:
        changed = OrderEventRow.kind == "order.changed"
        details = shop.session.scalars(
            sa.select(OrderEventRow.detail).where(OrderEventRow.order_id == placed.id, changed)
        ).all()
    assert [d["lines"] for d in details if d.get("change") == "lines_cancelled"] == [
        [{"line": 2, "quantity": 1, "source_code": "G1"}]
    ]
    assert sorted((x.line_no, x.source_code) for x in received.lines) == [(1, "F1"), (2, "G1")]
    assert [(x.line_no, x.source_code) for x in orders.order_returns(shop, order_id=placed.id)[0].lines] == [
        (1, "F1"),
        (2, "G1"),
    ]
    assert received.exchange_order_id is not None
    exchange = orders.get_order(shop, ref=str(received.exchange_order_id))
    assert (exchange.source_code, [(x.sku, x.source_code) for x in exchange.lines]) == ("F1", [("MUG", "G1")])
    # and the returns export says so too
    path = tmp_path / "returns.csv"
    exports.stream_to_file(shop.db, kind="returns", format="csv", filters={}, path=path)
    with path.open(newline="", encoding="utf-8") as handle:
        assert sorted((r["line_no"], r["source_code"]) for r in csv.DictReader(handle)) == [
            ("1", "F1"),
            ("2", "G1"),
        ]
    # and an edit of a pending order keeps a line's code and re-prices it with its own offer
    pending = dataclasses.replace(request, release=False, ship_tos=[ship_to(line1="9 Elm St")])
    kept = orders.place_order(shop, channel=channel(shop, "phone"), request=pending).order
    changes = [
        orders.LineChange(line_no=2, quantity=2),
        orders.LineChange(line_no=None, sku="MUG", quantity=1),
    ]
    edited = orders.edit_order(
        shop, ref=kept.number, expected_version=kept.version, changes=orders.OrderChanges(lines=changes)
    )
    assert [(x.sku, x.quantity, x.unit_price, x.discount, x.source_code) for x in edited.lines] == [
        ("TEE", 2, usd("18.00"), usd("0.00"), "F1"),
        ("MUG", 2, usd("7.00"), usd("1.40"), "G1"),
        ("MUG", 1, usd("10.00"), usd("0.00"), "F1"),
    ]


# --- results per key code: a hand computation -------------------------------------------------------------------


def costed(uow: UnitOfWork, **unit_costs: str) -> None:
    """Receive 20 units of each SKU on a PO at its unit cost: its moving-average cost is exactly that."""
    make_vendor(uow)
    new = [purchasing.NewLine(sku, 20, unit_cost=usd(cost)) for sku, cost in unit_costs.items()]
    po = purchasing.create_purchase_order(uow, vendor="ACME", location="EAST", lines=new)
    purchasing.approve(uow, number=po.number)
    purchasing.send(uow, number=po.number)
    purchasing.receive(
        uow, number=po.number, lines=[purchasing.ReceivedLine(sku=sku, quantity=20) for sku in unit_costs]
    )


def post_everything(uow: UnitOfWork) -> None:
    """The relay delivers every event: finance posts receipts, shipments and returns (and their line costs)."""
    while outbox.dispatch_batch(uow.db.unit_of_work(uow.actor)):
        pass


VOLUME = ("quantity_mailed", "orders", "response_pct", "new_customers", "existing_customers")
MONEY = (
    "gross_demand",
    "cancellations",
    "returns",
    "net_sales",
    "aov",
    "cost",
    "demand_per_book",
    "cost_per_order",
)
MARGIN = ("roi_pct", "cogs", "uncosted_units", "contribution_margin", "margin_roi_pct")
MATCHED = ("matched_orders", "matched_demand", "total_orders", "total_demand", "total_response_pct")


def pick(rows: list[dict[str, Any]], names: tuple[str, ...]) -> list[tuple[Any, ...]]:
    return [tuple(row[name] for name in names) for row in rows]


def test_results_per_key_code_drop_and_campaign_equal_a_hand_computation(shop: UnitOfWork):
    # given one drop of 1,000 books at 0.05 over two codes — A to 600 names (cost 30.00), B to 400 (20.00) — tees
    # costed at 8.00 and mugs at 4.00 by finance (lamps never received on a PO: no cost); retail: tee 20, mug 10,
    # lamp 80
    finance.register()
    try:
        campaign(shop, ("A", 600), ("B", 400))
        costed(shop, TEE="8.00", MUG="4.00")
        post_everything(shop)
        ann, bo, cy, dee = (
            customers.create_customer(shop, details=customers.Details(first_name=n, last_name="Buyer")).number
            for n in ("Ann", "Bo", "Cy", "Dee")
        )
        placed: list[orders.Order] = []

        def place(*lines: orders.LineRequest, code: str | None = None, customer: str | None = None) -> str:
            # each a minute after the last (new vs existing customers go by time), each to its own address
            shop.clock = FixedClock(NOW + timedelta(minutes=len(placed)))
            request = order_request(customer=customer, source_code=code)
            request = dataclasses.replace(
                request, lines=list(lines), ship_tos=[ship_to(line1=f"{len(placed) + 1} Oak St")]
            )
            placed.append(orders.place_order(shop, channel=channel(shop, "phone"), request=request).order)
            assert placed[-1].status == "released", placed[-1].holds
            return placed[-1].number

        # O1: A, Ann's first order; 2 tees (A: 40.00, cost 16.00) and a mug from B's offer (B: 10.00, cost 4.00)
        o1 = place(line("TEE", 2), line("MUG", 1, "B"), code="A", customer=ann)
        orders.record_shipment(shop, ref=o1)
        # O2: B, a guest; a lamp (80.00, shipped with no cost) and a tee (20.00, cost 8.00)
        o2 = place(line("LAMP", 1), line("TEE", 1), code="B")
        orders.record_shipment(shop, ref=o2)
        # O3: A, Bo's first; 3 tees (60.00): one cancelled (20.00), two shipped (16.00), one back (20.00, -8.00)
        o3 = place(line("TEE", 3), code="A", customer=bo)
        orders.cancel_order(shop, ref=o3, reason="asked", lines={1: 1})
        orders.record_shipment(shop, ref=o3)
        rma = orders.authorize_return(
            shop, order_ref=o3, lines=[orders.ReturnLineRequest(1, 1, "changed_mind")]
        )
        orders.receive_return(shop, ref=rma.number, location="EAST")
        # O4: no code at all, Cy (mailed under A): matched back to A (30.00 of demand)
        place(line("TEE", 1), line("MUG", 1), customer=cy)
        # O5: no order code, Dee (mailed under A) keyed a tee with B (20.00, not shipped): keyed, never matched; its
        # un-keyed mug counts nowhere
        place(line("TEE", 1, "B"), line("MUG", 1), customer=dee)
        # O6: A, Ann again (an existing customer); 2 mugs (20.00, cost 8.00)
        o6 = place(line("MUG", 2), code="A", customer=ann)
        orders.record_shipment(shop, ref=o6)
        post_everything(shop)
        # and the mail file as sent: Cy and Dee under A; matchback run over it
        mailed = [
            marketing.MailedName("A", "1 Cedar St", "94105", "US", customer_number=cy),
            marketing.MailedName("A", "2 Cedar St", "94105", "US", customer_number=dee),
        ]
        marketing.import_mail_file(
            shop, code="FALL-D1", in_home_on=date(2026, 10, 1), window_days=60, names=mailed
        )
        matched = marketing.run_matchback(shop, code="FALL-D1")
        # and every event delivered again and replayed: each still posts (and costs its lines) once
        finance.replay_outbox(shop)
    finally:
        finance.unregister()
    # then finance's line costs add up to the ledger's cost of goods: 16 + 4 + 8 + 16 - 8 + 8 = 44.00
    with shop:
        recorded = shop.session.scalar(sa.select(sa.func.sum(LineCostRow.cost_minor)))
    period = finance.list_periods(shop)[-1].code
    ledger = finance.trial_balance(shop, period=period, cumulative=True)
    assert recorded == sum(r.balance.minor for r in ledger.rows if r.account_code == "5000") == 4400
    # when the results are run per code, per drop and per campaign
    by_code = reporting.run_report(shop, name="source_code_results", parameters={"campaign": "fall"}).rows
    by_drop = reporting.run_report(shop, name="drop_results", parameters={}).rows
    by_campaign = reporting.run_report(shop, name="campaign_results", parameters={}).rows
    # then only O4 was looked at and matched (O5 is keyed by its line)
    assert (matched.looked_at, matched.by_customer) == (1, 1)
    # and A: O1, O3, O6 = 3 orders / 600 = 0.50 %, 2 new (Ann's first, Bo's), 1 existing; demand 40 + 60 + 20 =
    # 120; cancelled 20; returned 20; net 40 + (40 - 20) + 20 = 80; AOV 40; $/book 0.20; cost 30, per order 10;
    # ROI (80 - 30) / 30 = 166.7 %; COGS 16 + (16 - 8) + 8 = 32, every unit costed; margin 80 - 32 - 30 = 18,
    # ROI on it 18 / 30 = 60.0 %; O4 matched (30.00); total 4 orders, 150.00, 4 / 600 = 0.67 %
    # B: O1, O2, O5 = 3 orders / 400 = 0.75 %, all new (Ann's first order is new here too, a guest, Dee's first);
    # demand 10 + 80 + 20 + 20 = 130 = net; AOV 43.33; $/book 0.325 -> 0.33; cost 20, per order 6.67; ROI 550.0 %;
    # the lamp shipped with no cost and O5's tee still open: 2 units not costed, so no COGS, margin or its ROI
    assert [r["source_code"] for r in by_code] == ["A", "B"]
    assert pick(by_code, VOLUME) == [(600, 3, Decimal("0.50"), 2, 1), (400, 3, Decimal("0.75"), 3, 0)]
    assert pick(by_code, MONEY) == [
        (usd(120), usd(20), usd(20), usd(80), usd(40), usd(30), usd("0.20"), usd(10)),
        (usd(130), usd(0), usd(0), usd(130), usd("43.33"), usd(20), usd("0.33"), usd("6.67")),
    ]
    assert pick(by_code, MARGIN) == [
        (Decimal("166.7"), usd(32), 0, usd(18), Decimal("60.0")),
        (Decimal("550.0"), None, 2, None, None),
    ]
    assert pick(by_code, MATCHED) == [
        (1, usd(30), 4, usd(150), Decimal("0.67")),
        (0, usd(0), 3, usd(130), Decimal("0.75")),
    ]
    # and the drop (= the campaign): O1 has lines under both codes but is one order: 5 orders / 1,000 = 0.50 %, 4
    # new (O1, O2, O3, O5), 1 existing; demand 250; net 210; AOV 50; $/book 0.25; cost 50, per order 10; ROI 320 %;
    # no COGS (B's 2 units); O4 matched; total 6 orders, 280.00, 0.60 %
    for rows in (by_drop, by_campaign):
        assert pick(rows, VOLUME) == [(1000, 5, Decimal("0.50"), 4, 1)]
        assert pick(rows, MONEY) == [
            (usd(250), usd(20), usd(20), usd(210), usd(50), usd(50), usd("0.25"), usd(10))
        ]
        assert pick(rows, MARGIN) == [(Decimal("320.0"), None, 2, None, None)]
        assert pick(rows, MATCHED) == [(1, usd(30), 6, usd(280), Decimal("0.60"))]
    # and the response curve counts each code's lines in the week since in-home (1 Oct to 2 Nov: week 4)
    curve = reporting.run_report(shop, name="source_code_response_curve", parameters={}).rows
    assert [(r["source_code"], r["week"], r["orders"], r["gross_demand"]) for r in curve] == [
        ("A", 4, 3, usd(120)),
        ("B", 4, 3, usd(130)),
    ]


# --- historical imports and edits carry line codes too ---------------------------------------------------------


def _historical(
    ref: str, *lines: tuple[str, str | None], on: date = date(2026, 10, 15), code: str | None = "F1"
) -> orders.HistoricalOrder:
    return orders.HistoricalOrder(
        external_id=ref,
        placed_at=datetime(on.year, on.month, on.day, 10, tzinfo=UTC),
        lines=[orders.HistoricalLine(sku, 1, usd("9.00"), source_code=code) for sku, code in lines],
        ship_to=ship_to(),
        source_code=code,
    )


def test_a_historical_order_s_line_codes_are_checked_as_intake_checks_them_on_the_day_it_was_placed(
    shop: UnitOfWork,
):
    # given F1 and G1, both valid from their drop's in-home date, 1 October 2026
    campaign(shop, ("F1", 600), ("G1", 400))
    before = (count(shop, OrderRow), count(shop, OrderLineRow))
    for lines, on, reason in (
        ((("TEE", None), ("MUG", "TYPO-NOPE")), date(2026, 10, 15), "is not a source code of any campaign"),
        ((("TEE", None), ("MUG", "g1")), date(2026, 9, 15), "is valid from 2026-10-01"),
    ):
        # when an order from the old system carries a code on its second line the master list refuses that day
        with pytest.raises(ValidationFailed) as refused:
            orders.import_order(shop, channel="web", order=_historical("H-BAD", *lines, on=on, code=None))
        # then it is refused naming that line's field, and nothing is written
        assert [e.field for e in refused.value.errors] == ["lines.1.source_code"]
        assert reason in refused.value.detail
    assert (count(shop, OrderRow), count(shop, OrderLineRow)) == before
    # when the gift book's line is keyed G1 (typed in lower case) and another line has none
    action, order = orders.import_order(
        shop, channel="web", order=_historical("H-1", ("TEE", None), ("MUG", " g1 "), ("TEE", "G1"))
    )
    # then each line keeps the master list's code, never the typed text; an unkeyed line counts under the order's
    assert action == "created"
    assert [(x.source_code, x.own_source_code) for x in order.lines] == [
        ("F1", None),
        ("G1", "G1"),
        ("G1", "G1"),
    ]
    # and a channel that maps unknown codes to its default keys the line with the default
    marketing.set_channel_policy(shop, channel="web", on_unknown="default", default_code="F1")
    _, defaulted = orders.import_order(shop, channel="web", order=_historical("H-2", ("MUG", "TYPO-NOPE")))
    assert [x.own_source_code for x in defaulted.lines] == ["F1"]


def test_a_historical_orders_file_carries_line_codes_and_a_bad_one_refuses_its_order_by_its_cell(
    shop: UnitOfWork, db: Database
):
    from ordersmith.data.imports import service as imports
    from tests.integration.test_data_import_kinds import ACTOR, errors_of, run_jobs, state, upload

    imports.register()
    campaign(shop, ("F1", 600), ("G1", 400))
    head = (
        "order,channel,placed_at,source_code,ship_to_name,ship_to_line1,ship_to_city,ship_to_country,sku,quantity,"
        "unit_price,line_source_code\n"
    )
    # when a file's second order has a line keyed with a typo
    bad = upload(
        db,
        "orders",
        head + "W-1,web,2026-10-15T10:00:00Z,F1,Ann,1 Main St,Portland,US,TEE,1,18.00,\n"
        "W-1,web,,,,,,,MUG,1,7.00,g1\n"
        "W-2,web,2026-10-16T10:00:00Z,,Bo,2 Elm St,Bath,US,MUG,1,10.00,\n"
        "W-2,web,,,,,,,TEE,1,20.00,TYPO-NOPE\n",
        apply=True,
    )
    run_jobs(db)
    # then the refusal names the cell, that order is refused whole and (all or nothing) nothing is written
    assert errors_of(db, bad) == [
        (4, "row", "order W-2 is refused: see row 5"),
        (5, "line_source_code", "source code 'TYPO-NOPE' is not a source code of any campaign"),
    ]
    assert (state(db, bad).status, count(shop, OrderRow)) == ("validated", 0)
    # when the file is fixed, then each line keeps its master-list code
    good = upload(
        db,
        "orders",
        head + "W-1,web,2026-10-15T10:00:00Z,F1,Ann,1 Main St,Portland,US,TEE,1,18.00,\n"
        "W-1,web,,,,,,,MUG,1,7.00,g1\n",
        apply=True,
    )
    run_jobs(db)
    assert state(db, good).status == "applied", errors_of(db, good)
    found = orders.find_channel_order(db.unit_of_work(ACTOR), channel="web", external_id="W-1")
    assert found is not None
    assert [(x.sku, x.source_code, x.own_source_code) for x in found.lines] == [
        ("TEE", "F1", None),
        ("MUG", "G1", "G1"),
    ]


def test_a_line_added_by_an_edit_carries_its_code_priced_with_its_offer_and_a_bad_one_changes_nothing(
    shop: UnitOfWork,
):
    # given an order keyed F1 (tees at 18), kept pending so it can be edited, and the gift book's G1
    gift_book(shop)
    request = dataclasses.replace(order_request(("TEE", 1), source_code="F1"), release=False)
    placed = orders.place_order(shop, channel=channel(shop, "phone"), request=request).order

    def state() -> tuple[Any, ...]:
        found = orders.get_order(shop, ref=placed.number)
        return found.version, found.total, [(x.sku, x.quantity, x.own_source_code) for x in found.lines]

    before = state()
    for change, field, reason in (
        (orders.LineChange(line_no=None, sku="MUG", quantity=1, source_code="TYPO-NOPE"), "lines.0.source_code",
         "is not a source code of any campaign"),
        (orders.LineChange(line_no=1, quantity=2, source_code="G1"), "lines.0.source_code",
         "a line keeps its code"),
    ):  # fmt: skip
        # when an edit adds a line with an unknown code, or re-keys an existing line
        with pytest.raises(ValidationFailed) as refused:
            orders.edit_order(
                shop,
                ref=placed.number,
                changes=orders.OrderChanges(lines=[change]),
                expected_version=before[0],
            )
        # then it is refused naming the field, and the order is as it was
        assert [e.field for e in refused.value.errors] == [field] and reason in refused.value.detail
        assert state() == before
    # when the customer adds a mug from the gift book, quoting G1
    edited = orders.edit_order(
        shop,
        ref=placed.number,
        changes=orders.OrderChanges(
            lines=[orders.LineChange(line_no=None, sku="MUG", quantity=1, source_code="g1")]
        ),
        expected_version=before[0],
    )
    # then the new line keeps G1 and is priced with the gift book (7.00 less 10 %), the tee still the fall book's
    seen = [
        (x.sku, x.unit_price, x.price_list, x.discount, x.source_code, x.own_source_code)
        for x in edited.lines
    ]
    assert seen == [
        ("TEE", usd("18.00"), "FALLBOOK", usd("0.00"), "F1", None),
        ("MUG", usd("7.00"), "GIFTBOOK", usd("0.70"), "G1", "G1"),
    ]
    # and a later edit of its quantity keeps its code and its offer
    again = orders.edit_order(
        shop,
        ref=placed.number,
        changes=orders.OrderChanges(lines=[orders.LineChange(line_no=2, quantity=2, source_code="G1")]),
        expected_version=edited.version,
    )
    assert [(x.quantity, x.unit_price, x.own_source_code) for x in again.lines] == [
        (1, usd("18.00"), None),
        (2, usd("7.00"), "G1"),
    ]

"""Marketing against real SQLite and PostgreSQL: campaigns, drops and the master list of source codes with their
refusals (nothing changed); an order's code checked at capture (refused, or mapped to its channel's default, never
stored as typed); the code's offer pricing the order through the one checkout path; customers' original and last
codes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ordersmith.customers import service as customers
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import AlreadyExists, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.marketing import service as marketing
from ordersmith.marketing.tables import SourceCodeRow
from ordersmith.orders import service as orders
from ordersmith.orders.tables import OrderRow
from ordersmith.payments import service as payments
from ordersmith.platform.db import UnitOfWork
from ordersmith.pricing import service as pricing
from ordersmith.reporting import service as reporting
from tests.builders import channel, make_order_shop, make_source_code, order_request, place_paid, ship_to


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


@pytest.fixture
def shop(uow: UnitOfWork) -> UnitOfWork:
    make_order_shop(uow)
    return uow


def count(uow: UnitOfWork, table: type) -> int:
    with uow:
        return int(uow.session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


def catalog_offer(uow: UnitOfWork) -> None:
    """The fall book's printed prices (a list only its codes bring in) and 10% off for its best customers."""
    pricing.create_price_list(
        uow,
        code="FALLBOOK",
        name="Fall book",
        currency="USD",
        priority=-5,
        offer_only=True,
        prices=[pricing.PriceEntry("TEE", usd("18.00"))],
    )
    pricing.create_promotion(
        uow,
        promotion=pricing.PromotionInput(
            code="BEST10",
            name="10% for best customers",
            kind="percent_off_items",
            percent=Decimal(10),
            coupon_required=True,
        ),
    )


def test_a_campaign_with_drops_and_its_key_codes_is_the_master_list(uow: UnitOfWork):
    # given a catalog campaign with two drops
    campaign = marketing.create_campaign(
        uow,
        code="fall26",
        name="Fall 2026 book",
        kind="catalog",
        currency="USD",
        drops=[
            marketing.NewDrop("d1", date(2026, 9, 1), 50_000, usd("0.62"), "A"),
            marketing.NewDrop("d2", date(2026, 10, 6), 20_000, usd("0.58"), "B"),
        ],
    )
    # when a key code is made per list of the first drop
    house = marketing.create_source_code(
        uow,
        code="f26h1",
        campaign="FALL26",
        drop="D1",
        segment="house 0-12m",
        quantity_mailed=30_000,
        ends_on=date(2027, 1, 31),
        expected_response_pct=Decimal("3.5"),
    )
    rented = marketing.create_source_code(
        uow, code="F26R1", campaign="FALL26", drop="D1", segment="rented list", quantity_mailed=20_000
    )
    # then the campaign keeps its drops by in-home date, with their cost, and codes are upper-case, valid from the
    # drop's in-home date
    assert [(d.code, d.quantity_mailed, d.cost) for d in campaign.drops] == [
        ("D1", 50_000, usd("31000.00")),
        ("D2", 20_000, usd("11600.00")),
    ]
    assert (house.code, house.starts_on, house.ends_on, house.in_home_on) == (
        "F26H1",
        date(2026, 9, 1),
        date(2027, 1, 31),
        date(2026, 9, 1),
    )
    assert [c.code for c in marketing.list_source_codes(uow, campaign="fall26").items] == ["F26H1", "F26R1"]
    assert rented.ends_on is None
    # and a code is switched off, then ended
    changed = marketing.update_source_code(
        uow, code="F26R1", version=1, active=False, ends_on=date(2026, 12, 1)
    )
    assert (changed.active, changed.ends_on, changed.version) == (False, date(2026, 12, 1), 2)


def test_bad_codes_are_refused_naming_the_field_and_nothing_changes(shop: UnitOfWork):
    # given a drop of 1,000 pieces with one code of 1,000
    make_source_code(shop, "F26H1", quantity_mailed=1000)
    before = count(shop, SourceCodeRow)
    bad = [
        ({"quantity_mailed": 1}, "quantity_mailed"),  # the drop has no piece left
        ({"price_list": "NOPE"}, "price_list"),
        ({"promotions": ["NOPE"]}, "promotions.0"),
        ({"starts_on": date(2026, 9, 1), "ends_on": date(2026, 8, 1)}, "ends_on"),
    ]
    for fields, field in bad:
        with pytest.raises(ValidationFailed) as refused:
            marketing.create_source_code(shop, code="F26X", campaign="FALL", drop="D1", segment="x", **fields)
        assert [e.field for e in refused.value.errors] == [field]
    with pytest.raises(AlreadyExists):
        marketing.create_source_code(shop, code="f26h1", campaign="FALL", drop="D1", segment="again")
    assert count(shop, SourceCodeRow) == before


def test_an_unknown_or_expired_code_on_an_order_is_refused_and_nothing_changes(shop: UnitOfWork):
    # given one expired code
    make_source_code(shop, "SPRING21", ends_on=date(2021, 6, 30))
    on_hand = inventory.get_availability(shop, sku="TEE").available
    for code, reason in (("TYPO-NOPE", "is not a source code"), ("spring21", "expired on 2021-06-30")):
        # when an order comes with it
        with pytest.raises(ValidationFailed) as refused:
            orders.place_order(
                shop, channel=channel(shop), request=order_request(("TEE", 1), source_code=code)
            )
        # then it is refused naming the field, and no order, stock or customer moved
        assert [e.field for e in refused.value.errors] == ["source_code"]
        assert reason in refused.value.detail
    assert count(shop, OrderRow) == 0
    assert inventory.get_availability(shop, sku="TEE").available == on_hand


def test_a_channel_maps_unknown_codes_to_its_default_and_never_keeps_the_typed_text(shop: UnitOfWork):
    # given the web channel keys unknown codes to its own default; the phone channel refuses them
    make_source_code(shop, "WEBDEFAULT", campaign="WEB")
    marketing.set_channel_policy(shop, channel="web", on_unknown="default", default_code="webdefault")
    # when each takes an order with a typo
    placed = orders.place_order(
        shop, channel=channel(shop), request=order_request(("TEE", 1), source_code="TYPO-NOPE")
    ).order
    with pytest.raises(ValidationFailed):
        orders.place_order(
            shop, channel=channel(shop, "phone"), request=order_request(("TEE", 1), source_code="x")
        )
    # then the web order keeps the default, and nothing anywhere keeps the typo
    assert placed.source_code == "WEBDEFAULT"
    with shop:
        assert shop.session.scalar(sa.select(sa.func.count()).where(OrderRow.source_code == "TYPO-NOPE")) == 0
    assert [(p.channel, p.default_code) for p in marketing.list_channel_policies(shop)] == [
        ("web", "WEBDEFAULT")
    ]
    with pytest.raises(ValidationFailed) as refused:
        marketing.set_channel_policy(shop, channel="phone", on_unknown="default")
    assert [e.field for e in refused.value.errors] == ["default_code"]


def test_the_code_offer_prices_the_order_through_checkout_and_keys_the_customer(
    shop: UnitOfWork, db, settings
):
    payments.setup_payments(db, settings)
    # given a code whose offer is the fall book's prices and 10% off, and a customer who came in under another code
    catalog_offer(shop)
    make_source_code(shop, "F26H1", price_list="FALLBOOK", promotions=("BEST10",))
    make_source_code(shop, "OLD", campaign="SPRING")
    buyer = customers.create_customer(
        shop, details=customers.Details(first_name="Ann", last_name="Lee"), source_code="OLD"
    )
    # when the customer orders two tees with the code through checkout, and someone orders without a code
    keyed = place_paid(
        shop,
        channel=channel(shop, "phone"),
        request=order_request(("TEE", 2), ("MUG", 1), source_code="f26h1", customer=buyer.number),
    )
    plain = place_paid(shop, channel=channel(shop, "phone"), request=order_request(("TEE", 2), ("MUG", 1)))
    # then the keyed order is priced by the book (tee 18.00; the mug, which the book does not price, from the
    # retail list) less 10%; the other at retail with no discount
    assert keyed.order.source_code == "F26H1"
    assert [(line.sku, line.unit_price) for line in keyed.order.lines] == [
        ("TEE", usd("18.00")),
        ("MUG", usd("10.00")),
    ]
    assert (keyed.order.merchandise, keyed.order.discounts) == (usd("46.00"), usd("4.60"))
    assert (plain.order.merchandise, plain.order.discounts, plain.order.source_code) == (
        usd("50.00"),
        usd("0.00"),
        None,
    )
    # and the customer keeps their original code and gets this one as their last
    found = customers.get_customer(shop, ref=buyer.number)
    assert (found.source_code, found.last_source_code) == ("OLD", "F26H1")


def test_results_per_key_code_drop_and_campaign_equal_a_hand_computation(shop: UnitOfWork):
    # given one drop of 1,000 books at 0.50 (500.00) split over two codes: A to 600 names, B to 400
    marketing.create_campaign(
        shop,
        code="FALL",
        name="Fall book",
        kind="catalog",
        currency="USD",
        drops=[marketing.NewDrop("D1", date(2020, 9, 1), 1000, usd("0.50"), "cover A")],
    )
    for code, quantity in (("A", 600), ("B", 400)):
        marketing.create_source_code(
            shop, code=code, campaign="FALL", drop="D1", segment=code, quantity_mailed=quantity
        )
    ann = customers.create_customer(shop, details=customers.Details(first_name="Ann", last_name="Lee"))
    bo = customers.create_customer(shop, details=customers.Details(first_name="Bo", last_name="Ray"))

    def place(*lines: tuple[str, int], code: str | None = None, customer: str | None = None) -> orders.Order:
        # each to its own address: five orders to one address in a minute would be held as a fraud risk
        street = f"{len(placed) + 1} Market St"
        request = order_request(*lines, source_code=code, customer=customer, ship_tos=[ship_to(line1=street)])
        placed.append(orders.place_order(shop, channel=channel(shop), request=request).order)
        assert placed[-1].status != "on_hold", placed[-1].holds
        return placed[-1]

    placed: list[orders.Order] = []

    place(("TEE", 1), customer=ann.number)  # Ann's earlier order, un-keyed: not counted
    place(("TEE", 2), code="A", customer=ann.number)  # A, existing customer: 40.00
    cut = place(("TEE", 3), ("MUG", 1), code="a", customer=bo.number)  # A, new customer: 70.00
    orders.cancel_order(shop, ref=cut.number, reason="customer asked", lines={1: 1})  # 20.00 cancelled
    back = place(("MUG", 2), code="A")  # A, a guest: 20.00
    orders.record_shipment(shop, ref=back.number)
    rma = orders.authorize_return(
        shop, order_ref=back.number, lines=[orders.ReturnLineRequest(1, 1, "wrong_size")]
    )
    orders.receive_return(shop, ref=rma.number, location="EAST")  # 10.00 returned
    place(("LAMP", 1), code="B")  # B, a guest: 80.00
    # when the results are run per code, per drop and per campaign
    figures = (
        "orders",
        "response_pct",
        "new_customers",
        "existing_customers",
        "gross_demand",
        "cancellations",
        "returns",
        "net_sales",
        "aov",
        "cost",
        "demand_per_book",
        "cost_per_order",
        "roi_pct",
    )
    by_code = reporting.run_report(shop, name="source_code_results", parameters={"campaign": "fall"}).rows
    by_drop = reporting.run_report(shop, name="drop_results", parameters={}).rows
    by_campaign = reporting.run_report(shop, name="campaign_results", parameters={}).rows
    # then each equals the sums and ratios worked out by hand
    assert [tuple(r[f] for f in ("source_code", *figures)) for r in by_code] == [
        # A: 3 orders / 600 = 0.50 %; net 40 + (70 - 20) + (20 - 10) = 100; AOV 130 / 3; $/book 130 / 600;
        # cost 600 x 0.50 = 300, per order 100; ROI (100 - 300) / 300 = -66.7 %
        (
            "A",
            3,
            Decimal("0.50"),
            2,
            1,
            usd("130.00"),
            usd("20.00"),
            usd("10.00"),
            usd("100.00"),
            usd("43.33"),
            usd("300.00"),
            usd("0.22"),
            usd("100.00"),
            Decimal("-66.7"),
        ),
        # B: 1 / 400 = 0.25 %; 80 per book 0.20; cost 200; ROI (80 - 200) / 200 = -60.0 %
        (
            "B",
            1,
            Decimal("0.25"),
            1,
            0,
            usd("80.00"),
            usd("0.00"),
            usd("0.00"),
            usd("80.00"),
            usd("80.00"),
            usd("200.00"),
            usd("0.20"),
            usd("200.00"),
            Decimal("-60.0"),
        ),
    ]
    whole = (
        4,
        Decimal("0.40"),
        3,
        1,
        usd("210.00"),
        usd("20.00"),
        usd("10.00"),
        usd("180.00"),
        usd("52.50"),
        usd("500.00"),
        usd("0.21"),
        usd("125.00"),
        Decimal("-64.0"),
    )  # ROI (180 - 500) / 500
    assert [tuple(r[f] for f in figures) for r in by_drop] == [whole]
    assert [tuple(r[f] for f in figures) for r in by_campaign] == [whole]
    # and every order (placed years after the 2020 in-home date) falls in the same week since in-home
    curve = reporting.run_report(shop, name="source_code_response_curve", parameters={}).rows
    weeks = (datetime.now(UTC).date() - date(2020, 9, 1)).days // 7
    assert [(r["source_code"], r["week"], r["orders"], r["gross_demand"]) for r in curve] == [
        ("A", weeks, 3, usd("130.00")),
        ("B", weeks, 1, usd("80.00")),
    ]


def test_rfm_scores_each_buyer_by_quintile_and_counts_the_cells(shop: UnitOfWork):
    # given five buyers whose recency, frequency and spend rank differently (prices: tee 20, mug 10, lamp 80)
    def buyer(name: str) -> str:
        return customers.create_customer(
            shop, details=customers.Details(first_name=name, last_name="Buyer")
        ).number

    def place(number: str | None, day: int, *lines: tuple[str, int]) -> orders.Order:
        at = datetime(2026, 3, day, 10, tzinfo=UTC)
        request = order_request(
            *lines, customer=number, placed_at=at, ship_tos=[ship_to(line1=f"{day} Elm St")]
        )
        return orders.place_order(shop, channel=channel(shop, "phone"), request=request).order

    a, b, c, d, e = (buyer(n) for n in ("Ann", "Bo", "Cy", "Di", "Ed"))
    for day in (1, 1, 1):
        place(a, day, ("MUG", 1))  # A: last on the 1st, 3 orders, 30.00
    place(b, 3, ("LAMP", 2))  # B: the 3rd, 1 order, 160.00
    for day in (2, 4):
        place(c, day, ("TEE", 1))  # C: the 4th, 2 orders, 40.00
    for day in (1, 2, 3, 4, 5):
        place(d, day, ("MUG", 1))  # D: the 5th, 5 orders, 50.00
    for day in (3, 4, 5, 6):
        place(e, day, ("TEE", 1))  # E: the 6th, 4 orders, 80.00
    cancelled = place(a, 7, ("LAMP", 1))  # left out: cancelled
    orders.cancel_order(shop, ref=cancelled.number, reason="changed mind")
    place(None, 8, ("LAMP", 1))  # left out: a guest
    place(e, 9, ("LAMP", 1))  # left out: after as_of
    # when they are scored as of the 8th
    asked = {"as_of": "2026-03-08"}
    cells = reporting.run_report(shop, name="rfm_cells", parameters=asked).rows
    scores = reporting.run_report(shop, name="rfm_customers", parameters=asked).rows
    # then R ranks the last order (A 1 … E 5), F the orders (B 1, C 2, A 3, E 4, D 5), M the spend (A 1, C 2, D 3,
    # E 4, B 5): one customer per cell, best cell first
    assert [(r["customer"], r["cell"], r["orders"], r["spent"]) for r in scores] == [
        (e, "544", 4, usd("80.00")),
        (d, "453", 5, usd("50.00")),
        (c, "322", 2, usd("40.00")),
        (b, "215", 1, usd("160.00")),
        (a, "131", 3, usd("30.00")),
    ]
    assert [(r["cell"], r["customers"], r["average_spent"]) for r in cells] == [
        ("544", 1, usd("80.00")),
        ("453", 1, usd("50.00")),
        ("322", 1, usd("40.00")),
        ("215", 1, usd("160.00")),
        ("131", 1, usd("30.00")),
    ]


def test_an_imported_historical_order_keeps_a_code_valid_on_the_day_it_was_placed(shop: UnitOfWork):
    # given a code valid through 2021 only
    make_source_code(shop, "SPRING21", in_home_on=date(2021, 3, 1), ends_on=date(2021, 12, 31))

    def history(number: str, day: date, code: str) -> orders.HistoricalOrder:
        return orders.HistoricalOrder(
            external_id=number,
            placed_at=datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
            lines=[orders.HistoricalLine("TEE", 1, usd("20.00"))],
            ship_to=ship_to(),
            source_code=code,
        )

    # when an order of 2021 comes with it, and one of 2022 (expired by then) and one with a typo
    kept = orders.import_order(shop, channel="web", order=history("OLD-1", date(2021, 6, 1), "spring21"))[1]
    for number, day, code in (
        ("OLD-2", date(2022, 6, 1), "SPRING21"),
        ("OLD-3", date(2021, 6, 1), "SPRNG21"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            orders.import_order(shop, channel="web", order=history(number, day, code))
        assert [e.field for e in refused.value.errors] == ["source_code"]
    # then only the first is written, with the code as listed
    assert kept.source_code == "SPRING21"
    assert count(shop, OrderRow) == 1

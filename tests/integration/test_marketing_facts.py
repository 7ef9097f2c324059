"""Stored purchase facts against real SQLite and PostgreSQL (ADR 0037): kept by the order and customer events through
the outbox relay (placed, imported, cancelled whole or in part, returned, exchanged, merged, anonymized) with the
same rows however often an event arrives; the scoring run gives the scores the live definition gives; segment counts
over the facts equal the live definition's on fixed data, before and after cancellations and returns."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from ordersmith.catalog import service as catalog
from ordersmith.catalog import styles
from ordersmith.customers import service as customers
from ordersmith.kernel.clock import FixedClock
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.marketing import service as marketing
from ordersmith.marketing.fact_tables import (
    CustomerFactRow,
    CustomerItemRow,
    CustomerPurchaseRow,
    CustomerStyleRow,
    RfmScoringRow,
)
from ordersmith.marketing.service import _reads, segments
from ordersmith.marketing.service import facts as facts_service
from ordersmith.marketing.service.segments import count_statement, member_condition
from ordersmith.orders import jobs as order_jobs
from ordersmith.orders import service as orders
from ordersmith.platform import jobs, migrate, outbox, sales_channels
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.tables import JobRow, OutboxRow
from ordersmith.reporting import service as reporting
from tests.builders import channel, make_order_shop, order_request, ship_to
from tests.integration.test_marketing_lists import add_customer

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)  # counts and scores read after the orders placed at NOW


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


@pytest.fixture
def shop(uow: UnitOfWork) -> UnitOfWork:
    uow.clock = FixedClock(NOW)
    make_order_shop(uow)
    for code, parent in (("APPAREL", None), ("TOPS", "APPAREL"), ("HOME", None), ("KITCHEN", "HOME"),
                         ("LIGHTING", "HOME")):  # fmt: skip
        catalog.create_category(uow, code=code, name=code.title(), parent=parent)
    styles.create_style(
        uow,
        code="POLO",
        name="Polo",
        axes=[("size", ["S", "M"])],
        divisions=["web", "catalog"],
        category="TOPS",
    )
    for sku, category in (("TEE", "TOPS"), ("MUG", "KITCHEN"), ("LAMP", "LIGHTING")):
        catalog.set_item_category(uow, sku=sku, category=category)
    sales_channels.create_sales_channel(
        uow, code="eu", name="EU web", kind="web", division="web", currency="EUR", bills_later=True
    )
    order_jobs.register()  # orders follow a merged customer
    marketing.register()
    return uow


def relay(db: Database, uow: UnitOfWork) -> None:
    while outbox.dispatch_batch(db.unit_of_work(uow.actor, clock=uow.clock)):
        pass


def history(
    uow: UnitOfWork,
    ref: str,
    customer: str,
    days_ago: int,
    *lines: tuple[str, int, str],
    on: str = "web",
    status: str = "completed",
) -> orders.Order:
    order = orders.HistoricalOrder(
        external_id=ref,
        placed_at=NOW - timedelta(days=days_ago, minutes=len(ref)),
        lines=[
            orders.HistoricalLine(sku, quantity, Money(Decimal(price), "EUR" if on == "eu" else "USD"))
            for sku, quantity, price in lines
        ],
        ship_to=ship_to(),
        customer=customer,
        status=status,
    )
    return orders.import_order(uow, channel=on, order=order)[1]


def rows(uow: UnitOfWork) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored fact, without the moment it was written."""
    with uow:
        tables = {"facts": CustomerFactRow, "purchases": CustomerPurchaseRow, "styles": CustomerStyleRow,
                  "items": CustomerItemRow}  # fmt: skip
        found = {}
        for name, table in tables.items():
            columns = [c for c in table.__table__.columns if c.name != "updated_at"]
            found[name] = sorted(tuple(r) for r in uow.session.execute(sa.select(*columns)))
        return found


def test_facts_follow_orders_placed_cancelled_and_returned_and_a_second_delivery_changes_nothing(
    shop: UnitOfWork, db: Database
):
    # given Ann, who bought a polo on the web 100 days ago, then places two phone orders (catalog division)
    ann = add_customer(shop, "Ann Buyer", tag="F")
    history(shop, "H-1", ann, 100, ("POLO-S", 1, "30.00"))
    first = orders.place_order(
        shop, channel=channel(shop, "phone"), request=order_request(("TEE", 2), customer=ann)
    ).order
    second = orders.place_order(
        shop, channel=channel(shop, "phone"), request=order_request(("MUG", 1), customer=ann)
    ).order
    # when the relay hands the events on
    relay(db, shop)
    # then her facts are those three orders
    found = marketing.get_purchase_facts(shop, customer_number=ann)
    [dollars] = found.currencies
    assert (dollars.orders, dollars.monetary, dollars.returned, dollars.lifetime_value) == (
        3, usd("80.00"), usd("0.00"), usd("80.00"),
    )  # fmt: skip
    assert (dollars.first_order_at, dollars.last_order_at) == (NOW - timedelta(days=100, minutes=3), NOW)
    assert (found.orders, found.divisions, found.styles) == (3, ["catalog", "web"], 1)
    # when the mug order is cancelled, then her facts lose it
    orders.cancel_order(shop, ref=second.number, reason="changed mind")
    relay(db, shop)
    found = marketing.get_purchase_facts(shop, customer_number=ann)
    assert (found.currencies[0].orders, found.currencies[0].monetary) == (2, usd("70.00"))
    assert (found.orders, found.divisions) == (2, ["catalog", "web"])
    # when one of the two tees comes back, then the returned value lowers her lifetime value, not what she spent
    orders.record_shipment(shop, ref=first.number)
    rma = orders.authorize_return(
        shop, order_ref=first.number, lines=[orders.ReturnLineRequest(1, 1, "changed_mind")]
    )
    orders.receive_return(shop, ref=rma.number, location="EAST")
    relay(db, shop)
    [dollars] = marketing.get_purchase_facts(shop, customer_number=ann).currencies
    assert (dollars.orders, dollars.monetary, dollars.returned, dollars.lifetime_value) == (
        2, usd("70.00"), usd("20.00"), usd("50.00"),
    )  # fmt: skip
    # when every one of those events is delivered again, twice (a redelivery, a replay, a second worker)
    before = rows(shop)
    with shop:
        events = [
            outbox.to_event(r) for r in shop.session.scalars(sa.select(OutboxRow).order_by(OutboxRow.id))
        ]
    assert {e.type for e in events} >= {
        "order.placed",
        "order.imported",
        "order.cancelled",
        "return.received",
    }
    for _ in range(2):
        with shop:
            facts_service.on_events(shop, events)
    # then the facts are exactly what they were
    assert rows(shop) == before


def test_an_exchange_counts_as_a_purchase_but_not_for_rfm_and_currencies_are_kept_apart(
    shop: UnitOfWork, db: Database
):
    # given Bo, who bought a tee and exchanged it for a mug, and who also bought in euros
    bo = add_customer(shop, "Bo Buyer", tag="F")
    order = orders.place_order(
        shop, channel=channel(shop), request=order_request(("TEE", 1), customer=bo)
    ).order
    orders.record_shipment(shop, ref=order.number)
    rma = orders.authorize_return(
        shop, order_ref=order.number, lines=[orders.ReturnLineRequest(1, 1, "wrong_size", exchange_sku="MUG")]
    )
    orders.receive_return(shop, ref=rma.number, location="EAST")
    history(shop, "EU-1", bo, 10, ("TEE", 2, "15.00"), on="eu")
    # when the relay hands the events on
    relay(db, shop)
    # then the exchange order is a web order for the division facts, but RFM counts the original order only
    found = marketing.get_purchase_facts(shop, customer_number=bo)
    assert [(c.currency, c.orders, c.monetary.amount) for c in found.currencies] == [
        ("EUR", 1, Decimal("30.00")),
        ("USD", 1, Decimal("20.00")),
    ]
    assert (found.orders, found.divisions) == (3, ["web"])  # the tee, its exchange, the euro order
    assert found.currencies[1].returned == usd("20.00")


def test_a_merged_customer_s_facts_move_to_the_survivor_and_an_anonymized_one_has_none(
    shop: UnitOfWork, db: Database
):
    # given two records of one person, each with an order, and another buyer
    keep = customers.create_customer(shop, details=customers.Details(first_name="Cy", last_name="One"))
    gone = customers.create_customer(shop, details=customers.Details(first_name="Cy", last_name="Two"))
    other = add_customer(shop, "Di Other", tag="F")
    history(shop, "K-1", keep.number, 40, ("TEE", 1, "20.00"))
    history(shop, "G-1", gone.number, 20, ("LAMP", 1, "80.00"), on="phone")
    history(shop, "O-1", other, 5, ("MUG", 1, "10.00"))
    relay(db, shop)
    # when they are merged, and the other buyer asks to be forgotten
    customers.merge_customers(shop, survivor=keep.number, merged=gone.number)
    customers.anonymize_customer(shop, ref=other, reason="asked")
    relay(db, shop)
    # then the survivor holds both orders, and neither the merged record nor the anonymized one has facts
    found = marketing.get_purchase_facts(shop, customer_number=keep.number)
    assert (found.currencies[0].orders, found.currencies[0].monetary, found.divisions) == (
        2, usd("100.00"), ["catalog", "web"],
    )  # fmt: skip
    for number in (gone.number, other):
        with pytest.raises(NotFound):
            marketing.get_purchase_facts(shop, customer_number=number)
    assert [f[0] for f in rows(shop)["facts"]] == [keep.id]


# --- stored equals live ---------------------------------------------------------------------------------------------

SKUS = (("TEE", "20.00"), ("MUG", "10.00"), ("LAMP", "80.00"), ("POLO-S", "30.00"), ("POLO-M", "35.00"))
ON = ("web", "phone", "store-1", "mail")


def _population(uow: UnitOfWork, seed: int = 37) -> tuple[list[str], list[orders.Order]]:
    """Forty customers with 0 to 6 imported orders each over two years (some cancelled, a few in euros) and a few
    placed today; returns the customers and the placed orders."""
    rng = random.Random(seed)
    numbers = [add_customer(uow, f"Pat N{n}", tag="EQ", line1=f"{n} Birch Ave") for n in range(40)]
    for n, number in enumerate(numbers):
        for k in range(rng.choice((0, 1, 1, 2, 3, 6))):
            lines = [(sku, rng.randint(1, 3), price) for sku, price in rng.sample(SKUS, rng.randint(1, 2))]
            status = "cancelled" if rng.random() < 0.12 else "completed"
            on = "eu" if rng.random() < 0.08 else rng.choice(ON)
            history(uow, f"P{n}-{k}", number, rng.randint(1, 700), *lines, on=on, status=status)
    placed = [
        orders.place_order(
            uow, channel=channel(uow, "phone"), request=order_request(*lines, customer=numbers[n])
        ).order
        for n, lines in (
            (0, [("TEE", 2), ("MUG", 1)]),
            (1, [("MUG", 3)]),
            (2, [("TEE", 1)]),
            (5, [("LAMP", 1)]),
        )
    ]
    return numbers, placed


def _trees() -> list[dict[str, Any]]:
    def leaf(field: str, op: str, value: Any) -> dict[str, Any]:
        return {"field": field, "op": op, "value": value}

    trees = [leaf(m, "in", [s]) for m in ("recency", "frequency", "monetary") for s in range(1, 6)]
    trees += [
        leaf("rfm_cell", "in", ["555", "554", "545", "455", "111", "311", "135"]),
        leaf("recency", "gte", 4),
        {"any": [leaf("recency", "gte", 4), leaf("frequency", "gte", 4)]},
        {"all": [leaf("monetary", "lte", 2), leaf("recency", "gte", 3)]},
        {"not": leaf("frequency", "gte", 3)},
        leaf("purchased_division", "in", ["catalog"]),
        leaf("purchased_division", "in", ["store", "web"]),
        leaf("purchased_style", "in", ["POLO"]),
        {"not": leaf("purchased_style", "in", ["POLO"])},
        leaf("purchased_item", "in", ["lamp", "MUG"]),
        leaf("purchased_category", "in", ["apparel"]),
        leaf("purchased_category", "in", ["TOPS", "KITCHEN"]),
        leaf("purchased_category", "in", ["HOME"]),
        {"not": leaf("purchased_category", "in", ["LIGHTING"])},
        {"all": [leaf("purchased_category", "in", ["HOME"]), leaf("purchased_style", "in", ["POLO"])]},
        {"any": [leaf("purchased_category", "in", ["KITCHEN"]), leaf("recency", "gte", 4)]},
        leaf("last_order", "within_days", 90),
        leaf("last_order", "not_within_days", 365),
        leaf("last_order", "before", "2026-01-01"),
        leaf("last_order", "on_or_after", "2026-06-01"),
        {
            "all": [
                leaf("purchased_division", "in", ["catalog", "web"]),
                {"any": [leaf("rfm_cell", "in", ["555", "455"]), leaf("monetary", "gte", 4)]},
                {"not": leaf("last_order", "within_days", 30)},
            ]
        },
        {"any": [leaf("purchased_item", "in", ["TEE"]), {"not": leaf("recency", "in", [1, 2])}]},
    ]
    return [{"all": [leaf("original_source_code", "in", ["EQ"]), tree]} for tree in trees]


def _stored_and_live(uow: UnitOfWork) -> list[tuple[int, int]]:
    return [
        (marketing.count_rules(uow, rules=tree), marketing.count_rules(uow, rules=tree, live=True))
        for tree in _trees()
    ]


def _scores_match_the_rfm_report(uow: UnitOfWork, numbers: list[str]) -> None:
    """The stored scores equal the report's computed from the orders (asked a day later, as of LATER's day: a past
    day, so the report scores from the orders, not from the stored facts)."""
    asked = {"as_of": LATER.date().isoformat(), "limit": "5000"}
    clock, uow.clock = uow.clock, FixedClock(LATER + timedelta(days=1))
    try:
        report = {
            r["customer"]: (r["recency"], r["frequency"], r["monetary"])
            for r in reporting.run_report(uow, name="rfm_customers", parameters=asked).rows
        }
    finally:
        uow.clock = clock
    stored = {}
    for number in numbers:
        dollars = [
            c
            for c in marketing.get_purchase_facts(uow, customer_number=number).currencies
            if c.currency == "USD"
        ]
        if dollars:
            stored[number] = (dollars[0].recency, dollars[0].frequency, dollars[0].monetary_score)
    assert stored == report


def test_the_scoring_run_and_segment_counts_over_the_facts_equal_the_live_definition(
    shop: UnitOfWork, db: Database
):
    # given forty customers' two years of orders, kept by the relay, and the scoring run
    numbers, placed = _population(shop)
    relay(db, shop)
    shop.clock = FixedClock(LATER)
    scored = marketing.score_rfm(shop)
    # then every buyer's scores are the RFM report's, and every segment counts what the live definition counts
    assert set(scored) == {"EUR", "USD"} and scored["USD"] == len(reporting.run_report(
        shop, name="rfm_customers", parameters={"as_of": LATER.date().isoformat(), "limit": "5000"}).rows)  # fmt: skip
    _scores_match_the_rfm_report(shop, numbers)
    counts = _stored_and_live(shop)
    assert [stored for stored, _ in counts] == [live for _, live in counts]
    assert sum(1 for stored, _ in counts if stored) > len(counts) // 2  # the trees do select people
    # when orders are cancelled (whole and in part), returned and exchanged, and the relay and the run follow
    shop.clock = FixedClock(NOW)
    orders.cancel_order(shop, ref=placed[0].number, reason="late", lines={1: 1})
    orders.cancel_order(shop, ref=placed[1].number, reason="duplicate")
    orders.record_shipment(shop, ref=placed[2].number)
    rma = orders.authorize_return(
        shop,
        order_ref=placed[2].number,
        lines=[orders.ReturnLineRequest(1, 1, "wrong_size", exchange_sku="MUG")],
    )
    orders.receive_return(shop, ref=rma.number, location="EAST")
    relay(db, shop)
    shop.clock = FixedClock(LATER)
    marketing.score_rfm(shop)
    # then they are still equal
    _scores_match_the_rfm_report(shop, numbers)
    after = _stored_and_live(shop)
    assert [stored for stored, _ in after] == [live for _, live in after]
    assert after != counts  # the changes moved some counts
    # and rebuilding every fact from the orders gives the rows the events kept
    kept = rows(shop)
    written, _ = marketing.refresh_facts(shop)
    assert rows(shop) == kept and written["customers"] == len(kept["facts"])


def _over_every_customer(uow: UnitOfWork, tree: dict[str, Any]) -> int:
    """The count as one WHERE over every customer (`member_condition`): what a count driven by a stored table must
    equal."""
    subtrees = segments.category_subtrees_of(uow, tree)
    condition = member_condition(tree, currency="USD", now=uow.now(), dialect=uow.dialect, subtrees=subtrees)
    with uow:
        return int(
            uow.session.scalar(sa.select(sa.func.count()).select_from(_reads.customers).where(condition))
        )


def test_counts_driven_by_the_stored_facts_equal_the_same_rules_over_every_customer(
    shop: UnitOfWork, db: Database
) -> None:
    # given forty customers' orders kept by the relay (not scored yet: scores are NULL), one buyer anonymized and
    # two merged
    numbers, _placed = _population(shop)
    customers.anonymize_customer(shop, ref=numbers[3], reason="asked to be forgotten")
    customers.merge_customers(shop, survivor=numbers[4], merged=numbers[6])
    relay(db, shop)
    shop.clock = FixedClock(LATER)

    # when every tree is counted alone, under a top-level all beside consent, geography and a negated style, and
    # negated (each counted from the facts or the purchases when a rule every member passes needs a row of them)
    def leaf(field: str, op: str, value: Any) -> dict[str, Any]:
        return {"field": field, "op": op, "value": value}

    inner = [tree["all"][1] for tree in _trees()]
    trees = [
        *inner,
        *({"all": [tree, leaf("do_not_mail", "is", False), leaf("country", "in", ["US"])]} for tree in inner),
        *({"all": [tree, {"not": leaf("purchased_style", "in", ["POLO"])}, leaf("recency", "gte", 2)]}
          for tree in inner),
        *({"not": tree} for tree in inner),
        {"all": [leaf("purchased_division", "in", ["catalog", "web"]), leaf("last_order", "within_days", 400),
                 {"not": leaf("last_order", "within_days", 30)}, leaf("channel", "in", ["phone", "mail"])]},
        {"all": [{"any": [leaf("recency", "gte", 4), leaf("frequency", "gte", 4)]},
                 {"not": {"any": [leaf("monetary", "in", [1]), leaf("purchased_division", "in", ["store"])]}}]},
    ]  # fmt: skip
    for scored in (False, True):
        if scored:
            marketing.score_rfm(shop)
        counted = [
            (marketing.count_rules(shop, rules=tree), _over_every_customer(shop, tree)) for tree in trees
        ]
        # then each equals the same rules over every customer (the anonymized and merged-away ones in neither),
        # before the scoring run and after it
        assert [ours for ours, _ in counted] == [every for _, every in counted]
        assert sum(1 for ours, _ in counted if ours) > len(counted) // 3  # the trees do select people

    # and an RFM count reads the facts alone, a purchases count the purchases (with styles), one with consent the
    # customers
    def read(tree: dict[str, Any]) -> set[str]:
        subtrees = segments.category_subtrees_of(shop, tree)
        statement = count_statement(tree, currency="USD", now=LATER, dialect=shop.dialect, subtrees=subtrees)
        return {t.name for t in statement.get_final_froms()}  # type: ignore[attr-defined]

    assert read(leaf("rfm_cell", "in", ["555"])) == {"marketing_customer_facts"}
    assert read(
        {"all": [leaf("purchased_division", "in", ["web"]), leaf("purchased_style", "in", ["POLO"])]}
    ) == {"marketing_customer_purchases"}
    assert read({"all": [leaf("rfm_cell", "in", ["555"]), leaf("do_not_mail", "is", False)]}) == {"customers"}


def test_a_category_rule_holds_the_buyers_of_its_styles_and_items_and_of_those_below_and_follows_the_catalog(
    shop: UnitOfWork, db: Database
):
    # given: a polo buyer, a tee buyer, a mug buyer, a lamp buyer whose order is cancelled, and one who bought nothing
    buyers = {name: add_customer(shop, f"Pat {name}", tag="CAT", line1=f"{n} Elm St")
              for n, name in enumerate(("polo", "tee", "mug", "lamp", "none"))}  # fmt: skip
    history(shop, "C1", buyers["polo"], 10, ("POLO-M", 1, "35.00"))
    history(shop, "C2", buyers["tee"], 20, ("TEE", 2, "20.00"))
    history(shop, "C3", buyers["mug"], 30, ("MUG", 1, "10.00"), on="phone")
    history(shop, "C4", buyers["lamp"], 40, ("LAMP", 1, "80.00"), status="cancelled")
    relay(db, shop)
    shop.clock = FixedClock(LATER)

    def holds(*codes: str) -> tuple[int, int]:
        tree = {"field": "purchased_category", "op": "in", "value": list(codes)}
        return marketing.count_rules(shop, rules=tree), marketing.count_rules(shop, rules=tree, live=True)

    # then: a category holds the buyers of its styles and plain items, and of the categories below it
    assert holds("TOPS") == (2, 2)
    assert holds("apparel") == (2, 2)
    assert holds("HOME") == (1, 1)  # the lamp's order was cancelled
    assert holds("LIGHTING", "NOPE") == (0, 0)
    # when the tops move under home: the stored categories are the tree's leaves, so no fact changes
    catalog.update_category(shop, code="TOPS", parent="HOME")
    assert holds("HOME") == (3, 3)
    assert holds("APPAREL") == (0, 0)
    # when the polo style is filed in the kitchen, with its buyers' categories written again by the relay's job
    catalog.set_style_category(shop, code="POLO", category="KITCHEN")
    assert holds("KITCHEN")[1] == 2  # live at once; stored once the job has run
    relay(db, shop)
    while jobs.run_due_jobs(db, worker="test"):
        pass
    # then the rule reads the catalog as it is now, stored and live alike
    assert holds("KITCHEN") == (2, 2)
    assert holds("TOPS") == (1, 1)
    assert marketing.get_purchase_facts(shop, customer_number=buyers["polo"]).categories == ["KITCHEN"]


def test_a_rule_naming_more_codes_than_likes_are_written_for_counts_as_the_live_definition(
    shop: UnitOfWork, db: Database
):
    # given forty customers' orders kept by the relay, and forty categories more under the kitchen (the mug's)
    _population(shop)
    relay(db, shop)
    for n in range(40):
        catalog.create_category(shop, code=f"KITCHEN-{n}", name=f"Kitchen {n}", parent="KITCHEN")
    shop.clock = FixedClock(LATER)
    home = {"field": "purchased_category", "op": "in", "value": ["HOME"]}  # 43 codes: one test of the set
    divisions = {"field": "purchased_division", "op": "in", "value": ["web", *(f"d{n}" for n in range(40))]}
    # when / then: each counts what the live definition counts, and a code with `_` matches only itself
    for tree in (home, divisions, {"not": home}, {"any": [divisions, home]}):
        assert (
            marketing.count_rules(shop, rules=tree) == marketing.count_rules(shop, rules=tree, live=True) > 0
        )
    assert (
        marketing.count_rules(
            shop,
            rules={
                "field": "purchased_division",
                "op": "in",
                "value": ["w_b", *(f"d{n}" for n in range(40))],
            },
        )
        == 0
    )


def test_items_filed_anew_have_their_buyers_categories_written_again_a_chunk_a_job_until_done(
    shop: UnitOfWork, db: Database, monkeypatch: pytest.MonkeyPatch
):
    # given forty customers' orders kept by the relay, and chunks of three buyers a job
    _population(shop)
    relay(db, shop)
    monkeypatch.setattr(facts_service, "RECATEGORIZE_CHUNK", 3)
    trees = [
        {"field": "purchased_category", "op": "in", "value": [code]} for code in ("KITCHEN", "TOPS", "HOME")
    ]
    before = [marketing.count_rules(shop, rules=tree) for tree in trees]
    # when the mug (an item of no style) and the polo (a style) are filed anew
    catalog.set_item_category(shop, sku="MUG", category="TOPS")
    catalog.set_style_category(shop, code="POLO", category="KITCHEN")
    relay(db, shop)
    ran = 0
    while found := jobs.run_due_jobs(db, worker="test"):
        ran += found
    # then every buyer's categories follow, over as many jobs as chunks, and the counts equal the live ones
    after = [
        (marketing.count_rules(shop, rules=t), marketing.count_rules(shop, rules=t, live=True)) for t in trees
    ]
    assert [stored for stored, _ in after] == [live for _, live in after]
    assert [stored for stored, _ in after] != before
    mug, polo = catalog.get_item(shop, sku="MUG").id, styles.get_style(shop, code="POLO").id
    kept = rows(shop)
    buyers = {c for c, s in kept["styles"] if s == polo} | {c for c, i in kept["items"] if i == mug}
    assert len(buyers) > 6 and ran >= -(-len(buyers) // 3)  # the mug's and the polo's buyers, three a job
    # and once the chunks were done, a second pass was queued a minute after the last (a first order kept by a
    # relay transaction that read the old category is written again then); the loop above ran it, and it queued
    # no third (the loop ended)
    with shop:
        passes = [(job.payload.get("again"), job.run_at) for job in shop.session.scalars(
            sa.select(JobRow).where(JobRow.kind == facts_service.RECATEGORIZE_JOB))]  # fmt: skip
    again = [run_at for flag, run_at in passes if flag]
    assert again and all(
        run_at >= NOW + timedelta(seconds=facts_service.RECATEGORIZE_AGAIN_S) for run_at in again
    )


def test_the_migration_stores_the_items_of_no_style_and_the_categories_every_buyer_bought_before_it(
    shop: UnitOfWork, db: Database, db_url: str
):
    # given two years of orders kept by the relay, a merged and an anonymized buyer among them
    numbers, _placed = _population(shop)
    customers.anonymize_customer(shop, ref=numbers[3], reason="asked to be forgotten")
    customers.merge_customers(shop, survivor=numbers[4], merged=numbers[6])
    relay(db, shop)
    kept = rows(shop)
    assert any(row[-1] for row in kept["purchases"])  # some buyers have categories
    db.dispose()
    # when the schema goes back to before the pairs and forward again
    config = migrate.alembic_config(db_url)
    command.downgrade(config, "0062_categories")
    migrate.upgrade(db_url)
    # then the migration wrote the pairs and the categories the relay had kept
    again = rows(shop)
    assert (again["items"], again["purchases"]) == (kept["items"], kept["purchases"])
    assert len(kept["items"]) > 20


def test_between_runs_a_new_buyer_is_placed_among_the_last_run_s_quintile_boundaries(
    shop: UnitOfWork, db: Database
):
    # given ten buyers of two to six orders each, scored
    numbers = [add_customer(shop, f"Q N{n}", tag="Q", line1=f"{n} Q St") for n in range(11)]
    for n, number in enumerate(numbers[:10]):
        for k in range(2 + n // 2):
            history(shop, f"Q{n}-{k}", number, 200 - 10 * n + k, ("MUG", 1, "10.00"))
    relay(db, shop)
    marketing.score_rfm(shop)
    with shop:
        bounds = shop.session.get(RfmScoringRow, "USD").bounds
    assert [len(bounds[m]) for m in ("recency", "frequency", "monetary")] == [4, 4, 4]
    # when an eleventh buys today, big, and the relay runs (no scoring run)
    orders.place_order(
        shop, channel=channel(shop), request=order_request(("LAMP", 2), ("TEE", 3), customer=numbers[10])
    )
    relay(db, shop)
    # then they already have scores: the most recent and biggest spender, with one order (the lowest fifth)
    [dollars] = marketing.get_purchase_facts(shop, customer_number=numbers[10]).currencies
    assert (dollars.recency, dollars.frequency, dollars.monetary_score) == (5, 1, 5)
    # and the run gives the live scores again
    shop.clock = FixedClock(LATER)
    marketing.score_rfm(shop)
    _scores_match_the_rfm_report(shop, numbers)


def test_cut_off_scoring_scores_by_the_thresholds_set_and_equals_the_live_definition(
    shop: UnitOfWork, db: Database
):
    # given buyers, and USD scored by cut-offs: within 30/90/180/365 days, 2/3/4/6 orders, 20/50/100/200 dollars
    numbers, _ = _population(shop, seed=5)
    relay(db, shop)
    shop.clock = FixedClock(LATER)
    cutoffs = marketing.check_cutoffs([30, 90, 180, 365], [2, 3, 4, 6], [2000, 5000, 10000, 20000])
    set_to = marketing.set_rfm_scoring(shop, currency="usd", method="cutoffs", cutoffs=cutoffs)
    assert (set_to.currency, set_to.method, set_to.cutoffs) == ("USD", "cutoffs", cutoffs)
    marketing.score_rfm(shop)
    # then each buyer's scores are the thresholds they reach, and counts equal the live definition by cut-offs
    for number in numbers:
        for found in marketing.get_purchase_facts(shop, customer_number=number).currencies:
            if found.currency != "USD":
                continue
            expected = (
                1 + sum(found.last_order_at >= LATER - timedelta(days=d) for d in (30, 90, 180, 365)),
                1 + sum(found.orders >= n for n in (2, 3, 4, 6)),
                1 + sum(found.monetary.minor >= m for m in (2000, 5000, 10000, 20000)),
            )
            assert (found.recency, found.frequency, found.monetary_score) == expected
    counts = _stored_and_live(shop)
    assert [stored for stored, _ in counts] == [live for _, live in counts]
    # and a new buyer is scored by the cut-offs at once
    shop.clock = FixedClock(NOW)
    orders.place_order(shop, channel=channel(shop), request=order_request(("LAMP", 3), customer=numbers[3]))
    relay(db, shop)
    [dollars] = [
        c
        for c in marketing.get_purchase_facts(shop, customer_number=numbers[3]).currencies
        if c.currency == "USD"
    ]
    assert dollars.recency == 5 and dollars.monetary_score == 5


def test_wrong_cut_offs_are_refused_naming_the_field_and_change_nothing(shop: UnitOfWork):
    def cut(
        recency: tuple[int, ...], frequency: tuple[int, ...], monetary: tuple[int, ...]
    ) -> marketing.Cutoffs:
        return marketing.Cutoffs(recency, frequency, monetary)

    good = (30, 90, 180, 365)
    for given, field in [
        (dict(method="deciles"), "method"),
        (dict(method="cutoffs"), "cutoffs"),
        (dict(method="quintiles", cutoffs=cut((1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3, 4))), "cutoffs"),
        (dict(method="cutoffs", cutoffs=cut((30, 20, 180, 365), (1, 2, 3, 4), (1, 2, 3, 4))), "recency_days"),
        (dict(method="cutoffs", cutoffs=cut(good, (0, 2, 3, 4), (1, 2, 3, 4))), "frequency_orders"),
        (dict(method="cutoffs", cutoffs=cut(good, (1, 2, 3, 4), (1, 2, 3))), "monetary_minor"),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            marketing.set_rfm_scoring(shop, currency="USD", **given)  # type: ignore[arg-type]
        assert [e.field for e in refused.value.errors] == [field]
    with pytest.raises(ValidationFailed) as refused:
        marketing.set_rfm_scoring(shop, currency="US", method="quintiles")
    assert [e.field for e in refused.value.errors] == ["currency"]
    with shop:
        assert shop.session.scalar(sa.select(sa.func.count()).select_from(RfmScoringRow)) == 0
    assert marketing.get_rfm_scoring(shop, currency="USD").method == "quintiles"


def test_a_division_code_with_an_underscore_matches_only_itself(shop: UnitOfWork, db: Database):
    # given divisions home_a and homeba (`_` is a LIKE wildcard) with a buyer each
    from ordersmith.catalog import service as catalog

    for code in ("home_a", "homeba"):
        catalog.create_division(shop, code=code, name=code)
        sales_channels.create_sales_channel(
            shop, code=f"{code}-shop", name=code, kind="web", division=code, currency="USD", bills_later=True
        )
    one, other = (add_customer(shop, f"D {n}", tag="DIV", line1=f"{n} D St") for n in (1, 2))
    history(shop, "D-1", one, 3, ("MUG", 1, "10.00"), on="home_a-shop")
    history(shop, "D-2", other, 4, ("MUG", 1, "10.00"), on="homeba-shop")
    relay(db, shop)
    rules = {"all": [{"field": "original_source_code", "op": "in", "value": ["DIV"]},
                     {"field": "purchased_division", "op": "in", "value": ["home_a"]}]}  # fmt: skip
    # then only the home_a buyer counts, as the live definition says
    assert (
        marketing.count_rules(shop, rules=rules) == marketing.count_rules(shop, rules=rules, live=True) == 1
    )
    assert marketing.get_purchase_facts(shop, customer_number=one).divisions == ["home_a"]


def _five_buyers(shop: UnitOfWork) -> dict[str, str]:
    """Five buyers whose recency, frequency and spend rank differently (each order bought in the old system)."""
    plans = {
        "A": [(40, "10.00")] * 3,  # last 40 days ago, 3 orders, 30.00
        "B": [(20, "160.00")],  # 20 days, 1 order, 160.00
        "C": [(30, "20.00"), (10, "20.00")],  # 10 days, 2 orders, 40.00
        "D": [(50, "10.00"), (40, "10.00"), (30, "10.00"), (20, "10.00"), (5, "10.00")],  # 5 days, 5, 50.00
        "E": [(30, "20.00"), (20, "20.00"), (5, "20.00"), (2, "20.00")],  # 2 days, 4 orders, 80.00
    }
    numbers = {}
    for name, plan in plans.items():
        numbers[name] = number = add_customer(shop, f"{name} Buyer", tag="R")
        for n, (days_ago, price) in enumerate(plan):
            history(shop, f"R-{name}{n}", number, days_ago, ("MUG", 1, price))
    return numbers


def test_the_rfm_reports_give_the_stored_facts_and_scores(shop: UnitOfWork, db: Database):
    # given five buyers kept by the relay and a scoring run by quintiles
    who = _five_buyers(shop)
    relay(db, shop)
    shop.clock = FixedClock(LATER)
    marketing.score_rfm(shop)
    # when the reports run as of today
    cells = reporting.run_report(shop, name="rfm_cells", parameters={}).rows
    scores = reporting.run_report(shop, name="rfm_customers", parameters={}).rows
    # then R ranks the last order (A 1 … E 5), F the orders (B 1, C 2, A 3, E 4, D 5), M the spend (A 1, C 2, D 3,
    # E 4, B 5): one customer per cell, best first
    assert [(r["customer"], r["cell"], r["orders"], r["spent"]) for r in scores] == [
        (who["E"], "544", 4, usd("80.00")),
        (who["D"], "453", 5, usd("50.00")),
        (who["C"], "322", 2, usd("40.00")),
        (who["B"], "215", 1, usd("160.00")),
        (who["A"], "131", 3, usd("30.00")),
    ]
    assert [(r["cell"], r["customers"], r["orders"], r["average_spent"]) for r in cells] == [
        ("544", 1, 4, usd("80.00")),
        ("453", 1, 5, usd("50.00")),
        ("322", 1, 2, usd("40.00")),
        ("215", 1, 1, usd("160.00")),
        ("131", 1, 3, usd("30.00")),
    ]
    # and each row is that customer's stored facts
    for row in scores:
        [facts] = marketing.get_purchase_facts(shop, customer_number=row["customer"]).currencies
        assert (facts.cell, facts.orders, facts.monetary) == (row["cell"], row["orders"], row["spent"])
        assert row["last_order_at"] == facts.last_order_at.date()
    # when dollars are scored by cut-offs (30/60/90/120 days, 10/20/30/40 orders, 100/200/300/400.00) and run
    cutoffs = marketing.check_cutoffs([30, 60, 90, 120], [10, 20, 30, 40], [10000, 20000, 30000, 40000])
    marketing.set_rfm_scoring(shop, currency="USD", method="cutoffs", cutoffs=cutoffs)
    marketing.score_rfm(shop)
    cells = reporting.run_report(shop, name="rfm_cells", parameters={"currency": "usd"}).rows
    scores = reporting.run_report(shop, name="rfm_customers", parameters={"limit": "2"}).rows
    # then A (40 days: within 60, 90, 120) is 4-1-1, B (160.00 reaches 100) 5-1-2, C, D and E 5-1-1
    assert [(r["cell"], r["customers"], r["orders"], r["spent"], r["average_spent"]) for r in cells] == [
        ("512", 1, 1, usd("160.00"), usd("160.00")),
        ("511", 3, 11, usd("170.00"), usd("56.67")),
        ("411", 1, 3, usd("30.00"), usd("30.00")),
    ]
    assert [(r["customer"], r["cell"]) for r in scores] == [(who["B"], "512"), (who["C"], "511")]
    # when the reports run a day later as of today's date (a past day): from the orders, by quintiles
    shop.clock = FixedClock(LATER + timedelta(days=1))
    past = reporting.run_report(shop, name="rfm_cells", parameters={"as_of": LATER.date().isoformat()}).rows
    assert [(r["cell"], r["customers"]) for r in past] == [
        (c, 1) for c in ("544", "453", "322", "215", "131")
    ]
    # and a currency nobody has bought in, or whose buyers are not scored yet, lists nobody
    assert reporting.run_report(shop, name="rfm_cells", parameters={"currency": "EUR"}).rows == []

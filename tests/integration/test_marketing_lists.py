"""Segments, list pulls and matchback against real SQLite and PostgreSQL: rule trees checked before they are stored
and counted by one query; pulls that never hold a do-not-mail, anonymized or suppressed customer, one name per
household, cells in their proportions; matchback inside the in-home window only, never re-attributing a keyed
order."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordersmith.customers.tables import CustomerAddressRow, CustomerChannelRow, CustomerEmailRow, CustomerRow
from ordersmith.kernel.clock import FixedClock
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.marketing import lists
from ordersmith.marketing import service as marketing
from ordersmith.marketing.list_tables import (
    ExtractionNameRow,
    ExtractionRow,
    MailFileNameRow,
    MailFileRow,
    MatchbackRow,
    SegmentRow,
)
from ordersmith.orders import rules as order_rules
from ordersmith.orders import service as orders
from ordersmith.platform import outbox
from ordersmith.platform.db import UnitOfWork
from tests.builders import make_order_shop, make_source_code, ship_to

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
_numbers = iter(range(500_000, 10_000_000))


@pytest.fixture
def clocked(uow: UnitOfWork) -> UnitOfWork:
    uow.clock = FixedClock(NOW)
    return uow


def count(uow: UnitOfWork, table: type) -> int:
    with uow:
        return int(uow.session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


def add_customer(
    uow: UnitOfWork,
    name: str = "Ann Buyer",
    *,
    line1: str = "1 Market St",
    postal_code: str = "94105",
    country: str = "US",
    region: str = "CA",
    email: str = "",
    tag: str = "",
    do_not_mail: bool = False,
    anonymized: bool = False,
    address: bool = True,
) -> str:
    """A customer written straight to the customers' tables (fast enough for property tests); `tag` is the original
    source code a test selects its own customers by."""
    number = f"C-{next(_numbers)}"
    first, _, last = name.partition(" ")
    with uow:
        row = CustomerRow(
            id=uuid.uuid4(),
            number=number,
            kind="consumer",
            first_name=first,
            last_name=last,
            company="",
            display_name=name,
            status="buyer",
            customer_group="retail",
            default_country=country,
            tax_exempt=False,
            tax_certificate="",
            currency="USD",
            payment_terms="",
            do_not_mail=do_not_mail,
            do_not_email=False,
            do_not_call=False,
            tags=[],
            created_channel="web",
            source_code=tag,
            last_source_code=tag,
            anonymized_at=NOW if anonymized else None,
            created_at=NOW,
            updated_at=NOW,
            version=1,
        )
        uow.session.add(row)
        uow.session.flush()
        uow.session.add(CustomerChannelRow(customer_id=row.id, channel="web"))
        if address:
            uow.session.add(
                CustomerAddressRow(
                    id=uuid.uuid4(),
                    customer_id=row.id,
                    kind="bill_to",
                    name=name,
                    line1=line1,
                    city="Town",
                    region=region,
                    postal_code=postal_code,
                    country=country,
                    is_default=True,
                )
            )
        if email:
            uow.session.add(CustomerEmailRow(customer_id=row.id, email=email, is_primary=True))
    return number


def facts_kept(uow: UnitOfWork) -> None:
    """What every process does after orders change: the relay hands their events to the stored purchase facts
    (ADR 0037), and the scoring run (hourly) scores the buyers."""
    marketing.register()
    while outbox.dispatch_batch(uow.db.unit_of_work(uow.actor, clock=uow.clock)):
        pass
    marketing.score_rfm(uow)


def tagged(tag: str) -> dict[str, object]:
    return {"field": "original_source_code", "op": "in", "value": [tag]}


def segment(uow: UnitOfWork, code: str, rules: dict[str, object]) -> marketing.Segment:
    return marketing.create_segment(uow, code=code, name=code.title(), rules=rules)


def cells(*pairs: tuple[str, str]) -> list[marketing.Cell]:
    return [marketing.Cell(code, Decimal(percent)) for code, percent in pairs]


def pulled(uow: UnitOfWork, extraction: marketing.Extraction) -> list[tuple[str, str]]:
    with uow:
        rows = uow.session.execute(
            sa.select(ExtractionNameRow.key_code, ExtractionNameRow.customer_number).where(
                ExtractionNameRow.extraction_id == extraction.id
            )
        )
        return sorted((k, n) for k, n in rows)


def history(
    uow: UnitOfWork, ref: str, at: datetime, *, customer: str | None, code: str | None = None, **address
):
    order = orders.HistoricalOrder(
        external_id=ref,
        placed_at=at,
        lines=[orders.HistoricalLine("TEE", 1, Money(Decimal("20.00"), "USD"))],
        ship_to=ship_to(**address),
        customer=customer,
        source_code=code,
    )
    return orders.import_order(uow, channel="web", order=order)[1]


# --- segments -------------------------------------------------------------------------------------------------------


def test_a_rule_naming_an_unknown_field_is_refused_naming_it_and_nothing_is_stored(uow: UnitOfWork):
    # when a segment names a field that does not exist, deep in its tree
    rules = {"all": [tagged("X"), {"any": [{"field": "shoe_size", "op": "in", "value": ["9"]}]}]}
    with pytest.raises(ValidationFailed) as refused:
        segment(uow, "BAD", rules)
    # then the refusal names it, and nothing is stored
    assert [e.field for e in refused.value.errors] == ["rules.all.1.any.0.field"]
    assert "shoe_size" in refused.value.errors[0].message
    assert count(uow, SegmentRow) == 0
    # and a wrong operator or value is named the same way (also when only counting)
    for bad, field in [
        ({"field": "country", "op": "gte", "value": ["US"]}, "rules.op"),
        ({"field": "recency", "op": "gte", "value": 9}, "rules.value"),
        ({"field": "last_order", "op": "before", "value": "yesterday"}, "rules.value"),
        ({"all": []}, "rules.all"),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            marketing.count_rules(uow, rules=bad)
        assert [e.field for e in refused.value.errors] == [field]


def test_segment_counts_follow_geography_consent_and_source_codes(clocked: UnitOfWork):
    # given customers in three places, one who said no to mail, one anonymized
    uow = clocked
    add_customer(uow, tag="GEO", postal_code="94105")
    add_customer(uow, tag="GEO", postal_code="94110", do_not_mail=True)
    add_customer(uow, tag="GEO", country="CA", region="ON", postal_code="M5V 2T6")
    add_customer(uow, tag="GEO", postal_code="10001", region="NY")
    add_customer(uow, tag="GEO", postal_code="94107", anonymized=True)

    def counted(*rules: dict[str, object]) -> int:
        return marketing.count_rules(uow, rules={"all": [tagged("GEO"), *rules]})

    # then each rule counts its customers (the anonymized one never)
    assert counted() == 4
    assert counted({"field": "postal_prefix", "op": "starts_with", "value": ["941"]}) == 2
    assert counted({"field": "postal_prefix", "op": "starts_with", "value": ["m5v"]}) == 1
    assert counted({"field": "country", "op": "in", "value": ["ca"]}) == 1
    assert counted({"field": "region", "op": "in", "value": ["ny", "on"]}) == 2
    assert counted({"field": "do_not_mail", "op": "is", "value": False}) == 3
    assert counted({"not": {"field": "country", "op": "in", "value": ["US"]}}) == 1
    assert (
        marketing.count_rules(uow, rules={"field": "last_source_code", "op": "starts_with", "value": ["ge"]})
        == 4
    )
    # and a stored segment counts the same as its unsaved definition
    segment(
        uow,
        "west",
        {"all": [tagged("GEO"), {"field": "postal_prefix", "op": "starts_with", "value": ["94"]}]},
    )
    assert marketing.count_segment(uow, code="WEST") == 2


def test_segment_counts_follow_purchase_history_last_order_and_rfm(clocked: UnitOfWork):
    # given three buyers: one bought a tee last week, one a mug two years ago, one both, and one never bought
    uow = clocked
    make_order_shop(uow)
    recent, lapsed, both = (add_customer(uow, tag="BUY", line1=f"{n} Oak St") for n in (1, 2, 3))
    add_customer(uow, tag="BUY", line1="4 Oak St")
    history(uow, "H1", NOW - timedelta(days=7), customer=recent)
    lapsed_order = orders.HistoricalOrder(
        external_id="H2",
        placed_at=NOW - timedelta(days=730),
        lines=[orders.HistoricalLine("MUG", 1, Money(Decimal("10.00"), "USD"))],
        ship_to=ship_to(),
        customer=lapsed,
    )
    orders.import_order(uow, channel="mail", order=lapsed_order)
    history(uow, "H3", NOW - timedelta(days=30), customer=both)
    history(uow, "H4", NOW - timedelta(days=20), customer=both)
    facts_kept(uow)  # the relay hands the orders to the stored facts; the scoring run scores them

    def counted(rule: dict[str, object]) -> int:
        return marketing.count_rules(uow, rules={"all": [tagged("BUY"), rule]})

    # then purchase history, the last order and the RFM scores count their customers
    assert counted({"field": "purchased_item", "op": "in", "value": ["tee"]}) == 2
    assert counted({"field": "purchased_item", "op": "in", "value": ["MUG"]}) == 1
    assert counted({"field": "purchased_division", "op": "in", "value": ["catalog"]}) == 1
    assert counted({"field": "last_order", "op": "within_days", "value": 10}) == 1
    assert (
        counted({"field": "last_order", "op": "not_within_days", "value": 365}) == 2
    )  # lapsed, never bought
    assert counted({"field": "last_order", "op": "before", "value": "2026-01-01"}) == 1
    assert counted({"field": "last_order", "op": "on_or_after", "value": "2026-10-01"}) == 2
    assert counted({"field": "frequency", "op": "gte", "value": 1}) == 3
    assert (
        counted({"field": "recency", "op": "in", "value": [1]}) == 1
    )  # the lapsed buyer is the oldest fifth
    # the buyer of two orders is the most frequent and biggest spending, second by recency (three buyers: 1 to 3)
    assert counted({"field": "rfm_cell", "op": "in", "value": ["233"]}) == 1
    assert (
        counted(
            {
                "any": [
                    {"field": "monetary", "op": "lte", "value": 2},
                    {"field": "recency", "op": "gte", "value": 3},
                ]
            }
        )
        == 2
    )
    assert counted({"field": "channel", "op": "in", "value": ["web"]}) == 4  # created on the web


# --- pulls ----------------------------------------------------------------------------------------------------------


def test_a_pull_keeps_one_name_per_household_and_counts_every_step(clocked: UnitOfWork):
    # given two customers at one address (spelt differently), one elsewhere, one without an address
    uow = clocked
    make_source_code(uow, "F26H1")
    first = add_customer(uow, "Ann Smith", tag="HH", line1="12 Elm Street", postal_code="94105")
    add_customer(uow, "Bob Smith", tag="HH", line1="12 ELM street.", postal_code="94 105")
    other = add_customer(uow, "Cy Jones", tag="HH", line1="9 Pine Rd")
    add_customer(uow, "No Address", tag="HH", address=False)
    segment(uow, "HH", tagged("HH"))
    # when the segment is pulled into one cell
    extraction = marketing.extract(uow, segment="HH", cells=cells(("F26H1", "100")))
    # then one name per household is kept, and the funnel says where the others went
    assert pulled(uow, extraction) == [("F26H1", first), ("F26H1", other)]
    assert [(s.step, s.removed, s.remaining) for s in extraction.funnel] == [
        ("selected", 0, 4),
        ("do_not_mail", 0, 4),
        ("deceased", 0, 4),
        ("undeliverable", 0, 4),
        ("no_address", 1, 3),
        ("household", 1, 2),
    ]
    # and without household de-duplication both Smiths stay
    both = marketing.extract(uow, segment="HH", cells=cells(("F26H1", "100")), households=False)
    assert both.names == 3


def test_a_pull_of_a_category_segment_holds_the_buyers_of_that_category_and_those_below(clocked: UnitOfWork):
    # given tees filed under Apparel > Tops, mugs under Home; a tee buyer, a mug buyer and a customer who bought none
    from ordersmith.catalog import service as catalog

    uow = clocked
    make_order_shop(uow)
    make_source_code(uow, "F26H1")
    catalog.create_category(uow, code="APPAREL", name="Apparel")
    catalog.create_category(uow, code="TOPS", name="Tops", parent="APPAREL")
    catalog.create_category(uow, code="HOME", name="Home")
    catalog.set_item_category(uow, sku="TEE", category="TOPS")
    catalog.set_item_category(uow, sku="MUG", category="HOME")
    tee, mug = (add_customer(uow, tag="CAT", line1=f"{n} Ash St") for n in (1, 2))
    add_customer(uow, tag="CAT", line1="3 Ash St")
    history(uow, "T1", NOW - timedelta(days=40), customer=tee)
    mug_order = orders.HistoricalOrder(
        external_id="M1",
        placed_at=NOW - timedelta(days=50),
        lines=[orders.HistoricalLine("MUG", 1, Money(Decimal("10.00"), "USD"))],
        ship_to=ship_to(),
        customer=mug,
    )
    orders.import_order(uow, channel="web", order=mug_order)
    facts_kept(uow)
    segment(
        uow,
        "APPAREL-BUYERS",
        {"all": [tagged("CAT"), {"field": "purchased_category", "op": "in", "value": ["apparel"]}]},
    )
    # when the segment is pulled
    extraction = marketing.extract(uow, segment="APPAREL-BUYERS", cells=cells(("F26H1", "100")))
    # then only the tee's buyer is in it: the tee sits below Apparel
    assert pulled(uow, extraction) == [("F26H1", tee)]
    assert extraction.funnel[0].remaining == 1
    # and a pull by the other rules the purchases row answers (division, last order) holds both buyers: a pull
    # joins that row itself, and the rules' look-ups stay their own (on PostgreSQL they were swallowed by it)
    rules = [{"field": "purchased_division", "op": "in", "value": ["web"]},
             {"field": "last_order", "op": "within_days", "value": 100}]  # fmt: skip
    segment(uow, "WEB-BUYERS", {"all": [tagged("CAT"), *rules]})
    web = marketing.extract(uow, segment="WEB-BUYERS", cells=cells(("F26H1", "100")))
    assert sorted(pulled(uow, web)) == sorted([("F26H1", tee), ("F26H1", mug)])


def test_a_pull_splits_its_names_into_cells_by_percentage_and_seed(clocked: UnitOfWork):
    # given 200 customers at 200 addresses and a test/control pair of key codes
    uow = clocked
    make_source_code(uow, "F26T")
    make_source_code(uow, "F26C")
    for n in range(200):
        add_customer(uow, f"Pat N{n}", tag="SPLIT", line1=f"{n} Birch Ave")
    segment(uow, "SPLIT", tagged("SPLIT"))
    # when it is pulled 85/15 twice with one seed and once with another
    split = cells(("F26T", "85"), ("F26C", "15"))
    one = marketing.extract(uow, segment="SPLIT", cells=split, seed=7)
    again = marketing.extract(uow, segment="SPLIT", cells=split, seed=7)
    other = marketing.extract(uow, segment="SPLIT", cells=split, seed=8)
    # then the cells hold exactly their shares, the same seed deals the same names, another seed others
    assert [(c.key_code, c.count) for c in one.cells] == [("F26T", 170), ("F26C", 30)]
    assert pulled(uow, one) == pulled(uow, again)
    assert pulled(uow, one) != pulled(uow, other)
    assert {n for _, n in pulled(uow, one)} == {n for _, n in pulled(uow, other)}


def test_largest_remainder_cells_add_up_to_the_names():
    assert lists.cell_sizes(7, [Decimal("33.3333"), Decimal("33.3333"), Decimal("33.3334")]) == [2, 2, 3]
    assert lists.cell_sizes(0, [Decimal(50), Decimal(50)]) == [0, 0]
    assert lists.cell_sizes(101, [Decimal(90), Decimal(10)]) == [91, 10]


def test_a_pull_asked_to_keep_do_not_mail_customers_is_refused_and_stores_nothing(clocked: UnitOfWork):
    # given a segment holding a customer who said no to mail
    uow = clocked
    make_source_code(uow, "F26H1")
    add_customer(uow, tag="DNM", do_not_mail=True)
    add_customer(uow, tag="DNM", line1="2 Elm St")
    segment(uow, "DNM", tagged("DNM"))
    # when a pull asks not to suppress them
    with pytest.raises(ValidationFailed) as refused:
        marketing.extract(
            uow,
            segment="DNM",
            cells=cells(("F26H1", "100")),
            suppress=marketing.Suppressions(do_not_mail=False),
        )
    # then it is refused naming the suppression, and nothing is stored
    assert [e.field for e in refused.value.errors] == ["suppress.do_not_mail"]
    assert "1 customers" in refused.value.errors[0].message
    assert (count(uow, ExtractionRow), count(uow, ExtractionNameRow)) == (0, 0)
    # and cells that do not add to 100, or an unknown key code, are refused the same way
    for bad, field in [(cells(("F26H1", "90")), "cells"), (cells(("NOPE", "100")), "cells.0.key_code")]:
        with pytest.raises(ValidationFailed) as refused:
            marketing.extract(uow, segment="DNM", cells=bad)
        assert [e.field for e in refused.value.errors] == [field]
    assert count(uow, ExtractionRow) == 0


def test_a_pull_leaves_out_flagged_recent_and_file_suppressed_customers(clocked: UnitOfWork):
    # given customers: one deceased, one undeliverable, one who ordered last week, one on the suppression file by
    # e-mail, one by name and address, and one to mail
    uow = clocked
    make_order_shop(uow)
    make_source_code(uow, "F26H1")
    dead = add_customer(uow, tag="SUP", line1="1 A St")
    gone = add_customer(uow, tag="SUP", line1="2 A St")
    buyer = add_customer(uow, tag="SUP", line1="3 A St")
    add_customer(uow, tag="SUP", line1="4 A St", email="Opted.Out@Example.com")
    add_customer(uow, "Dee Named", tag="SUP", line1="5 A St")
    kept = add_customer(uow, "Eve Kept", tag="SUP", line1="5 A St #", postal_code="94106")
    marketing.set_mail_flags(uow, customer_number=dead, deceased=True)
    marketing.set_mail_flags(uow, customer_number=gone, undeliverable=True)
    history(uow, "R1", NOW - timedelta(days=5), customer=buyer)
    facts_kept(uow)
    segment(uow, "SUP", tagged("SUP"))
    file = [
        marketing.SuppressionEntry(email="opted.out@example.com"),
        marketing.SuppressionEntry(name="DEE  named", line1="5 a st.", postal_code="94105", country="us"),
    ]
    # when the segment is pulled with every suppression
    extraction = marketing.extract(
        uow,
        segment="SUP",
        cells=cells(("F26H1", "100")),
        suppress=marketing.Suppressions(recent_buyers_days=30, file=file),
    )
    # then only the one to mail is left, and the funnel counts each suppression
    assert pulled(uow, extraction) == [("F26H1", kept)]
    assert {s.step: s.removed for s in extraction.funnel} == {
        "selected": 0,
        "do_not_mail": 0,
        "deceased": 1,
        "undeliverable": 1,
        "recent_buyers": 1,
        "no_address": 0,
        "suppression_file": 2,
        "household": 0,
    }
    # and a suppression row with neither an e-mail nor an address is refused naming it
    with pytest.raises(ValidationFailed) as refused:
        marketing.extract(
            uow,
            segment="SUP",
            cells=cells(("F26H1", "100")),
            suppress=marketing.Suppressions(file=[marketing.SuppressionEntry(name="Only A Name")]),
        )
    assert [e.field for e in refused.value.errors] == ["suppress.file.0"]


def test_a_preview_counts_the_funnel_and_stores_nothing(clocked: UnitOfWork):
    uow = clocked
    make_source_code(uow, "F26H1")
    add_customer(uow, tag="PRE")
    segment(uow, "PRE", tagged("PRE"))
    preview = marketing.extract(uow, segment="PRE", cells=cells(("F26H1", "100")), preview=True)
    assert (preview.id, preview.names, count(uow, ExtractionRow)) == (None, 1, 0)
    with pytest.raises(NotFound):
        marketing.extract(uow, segment="NONE", cells=cells(("F26H1", "100")))


_person = st.fixed_dictionaries(
    {
        "do_not_mail": st.booleans(),
        "anonymized": st.booleans(),
        "address": st.integers(0, 6),  # few addresses, so households collide
        "suppressed_email": st.booleans(),
        "suppressed_address": st.booleans(),
        "has_address": st.booleans() | st.just(True),
    }
)
_examples = iter(range(1_000_000))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    people=st.lists(_person, min_size=1, max_size=12), seed=st.integers(0, 1000), control=st.integers(1, 99)
)
def test_a_pull_never_holds_a_do_not_mail_anonymized_or_suppressed_customer(
    uow: UnitOfWork, people: list[dict[str, object]], seed: int, control: int
):
    # given random customers, some of whom said no, were anonymized or are on the suppression file
    tag = f"P{next(_examples)}"
    if count(uow, SegmentRow) == 0:
        make_source_code(uow, "PT")
        make_source_code(uow, "PC")
    numbers: dict[str, dict[str, object]] = {}
    file = []
    for n, person in enumerate(people):
        line1 = f"{person['address']} {tag} Way"
        email = f"{tag}.{n}@example.com"
        number = add_customer(
            uow,
            f"Name {n}",
            tag=tag,
            line1=line1,
            email=email,
            do_not_mail=bool(person["do_not_mail"]),
            anonymized=bool(person["anonymized"]),
            address=bool(person["has_address"]),
        )
        numbers[number] = person | {"line1": line1}
        if person["suppressed_email"]:
            file.append(marketing.SuppressionEntry(email=email.upper()))
        if person["suppressed_address"]:
            file.append(marketing.SuppressionEntry(line1=line1, postal_code="94105", country="US"))
    segment(uow, tag, tagged(tag))
    # when it is pulled with a random test/control split
    extraction = marketing.extract(
        uow,
        segment=tag,
        cells=cells(("PT", str(100 - control)), ("PC", str(control))),
        seed=seed,
        suppress=marketing.Suppressions(file=file),
    )
    # then no pulled name said no, was anonymized, is on the file (by e-mail or address), or shares a household
    names = pulled(uow, extraction)
    suppressed_addresses = {e.line1 for e in file if e.line1}
    for _, number in names:
        person = numbers[number]
        assert not person["do_not_mail"] and not person["anonymized"] and person["has_address"]
        assert not person["suppressed_email"] and person["line1"] not in suppressed_addresses
    assert len({numbers[n]["line1"] for _, n in names}) == len(names)
    # and the cells hold the names by largest remainder
    sizes = lists.cell_sizes(len(names), [Decimal(100 - control), Decimal(control)])
    assert [c.count for c in extraction.cells] == sizes


# --- mail files and matchback ----------------------------------------------------------------------------------------


def test_matchback_attributes_uncoded_orders_in_the_window_and_never_a_keyed_one(clocked: UnitOfWork):
    # given a mail file in home on 1 October for 30 days: two house customers and a rented name (no customer)
    uow = clocked
    make_order_shop(uow)
    make_source_code(uow, "F26H1", in_home_on=date(2026, 1, 1))
    make_source_code(uow, "F26R1", in_home_on=date(2026, 1, 1))
    ann, bob, cy = (add_customer(uow, f"{n} Buyer", line1=f"{i} Cedar St") for i, n in enumerate("ABC", 1))
    marketing.import_mail_file(
        uow,
        code="fall-d1",
        in_home_on=date(2026, 10, 1),
        window_days=30,
        names=[
            marketing.MailedName("F26H1", "1 Cedar St", "94105", "US", customer_number=ann),
            marketing.MailedName("F26H1", "2 Cedar St", "94105", "US", customer_number=bob),
            marketing.MailedName("f26r1", "77 Rented Rd.", "94105", "US", name="Ren Ted"),
        ],
    )
    # and orders: Ann without a code in the window, Bob keyed with the rented code, Cy's household-less order to the
    # rented address, Ann again after the window, and an uncoded order before the in-home date
    in_window = history(uow, "A1", datetime(2026, 10, 5, tzinfo=UTC), customer=ann)
    keyed = history(uow, "B1", datetime(2026, 10, 6, tzinfo=UTC), customer=bob, code="F26R1")
    rented = history(uow, "G1", datetime(2026, 10, 7, tzinfo=UTC), customer=cy, line1="77 RENTED rd")
    late = history(uow, "A2", datetime(2026, 10, 31, 0, 0, tzinfo=UTC), customer=ann)
    early = history(uow, "A0", datetime(2026, 9, 30, 23, 59, tzinfo=UTC), customer=ann)
    # when matchback runs (twice)
    first = marketing.run_matchback(uow, code="FALL-D1")
    second = marketing.run_matchback(uow, code="FALL-D1")
    # then Ann's in-window order goes to her key code by customer, Cy's by the rented address; the keyed order keeps
    # its own code, the orders outside the window are not touched, and the second run attributes nothing more
    assert (first.looked_at, first.by_customer, first.by_address) == (2, 1, 1)
    assert (second.looked_at, second.by_customer, second.by_address) == (0, 0, 0)
    with uow:
        matched = dict(uow.session.execute(sa.select(MatchbackRow.order_id, MatchbackRow.key_code)).all())
    assert matched == {in_window.id: "F26H1", rented.id: "F26R1"}
    assert keyed.id not in matched and late.id not in matched and early.id not in matched
    assert orders.get_order(uow, ref=str(keyed.id)).source_code == "F26R1"
    assert orders.get_order(uow, ref=str(in_window.id)).source_code is None
    # and the results report keyed and matched-back orders apart
    results = {r.key_code: r for r in marketing.mail_file_results(uow, code="FALL-D1")}
    assert [(r.mailed, r.keyed_orders, r.matched_orders) for r in results.values()] == [(2, 0, 1), (1, 1, 1)]
    assert (results["F26R1"].keyed_demand, results["F26R1"].matched_demand) == (
        Money(Decimal("20.00"), "USD"),
        Money(Decimal("20.00"), "USD"),
    )
    assert results["F26R1"].response_pct == "200.00"
    # and a second mailing to Ann over the same days takes none of the orders already attributed
    marketing.import_mail_file(
        uow,
        code="fall-d2",
        in_home_on=date(2026, 10, 1),
        window_days=30,
        names=[marketing.MailedName("F26R1", "1 Cedar St", "94105", "US", customer_number=ann)],
    )
    assert marketing.run_matchback(uow, code="FALL-D2").looked_at == 0
    assert count(uow, MatchbackRow) == 2


def test_a_pull_becomes_the_mail_file_and_a_bad_file_stores_nothing(clocked: UnitOfWork):
    # given a pull of two customers
    uow = clocked
    make_source_code(uow, "F26H1")
    for n in range(2):
        add_customer(uow, tag="MF", line1=f"{n} Fir St")
    segment(uow, "MF", tagged("MF"))
    extraction = marketing.extract(uow, segment="MF", cells=cells(("F26H1", "100")))
    assert extraction.id is not None
    # when it is recorded as the mail file sent
    made = marketing.mail_file_from_extraction(
        uow, code="MF1", extraction_id=extraction.id, in_home_on=date(2026, 11, 1), window_days=60
    )
    # then it holds the pull's names, each with its customer and household key
    assert (made.code, made.names) == ("MF1", 2)
    with uow:
        keys = set(uow.session.scalars(sa.select(MailFileNameRow.address_key)))
    assert keys == {
        order_rules.address_key(country="US", postal_code="94105", line1=f"{n} Fir St") for n in range(2)
    }
    # and a file naming an unknown key code or customer is refused naming the row, storing nothing
    for name, field in [
        (marketing.MailedName("NOPE", "1 Fir St", "94105", "US"), "names.0.key_code"),
        (
            marketing.MailedName("F26H1", "1 Fir St", "94105", "US", customer_number="C-1"),
            "names.0.customer_number",
        ),
        (marketing.MailedName("F26H1", "", "94105", "US"), "names.0.line1"),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            marketing.import_mail_file(
                uow, code="MF2", in_home_on=date(2026, 11, 1), window_days=60, names=[name]
            )
        assert [e.field for e in refused.value.errors] == [field]
    assert count(uow, MailFileRow) == 1


def test_the_household_key_is_the_one_orders_keep():
    for country, postal, line1 in [("US", "94105", "1 Market St."), ("ca", "m5v 2t6", "  12 KING  st W ")]:
        assert lists.address_key(country=country, postal_code=postal, line1=line1) == order_rules.address_key(
            country=country, postal_code=postal, line1=line1
        )

"""Replenishment suggestions from real stock, open POs and shipment history; suggestions become draft POs
grouped by vendor, and running it again orders nothing twice."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.platform.db import UnitOfWork
from ordersmith.purchasing import service as purchasing
from tests.builders import make_item, make_location, make_vendor, sent_purchase_order, stock


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


@pytest.fixture
def shop(uow: UnitOfWork) -> UnitOfWork:
    for sku in ("TEE", "MUG", "CAP", "ODD"):
        make_item(uow, sku=sku)
    make_location(uow, code="DC")
    make_vendor(uow, code="ACME", lead_time_days=10)
    make_vendor(uow, code="BOLT", lead_time_days=3)
    purchasing.set_vendor_item(
        uow, vendor="ACME", sku="TEE", vendor_sku="A-TEE", cost=usd("4.00"), pack_size=6
    )
    purchasing.set_vendor_item(uow, vendor="BOLT", sku="TEE", vendor_sku="B-TEE", cost=usd("3.50"))
    purchasing.set_vendor_item(uow, vendor="BOLT", sku="MUG", vendor_sku="B-MUG", cost=usd("2.00"),
                               min_order_qty=24)  # fmt: skip
    purchasing.set_vendor_item(uow, vendor="ACME", sku="CAP", vendor_sku="A-CAP", cost=usd("5.00"))
    return uow


def test_min_max_counts_on_hand_reserved_and_open_orders_and_rounds_to_packs(shop: UnitOfWork):
    uow = shop
    stock(uow, sku="TEE", location="DC", quantity=6)
    inventory.reserve(uow, key="r1", sku="TEE", quantity=2)
    purchasing.set_rule(
        uow, sku="TEE", location="DC", method="min_max", min_qty=10, max_qty=30, vendor="ACME"
    )
    [tee] = purchasing.suggestions(uow)
    # projected 6 - 2 + 0 = 4 <= 10: order up to 30 = 26, rounded to ACME's packs of 6 = 30
    assert (tee.vendor, tee.on_hand, tee.reserved, tee.on_order, tee.projected) == ("ACME", 6, 2, 0, 4)
    assert tee.quantity == 30 and tee.unit_cost == usd("4.00") and "min 10" in tee.explanation
    # an open PO for 8 lifts the projection to 12 > 10: nothing to suggest
    sent_purchase_order(uow, vendor="ACME", location="DC", lines=[("TEE", 8)])
    assert purchasing.suggestions(uow) == []


def test_reorder_point_uses_recent_shipments_and_the_vendors_lead_time(shop: UnitOfWork):
    uow = shop
    stock(uow, sku="MUG", location="DC", quantity=60)
    inventory.configure_level(uow, sku="MUG", location="DC", safety_stock=4)
    inventory.reserve(uow, key="ship-1", sku="MUG", quantity=56)
    inventory.consume(uow, key="ship-1")  # 56 shipped in the 28-day window: 2 a day
    purchasing.set_rule(uow, sku="MUG", location="DC", method="reorder_point", reorder_qty=5)
    [mug] = purchasing.suggestions(uow)
    # BOLT (the only vendor) needs 3 days: ROP = 2 x 3 + 4 safety = 10; projected 4 <= 10;
    # order 10 + 6 - 4 = 12, raised to BOLT's minimum of 24
    assert (mug.vendor, mug.projected, mug.trigger, mug.quantity) == ("BOLT", 4, 10, 24)
    assert "reorder point 10" in mug.explanation


def test_the_vendor_is_the_rules_then_the_items_default_then_the_cheapest(shop: UnitOfWork):
    uow = shop
    purchasing.set_rule(uow, sku="TEE", location="DC", method="min_max", min_qty=0, max_qty=5)
    assert [s.vendor for s in purchasing.suggestions(uow)] == ["BOLT"]  # cheapest
    purchasing.set_vendor_item(uow, vendor="ACME", sku="TEE", vendor_sku="A-TEE", cost=usd("4.00"), pack_size=6,
                               preferred=True)  # fmt: skip
    assert [s.vendor for s in purchasing.suggestions(uow)] == ["ACME"]  # the item's default
    purchasing.set_rule(uow, sku="TEE", location="DC", method="min_max", min_qty=0, max_qty=5, vendor="BOLT")
    assert [s.vendor for s in purchasing.suggestions(uow)] == ["BOLT"]  # the rule's


def test_suggestions_become_draft_pos_per_vendor_and_nothing_is_ordered_twice(shop: UnitOfWork):
    uow = shop
    for sku in ("TEE", "MUG", "CAP", "ODD"):
        purchasing.set_rule(uow, sku=sku, location="DC", method="min_max", min_qty=2, max_qty=12)
    suggested = purchasing.suggestions(uow)
    assert [(s.vendor, s.sku) for s in suggested] == [("ACME", "CAP"), ("BOLT", "MUG"), ("BOLT", "TEE"),
                                                      (None, "ODD")]  # fmt: skip
    assert "no vendor sells this item" in suggested[-1].explanation
    orders = purchasing.order_suggestions(uow)
    assert [(po.vendor, po.status, [(line.sku, line.ordered) for line in po.lines]) for po in orders] == [
        ("ACME", "draft", [("CAP", 12)]), ("BOLT", "draft", [("MUG", 24), ("TEE", 12)])]  # fmt: skip
    # drafts count as on order: only the item nobody sells is still suggested, and nothing new is ordered
    assert [s.sku for s in purchasing.suggestions(uow)] == ["ODD"]
    assert purchasing.order_suggestions(uow) == []
    assert len(purchasing.list_purchase_orders(uow).items) == 2


def test_suggestions_can_be_narrowed_to_a_vendor_or_location(shop: UnitOfWork):
    uow = shop
    make_location(uow, code="STORE", kind="store")
    purchasing.set_rule(uow, sku="CAP", location="DC", method="min_max", max_qty=5)
    purchasing.set_rule(uow, sku="MUG", location="STORE", method="min_max", max_qty=5)
    assert [s.sku for s in purchasing.suggestions(uow, vendor="ACME")] == ["CAP"]
    assert [s.sku for s in purchasing.suggestions(uow, location="STORE")] == ["MUG"]
    with pytest.raises(NotFound):
        purchasing.suggestions(uow, location="MOON")


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"method": "gut_feeling"}, "method"),
        ({"method": "min_max", "min_qty": 5, "max_qty": 3}, "max_qty"),
        ({"method": "min_max", "max_qty": 0}, "max_qty"),
        ({"method": "reorder_point", "reorder_qty": -1}, "reorder_qty"),
    ],
)
def test_rules_that_make_no_sense_are_refused(shop: UnitOfWork, arguments: dict, field: str):
    with pytest.raises(ValidationFailed) as bad:
        purchasing.set_rule(shop, sku="TEE", location="DC", **arguments)
    assert bad.value.errors[0].field == field
    assert purchasing.suggestions(shop) == []


def test_a_reorder_point_rule_with_a_minimum_and_no_maximum_is_saved(shop: UnitOfWork):
    # given a stocked item at a location
    uow = shop
    # when a reorder-point rule names a minimum but no maximum (a maximum belongs to min/max rules)
    saved = purchasing.set_rule(
        uow, sku="MUG", location="DC", method="reorder_point", min_qty=5, reorder_qty=20
    )
    # then it is stored as given
    assert (saved.method, saved.min_qty, saved.max_qty, saved.reorder_qty) == ("reorder_point", 5, 0, 20)
    again = purchasing.set_rule(
        uow, sku="MUG", location="DC", method="reorder_point", min_qty=7, reorder_qty=20
    )
    assert (again.min_qty, again.max_qty) == (7, 0)


def test_a_buyer_orders_only_the_suggestions_they_chose_at_their_own_quantities(shop: UnitOfWork):
    # given suggestions for TEE (ACME), MUG (BOLT) and CAP (ACME) at the DC
    uow = shop
    for sku, vendor in (("TEE", "ACME"), ("MUG", "BOLT"), ("CAP", "ACME")):
        purchasing.set_rule(
            uow, sku=sku, location="DC", method="min_max", min_qty=0, max_qty=10, vendor=vendor
        )
    assert sorted(s.sku for s in purchasing.suggestions(uow)) == ["CAP", "MUG", "TEE"]
    # when the buyer ticks TEE at 18 units and CAP as suggested, and leaves MUG
    made = purchasing.order_suggestions(
        uow,
        chosen=[purchasing.ChosenSuggestion("tee", "DC", 18), purchasing.ChosenSuggestion("CAP", "dc")],
    )
    # then one ACME draft holds exactly those, and MUG is still suggested
    [po] = made
    assert (po.vendor, po.status) == ("ACME", "draft")
    assert sorted((line.sku, line.ordered) for line in po.lines) == [("CAP", 10), ("TEE", 18)]
    assert [s.sku for s in purchasing.suggestions(uow)] == ["MUG"]


@pytest.mark.parametrize(
    ("chosen", "field"),
    [
        ([("ODD", "DC", None)], "lines.0"),  # not suggested
        ([("TEE", "DC", 0)], "lines.0.quantity"),
        ([("TEE", "DC", 5), ("TEE", "DC", 6)], "lines.1"),  # chosen twice
    ],
    ids=["not-suggested", "zero-units", "twice"],
)
def test_a_choice_that_cannot_be_ordered_is_refused_naming_it_and_makes_nothing(
    shop: UnitOfWork, chosen: list[tuple[str, str, int | None]], field: str
):
    # given a suggestion for TEE
    uow = shop
    purchasing.set_rule(uow, sku="TEE", location="DC", method="min_max", min_qty=0, max_qty=10, vendor="ACME")
    # when the buyer's choice cannot be ordered
    with pytest.raises(ValidationFailed) as refused:
        purchasing.order_suggestions(uow, chosen=[purchasing.ChosenSuggestion(*c) for c in chosen])
    # then the field is named and no PO exists
    assert refused.value.errors[0].field == field
    assert purchasing.list_purchase_orders(uow).items == []


def test_a_purchase_orders_receipts_list_each_delivery_with_its_lines(shop: UnitOfWork):
    # given a sent PO for 10 tees and 24 mugs, received in two deliveries
    uow = shop
    po = sent_purchase_order(uow, vendor="BOLT", location="DC", lines=[("TEE", 10), ("MUG", 24)])
    purchasing.receive(uow, number=po.number, lines=[purchasing.ReceivedLine(sku="TEE", quantity=4)],
                       reference="ASN-1")  # fmt: skip
    purchasing.receive(uow, number=po.number, lines=[purchasing.ReceivedLine(sku="TEE", quantity=6),
                                                      purchasing.ReceivedLine(sku="MUG", quantity=24)])  # fmt: skip
    # when its receipts are read
    receipts = purchasing.receipts_of(uow, number=po.number)
    # then both deliveries are there, oldest first, with their units per line
    assert [(r.reference, r.location, [(x.line, x.sku, x.quantity) for x in r.lines]) for r in receipts] == [
        ("ASN-1", "DC", [(1, "TEE", 4)]),
        ("", "DC", [(1, "TEE", 6), (2, "MUG", 24)]),
    ]
    assert purchasing.receipts_of(uow, number=sent_purchase_order(
        uow, vendor="ACME", location="DC", lines=[("CAP", 1)]).number) == []  # fmt: skip

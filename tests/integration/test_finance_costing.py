"""Inventory costing against real SQLite and PostgreSQL (ADR 0041): landed costs allocated by value, weight and
units (remainders to the largest fractions), the moving average before and after, the share on units already sold
to cost of goods sold, a charge over the receipts of one shipment, refusals that change nothing, exactly once;
per-location averages across receipts, shipments and transfers, the switch between per item and per location; and
the inventory subledger equal to the inventory account after every step."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.finance import service as finance
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.payments import service as payments
from ordersmith.platform import outbox
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.settings import Settings
from ordersmith.purchasing import service as purchasing
from tests.builders import channel, make_order_shop, make_vendor, order_request


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


@pytest.fixture
def shop(uow: UnitOfWork, db: Database, settings: Settings) -> UnitOfWork:
    """The order shop with none of its opening stock (which has no cost): everything in stock comes through POs."""
    finance.ensure_chart(uow)
    payments.setup_payments(db, settings)
    make_order_shop(uow)
    make_vendor(uow)
    for sku, location, units in (
        ("TEE", "EAST", 10),
        ("TEE", "WEST", 10),
        ("TEE", "STORE1", 3),
        ("MUG", "WEST", 20),
    ):
        inventory.adjust_stock(uow, sku=sku, location=location, quantity=-units, reason="receipt")
    finance.register()
    dispatch_all(db, uow)
    yield uow
    finance.unregister()


def dispatch_all(db: Database, uow: UnitOfWork) -> None:
    while outbox.dispatch_batch(db.unit_of_work(uow.actor)):
        pass


def receive(
    uow: UnitOfWork, db: Database, location: str, *lines: tuple[str, int, str]
) -> tuple[str, uuid.UUID]:
    """A PO for (sku, units, unit cost) lines received whole at LOCATION and posted: (its number, the receipt)."""
    new = [purchasing.NewLine(sku, units, unit_cost=usd(cost)) for sku, units, cost in lines]
    po = purchasing.create_purchase_order(uow, vendor="ACME", location=location, lines=new)
    purchasing.approve(uow, number=po.number)
    purchasing.send(uow, number=po.number)
    received = [purchasing.ReceivedLine(sku=sku, quantity=units) for sku, units, _ in lines]
    purchasing.receive(uow, number=po.number, lines=received)
    dispatch_all(db, uow)
    return po.number, purchasing.receipts_of(uow, number=po.number)[-1].id


def cost(db: Database, sku: str, location: str | None = None) -> tuple[int, int, int]:
    """(units, value, average) of an item's cost row, or of its row at a location."""
    with db.engine.connect() as conn:
        if location is None:
            query = "SELECT units, value_minor, average_cost_minor FROM finance_item_costs WHERE sku = :sku"
            return tuple(conn.execute(sa.text(query), {"sku": sku}).one())  # type: ignore[return-value]
        query = (
            "SELECT units, value_minor, average_cost_minor FROM finance_location_costs "
            "WHERE sku = :sku AND location = :location"
        )
        return tuple(conn.execute(sa.text(query), {"sku": sku, "location": location}).one())  # type: ignore[return-value]


def lines(entry: finance.JournalEntry) -> list[tuple[str, int, int]]:
    return [(x.account_code, x.debit.minor, x.credit.minor) for x in entry.lines]


def entries(uow: UnitOfWork, rule: str) -> list[finance.JournalEntry]:
    return list(reversed(finance.list_journal(uow, rule=rule, limit=200).items))


def books_agree(uow: UnitOfWork) -> int:
    """Assert the inventory subledger equals the inventory account (and the per-location rows of each item add up
    to its row); return the inventory value."""
    (check,) = finance.inventory_reconciliation(uow)
    assert check.difference == usd("0.00"), check
    with uow.db.engine.connect() as conn:
        drift = conn.execute(
            sa.text(
                "SELECT i.sku, i.units, i.value_minor, SUM(l.units), SUM(l.value_minor) FROM finance_item_costs i "
                "JOIN finance_location_costs l ON l.sku = i.sku GROUP BY i.sku, i.units, i.value_minor "
                "HAVING i.units <> SUM(l.units) OR i.value_minor <> SUM(l.value_minor)"
            )
        ).all()
    assert drift == []
    return check.subledger.minor


def ship(uow: UnitOfWork, db: Database, *wanted: tuple[str, int]) -> None:
    order = orders.place_order(uow, channel=channel(uow, "web"), request=order_request(*wanted)).order
    orders.record_shipment(uow, ref=str(order.id))
    dispatch_all(db, uow)


# ---- landed costs ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("basis", "tee", "mug"),
    [
        # values 20.00 and 30.00: 400.4 and 600.6 → the cent left goes to the larger fraction (the mugs)
        ("value", 400, 601),
        # weights 10 x 200 g and 5 x 400 g are equal: 500.5 each → the tie goes to the earlier line (the tees)
        ("weight", 501, 500),
        # units 10 and 5: 667.33 and 333.67 → floors 667 and 333, the cent left to the larger fraction (the mugs)
        ("units", 667, 334),
    ],
)
def test_a_freight_charge_is_allocated_exactly_and_raises_the_average_of_the_units_in_stock(
    shop: UnitOfWork, db: Database, basis: str, tee: int, mug: int
):
    # given 10 tees at 2.00 and 5 mugs at 6.00 received at EAST
    po, receipt = receive(shop, db, "EAST", ("TEE", 10, "2.00"), ("MUG", 5, "6.00"))
    assert (cost(db, "TEE"), cost(db, "MUG")) == ((10, 2000, 200), (5, 3000, 600))
    assert books_agree(shop) == 5000
    # when 10.01 of freight is entered against the receipt
    charge = finance.record_landed_cost(
        shop, kind="freight", basis=basis, amount=usd("10.01"), receipts=[receipt]
    )
    dispatch_all(db, shop)
    # then its lines add up to the charge exactly, all of it on stock
    assert [(x.sku, x.allocated.minor) for x in charge.lines] == [("TEE", tee), ("MUG", mug)]
    assert sum(x.allocated.minor for x in charge.lines) == 1001
    posted = finance.get_landed_cost(shop, ref=charge.number)
    assert (posted.posted, posted.inventory, posted.cogs) == (True, usd("10.01"), usd("0.00"))
    (entry,) = entries(shop, "landed_cost.recorded")
    assert lines(entry) == [("1300", 1001, 0), ("2060", 0, 1001)]
    assert (entry.reference, posted.purchase_orders) == (charge.number, [po])
    # and each item's value rose by its share, its average with it
    assert cost(db, "TEE") == (10, 2000 + tee, round((2000 + tee) / 10))
    assert cost(db, "MUG") == (5, 3000 + mug, round((3000 + mug) / 5))
    assert [(x.average_before, x.average_after) for x in posted.lines] == [
        (usd("2.00"), Money.from_minor(round((2000 + tee) / 10), "USD")),
        (usd("6.00"), Money.from_minor(round((3000 + mug) / 5), "USD")),
    ]
    assert books_agree(shop) == 6001


def test_the_share_of_a_charge_on_units_already_sold_goes_to_cost_of_goods_sold(
    shop: UnitOfWork, db: Database
):
    # given 10 tees received at 2.00, 4 of them shipped (COGS 8.00)
    _po, receipt = receive(shop, db, "EAST", ("TEE", 10, "2.00"))
    ship(shop, db, ("TEE", 4))
    assert cost(db, "TEE") == (6, 1200, 200)
    assert books_agree(shop) == 1200
    # when 5.00 of duty arrives for the receipt
    charge = finance.record_landed_cost(
        shop, kind="duty", basis="units", amount=usd("5.00"), receipts=[receipt]
    )
    dispatch_all(db, shop)
    # then 6/10 of it is on the 6 tees still in stock and 4/10 on the 4 sold
    (entry,) = entries(shop, "landed_cost.recorded")
    assert lines(entry) == [("1300", 300, 0), ("5000", 200, 0), ("2060", 0, 500)]
    posted = finance.get_landed_cost(shop, ref=charge.number)
    assert (posted.inventory, posted.cogs) == (usd("3.00"), usd("2.00"))
    assert cost(db, "TEE") == (6, 1500, 250)
    assert books_agree(shop) == 1500
    # and the next tee ships at the raised average
    ship(shop, db, ("TEE", 1))
    assert lines(entries(shop, "order.shipped")[-1])[-2:] == [("5000", 250, 0), ("1300", 0, 250)]
    assert books_agree(shop) == 1250


def test_a_charge_on_a_sold_out_receipt_is_all_cost_of_goods_sold_and_the_last_unit_takes_what_is_left(
    shop: UnitOfWork, db: Database
):
    # given 3 tees at 1.00 plus 1.00 of freight (3 x 1.333…: value 4.00, average 1.33), then all 3 shipped
    _po, receipt = receive(shop, db, "EAST", ("TEE", 3, "1.00"))
    finance.record_landed_cost(shop, kind="freight", basis="units", amount=usd("1.00"), receipts=[receipt])
    dispatch_all(db, shop)
    assert cost(db, "TEE") == (3, 400, 133)
    ship(shop, db, ("TEE", 2))
    ship(shop, db, ("TEE", 1))
    # then the last one took the 1.34 left: nothing stays on zero units
    assert cost(db, "TEE") == (0, 0, 133)
    assert books_agree(shop) == 0
    # when brokerage arrives for that receipt, it is all cost of goods sold
    finance.record_landed_cost(shop, kind="brokerage", basis="value", amount=usd("0.75"), receipts=[receipt])
    dispatch_all(db, shop)
    assert lines(entries(shop, "landed_cost.recorded")[-1]) == [("5000", 75, 0), ("2060", 0, 75)]
    assert cost(db, "TEE") == (0, 0, 133)
    assert books_agree(shop) == 0


def test_one_charge_covers_the_receipts_of_a_shipment_and_of_a_purchase_order(shop: UnitOfWork, db: Database):
    # given two POs received, the second in two deliveries
    first_po, one = receive(shop, db, "EAST", ("TEE", 4, "5.00"))
    new = [purchasing.NewLine("MUG", 6, unit_cost=usd("2.50"))]
    po = purchasing.create_purchase_order(shop, vendor="ACME", location="WEST", lines=new)
    purchasing.approve(shop, number=po.number)
    purchasing.send(shop, number=po.number)
    for units in (2, 4):
        purchasing.receive(shop, number=po.number, lines=[purchasing.ReceivedLine(sku="MUG", quantity=units)])
    dispatch_all(db, shop)
    two, three = (r.id for r in purchasing.receipts_of(shop, number=po.number))
    # when one container's freight covers all three receipts, and a second charge names the PO
    shipment = finance.record_landed_cost(
        shop,
        kind="freight",
        basis="value",
        amount=usd("7.00"),
        receipts=[one, two, three],
        reference="BOL-77",
    )
    duty = finance.record_landed_cost(
        shop, kind="duty", basis="units", amount=usd("0.60"), purchase_order=po.number
    )
    dispatch_all(db, shop)
    # then the freight is split 20.00 : 5.00 : 10.00 of value, the duty 2 : 4 units
    assert [(x.sku, x.location, x.quantity, x.basis_amount, x.allocated.minor) for x in shipment.lines] == [
        ("TEE", "EAST", 4, 2000, 400),
        ("MUG", "WEST", 2, 500, 100),
        ("MUG", "WEST", 4, 1000, 200),
    ]
    assert [x.allocated.minor for x in duty.lines] == [20, 40]
    assert (shipment.reference, sorted(shipment.purchase_orders)) == ("BOL-77", sorted([first_po, po.number]))
    assert cost(db, "TEE") == (4, 2400, 600)
    assert cost(db, "MUG") == (6, 1500 + 300 + 60, 310)
    assert books_agree(shop) == 2400 + 1860
    # and the charges are listed newest first, also by purchase order
    assert [c.number for c in finance.list_landed_costs(shop).items] == [duty.number, shipment.number]
    assert [c.number for c in finance.list_landed_costs(shop, purchase_order=first_po).items] == [
        shipment.number
    ]


def test_a_charge_posts_once_however_often_its_event_is_delivered(shop: UnitOfWork, db: Database):
    _po, receipt = receive(shop, db, "EAST", ("TEE", 10, "2.00"))
    finance.record_landed_cost(shop, kind="freight", basis="units", amount=usd("1.00"), receipts=[receipt])
    dispatch_all(db, shop)
    dispatch_all(db, shop)
    assert finance.replay_outbox(shop)[1] == 0
    assert len(entries(shop, "landed_cost.recorded")) == 1
    assert cost(db, "TEE") == (10, 2100, 210)
    assert books_agree(shop) == 2100


def _counts(db: Database) -> tuple[int, int, int]:
    with db.engine.connect() as conn:
        return tuple(
            conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
            for table in ("finance_landed_costs", "finance_landed_cost_lines", "outbox")
        )  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"receipts": [uuid.UUID(int=7)]}, "receipts.0"),
        ({"receipts": []}, "receipts"),
        ({"purchase_order": "P-999999", "receipts": []}, "purchase_order"),
        ({"amount": usd("0.00")}, "amount"),
        ({"amount": Money(Decimal("5.00"), "EUR")}, "amount.currency"),
        ({"kind": "insurance"}, "kind"),
        ({"basis": "volume"}, "basis"),
        ({"reference": "x" * 81}, "reference"),
        ({"basis": "weight", "receipts": "CANDLE"}, "basis"),
    ],
)
def test_a_bad_charge_is_refused_naming_the_field_and_changes_nothing(
    shop: UnitOfWork, db: Database, change: dict[str, object], field: str
):
    _po, receipt = receive(shop, db, "EAST", ("TEE", 2, "2.00"))
    if change.get("receipts") == "CANDLE":  # an item without a weight, allocated by weight
        catalog.create_item(shop, sku="CANDLE", name="Candle", divisions=["web"])
        _po, receipt = receive(shop, db, "EAST", ("CANDLE", 2, "2.00"))
        change = {**change, "receipts": [receipt]}
    before, value = _counts(db), books_agree(shop)
    args: dict[str, object] = {
        "kind": "freight",
        "basis": "units",
        "amount": usd("5.00"),
        "receipts": [receipt],
    }
    with pytest.raises(ValidationFailed) as refused:
        finance.record_landed_cost(shop, **{**args, **change})  # type: ignore[arg-type]
    assert field in [e.field for e in refused.value.errors]
    dispatch_all(db, shop)
    assert (_counts(db), books_agree(shop)) == (before, value)
    with pytest.raises(NotFound):
        finance.get_landed_cost(shop, ref="LC-000001")


# ---- per-location cost --------------------------------------------------------------------------------------------


def test_per_location_averages_follow_receipts_shipments_and_transfers(shop: UnitOfWork, db: Database):
    # given every item costed per location
    change = finance.set_costing_policy(shop, by_location=True)
    assert (change.policy.by_location, change.switched) == (True, [])
    # when tees arrive at EAST at 2.00 and at WEST at 4.00
    receive(shop, db, "EAST", ("TEE", 10, "2.00"))
    receive(shop, db, "WEST", ("TEE", 10, "4.00"))
    # then each location keeps its own average; the item holds their sums
    assert (cost(db, "TEE", "EAST"), cost(db, "TEE", "WEST")) == ((10, 2000, 200), (10, 4000, 400))
    assert cost(db, "TEE") == (20, 6000, 300)
    assert books_agree(shop) == 6000
    # when 2 ship (from EAST, the first in priority): COGS at EAST's 2.00
    ship(shop, db, ("TEE", 2))
    assert lines(entries(shop, "order.shipped")[-1])[-2:] == [("5000", 400, 0), ("1300", 0, 400)]
    assert cost(db, "TEE", "EAST") == (8, 1600, 200)
    assert books_agree(shop) == 5600
    # when 5 move from WEST to EAST: at WEST's 4.00, no entry (one inventory account)
    before = len(finance.list_journal(shop, limit=200).items)
    inventory.transfer_stock(shop, sku="TEE", from_location="WEST", to_location="EAST", quantity=5)
    dispatch_all(db, shop)
    assert len(finance.list_journal(shop, limit=200).items) == before
    assert (cost(db, "TEE", "EAST"), cost(db, "TEE", "WEST")) == ((13, 3600, 277), (5, 2000, 400))
    assert books_agree(shop) == 5600
    # and the transfer moved it once, however often its event comes again
    assert finance.replay_outbox(shop)[1] == 0
    assert (cost(db, "TEE", "EAST"), cost(db, "TEE", "WEST")) == ((13, 3600, 277), (5, 2000, 400))
    # when EAST sells out (13) and the next order ships from WEST at 4.00
    ship(shop, db, ("TEE", 13))
    assert cost(db, "TEE", "EAST") == (0, 0, 277)
    ship(shop, db, ("TEE", 1))
    assert lines(entries(shop, "order.shipped")[-1])[-2:] == [("5000", 400, 0), ("1300", 0, 400)]
    assert books_agree(shop) == 1600
    # and a WEST count that finds one short is shrinkage at WEST's average
    inventory.record_count(shop, location="WEST", counts={"TEE": 3})
    dispatch_all(db, shop)
    assert lines(entries(shop, "stock.changed")[-1]) == [("5100", 400, 0), ("1300", 0, 400)]
    assert books_agree(shop) == 1200
    valuation = finance.inventory_valuation(shop)
    assert [(r.sku, r.location, r.basis, r.units, r.value.minor) for r in valuation.rows] == [
        ("TEE", "WEST", "location", 3, 1200)
    ]


def test_a_landed_cost_on_an_item_costed_per_location_raises_the_receiving_location_only(
    shop: UnitOfWork, db: Database
):
    finance.set_costing_policy(shop, by_location=True, sku="MUG")
    receive(shop, db, "EAST", ("MUG", 4, "3.00"))
    _po, receipt = receive(shop, db, "WEST", ("MUG", 4, "5.00"))
    ship(shop, db, ("MUG", 1))  # from EAST
    finance.record_landed_cost(shop, kind="freight", basis="units", amount=usd("2.00"), receipts=[receipt])
    dispatch_all(db, shop)
    assert (cost(db, "MUG", "EAST"), cost(db, "MUG", "WEST")) == ((3, 900, 300), (4, 2200, 550))
    assert lines(entries(shop, "landed_cost.recorded")[-1]) == [("1300", 200, 0), ("2060", 0, 200)]
    assert books_agree(shop) == 3100
    # the tees stay costed per item: everyone's policy is unchanged
    policy = finance.costing_policy(shop)
    assert (policy.by_location, policy.items) == (False, {"MUG": True})


def test_switching_to_per_location_seeds_each_location_from_the_item_s_average_and_back_changes_no_value(
    shop: UnitOfWork, db: Database
):
    # given tees costed per item: 10 at EAST for 2.00 and 10 at WEST for 4.00 (one average, 3.00), 5 more at WEST
    # for 3.01, and one shipped from EAST
    receive(shop, db, "EAST", ("TEE", 10, "2.00"))
    receive(shop, db, "WEST", ("TEE", 10, "4.00"), ("MUG", 3, "1.00"))
    receive(shop, db, "WEST", ("TEE", 5, "3.01"))
    ship(shop, db, ("TEE", 1))
    assert cost(db, "TEE") == (24, 7505 - 300, 300)
    value = books_agree(shop)
    # when the tees switch to per location
    change = finance.set_costing_policy(shop, by_location=True, sku="tee")
    # then EAST (9 on hand) and WEST (15) each start at the item's average, their values adding up to the item's
    (switched,) = change.switched
    assert (switched.sku, switched.by_location, switched.units, switched.value) == (
        "TEE",
        True,
        24,
        usd("72.05"),
    )
    assert (cost(db, "TEE", "EAST"), cost(db, "TEE", "WEST")) == ((9, 2702, 300), (15, 4503, 300))
    assert books_agree(shop) == value
    # and the mugs did not switch
    assert finance.costing_policy(shop).items == {"TEE": True}
    # when everyone switches to per location, only the mugs switch now; when the tees drop their own choice,
    # nothing changes; when everyone switches back, both fold back into one row each
    assert [s.sku for s in finance.set_costing_policy(shop, by_location=True).switched] == ["MUG"]
    assert finance.set_costing_policy(shop, by_location=None, sku="TEE").switched == []
    back = finance.set_costing_policy(shop, by_location=False)
    assert [(s.sku, s.units, s.value.minor) for s in back.switched] == [("MUG", 3, 300), ("TEE", 24, 7205)]
    assert cost(db, "TEE") == (24, 7205, 300)
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM finance_location_costs")).scalar_one() == 0
    assert books_agree(shop) == value
    # and the valuation spreads each item's value over the locations holding it
    valuation = finance.inventory_valuation(shop)
    assert [(r.location, r.sku, r.basis, r.units, r.value.minor) for r in valuation.rows] == [
        ("EAST", "TEE", "item", 9, 2702),
        ("WEST", "MUG", "item", 3, 300),
        ("WEST", "TEE", "item", 15, 4503),
    ]
    assert [(t.location, t.units, t.value.minor) for t in valuation.locations] == [
        ("EAST", 9, 2702),
        ("WEST", 18, 4803),
    ]


def test_a_switch_for_everyone_needs_a_choice_and_an_unknown_item_is_not_found(
    shop: UnitOfWork, db: Database
):
    with pytest.raises(ValidationFailed) as refused:
        finance.set_costing_policy(shop, by_location=None)
    assert refused.value.errors[0].field == "by_location"
    with pytest.raises(NotFound):
        finance.set_costing_policy(shop, by_location=True, sku="NOPE")
    assert finance.costing_policy(shop) == finance.CostingPolicy(False, {})


# ---- the bills that clear landed costs accrued --------------------------------------------------------------------


def test_a_vendor_bill_s_freight_line_and_a_carrier_s_bill_clear_landed_costs_accrued(
    shop: UnitOfWork, db: Database
):
    # given 10 tees received at 2.00 and 10.00 of freight accrued on them
    po, receipt = receive(shop, db, "EAST", ("TEE", 10, "2.00"))
    finance.record_landed_cost(shop, kind="freight", basis="units", amount=usd("10.00"), receipts=[receipt])
    make_vendor(shop, code="SHIPCO")
    day = shop.now().date()
    # when the vendor bills the goods and 6.00 of its freight, and the carrier bills 4.00 for the rest
    goods = finance.enter_vendor_bill(
        shop,
        purchase_order=po,
        vendor_invoice="INV-1",
        billed_on=day,
        lines=[
            finance.NewBillLine(po_line=1, quantity=10, unit_price="2.00"),
            finance.NewBillLine(po_line=0, quantity=1, unit_price="6.00", kind="freight"),
        ],
    )
    carrier = finance.enter_vendor_bill(
        shop,
        purchase_order=po,
        vendor_invoice="BOL-9",
        billed_on=day,
        vendor="shipco",
        lines=[finance.NewBillLine(po_line=0, quantity=1, unit_price="4.00", kind="freight")],
    )
    # then both match (charge lines are not matched against the PO) and show their charges apart
    assert (goods.status, goods.total, goods.charges, goods.variance) == (
        "matched",
        usd("26.00"),
        usd("6.00"),
        usd("0.00"),
    )
    assert [(x.kind, x.po_line, x.amount) for x in goods.lines] == [
        ("goods", 1, usd("20.00")),
        ("freight", 0, usd("6.00")),
    ]
    assert (carrier.vendor, carrier.status, carrier.total, carrier.charges) == (
        "SHIPCO",
        "matched",
        usd("4.00"),
        usd("4.00"),
    )
    # when both are approved: Dr GRNI and landed costs accrued / Cr AP
    finance.approve_vendor_bill(shop, ref=goods.number)
    finance.approve_vendor_bill(shop, ref=carrier.number)
    dispatch_all(db, shop)
    approved = entries(shop, "vendor_bill.approved")
    assert [lines(e) for e in approved] == [
        [("2050", 2000, 0), ("2060", 600, 0), ("2000", 0, 2600)],
        [("2060", 400, 0), ("2000", 0, 400)],
    ]
    # and landed costs accrued are cleared: the inventory carries the freight, AP owes it
    trial = finance.trial_balance(shop, period=finance.list_periods(shop)[-1].code, cumulative=True)
    balance = {row.account_code: row.balance.minor for row in trial.rows}
    assert (balance["2060"], balance["2050"], balance["1300"], balance["2000"]) == (0, 0, 3000, -3000)
    assert books_agree(shop) == 3000


@pytest.mark.parametrize(
    ("vendor", "line", "field"),
    [
        ("SHIPCO", finance.NewBillLine(po_line=1, quantity=1, unit_price="2.00"), "vendor"),
        ("NOBODY", finance.NewBillLine(po_line=0, quantity=1, unit_price="2.00", kind="duty"), "vendor"),
        (
            None,
            finance.NewBillLine(po_line=1, quantity=1, unit_price="2.00", kind="freight"),
            "lines.0.po_line",
        ),
        (None, finance.NewBillLine(po_line=0, quantity=1, unit_price="2.00", kind="storage"), "lines.0.kind"),
    ],
)
def test_a_charge_bill_that_does_not_fit_is_refused_naming_the_field_and_changes_nothing(
    shop: UnitOfWork, db: Database, vendor: str | None, line: finance.NewBillLine, field: str
):
    po, _receipt = receive(shop, db, "EAST", ("TEE", 1, "2.00"))
    make_vendor(shop, code="SHIPCO")
    with pytest.raises(ValidationFailed) as refused:
        finance.enter_vendor_bill(
            shop,
            purchase_order=po,
            vendor_invoice="X-1",
            billed_on=shop.now().date(),
            lines=[line],
            vendor=vendor,
        )
    assert field in [e.field for e in refused.value.errors]
    assert finance.list_vendor_bills(shop).items == []

"""Vendors, purchase orders and receipts on SQLite and PostgreSQL: the life cycle, tolerance, refusals that change
nothing, and concurrent receipts that never over-receive."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.inventory import service as inventory
from ordersmith.inventory.tables import StockMovementRow
from ordersmith.kernel.errors import IllegalTransition, NotFound, OverReceipt, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.platform.tables import OutboxRow
from ordersmith.purchasing import service as purchasing
from ordersmith.purchasing.service import NewLine, ReceivedLine
from ordersmith.purchasing.tables import PurchaseOrderLineRow, ReceiptRow
from tests.builders import make_item, make_location, make_vendor, sent_purchase_order


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


def _receipt_movements(db: Database) -> list[tuple[str, int]]:
    with db.session() as session:
        query = (
            sa.select(StockMovementRow)
            .where(StockMovementRow.reason == "receipt")
            .order_by(StockMovementRow.id)
        )
        return [(r.reference, r.on_hand_delta) for r in session.scalars(query)]


def _events(db: Database, kind: str) -> list[dict]:
    with db.session() as session:
        return [r.payload for r in session.scalars(sa.select(OutboxRow).where(OutboxRow.type == kind)
                                                   .order_by(OutboxRow.id))]  # fmt: skip


@pytest.fixture
def setup(uow: UnitOfWork) -> UnitOfWork:
    make_item(uow, sku="TEE")
    make_item(uow, sku="MUG")
    make_location(uow, code="DC")
    make_location(uow, code="DC2")
    make_vendor(uow, code="ACME", lead_time_days=10)
    purchasing.set_vendor_item(uow, vendor="ACME", sku="TEE", vendor_sku="A-TEE", cost=usd("4.20"),
                               min_order_qty=12, pack_size=6, preferred=True)  # fmt: skip
    purchasing.set_vendor_item(uow, vendor="ACME", sku="MUG", vendor_sku="A-MUG", cost=usd("2.05"))
    return uow


def test_a_purchase_order_goes_from_draft_to_closed_through_partial_receipts(setup: UnitOfWork, db: Database):
    uow = setup
    # given a draft priced from the vendor's list, expected after the vendor's lead time
    po = purchasing.create_purchase_order(uow, vendor="acme", location="DC",
                                          lines=[NewLine("TEE", 10), NewLine("MUG", 4)])  # fmt: skip
    assert (po.number, po.status, po.vendor, po.location) == ("PO-000001", "draft", "ACME", "DC")
    assert [(line.sku, line.vendor_sku, line.unit_cost) for line in po.lines] == [
        ("TEE", "A-TEE", usd("4.20")), ("MUG", "A-MUG", usd("2.05"))]  # fmt: skip
    assert po.total == usd("50.20")
    assert po.lines[0].expected_on == uow.now().date() + timedelta(days=10)
    # when it is approved, sent and received in two parts
    assert purchasing.approve(uow, number=po.number).status == "approved"
    assert purchasing.send(uow, number=po.number).status == "sent"
    first = purchasing.receive(uow, number=po.number, lines=[ReceivedLine("TEE", 3)], reference="ASN-1")
    assert first.status == "partially_received" and first.lines[0].received == 3 and first.lines[0].open == 7
    second = purchasing.receive(uow, number=po.number, lines=[ReceivedLine("tee", 5), ReceivedLine("MUG", 4)])
    assert second.status == "partially_received"
    # and the remainder is cancelled: the PO is closed, the open units cancelled
    closed = purchasing.cancel(uow, number=po.number, reason="vendor out of stock")
    assert closed.status == "closed" and closed.ended_at is not None
    assert [(line.received, line.cancelled, line.open) for line in closed.lines] == [(8, 2, 0), (4, 0, 0)]
    # then stock arrived as receipt movements naming the PO, and po.received told the world each time
    assert inventory.get_availability(uow, sku="TEE").on_hand == 8
    assert _receipt_movements(db) == [("PO-000001", 3), ("PO-000001", 5), ("PO-000001", 4)]
    received = _events(db, "po.received")
    assert [e["lines"] for e in received] == [
        [{"line": 1, "sku": "TEE", "quantity": 3}],
        [{"line": 1, "sku": "TEE", "quantity": 5}, {"line": 2, "sku": "MUG", "quantity": 4}],
    ]
    assert received[0]["reference"] == "ASN-1" and received[1]["status"] == "partially_received"
    assert inventory.verify(uow) == []


def test_receiving_everything_marks_the_po_received_and_it_can_be_closed(setup: UnitOfWork):
    po = sent_purchase_order(setup, vendor="ACME", location="DC", lines=[("TEE", 6)])
    done = purchasing.receive(setup, number=po.number, lines=[ReceivedLine("TEE", 6)], location="DC2")
    assert done.status == "received" and done.ended_at is not None
    assert {x.location: x.on_hand for x in inventory.get_availability(setup, sku="TEE").locations} == {
        "DC2": 6
    }
    assert purchasing.close(setup, number=po.number).status == "closed"


def test_cancelling_before_anything_arrived_cancels_the_po(setup: UnitOfWork):
    po = sent_purchase_order(setup, vendor="ACME", location="DC", lines=[("TEE", 6)])
    cancelled = purchasing.cancel(setup, number=po.number)
    assert cancelled.status == "cancelled" and cancelled.lines[0].cancelled == 6
    with pytest.raises(IllegalTransition) as late:
        purchasing.receive(setup, number=po.number, lines=[ReceivedLine("TEE", 1)])
    assert late.value.extra["state"] == "cancelled"


def test_moves_the_life_cycle_does_not_allow_are_409_with_the_state_and_change_nothing(setup: UnitOfWork):
    po = purchasing.create_purchase_order(setup, vendor="ACME", location="DC", lines=[NewLine("TEE", 6)])
    for move in (purchasing.send, purchasing.close):
        with pytest.raises(IllegalTransition) as refused:
            move(setup, number=po.number)
        assert refused.value.extra["state"] == "draft"
    with pytest.raises(IllegalTransition):
        purchasing.receive(setup, number=po.number, lines=[ReceivedLine("TEE", 1)])
    purchasing.approve(setup, number=po.number)
    with pytest.raises(IllegalTransition):
        purchasing.approve(setup, number=po.number)
    after = purchasing.get_purchase_order(setup, number=po.number)
    assert (after.status, after.version, after.lines[0].received) == ("approved", 2, 0)
    assert inventory.get_availability(setup, sku="TEE").on_hand == 0


def test_receiving_beyond_the_vendors_tolerance_is_refused_and_changes_nothing(uow: UnitOfWork, db: Database):
    make_item(uow, sku="TEE")
    make_item(uow, sku="MUG")
    make_location(uow, code="DC")
    make_vendor(uow, code="LOOSE", over_receipt_pct=10)
    po = sent_purchase_order(uow, vendor="LOOSE", location="DC", lines=[("TEE", 10), ("MUG", 5)])
    # 10 ordered + 10% = 11 at most; the whole receipt is refused, its good MUG line too
    with pytest.raises(OverReceipt) as over:
        purchasing.receive(uow, number=po.number, lines=[ReceivedLine("MUG", 5), ReceivedLine("TEE", 12)])
    assert over.value.extra["allowed"] == 11 and over.value.errors[0].field == "lines.1.quantity"
    after = purchasing.get_purchase_order(uow, number=po.number)
    assert (after.status, [line.received for line in after.lines]) == ("sent", [0, 0])
    assert _receipt_movements(db) == [] and inventory.get_availability(uow, sku="MUG").on_hand == 0
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ReceiptRow)) == 0
    # within tolerance it is taken, and the line counts as complete
    done = purchasing.receive(uow, number=po.number, lines=[ReceivedLine("TEE", 11), ReceivedLine("MUG", 5)])
    assert done.status == "received" and done.lines[0].open == 0


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([], "lines"),
        ([ReceivedLine("TEE", 0)], "lines.0.quantity"),
        ([ReceivedLine("SOCK", 1)], "lines.0.sku"),
    ],
)
def test_a_receipt_that_makes_no_sense_is_refused_and_changes_nothing(
    setup: UnitOfWork, db: Database, lines: list[ReceivedLine], field: str
):
    make_item(setup, sku="SOCK")
    po = sent_purchase_order(setup, vendor="ACME", location="DC", lines=[("TEE", 6)])
    with pytest.raises(ValidationFailed) as bad:
        purchasing.receive(setup, number=po.number, lines=lines)
    assert bad.value.errors[0].field == field
    assert purchasing.get_purchase_order(setup, number=po.number).version == po.version
    assert _receipt_movements(db) == []


def test_purchase_orders_that_make_no_sense_are_refused_and_create_nothing(setup: UnitOfWork):
    catalog.create_item(setup, sku="SET", name="Set", kind="kit", components=[("TEE", 1)])
    make_item(setup, sku="SOCK")
    cases = [
        ({"lines": []}, ValidationFailed, "lines"),
        ({"lines": [NewLine("TEE", 0)]}, ValidationFailed, "lines.0.quantity"),
        ({"lines": [NewLine("SET", 1)]}, ValidationFailed, "lines.0.sku"),
        ({"lines": [NewLine("SOCK", 1)]}, ValidationFailed, "lines.0.unit_cost"),
        ({"lines": [NewLine("TEE", 1, unit_cost=Money(Decimal("1"), "EUR"))]}, ValidationFailed,
         "lines.0.unit_cost.currency"),
        ({"lines": [NewLine("NOPE", 1)]}, NotFound, None),
        ({"lines": [NewLine("TEE", 1)], "location": "NOWHERE"}, NotFound, None),
        ({"lines": [NewLine("TEE", 1)], "vendor": "NOBODY"}, NotFound, None),
    ]  # fmt: skip
    for overrides, error, field in cases:
        arguments = {"vendor": "ACME", "location": "DC", **overrides}
        with pytest.raises(error) as refused:
            purchasing.create_purchase_order(setup, **arguments)
        if field:
            assert refused.value.errors[0].field == field
    assert purchasing.list_purchase_orders(setup).items == []
    # and the number series did not advance: the first real PO is still PO-000001
    assert purchasing.create_purchase_order(setup, vendor="ACME", location="DC",
                                            lines=[NewLine("TEE", 1)]).number == "PO-000001"  # fmt: skip


def test_vendor_items_check_currency_and_the_preferred_vendor_becomes_the_items_default(setup: UnitOfWork):
    make_vendor(setup, code="OTHER")
    with pytest.raises(ValidationFailed) as bad:
        purchasing.set_vendor_item(
            setup, vendor="OTHER", sku="TEE", vendor_sku="O1", cost=Money(Decimal("3"), "EUR")
        )
    assert bad.value.errors[0].field == "cost.currency"
    with pytest.raises(ValidationFailed):
        purchasing.set_vendor_item(
            setup, vendor="OTHER", sku="TEE", vendor_sku="O1", cost=usd("3"), pack_size=0
        )
    purchasing.set_vendor_item(
        setup, vendor="OTHER", sku="TEE", vendor_sku="O-TEE", cost=usd("3.99"), preferred=True
    )
    other = catalog.get_item(setup, sku="TEE").default_vendor_id
    assert other == purchasing.get_vendor(setup, code="OTHER").id
    assert [(v.sku, v.preferred) for v in purchasing.list_vendor_items(setup, vendor="ACME")] == [
        ("MUG", False), ("TEE", False)]  # fmt: skip


def test_concurrent_receipts_for_one_line_never_receive_more_than_ordered(db: Database):
    uow = db.unit_of_work(Actor.system("test"))
    make_item(uow, sku="TEE")
    make_location(uow, code="DC")
    make_vendor(uow, code="ACME")
    po = sent_purchase_order(uow, vendor="ACME", location="DC", lines=[("TEE", 10)])
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def dock_clerk() -> None:
        barrier.wait()
        try:
            purchasing.receive(
                db.unit_of_work(Actor.system("dock")), number=po.number, lines=[ReceivedLine("TEE", 3)]
            )
            outcomes.append("ok")
        except OverReceipt:
            outcomes.append("over")

    threads = [threading.Thread(target=dock_clerk) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok"] * 3 + ["over"] * 3
    with db.session() as session:
        assert session.scalar(sa.select(PurchaseOrderLineRow.received)) == 9
    assert inventory.get_availability(uow, sku="TEE").on_hand == 9
    assert inventory.verify(uow) == []

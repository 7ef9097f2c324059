"""Hypothesis drives random sequences of reserve / release / consume / adjust / transfer / count and purchase-order
receipts against the real ledger, and after every step the invariants hold: verify passes, nothing is negative,
figures match a simple model, and no PO line ever receives more than was ordered."""

from __future__ import annotations

import contextlib
import itertools

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import Conflict, InsufficientStock, NegativeStock, OverReceipt
from ordersmith.platform.db import Actor, Database
from ordersmith.purchasing import service as purchasing
from tests.builders import make_item, make_location, make_vendor, sent_purchase_order, stock

LOCATIONS = ("A", "B")


def _machine(db: Database) -> type[RuleBasedStateMachine]:
    counter = itertools.count()

    class Ledger(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.uow = db.unit_of_work(Actor.system("hypothesis"))
            self.sku = f"SKU-{next(counter)}"
            make_item(self.uow, sku=self.sku)
            for code in LOCATIONS:
                if code not in {loc.code for loc in inventory.list_locations(self.uow)}:
                    make_location(self.uow, code=code, priority=10 if code == "A" else 20)
            if not purchasing.list_vendors(self.uow):
                make_vendor(self.uow, code="HYPO")
            self.on_hand = {code: 0 for code in LOCATIONS}
            self.open_pos: dict[str, tuple[str, int]] = {}  # PO number -> (location, units still open)
            self.active: dict[str, dict[str, int]] = {}  # key -> units held per location
            self.ended: set[str] = set()
            self.keys = itertools.count()

        def _reserved(self, location: str | None = None) -> int:
            return sum(
                q for lines in self.active.values() for loc, q in lines.items() if location in (None, loc)
            )

        @rule(location=st.sampled_from(LOCATIONS), quantity=st.integers(1, 8))
        def receive(self, location: str, quantity: int) -> None:
            stock(self.uow, sku=self.sku, location=location, quantity=quantity)
            self.on_hand[location] += quantity

        @rule(location=st.sampled_from(LOCATIONS), quantity=st.integers(1, 10))
        def order(self, location: str, quantity: int) -> None:
            po = sent_purchase_order(self.uow, vendor="HYPO", location=location, lines=[(self.sku, quantity)])
            self.open_pos[po.number] = (location, quantity)

        @precondition(lambda self: bool(self.open_pos))
        @rule(data=st.data())
        def receive_against_po(self, data: st.DataObject) -> None:
            number = data.draw(st.sampled_from(sorted(self.open_pos)))
            location, still_open = self.open_pos[number]
            quantity = data.draw(st.integers(1, still_open + 2))
            try:
                po = purchasing.receive(
                    self.uow, number=number, lines=[purchasing.ReceivedLine(self.sku, quantity)]
                )
            except OverReceipt:
                assert (
                    quantity > still_open
                )  # the vendor allows no over-receipt; nothing changed (invariants)
                return
            assert quantity <= still_open
            self.on_hand[location] += quantity
            line = po.lines[0]
            assert line.received <= line.ordered and line.open == still_open - quantity
            if line.open:
                self.open_pos[number] = (location, line.open)
            else:
                assert po.status == "received"
                del self.open_pos[number]

        @rule(location=st.sampled_from(LOCATIONS), quantity=st.integers(1, 8))
        def remove(self, location: str, quantity: int) -> None:
            try:
                inventory.adjust_stock(
                    self.uow, sku=self.sku, location=location, quantity=-quantity, reason="damage"
                )
                self.on_hand[location] -= quantity
            except NegativeStock:
                level = inventory.get_availability(self.uow, sku=self.sku).locations
                here = next((x for x in level if x.location == location), None)
                assert here is None or here.on_hand - quantity < here.reserved

        @rule(quantity=st.integers(1, 6))
        def reserve(self, quantity: int) -> None:
            key = f"{self.sku}-r{next(self.keys)}"
            free = sum(self.on_hand.values()) - self._reserved()
            try:
                held = inventory.reserve(self.uow, key=key, sku=self.sku, quantity=quantity)
                self.active[key] = {line.location: line.quantity for line in held.lines}
                assert quantity <= free
            except InsufficientStock as short:
                assert quantity > free
                assert short.extra["available"] == free  # noqa: PT017 - a model check, not an expected failure

        @precondition(lambda self: bool(self.active))
        @rule(data=st.data())
        def release(self, data: st.DataObject) -> None:
            key = data.draw(st.sampled_from(sorted(self.active)))
            inventory.release(self.uow, key=key)
            del self.active[key]
            self.ended.add(key)

        @rule(source=st.sampled_from(LOCATIONS), quantity=st.integers(1, 6))
        def transfer(self, source: str, quantity: int) -> None:
            target = next(code for code in LOCATIONS if code != source)
            free = self.on_hand[source] - self._reserved(source)
            try:
                inventory.transfer_stock(self.uow, sku=self.sku, from_location=source, to_location=target,
                                         quantity=quantity)  # fmt: skip
                assert quantity <= free
                self.on_hand[source] -= quantity
                self.on_hand[target] += quantity
            except InsufficientStock:
                assert quantity > free

        @rule(location=st.sampled_from(LOCATIONS), counted=st.integers(0, 12))
        def count(self, location: str, counted: int) -> None:
            try:
                inventory.record_count(self.uow, location=location, counts={self.sku: counted})
                assert counted >= self._reserved(location)
                self.on_hand[location] = counted
            except NegativeStock:
                assert counted < self._reserved(location)

        @precondition(lambda self: bool(self.active))
        @rule(data=st.data())
        def consume(self, data: st.DataObject) -> None:
            key = data.draw(st.sampled_from(sorted(self.active)))
            held = inventory.consume(self.uow, key=key)
            for line in held.lines:
                self.on_hand[line.location] -= line.quantity
            del self.active[key]
            self.ended.add(key)

        @precondition(lambda self: bool(self.ended))
        @rule(data=st.data())
        def end_again(self, data: st.DataObject) -> None:
            key = data.draw(st.sampled_from(sorted(self.ended)))
            before = inventory.get_availability(self.uow, sku=self.sku)
            with contextlib.suppress(Conflict):  # a consumed reservation cannot be released too
                inventory.release(self.uow, key=key)
            assert inventory.get_availability(self.uow, sku=self.sku) == before

        @invariant()
        def ledger_agrees(self) -> None:
            availability = inventory.get_availability(self.uow, sku=self.sku)
            assert availability.on_hand == sum(self.on_hand.values())
            assert availability.reserved == self._reserved()
            assert availability.available == availability.on_hand - availability.reserved
            assert all(x.on_hand >= x.reserved >= 0 for x in availability.locations)
            for x in availability.locations:
                assert (x.on_hand, x.reserved) == (self.on_hand[x.location], self._reserved(x.location))
            assert inventory.verify(self.uow) == []

    return Ledger


def test_random_ledger_operations_keep_every_invariant(db: Database, db_url: str):
    machine = _machine(db)
    examples = 25 if db_url.startswith("sqlite") else 12
    machine.TestCase.settings = settings(
        max_examples=examples, stateful_step_count=15, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )  # fmt: skip
    machine.TestCase().runTest()


pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")

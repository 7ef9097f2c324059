"""The books under random business operations, on SQLite and PostgreSQL, through the business's own use cases and
the relay's posting subscriber: POs received and billed and paid, card orders captured, shipped in parts, refunded
(to the card or as store credit), returned (restocked or scrapped) and disputed (won or lost), orders on account
invoiced, paid, written off, checks received, deposited and bounced, gift cards given, reloaded, redeemed and
expired, stock counted short and found — every posting rule type. After every step (the relay having posted what
was emitted): the trial balance nets to zero, the AR subledger equals the AR control account, the inventory
subledger (units times moving-average cost) equals the inventory account, the gift-card and store-credit liabilities
equal the cards' outstanding balances, and the disputes account equals the open disputes; replaying every event
posts nothing twice.

The suite runs `ORDERSMITH_BOOKS_OPERATIONS` operations per database (default 120); the full run is 10,000
(`ORDERSMITH_BOOKS_PROGRESS=FILE` appends the count reached every 500 operations to FILE):

    ORDERSMITH_BOOKS_OPERATIONS=10000 pytest -p no:cacheprovider -n 0 -q \
        tests/integration/test_finance_books_properties.py

Every receipt costs 1.00 a unit, so the moving average never rounds and the subledger equals the account exactly
(with varied costs they differ by the average's rounding, which no rule posts yet).
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import suppress
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from ordersmith.catalog import service as catalog
from ordersmith.finance import service as finance
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import NotFound, OrdersmithError
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.payments import service as payments
from ordersmith.payments.service.gift_cards import activate_sold_cards
from ordersmith.platform import outbox
from ordersmith.platform.db import Actor, Database
from ordersmith.platform.settings import Settings
from ordersmith.pricing import service as pricing
from ordersmith.purchasing import service as purchasing
from tests.builders import channel, make_account_customer, make_order_shop, make_vendor, place_paid, ship_to
from tests.integration.test_finance_settlements import stripe_report

OPERATIONS = int(os.environ.get("ORDERSMITH_BOOKS_OPERATIONS", "120"))
PROGRESS = os.environ.get("ORDERSMITH_BOOKS_PROGRESS", "")  # a file a long run appends its count to
SKUS = ("TEE", "MUG")
LOCATIONS = {"TEE": "EAST", "MUG": "WEST"}
VISA = "4242424242424242"
INVENTORY_VALUE = "SELECT COALESCE(SUM(units * average_cost_minor), 0) FROM finance_item_costs"
OPEN_DISPUTES = "SELECT COALESCE(SUM(amount_minor), 0) FROM finance_disputes WHERE status = 'open'"
PICK = st.integers(
    min_value=0, max_value=2**16
)  # which one of a kind: drawn always, so draws never depend on
# what the database holds (it outlives examples)
done = {"operations": 0}


def usd(minor: int) -> Money:
    return Money.from_minor(minor, "USD")


def _machine(db: Database, wired: payments.Payments) -> type[RuleBasedStateMachine]:
    kept: dict[str, list] = {  # type: ignore[type-arg]
        "card_orders": [],
        "account_orders": [],
        "cards": [],
        "pos": [],
        "unpaid_out": [],
    }

    class Books(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.uow = db.unit_of_work(Actor.system("property"))
            self.n = 0
            self.customer = ""
            # what earlier examples made stays in the database: later examples work on it too
            self.card_orders: list[orders.Order] = kept["card_orders"]
            self.account_orders: list[orders.Order] = kept["account_orders"]
            self.cards: list[tuple[str, str]] = kept["cards"]  # (card id, code)
            self.pos: list[str] = kept["pos"]
            self.trail: list[object] = []

        @initialize()
        def seed(self) -> None:
            # the database outlives examples: the shop is set up once, each example adds to it
            finance.ensure_chart(self.uow)
            try:
                purchasing.get_vendor(self.uow, code="ACME")
            except NotFound:
                make_order_shop(self.uow)
                make_vendor(self.uow, code="ACME")
                # every item has its cost before anything else happens to it: an adjustment of an item never
                # costed posts nothing, and would post at a later replay once a receipt gave it a cost
                for sku in SKUS:
                    self._receive(sku, 1)
                catalog.create_item(
                    self.uow, sku="GIFT25", name="Gift card 25", kind="gift_card", divisions=["store"]
                )
                pricing.create_price_list(
                    self.uow,
                    code="cards",
                    name="Gift cards",
                    currency="USD",
                    prices=[pricing.PriceEntry("GIFT25", Money(Decimal("25.00"), "USD"))],
                )
            self.customer = make_account_customer(self.uow, limit="100000.00").number
            self.token = wired.vault.tokenize(number=VISA, exp_month=12, exp_year=2031, actor="t").token

        def _step(self) -> None:
            """After an operation: count it, keep it in the trail a failure reports, let the relay post."""
            caller = sys._getframe(1)  # the rule: its name and what it drew
            drawn = {
                k: v for k, v in caller.f_locals.items() if isinstance(v, str | int | bool) and k != "self"
            }
            self.trail = [*self.trail[-40:], (caller.f_code.co_name, drawn)]
            self.n += 1
            done["operations"] += 1
            if PROGRESS and done["operations"] % 500 == 0:  # a long run says how far it got
                with open(PROGRESS, "a") as progress:
                    progress.write(f"{time.strftime('%H:%M:%S')} {done['operations']}\n")
            while outbox.dispatch_batch(db.unit_of_work(self.uow.actor)):
                pass

        def _request(self, sku: str, quantity: int, *more: str, **fields: object) -> orders.OrderRequest:
            return orders.OrderRequest(
                lines=[orders.LineRequest(sku=s, quantity=quantity) for s in (sku, *more)],
                ship_tos=[
                    ship_to(line1=f"{done['operations']} Market St", postal_code=f"9{self.n % 9999:04d}")
                ],
                **fields,  # type: ignore[arg-type]
            )

        # ---- purchasing and payables ----------------------------------------------------------------------------

        def _receive(self, sku: str, quantity: int) -> None:
            cost = Money(Decimal("1.00"), "USD")
            po = purchasing.create_purchase_order(
                self.uow,
                vendor="ACME",
                location=LOCATIONS[sku],
                lines=[purchasing.NewLine(sku, quantity, unit_cost=cost)],
            )
            purchasing.approve(self.uow, number=po.number)
            purchasing.send(self.uow, number=po.number)
            purchasing.receive(
                self.uow, number=po.number, lines=[purchasing.ReceivedLine(sku=sku, quantity=quantity)]
            )
            self.pos.append(po.number)

        @rule(sku=st.sampled_from(SKUS), quantity=st.integers(1, 6))
        def receive(self, sku: str, quantity: int) -> None:
            self._receive(sku, quantity)
            self._step()

        @rule(pick=PICK, pay=st.booleans())
        def bill(self, pick: int, pay: bool) -> None:
            if self.pos:
                number = self.pos.pop(pick % len(self.pos))
                po = purchasing.get_purchase_order(self.uow, number=number)
                with suppress(OrdersmithError):
                    bill = finance.enter_vendor_bill(
                        self.uow,
                        purchase_order=number,
                        vendor_invoice=f"INV-{number}",
                        billed_on=date(2026, 11, 2),
                        lines=[
                            finance.NewBillLine(po_line=line.line, quantity=line.received, unit_price="1.00")
                            for line in po.lines
                        ],
                    )
                    finance.approve_vendor_bill(self.uow, ref=bill.number)
                    if pay:
                        finance.pay_vendor(
                            self.uow,
                            vendor="ACME",
                            amount=bill.total,
                            bills=[finance.PayBill(bill.number, bill.total)],
                        )
            self._step()

        @rule(sku=st.sampled_from(SKUS), delta=st.sampled_from([-2, -1, 1, 2]))
        def adjust(self, sku: str, delta: int) -> None:
            with suppress(OrdersmithError):  # more lost than is there: refused
                inventory.adjust_stock(
                    self.uow,
                    sku=sku,
                    location=LOCATIONS[sku],
                    quantity=delta,
                    reason="shrinkage" if delta < 0 else "adjustment",
                )
            self._step()

        # ---- card orders: captures, shipments, refunds, returns, disputes ----------------------------------------

        @rule(sku=st.sampled_from(SKUS), quantity=st.integers(1, 3), both=st.booleans())
        def card_order(self, sku: str, quantity: int, both: bool) -> None:
            more = [
                other for other in SKUS if other != sku and both
            ]  # two lines: shipped from two warehouses
            request = self._request(
                sku, quantity, *more, payments=[orders.PaymentRequest(method="card", token=self.token)]
            )
            with suppress(OrdersmithError):  # out of stock, held: refused or waiting
                placed = place_paid(self.uow, channel=channel(self.uow), request=request).order
                self.card_orders.append(placed)
                kept["unpaid_out"].append(placed)
            self._step()

        @rule(pick=PICK, part=st.booleans())
        def ship(self, pick: int, part: bool) -> None:
            if self.card_orders:
                order = orders.get_order(self.uow, ref=str(self.card_orders[pick % len(self.card_orders)].id))
                # a shipment ships whole allocations: in part, the first line still to ship (of a two-line order,
                # one warehouse's)
                waiting = [line for line in order.lines if line.reserved]
                lines = {line.line_no: line.reserved for line in (waiting[:1] if part else waiting)}
                with suppress(OrdersmithError):
                    if order.status == "on_hold":  # one card for every order: held for its velocity, released
                        order = orders.release_order(self.uow, ref=str(order.id), note="card checked")
                    orders.record_shipment(self.uow, ref=str(order.id), lines=lines)
            self._step()

        @rule(pick=PICK, cents=st.integers(1, 900), store_credit=st.booleans())
        def refund(self, pick: int, cents: int, store_credit: bool) -> None:
            if self.card_orders:
                order = self.card_orders[pick % len(self.card_orders)]
                with suppress(OrdersmithError):  # more than is refundable
                    payments.refund_order(
                        self.uow,
                        order_id=order.id,
                        amount=usd(cents),
                        reason="goodwill",
                        to_store_credit=store_credit,
                    )
            self._step()

        @rule(pick=PICK, disposition=st.sampled_from(["restock", "scrap"]))
        def give_back(self, pick: int, disposition: str) -> None:
            if self.card_orders:
                order = orders.get_order(self.uow, ref=str(self.card_orders[pick % len(self.card_orders)].id))
                shipped = [line for line in order.lines if line.shipped]
                with suppress(OrdersmithError, IndexError):  # nothing shipped yet, or returned already
                    rma = orders.authorize_return(
                        self.uow,
                        order_ref=str(order.id),
                        lines=[
                            orders.ReturnLineRequest(line_no=shipped[0].line_no, quantity=1, reason="damaged")
                        ],
                    )
                    orders.receive_return(
                        self.uow,
                        ref=rma.number,
                        location=LOCATIONS[shipped[0].sku],
                        lines=[orders.ReceivedLine(shipped[0].line_no, 1, disposition)],
                    )
            self._step()

        @rule(pick=PICK, outcome=st.sampled_from(["open", "won", "lost"]), fee=st.sampled_from([0, 1500]))
        def dispute(self, pick: int, outcome: str, fee: int) -> None:
            if self.card_orders:
                order = self.card_orders[pick % len(self.card_orders)]
                captured = [
                    p for p in payments.order_payments(self.uow, order_id=order.id) if p.captured.minor
                ]
                if captured:
                    opened, _ = finance.open_dispute(
                        self.uow,
                        processor="sandbox",
                        reference=f"dp_{order.id.hex}",
                        capture_reference="",
                        payment_id=captured[0].id,
                        amount=captured[0].captured,
                        fee=usd(fee),
                        source="webhook",
                    )
                    if outcome != "open":
                        with suppress(finance.DisputeClosed):
                            finance.record_dispute_outcome(self.uow, ref=opened.number, outcome=outcome)
            self._step()

        # ---- on account: invoices paid and written off; checks ----------------------------------------------------

        @rule(quantity=st.integers(1, 2))
        def on_account(self, quantity: int) -> None:
            request = self._request(
                "MUG", quantity, customer=self.customer, payments=[orders.PaymentRequest(method="on_account")]
            )
            with suppress(OrdersmithError):
                order = place_paid(self.uow, channel=channel(self.uow, "phone"), request=request).order
                if order.status == "on_hold":  # one address's orders in an hour: held for velocity, released
                    order = orders.release_order(self.uow, ref=str(order.id), note="customer checked")
                orders.record_shipment(
                    self.uow, ref=str(order.id), lines={line.line_no: line.reserved for line in order.lines}
                )
                payments.capture_shipped(self.uow, order_id=order.id)
                self.account_orders.append(order)
            self._step()

        @rule(pick=PICK, cents=st.integers(100, 3000), write_off=st.booleans())
        def collect(self, pick: int, cents: int, write_off: bool) -> None:
            if self.account_orders:
                order = self.account_orders[pick % len(self.account_orders)]
                for invoice in payments.list_invoices(self.uow, order_id=order.id).items:
                    with suppress(OrdersmithError):  # paid already, or owes less
                        if write_off:
                            finance.write_off_invoice(self.uow, invoice=invoice.number, reason="bankrupt")
                        else:
                            payments.apply_invoice_payment(
                                self.uow, invoice=invoice.number, amount=usd(cents), method="check"
                            )
            self._step()

        @rule(bounce=st.booleans())
        def check(self, bounce: bool) -> None:
            request = self._request(
                "TEE",
                1,
                customer=self.customer,
                payments=[orders.PaymentRequest(method="check", reference=f"{self.n}")],
            )
            with suppress(OrdersmithError):
                order = place_paid(self.uow, channel=channel(self.uow, "phone"), request=request).order
                (paid,) = payments.order_payments(self.uow, order_id=order.id)
                payments.move_check(self.uow, payment_id=paid.id, action="deposit")
                if bounce:
                    payments.move_check(self.uow, payment_id=paid.id, action="bounce", note="NSF")
            self._step()

        @rule(pick=PICK, fee_cents=st.integers(0, 90))
        def settle(self, pick: int, fee_cents: int) -> None:
            if kept["unpaid_out"]:
                order = kept["unpaid_out"].pop(pick % len(kept["unpaid_out"]))
                for paid in payments.order_payments(self.uow, order_id=order.id):
                    if paid.captured.minor:
                        gross = paid.captured.minor
                        line = {
                            "reporting_category": "charge",
                            "source_id": paid.reference,
                            "balance_transaction_id": f"txn_{paid.id.hex}",
                            "gross": str(usd(gross).amount),
                            "fee": str(usd(fee_cents).amount),
                            "net": str(usd(gross - fee_cents).amount),
                        }
                        report = stripe_report([line])
                        finance.import_settlement(
                            self.uow, processor="stripe", file_name="payout.csv", data=report
                        )
            self._step()

        @rule(pick=PICK, cents=st.integers(100, 9000))
        def unapplied(self, pick: int, cents: int) -> None:
            held = finance.receive_unapplied_cash(
                self.uow, customer=self.customer, amount=usd(cents), method="check"
            )
            if self.account_orders:
                order = self.account_orders[pick % len(self.account_orders)]
                for invoice in payments.list_invoices(self.uow, order_id=order.id).items:
                    with suppress(OrdersmithError):  # paid already
                        finance.apply_unapplied_cash(self.uow, receipt=held.number, invoice=invoice.number)
            self._step()

        # ---- gift cards and store credit --------------------------------------------------------------------------

        @rule()
        def sell_card(self) -> None:
            request = orders.OrderRequest(
                lines=[orders.LineRequest(sku="GIFT25", quantity=1)],
                ship_tos=[ship_to()],
                fulfillment="taken",
                store="STORE1",
                payments=[orders.PaymentRequest(method="cash")],
            )
            with suppress(OrdersmithError):
                order = place_paid(self.uow, channel=channel(self.uow, "store-1"), request=request).order
                issued = payments.issue(self.uow, amount=usd(2500), sold_on_order=order.id)
                activate_sold_cards(self.uow, order_id=order.id)
                self.cards.append((str(issued.card.id), issued.code))
            self._step()

        @rule(
            cents=st.integers(100, 5000),
            kind=st.sampled_from(["gift_card", "store_credit"]),
            expiring=st.booleans(),
        )
        def give_card(self, cents: int, kind: str, expiring: bool) -> None:
            expires = self.uow.now().date() + timedelta(days=3) if expiring else None
            issued = payments.issue(self.uow, amount=usd(cents), kind=kind, expires_on=expires, note="given")
            self.cards.append((str(issued.card.id), issued.code))
            self._step()

        @rule(pick=PICK, action=st.sampled_from(["reload", "redeem", "expire"]))
        def use_card(self, pick: int, action: str) -> None:
            if self.cards:
                card_id, code = self.cards[pick % len(self.cards)]
                with suppress(OrdersmithError):  # spent, expired
                    if action == "reload":
                        payments.reload(self.uow, card_id=card_id, amount=usd(500))
                    elif action == "redeem":
                        request = self._request(
                            "MUG",
                            1,
                            payments=[
                                orders.PaymentRequest(method="gift_card", token=code),
                                orders.PaymentRequest(method="cash"),
                            ],
                        )
                        place_paid(self.uow, channel=channel(self.uow, "store-1"), request=request)
                    else:
                        payments.expire_cards(self.uow, today=self.uow.now().date() + timedelta(days=4))
            self._step()

        @rule(pick=PICK)
        def replay(self, pick: int) -> None:
            if pick % 40 == 0:  # now and then: replaying the whole outbox posts nothing twice
                assert finance.replay_outbox(self.uow)[1] == 0
            self._step()

        # ---- after every step ------------------------------------------------------------------------------------

        @invariant()
        def books_agree(self) -> None:
            if not self.customer:
                return
            period = finance.list_periods(self.uow)[-1].code if finance.list_periods(self.uow) else None
            if period is None:
                return
            trial = finance.trial_balance(self.uow, period=period, cumulative=True)
            assert trial.balanced and sum(r.balance.minor for r in trial.rows) == 0
            balance = {r.account_code: r.balance.minor for r in trial.rows}
            aging = finance.ar_aging(self.uow, as_of=self.uow.now().date())
            assert all(r.difference.is_zero() for r in aging.reconciliation), aging.reconciliation
            cards = finance.card_liabilities(self.uow)
            assert all(c.difference.is_zero() for c in cards), (cards, self.trail)
            with db.engine.connect() as conn:
                stock_value = int(conn.execute(sa.text(INVENTORY_VALUE)).scalar_one())
                open_disputes = int(conn.execute(sa.text(OPEN_DISPUTES)).scalar_one())
            assert balance.get("1300", 0) == stock_value
            assert balance.get("1250", 0) == open_disputes

    return Books


def test_random_business_operations_keep_every_subledger_equal_to_its_account(
    db: Database, db_url: str, settings: Settings
):
    wired = payments.setup_payments(db, settings)
    wired.capture = "at_once"
    finance.register()
    done["operations"] = 0
    try:
        machine = _machine(db, wired)
        steps = min(OPERATIONS, 25)
        # Hypothesis draws how many steps an example takes (up to `steps`), so runs go on until enough were done;
        # each run is many examples (its first ones are the simplest: one run of one example would repeat them)
        while done["operations"] < OPERATIONS:
            left = OPERATIONS - done["operations"]
            machine.TestCase.settings = settings_for(max(5, -(-left // steps)), steps)
            machine.TestCase().runTest()
        # replaying every event of the run (the replay rule did it now and then on the way) posts nothing
        assert finance.replay_outbox(db.unit_of_work(Actor.system("property")))[1] == 0
    finally:
        finance.unregister()
    assert done["operations"] >= OPERATIONS
    with db.engine.connect() as conn:
        rules = {r for (r,) in conn.execute(sa.text("SELECT DISTINCT rule FROM journal_entries"))}
    # a full run reaches every posting rule type (a short one, what its random draws reach)
    if OPERATIONS >= 1000:
        wanted = {
            "po.received",
            "vendor_bill.approved",
            "vendor_payment.made",
            "stock.changed",
            "payment.captured",
            "order.shipped",
            "order.shipped_in_part",
            "payment.refunded",
            "return.received",
            "dispute.opened",
            "dispute.won",
            "dispute.lost",
            "invoice.payment_applied",
            "invoice.written_off",
            "payment.failed",
            "gift_card.issued",
            "gift_card.reloaded",
            "gift_card.expired",
            "gift_card.activated",
            "settlement.imported",
            "unapplied_cash.received",
        }
        assert wanted <= rules, wanted - rules


def settings_for(examples: int, steps: int) -> settings:
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        # the database outlives examples, so an example cannot be replayed to shrink it: the trail a failure
        # reports is the one that ran
        phases=[Phase.generate],
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.function_scoped_fixture,
            HealthCheck.filter_too_much,
        ],
    )


pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")

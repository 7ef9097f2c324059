"""Accounts payable against real SQLite and PostgreSQL: vendor bills matched three ways against the PO and its
receipts, the exception queue (accept, reject, match again), approval and vendor payments posted to the ledger, AP
aging, and the AP subledger equal to the AP control account at every step."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.finance import service as finance
from ordersmith.kernel.errors import AlreadyExists, Conflict, IllegalTransition, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.platform import outbox
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.purchasing import service as purchasing
from tests.builders import make_location, make_vendor

BILLED_ON = date(2026, 11, 2)  # ACME's terms are NET30: due 2026-12-02


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


@pytest.fixture
def ap(uow: UnitOfWork) -> UnitOfWork:
    """The chart, the posting subscriber, a warehouse, two items and the vendor ACME (NET30)."""
    finance.ensure_chart(uow)
    make_location(uow, code="EAST")
    for sku in ("MUG", "TEE"):
        catalog.create_item(uow, sku=sku, name=sku.title(), divisions=["web"], weight_g=300)
    make_vendor(uow, code="ACME")
    finance.register()
    yield uow
    finance.unregister()


def sent_po(uow: UnitOfWork, *lines: tuple[str, int, str], vendor: str = "ACME") -> str:
    """A PO sent to the vendor for (sku, quantity, unit cost) lines; returns its number."""
    po = purchasing.create_purchase_order(
        uow,
        vendor=vendor,
        location="EAST",
        lines=[purchasing.NewLine(sku, quantity, unit_cost=usd(cost)) for sku, quantity, cost in lines],
    )
    purchasing.approve(uow, number=po.number)
    purchasing.send(uow, number=po.number)
    return po.number


def receive(uow: UnitOfWork, number: str, *lines: tuple[str, int]) -> None:
    purchasing.receive(
        uow, number=number, lines=[purchasing.ReceivedLine(sku=sku, quantity=q) for sku, q in lines]
    )


def bill(
    uow: UnitOfWork, po: str, invoice: str, *lines: tuple[int, int, str], billed_on: date = BILLED_ON
) -> finance.VendorBill:
    return finance.enter_vendor_bill(
        uow,
        purchase_order=po,
        vendor_invoice=invoice,
        billed_on=billed_on,
        lines=[finance.NewBillLine(po_line=n, quantity=q, unit_price=price) for n, q, price in lines],
    )


def settle(db: Database, uow: UnitOfWork) -> None:
    while outbox.dispatch_batch(db.unit_of_work(uow.actor)):
        pass


def entry_lines(uow: UnitOfWork, rule: str) -> list[list[tuple[str, int, int]]]:
    return [
        [(line.account_code, line.debit.minor, line.credit.minor) for line in entry.lines]
        for entry in reversed(finance.list_journal(uow, rule=rule, limit=200).items)
    ]


def reconciled(uow: UnitOfWork, as_of: date = BILLED_ON) -> list[tuple[str, int, int, int]]:
    return [
        (r.currency, r.subledger.minor, r.control.minor, r.difference.minor)
        for r in finance.ap_aging(uow, as_of=as_of).reconciliation
    ]


def table_counts(db: Database) -> dict[str, int]:
    names = (
        "finance_vendor_bills",
        "finance_vendor_bill_lines",
        "finance_po_line_billing",
        "finance_match_exceptions",
        "finance_vendor_payments",
        "finance_vendor_payment_allocations",
        "outbox",
        "audit_log",
    )
    with db.engine.connect() as conn:
        return {n: int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {n}")).scalar_one()) for n in names}


def test_a_bill_that_matches_is_approved_paid_and_posted_and_the_subledger_equals_the_control_account(
    ap: UnitOfWork, db: Database
):
    # given a PO for 4 mugs at 2.50 and 6 tees at 1.00, all received (Dr inventory / Cr GRNI 16.00)
    po = sent_po(ap, ("MUG", 4, "2.50"), ("TEE", 6, "1.00"))
    receive(ap, po, ("MUG", 4), ("TEE", 6))
    # when ACME's bill for exactly that is entered
    entered = bill(ap, po, "INV-1001", (1, 4, "2.50"), (2, 6, "1.00"))
    # then it matched, due by ACME's NET30 terms, and owes nothing to AP until approved
    assert (entered.number, entered.status, entered.reasons) == ("VB-000001", "matched", [])
    assert (entered.total, entered.receipt_value, entered.due_on) == (
        usd("16.00"),
        usd("16.00"),
        date(2026, 12, 2),
    )
    settle(db, ap)
    assert reconciled(ap) == []
    # when it is approved and the relay posts it: Dr GRNI / Cr AP 16.00, and AP equals the subledger
    approved = finance.approve_vendor_bill(ap, ref=entered.number)
    settle(db, ap)
    assert approved.status == "approved"
    assert entry_lines(ap, "vendor_bill.approved") == [[("2050", 1600, 0), ("2000", 0, 1600)]]
    assert reconciled(ap) == [("USD", 1600, 1600, 0)]
    # when 10.00 is paid, then the rest
    first = finance.pay_vendor(
        ap,
        vendor="ACME",
        amount=usd("10.00"),
        method="check",
        reference="1234",
        bills=[finance.PayBill(entered.number, usd("10.00"))],
    )
    settle(db, ap)
    assert finance.get_vendor_bill(ap, ref=entered.number).status == "partially_paid"
    assert reconciled(ap) == [("USD", 600, 600, 0)]
    finance.pay_vendor(
        ap, vendor="ACME", amount=usd("6.00"), bills=[finance.PayBill(entered.number, usd("6.00"))]
    )
    settle(db, ap)
    # then the bill is paid, each payment posted Dr AP / Cr cash in bank, and AP is back to zero
    done = finance.get_vendor_bill(ap, ref=entered.number)
    assert (done.status, done.paid, done.balance) == ("paid", usd("16.00"), usd("0.00"))
    assert (first.number, first.method, [b.bill for b in first.bills]) == (
        "VP-000001",
        "check",
        ["VB-000001"],
    )
    assert entry_lines(ap, "vendor_payment.made") == [
        [("2000", 1000, 0), ("1000", 0, 1000)],
        [("2000", 600, 0), ("1000", 0, 600)],
    ]
    assert reconciled(ap) == []  # nothing owed, nothing in the control account
    # and GRNI for these goods is cleared: credited at receipt, debited at the bill
    assert finance.unposted_amount(ap, currency="USD").is_zero()


def test_a_price_within_tolerance_matches_and_posts_its_variance(ap: UnitOfWork, db: Database):
    # given 10 mugs ordered and received at 2.00 (the default tolerance: 1 % on price, 1.00 on the bill)
    po = sent_po(ap, ("MUG", 10, "2.00"))
    receive(ap, po, ("MUG", 10))
    # when billed at 2.02 a unit (1 %, 0.20 over on the bill) and approved
    entered = bill(ap, po, "INV-7", (1, 10, "2.02"))
    finance.approve_vendor_bill(ap, ref=entered.number)
    settle(db, ap)
    # then it matched, and posted Dr GRNI 20.00 + Dr price variance 0.20 / Cr AP 20.20
    assert (entered.status, entered.variance) == ("matched", usd("0.20"))
    assert entry_lines(ap, "vendor_bill.approved") == [
        [("2050", 2000, 0), ("5200", 20, 0), ("2000", 0, 2020)]
    ]
    assert reconciled(ap) == [("USD", 2020, 2020, 0)]


def test_a_bill_below_the_po_s_cost_credits_the_price_variance(ap: UnitOfWork, db: Database):
    # given a vendor whose tolerances allow 5 % on price and 2.00 on the bill
    finance.set_match_tolerance(
        ap, vendor="ACME", quantity_pct=Decimal("0"), price_pct=Decimal("5"), amount=usd("2.00")
    )
    po = sent_po(ap, ("TEE", 20, "3.00"))
    receive(ap, po, ("TEE", 20))
    # when billed 2.90 a unit (3.3 % under, 2.00 on the bill) and approved
    entered = bill(ap, po, "CR-1", (1, 20, "2.90"))
    finance.approve_vendor_bill(ap, ref=entered.number)
    settle(db, ap)
    # then Dr GRNI 60.00 / Cr price variance 2.00, Cr AP 58.00
    assert entry_lines(ap, "vendor_bill.approved") == [
        [("2050", 6000, 0), ("5200", 0, 200), ("2000", 0, 5800)]
    ]


def test_a_bill_for_more_than_was_received_waits_in_the_exception_queue_until_accepted(
    ap: UnitOfWork, db: Database
):
    # given 10 mugs ordered at 2.00, 8 received
    po = sent_po(ap, ("MUG", 10, "2.00"))
    receive(ap, po, ("MUG", 8))
    # when the vendor bills all 10
    entered = bill(ap, po, "INV-9", (1, 10, "2.00"))
    # then the bill is an exception, in the queue, with the reason naming the figures
    assert entered.status == "exception"
    assert [(r.code, r.line) for r in entered.reasons] == [("quantity", 1)]
    assert "10 billed, 8 received" in entered.reasons[0].detail
    (queued,) = finance.list_match_exceptions(ap).items
    assert (queued.bill, queued.status, queued.reasons) == (entered.number, "open", entered.reasons)
    # and it cannot be approved before someone accepts it
    with pytest.raises(IllegalTransition):
        finance.approve_vendor_bill(ap, ref=entered.number)
    # when accepted with a note (the two mugs are on the truck)
    accepted = finance.accept_exception(ap, ref=str(queued.id), note="2 more on the way, per ACME")
    # then it is matched, the queue is empty and the resolution is kept
    assert (accepted.status, accepted.note) == ("matched", "2 more on the way, per ACME")
    assert finance.list_match_exceptions(ap).items == []
    (resolved,) = finance.list_match_exceptions(ap, status="resolved").items
    assert (resolved.resolution, resolved.resolved_by, resolved.note) == (
        "accepted",
        ap.actor.label,
        "2 more on the way, per ACME",
    )
    # and approving it posts Dr GRNI at the PO's cost of the 10 billed units (2 not yet received)
    finance.approve_vendor_bill(ap, ref=entered.number)
    settle(db, ap)
    assert entry_lines(ap, "vendor_bill.approved") == [[("2050", 2000, 0), ("2000", 0, 2000)]]


def test_a_bill_for_goods_not_yet_received_matches_once_they_arrive(ap: UnitOfWork):
    # given a PO for 5 tees at 1.00, nothing received, billed in full
    po = sent_po(ap, ("TEE", 5, "1.00"))
    entered = bill(ap, po, "EARLY-1", (1, 5, "1.00"))
    assert [r.code for r in entered.reasons] == ["not_received"]
    # when the tees arrive and the bill is matched again
    receive(ap, po, ("TEE", 5))
    again = finance.rematch_vendor_bill(ap, ref=entered.number)
    # then it matches and leaves the queue, resolved as rematched
    assert (again.status, again.reasons) == ("matched", [])
    assert finance.list_match_exceptions(ap).items == []
    (resolved,) = finance.list_match_exceptions(ap, status="resolved").items
    assert resolved.resolution == "rematched"
    # and a matched bill is not matched again
    with pytest.raises(IllegalTransition):
        finance.rematch_vendor_bill(ap, ref=entered.number)


def test_a_second_bill_for_the_same_goods_is_an_exception_until_the_first_is_rejected(ap: UnitOfWork):
    # given 6 mugs received and billed once
    po = sent_po(ap, ("MUG", 6, "1.00"))
    receive(ap, po, ("MUG", 6))
    first = bill(ap, po, "A-1", (1, 6, "1.00"))
    # when the vendor bills them again under another invoice number
    second = bill(ap, po, "A-2", (1, 6, "1.00"))
    # then the second is an exception: 12 billed (6 on other bills), 6 received
    assert (first.status, second.status) == ("matched", "exception")
    assert "12 billed (6 on other bills), 6 received" in second.reasons[0].detail
    # when the first is rejected (a wrong bill), the second matches when matched again
    finance.reject_vendor_bill(ap, ref=first.number, note="duplicate of A-2, wrong prices")
    assert finance.rematch_vendor_bill(ap, ref=second.number).status == "matched"
    assert finance.get_vendor_bill(ap, ref=first.number).status == "rejected"


def test_price_and_amount_outside_tolerance_are_both_reasons(ap: UnitOfWork):
    po = sent_po(ap, ("MUG", 100, "2.00"), ("TEE", 1, "1.00"))
    receive(ap, po, ("MUG", 100), ("TEE", 1))
    # when mugs are billed 10 % over (20.00 on the bill) and the tee at its price
    entered = bill(ap, po, "BIG-1", (1, 100, "2.20"), (2, 1, "1.00"))
    assert [(r.code, r.line) for r in entered.reasons] == [("price", 1), ("amount", None)]


def test_a_bill_for_an_unknown_po_line_is_refused_naming_the_line_and_nothing_changes(
    ap: UnitOfWork, db: Database
):
    po = sent_po(ap, ("MUG", 4, "1.00"))
    receive(ap, po, ("MUG", 4))
    before = table_counts(db)
    # when a bill names line 3 of a one-line PO
    with pytest.raises(ValidationFailed) as refused:
        bill(ap, po, "BAD-1", (1, 2, "1.00"), (3, 2, "1.00"))
    # then refused naming the line, and nothing was written (no bill, counter, queue row, event or audit)
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("lines.1.po_line", f"{po} has no line 3 (its lines: 1)")
    ]
    assert table_counts(db) == before
    # and an unknown PO, another vendor, another currency are refused naming their fields
    with pytest.raises(ValidationFailed) as unknown:
        bill(ap, "PO-999999", "BAD-2", (1, 1, "1.00"))
    assert [e.field for e in unknown.value.errors] == ["purchase_order"]
    with pytest.raises(ValidationFailed) as other:
        finance.enter_vendor_bill(
            ap,
            purchase_order=po,
            vendor_invoice="BAD-3",
            billed_on=BILLED_ON,
            vendor="ZED",
            lines=[finance.NewBillLine(1, 1, "1.00")],
        )
    assert [e.field for e in other.value.errors] == ["vendor"]
    with pytest.raises(ValidationFailed) as currency:
        finance.enter_vendor_bill(
            ap,
            purchase_order=po,
            vendor_invoice="BAD-4",
            billed_on=BILLED_ON,
            currency="EUR",
            lines=[finance.NewBillLine(1, 1, "1.00")],
        )
    assert [e.field for e in currency.value.errors] == ["currency"]
    with pytest.raises(ValidationFailed) as cents:
        bill(ap, po, "BAD-5", (1, 1, "1.001"), (1, 0, "1.00"))
    assert [e.field for e in cents.value.errors] == ["lines.0.unit_price", "lines.1.quantity"]
    assert table_counts(db) == before


def test_the_same_vendor_invoice_twice_is_refused(ap: UnitOfWork, db: Database):
    po = sent_po(ap, ("MUG", 4, "1.00"))
    receive(ap, po, ("MUG", 4))
    bill(ap, po, "INV-1", (1, 2, "1.00"))
    before = table_counts(db)
    with pytest.raises(AlreadyExists) as refused:
        bill(ap, po, "INV-1", (1, 2, "1.00"))
    assert [e.field for e in refused.value.errors] == ["vendor_invoice"]
    assert table_counts(db) == before


def test_one_payment_pays_two_bills_and_an_overpayment_is_refused_changing_nothing(
    ap: UnitOfWork, db: Database
):
    # given two approved bills of 4.00 and 6.00
    po = sent_po(ap, ("MUG", 4, "1.00"), ("TEE", 6, "1.00"))
    receive(ap, po, ("MUG", 4), ("TEE", 6))
    one = finance.approve_vendor_bill(ap, ref=bill(ap, po, "P-1", (1, 4, "1.00")).number)
    two = finance.approve_vendor_bill(ap, ref=bill(ap, po, "P-2", (2, 6, "1.00")).number)
    # when one payment of 7.00 pays the first in full and 3.00 of the second
    paid = finance.pay_vendor(
        ap,
        vendor="ACME",
        amount=usd("7.00"),
        bills=[finance.PayBill(one.number, usd("4.00")), finance.PayBill(two.number, usd("3.00"))],
    )
    # then
    assert [(b.bill, b.amount) for b in paid.bills] == [(one.number, usd("4.00")), (two.number, usd("3.00"))]
    assert finance.get_vendor_bill(ap, ref=one.number).status == "paid"
    assert finance.get_vendor_bill(ap, ref=two.number).balance == usd("3.00")
    before = table_counts(db)
    # when 4.00 more is paid on the second (it owes 3.00), or a paid bill is paid again
    with pytest.raises(Conflict) as over:
        finance.pay_vendor(
            ap, vendor="ACME", amount=usd("4.00"), bills=[finance.PayBill(two.number, usd("4.00"))]
        )
    with pytest.raises(IllegalTransition):
        finance.pay_vendor(
            ap, vendor="ACME", amount=usd("1.00"), bills=[finance.PayBill(one.number, usd("1.00"))]
        )
    # then refused naming the amount, and nothing changed
    assert [(e.field, e.message) for e in over.value.errors] == [("bills.0.amount", "at most 3.00")]
    assert table_counts(db) == before
    # and parts that do not add up, or an unapproved bill, are refused too
    with pytest.raises(ValidationFailed) as sums:
        finance.pay_vendor(
            ap, vendor="ACME", amount=usd("2.00"), bills=[finance.PayBill(two.number, usd("1.00"))]
        )
    assert [e.field for e in sums.value.errors] == ["amount"]
    assert table_counts(db) == before


def test_ap_aging_buckets_open_bills_by_days_past_their_due_date(ap: UnitOfWork, db: Database):
    # given approved bills due (NET30) on 2026-12-02, 2026-10-02 and 2026-07-01, the second partly paid
    po = sent_po(ap, ("MUG", 30, "1.00"))
    receive(ap, po, ("MUG", 30))
    for invoice, billed_on, units in (
        ("N-1", date(2026, 11, 2), 10),
        ("N-2", date(2026, 9, 2), 10),
        ("N-3", date(2026, 6, 1), 10),
    ):
        entered = bill(ap, po, invoice, (1, units, "1.00"), billed_on=billed_on)
        finance.approve_vendor_bill(ap, ref=entered.number)
    finance.pay_vendor(
        ap, vendor="ACME", amount=usd("4.00"), bills=[finance.PayBill("VB-000002", usd("4.00"))]
    )
    settle(db, ap)
    # when aged as of 2026-12-06
    aging = finance.ap_aging(ap, as_of=date(2026, 12, 6))
    # then 4 days, 65 days and 158 days past due
    assert aging.buckets == ("current", "days_1_30", "days_31_60", "days_61_90", "over_90")
    (row,) = aging.rows
    assert (row.vendor, row.bills, [m.minor for m in row.buckets], row.total.minor) == (
        "ACME",
        3,
        [0, 1000, 0, 600, 1000],
        2600,
    )
    assert [(t.total.minor, t.bills) for t in aging.totals] == [(2600, 3)]
    assert [(r.subledger.minor, r.difference.minor) for r in aging.reconciliation] == [(2600, 0)]


def test_a_vendor_s_own_tolerances_are_kept_and_used(ap: UnitOfWork):
    # given the built-in default (0 % quantity, 1 % price, 1.00 on the bill)
    assert finance.get_match_tolerance(ap, vendor="ACME").default is True
    # when ACME may ship and bill 10 % over
    set_to = finance.set_match_tolerance(
        ap, vendor="ACME", quantity_pct=Decimal("10"), price_pct=Decimal("1"), amount=usd("1.00")
    )
    po = sent_po(ap, ("TEE", 10, "0.10"))
    receive(ap, po, ("TEE", 10))
    # then 11 billed against 10 received matches, 12 would not
    assert (set_to.quantity_pct, finance.get_match_tolerance(ap, vendor="ACME").default) == (
        Decimal("10"),
        False,
    )
    assert bill(ap, po, "T-1", (1, 11, "0.10")).status == "matched"
    assert bill(ap, po, "T-2", (1, 1, "0.10")).status == "exception"
    with pytest.raises(ValidationFailed) as bad:
        finance.set_match_tolerance(
            ap,
            vendor="ACME",
            quantity_pct=Decimal("101"),
            price_pct=Decimal("0.001"),
            amount=Money(Decimal("1"), "EUR"),
        )
    assert [e.field for e in bad.value.errors] == ["quantity_pct", "price_pct", "amount.currency"]

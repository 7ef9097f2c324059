"""Demo finance: the demo year posted to the ledger (a trial balance that balances, receivables aged with the
overdue customers of the year's invoices), vendor bills against the demo's purchase orders — Hearth's for what
arrived, matched and approved; Northloom's for sweaters not yet received and billed over the PO's price, waiting in
the three-way-match queue — and a card processor's payout report (Stripe's itemized payout reconciliation) for the
last thirty card captures, imported with one charge of another amount and one nobody recorded left for a person.

Resumable: posting skips what is posted, a bill or a settlement file already there is not entered again.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from ordersmith.demo._framework import DemoReport, loader
from ordersmith.finance import service as finance
from ordersmith.kernel.errors import AlreadyExists
from ordersmith.kernel.money import Money
from ordersmith.payments import service as payments
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.platform.settings import Settings
from ordersmith.purchasing import service as purchasing

_STRIPE_COLUMNS = ("automatic_payout_id", "automatic_payout_effective_at_utc", "balance_transaction_id",
                   "created_utc", "currency", "gross", "fee", "net", "reporting_category", "source_id",
                   "description")  # fmt: skip


def _bills(uow: UnitOfWork) -> list[str]:
    made: list[str] = []
    for vendor, status, invoice, markup, received_only in (
        ("HEARTH", "partially_received", "HR-2026-1042", 0, True),
        ("NORTHLOOM", "sent", "NL-77810", 8, False),
    ):
        found = purchasing.list_purchase_orders(uow, vendor=vendor, status=status, limit=1).items
        po = found[0] if found else None
        if po is None:
            continue
        lines = [
            finance.NewBillLine(
                line.line,
                line.received if received_only else line.ordered,
                str((line.unit_cost.amount * (100 + markup) / 100).quantize(line.unit_cost.amount)),
            )
            for line in po.lines
            if (line.received if received_only else line.ordered) > 0
        ][:2]
        try:
            bill = finance.enter_vendor_bill(uow, purchase_order=po.number, vendor_invoice=invoice,
                                             billed_on=uow.now().date() - timedelta(days=3), lines=lines)  # fmt: skip
        except AlreadyExists:
            continue
        if bill.status == "matched":
            finance.approve_vendor_bill(uow, ref=bill.number)
        made.append(f"{invoice} ({bill.status})")
    return made


def _payout_report(uow: UnitOfWork) -> bytes | None:
    recent = payments.recent_captures(uow, since=uow.now() - timedelta(days=45), limit=2000)
    # the sandbox card processor's charges (gift cards and store credit are captured by Ordersmith itself)
    captures = [c for c in recent if c.currency == "USD" and c.gateway_reference.startswith("ch_")][-30:]
    if len(captures) < 3:
        return None
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(_STRIPE_COLUMNS)
    paid_on = uow.now().date().isoformat() + " 00:00:00"

    def row(n: int, reference: str, gross: int, description: str = "") -> list[str]:
        fee = gross * 29 // 1000 + 30  # the processor's 2.9 % + 30 cents

        def amount(minor: int) -> str:
            return str(Money.from_minor(minor, "USD").amount)

        return ["po_demo_1", paid_on, f"txn_demo_{n}", paid_on, "usd", amount(gross), amount(fee),
                amount(gross - fee), "charge", reference, description]  # fmt: skip

    for n, capture in enumerate(captures):
        gross = capture.amount_minor + (100 if n == 1 else 0)  # one charge of another amount
        writer.writerow(row(n, capture.transaction_reference or capture.gateway_reference, gross))
    writer.writerow(row(len(captures), "ch_demo_not_ours", 1999, "a charge nobody recorded"))
    return buffer.getvalue().encode()


@loader("finance: the year posted, vendor bills, and a card payout reconciled", stage=70)
def _finance(db: Database, settings: Settings, report: DemoReport) -> None:
    uow = db.unit_of_work(Actor.system("demo"))
    _read, posted = finance.replay_outbox(uow)
    if posted:
        report.say(f"{posted} journal entries posted from the demo year's events")
    bills = _bills(uow)
    if bills:
        report.say("vendor bills " + ", ".join(bills))
    data = _payout_report(uow)
    if data is not None:
        try:
            made = finance.import_settlement(uow, processor="stripe", file_name="demo-payout.csv", data=data)
        except AlreadyExists:
            return
        report.say(f"settlement {made.number}: {made.matched} of {made.lines} lines matched, "
                   f"{made.differences} for a person to look at")  # fmt: skip

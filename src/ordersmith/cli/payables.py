"""`ordersmith finance bills|enter-bill|approve-bill|reject-bill|match-exceptions|resolve-exception|pay-vendor|
ap-aging`: accounts payable from the command line (they read and write the database directly; no server needed).
A CSV of bills is imported with `ordersmith import vendor_bills FILE`."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer

from ordersmith.cli._common import _cli_actor, _db, _settings, command, fail, out
from ordersmith.cli._common import table as cli_table
from ordersmith.cli.finance import _as_of, finance_app
from ordersmith.finance import service as finance
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.money import exact_money
from ordersmith.platform.db import UnitOfWork

_AP_BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")


def _uow() -> UnitOfWork:
    return _db(_settings()).unit_of_work(_cli_actor())


def _bill_line(text: str, n: int) -> finance.NewBillLine:
    """`PO_LINE:QUANTITY:UNIT_PRICE`, e.g. `1:10:2.50`; a landed-cost charge line `KIND:AMOUNT`, e.g.
    `freight:45.00` (kind freight, duty, brokerage or other)."""
    parts = text.split(":")
    if len(parts) == 2 and parts[0] in finance.BILL_CHARGE_KINDS:
        return finance.NewBillLine(po_line=0, quantity=1, unit_price=parts[1], kind=parts[0])
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        raise ValidationFailed.on(
            f"lines.{n}",
            f"{text!r}: write PO_LINE:QUANTITY:UNIT_PRICE (e.g. 1:10:2.50) or KIND:AMOUNT (freight:45.00)",
        )
    return finance.NewBillLine(po_line=int(parts[0]), quantity=int(parts[1]), unit_price=parts[2])


def _print_bill(bill: finance.VendorBill) -> None:
    out.print(
        f"{bill.number} {bill.vendor} invoice {bill.vendor_invoice} on {bill.purchase_order}: {bill.status}, "
        f"{bill.total.amount} {bill.currency} due {bill.due_on}"
    )
    for reason in bill.reasons:
        where = f"line {reason.line}" if reason.line else "bill"
        out.print(f"  {reason.code} ({where}): {reason.detail}")


@finance_app.command("enter-bill")
@command
def enter_bill(
    purchase_order: Annotated[str, typer.Argument(help="the PO's number")],
    vendor_invoice: Annotated[str, typer.Argument(help="the vendor's invoice number")],
    line: Annotated[
        list[str],
        typer.Option(
            "--line", help="PO_LINE:QUANTITY:UNIT_PRICE, or a charge KIND:AMOUNT (freight:45.00) (repeat)"
        ),
    ],
    billed_on: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today)")] = None,
    vendor: Annotated[
        str | None,
        typer.Option(help="a carrier or broker billing charge lines only (default: the PO's vendor)"),
    ] = None,
) -> None:
    """Enter a vendor bill against a PO and match it three ways; says why when it goes to the exception queue.
    Charge lines (freight, duty, brokerage, other) clear landed costs accrued and are not matched."""
    uow = _uow()
    bill = finance.enter_vendor_bill(
        uow,
        purchase_order=purchase_order,
        vendor_invoice=vendor_invoice,
        billed_on=_as_of(billed_on, uow.now().date()),
        lines=[_bill_line(text, n) for n, text in enumerate(line)],
        vendor=vendor,
        source="cli",
    )
    _print_bill(bill)


@finance_app.command("bills")
@command
def bills(
    status: Annotated[str | None, typer.Option(help="entered, matched, exception, approved, …")] = None,
    vendor: Annotated[str | None, typer.Option(help="a vendor's code")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
) -> None:
    """Vendor bills, newest first."""
    page = finance.list_vendor_bills(_uow(), status=status, vendor=vendor, limit=limit)
    table = cli_table(
        "bill", "vendor", "invoice", "PO", "status", "due", "total", "balance", numeric=("total", "balance")
    )
    for b in page.items:
        table.add_row(
            b.number,
            b.vendor,
            b.vendor_invoice,
            b.purchase_order,
            b.status,
            str(b.due_on),
            str(b.total.amount),
            str(b.balance.amount),
        )
    out.print(table)


@finance_app.command("match-exceptions")
@command
def match_exceptions(vendor: Annotated[str | None, typer.Option(help="a vendor's code")] = None) -> None:
    """The three-way-match exception queue, oldest first, with each bill's reasons."""
    page = finance.list_match_exceptions(_uow(), vendor=vendor, limit=200)
    table = cli_table("bill", "vendor", "invoice", "PO", "total", "raised", "reasons", numeric=("total",))
    for e in page.items:
        table.add_row(
            e.bill,
            e.vendor,
            e.vendor_invoice,
            e.purchase_order,
            str(e.total.amount),
            e.raised_at.strftime("%Y-%m-%d %H:%M"),
            "; ".join(r.detail for r in e.reasons),
        )
    out.print(table)
    out.print(f"{len(page.items)} open exception(s)")


@finance_app.command("resolve-exception")
@command
def resolve_exception(
    bill: Annotated[str, typer.Argument(help="the bill's number")],
    note: Annotated[str, typer.Option(help="why")],
    reject: Annotated[bool, typer.Option("--reject", help="reject the bill instead of accepting it")] = False,
) -> None:
    """Accept a bill that failed its match as it is (an override), or `--reject` it."""
    decide = finance.reject_vendor_bill if reject else finance.accept_exception
    _print_bill(decide(_uow(), ref=bill, note=note))


@finance_app.command("approve-bill")
@command
def approve_bill(bill: Annotated[str, typer.Argument(help="the bill's number")]) -> None:
    """Approve a matched bill for payment (posted Dr GRNI ± price variance / Cr AP)."""
    _print_bill(finance.approve_vendor_bill(_uow(), ref=bill))


@finance_app.command("pay-vendor")
@command
def pay_vendor(
    vendor: Annotated[str, typer.Argument(help="the vendor's code")],
    bill: Annotated[list[str], typer.Option("--bill", help="BILL:AMOUNT, e.g. VB-000001:120.00 (repeat)")],
    currency: Annotated[str, typer.Option(help="the bills' currency")] = "USD",
    method: Annotated[str, typer.Option(help="check | ach | wire | card")] = "ach",
    reference: Annotated[str, typer.Option(help="check number or bank reference")] = "",
) -> None:
    """Pay a vendor's approved bills, each partly or in full, in one payment (all or nothing)."""
    parts = []
    for n, text in enumerate(bill):
        ref, _, amount = text.rpartition(":")
        try:
            Decimal(amount)
            parts.append(finance.PayBill(ref, exact_money(amount, currency.upper())))
        except (InvalidOperation, ValueError):
            fail(f"--bill {text!r}: write BILL:AMOUNT, e.g. VB-000001:120.00 (bills.{n})", 2)
    total = sum((p.amount for p in parts[1:]), parts[0].amount)
    paid = finance.pay_vendor(
        _uow(), vendor=vendor, amount=total, bills=parts, method=method, reference=reference
    )
    out.print(f"{paid.number}: {paid.amount.amount} {paid.amount.currency} to {paid.vendor} by {paid.method}")
    for b in paid.bills:
        out.print(f"  {b.bill} ({b.vendor_invoice}) {b.amount.amount}")


@finance_app.command("ap-aging")
@command
def ap_aging(as_of: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today)")] = None) -> None:
    """Accounts payable aging by vendor (by due date), totals, and the subledger against the AP control account;
    exits 1 when they differ."""
    uow = _uow()
    found = finance.ap_aging(uow, as_of=_as_of(as_of, uow.now().date()))
    table = cli_table(
        "vendor", "currency", "bills", *_AP_BUCKETS, "total", numeric=("bills", *_AP_BUCKETS, "total")
    )
    for row in [*found.rows, *found.totals]:
        table.add_row(
            row.vendor or "TOTAL",
            row.currency,
            str(row.bills),
            *(str(m.amount) for m in row.buckets),
            str(row.total.amount),
        )
    out.print(f"Accounts payable aging as of {found.as_of}")
    out.print(table)
    for check in found.reconciliation:
        out.print(
            f"{check.currency}: subledger {check.subledger.amount}, control account {check.control.amount}, "
            f"difference {check.difference.amount}"
        )
    if any(not check.difference.is_zero() for check in found.reconciliation):
        fail("the AP subledger differs from the control account (events not yet posted?)")

"""Console screens for accounts payable: vendor bills (newest first, by status or vendor), a new bill entered
against a purchase order and matched three ways at once, a bill's page with its match result (matched, or the
exception's reasons, line by line against the PO), its approval for payment, and paying it.

Scopes are the API's: reading `payables:read` (`GET /api/v1/vendor-bills`), entering `payables:write`
(`POST /api/v1/vendor-bills`, `VendorBillIn`), approving and paying `payables:approve` (`…/approve`,
`POST /api/v1/vendor-payments`, `VendorPaymentIn`). A refusal shows the form again with what was typed, the
problem's detail and each field's message beside it (`lines.1.po_line`), and nothing is written.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.console._books import NO_REFUSAL, Refusal, day, not_found, page, ref, refusal
from ordersmith.console._forms import posted
from ordersmith.console._pages import money, principal_for
from ordersmith.finance import service as finance
from ordersmith.finance.payables_schemas import VendorBillIn, VendorPaymentIn
from ordersmith.kernel.errors import NotFound, OrdersmithError
from ordersmith.platform.http import unit_of_work
from ordersmith.platform.schemas import money_in, validated

router = APIRouter(include_in_schema=False)
READ, WRITE, APPROVE = "payables:read", "payables:write", "payables:approve"
SHOWN = 100
ROWS = 6  # lines on the form; a longer bill is entered through the API or imported
STATUSES = ("entered", "matched", "exception", "approved", "partially_paid", "paid", "rejected")
KINDS = ("goods", "freight", "duty", "brokerage", "other")
METHODS = ("ach", "check", "wire", "card")
_LINE_INPUTS = ("kind", "po_line", "quantity", "unit_price", "sku")


def _list(
    request: Request,
    *,
    status: str = "",
    vendor: str = "",
    refused: Refusal = NO_REFUSAL,
    typed: dict[str, str] | None = None,
) -> Response:
    principal = principal_for(request, READ)
    uow = unit_of_work(request)
    found = finance.list_vendor_bills(
        uow, status=status if status in STATUSES else None, vendor=vendor or None, limit=SHOWN
    )
    return page(
        request,
        "payables/bills.html",
        principal,
        refused=refused,
        bills=found.items,
        more=found.next_cursor is not None,
        chosen=status,
        vendor=vendor,
        statuses=STATUSES,
        kinds=KINDS,
        rows=range(ROWS),
        typed=typed or {"billed_on": uow.now().date().isoformat()},
        may_enter=principal.can(WRITE),
        payments=finance.list_vendor_payments(uow, vendor=vendor or None, limit=20).items,
    )


@router.get("/payables/bills")
def bills(request: Request, status: str = "", vendor: str = "") -> Response:
    return _list(request, status=status.strip()[:20], vendor=vendor.strip()[:40])


def _lines(typed: dict[str, str]) -> list[dict[str, Any]]:
    """The rows a quantity, price, PO line or SKU was typed in, as the API's `lines` (with their row numbers)."""
    lines = []
    for n in range(ROWS):
        row = {name: typed.get(f"lines.{n}.{name}", "") for name in _LINE_INPUTS}
        if any(row[k] for k in ("po_line", "quantity", "unit_price", "sku")):
            lines.append(
                {
                    "kind": row["kind"] or "goods",
                    "po_line": row["po_line"] or None,
                    "quantity": row["quantity"],
                    "unit_price": row["unit_price"],
                    "sku": row["sku"] or None,
                    "row": n,
                }
            )
    return lines


def on_rows(refused: Refusal, rows: list[dict[str, Any]]) -> Refusal:
    """The refusal with each `lines.N…` field renamed to the form row it came from (rows left empty are not lines,
    so the API's line N is the form's row `rows[N]["row"]`)."""
    fields: dict[str, str] = {}
    for name, message in refused.fields.items():
        parts = name.split(".")
        if parts[0] == "lines" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(rows):
            parts[1] = str(rows[int(parts[1])]["row"])
        fields.setdefault(".".join(parts), message)
    return Refusal(refused.status, refused.detail, fields)


@router.post("/payables/bills")
async def enter(request: Request) -> Response:
    """Enter a bill (`VendorBillIn`, `enter_vendor_bill`): it comes back matched or in the exception queue."""
    _, _, typed = await posted(request, WRITE)
    rows = _lines(typed)
    try:
        body = validated(
            VendorBillIn,
            {
                "purchase_order": typed.get("purchase_order", "").upper(),
                "vendor_invoice": typed.get("vendor_invoice", ""),
                "billed_on": typed.get("billed_on", ""),
                "currency": typed.get("currency", "").upper() or None,
                "vendor": typed.get("vendor", "").upper() or None,
                "lines": [{k: v for k, v in r.items() if k != "row"} for r in rows],
            },
        )
        bill = finance.enter_vendor_bill(
            unit_of_work(request),
            purchase_order=body.purchase_order,
            vendor_invoice=body.vendor_invoice,
            billed_on=body.billed_on,
            lines=[
                finance.NewBillLine(
                    po_line=x.po_line or 0,
                    quantity=x.quantity,
                    unit_price=x.unit_price,
                    sku=x.sku,
                    kind=x.kind,
                )
                for x in body.lines
            ],
            vendor=body.vendor,
            currency=body.currency,
            source="console",
        )
    except OrdersmithError as exc:
        return _list(request, refused=on_rows(refusal(exc), rows), typed=typed)
    return RedirectResponse(f"/payables/bills/{bill.number}?done=entered", status_code=303)


def _bill(
    request: Request, number: str, *, refused: Refusal = NO_REFUSAL, typed: dict[str, str] | None = None
) -> Response:
    principal = principal_for(request, READ)
    uow = unit_of_work(request)
    try:
        bill = finance.get_vendor_bill(uow, ref=ref(number, "vendor bill"))
    except NotFound as exc:
        return not_found(request, principal, exc)
    payable = bill.status in ("approved", "partially_paid")
    return page(
        request,
        "payables/bill.html",
        principal,
        refused=refused,
        bill=bill,
        methods=METHODS,
        typed=typed or {"amount": str(bill.balance.amount), "method": "ach"},
        may_approve=principal.can(APPROVE) and bill.status == "matched",
        may_pay=principal.can(APPROVE) and payable,
        done=request.query_params.get("done", "")[:200],
    )


@router.get("/payables/bills/{number}")
def bill(request: Request, number: str) -> Response:
    return _bill(request, number)


@router.post("/payables/bills/{number}/approve")
async def approve(request: Request, number: str) -> Response:
    """Approve a matched bill for payment at the version the page showed (as `If-Match`)."""
    _, _, typed = await posted(request, APPROVE)
    version = int(typed["version"]) if typed.get("version", "").isdigit() else None
    try:
        finance.approve_vendor_bill(unit_of_work(request), ref=ref(number, "vendor bill"), version=version)
    except NotFound as exc:
        return not_found(request, principal_for(request, READ), exc)
    except OrdersmithError as exc:
        return _bill(request, number, refused=refusal(exc))
    return RedirectResponse(f"/payables/bills/{quote(number)}?done=approved", status_code=303)


@router.post("/payables/bills/{number}/pay")
async def pay(request: Request, number: str) -> Response:
    """Pay the bill, in full or partly (`VendorPaymentIn` with this one bill, `pay_vendor`)."""
    _, _, typed = await posted(request, APPROVE)
    uow = unit_of_work(request)
    try:
        bill = finance.get_vendor_bill(uow, ref=ref(number, "vendor bill"))
    except NotFound as exc:
        return not_found(request, principal_for(request, READ), exc)
    try:
        body = validated(
            VendorPaymentIn,
            {
                "vendor": bill.vendor,
                "amount": {"amount": typed.get("amount", ""), "currency": bill.currency},
                "method": typed.get("method", ""),
                "reference": typed.get("reference", ""),
                "paid_on": day(typed.get("paid_on", ""), "paid_on"),
                "bills": [{"bill": bill.number, "amount": typed.get("amount", "")}],
            },
        )
        amount = body.amount.to_money()
        payment = finance.pay_vendor(
            uow,
            vendor=body.vendor,
            amount=amount,
            bills=[
                finance.PayBill(x.bill, money_in(x.amount, amount.currency, field="amount"))
                for x in body.bills
            ],
            method=body.method,
            reference=body.reference,
            paid_on=body.paid_on,
        )
    except OrdersmithError as exc:
        return _bill(request, number, refused=_paid_names(refusal(exc)), typed=typed)
    done = quote(f"paid {money(payment.amount)} ({payment.number})")
    return RedirectResponse(f"/payables/bills/{quote(bill.number)}?done={done}", status_code=303)


def _paid_names(refused: Refusal) -> Refusal:
    """The payment's field paths (`amount.amount`, `bills.0.amount`) as the pay form's one `amount` input."""
    fields = dict(refused.fields)
    for path in ("amount.amount", "amount", "bills.0.amount", "bills"):
        if path in fields:
            fields.setdefault("amount", fields[path])
    return Refusal(refused.status, refused.detail, fields)

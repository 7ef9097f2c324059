"""Accounts payable API: vendor bills (entered, matched three ways, approved), the match-exception queue and its
decisions, vendor payments, match tolerances and AP aging.

Staff only, by `payables:*` scopes that no channel-bound key may hold. To such a key the whole of AP does not
exist: every operation answers 404 (`requires(…, no_channel=True)`), as for another channel's records (vendors'
bills are no channel's).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from ordersmith.finance import service
from ordersmith.finance.payables_schemas import (
    BillStatus,
    Code,
    DecisionIn,
    MatchExceptionOut,
    PayablesAgingOut,
    ResolveIn,
    ToleranceIn,
    ToleranceOut,
    VendorBillIn,
    VendorBillOut,
    VendorPaymentIn,
    VendorPaymentOut,
)
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.http import authorize, created, etag, if_match_version, requires, unit_of_work
from ordersmith.platform.schemas import PageOut, money_in

BillRef = Annotated[str, Query(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "the bill is not in a state that allows it (`illegal_transition`), or already exists"
    }
}


router = APIRouter(tags=["payables"])
Auth = Annotated[Principal, Depends(authorize)]


def _bill_out(bill: service.VendorBill, response: Response | None = None) -> VendorBillOut:
    if response is not None:
        response.headers["ETag"] = etag(bill.version)
    return VendorBillOut.model_validate(bill)


@router.post(
    "/vendor-bills",
    status_code=201,
    response_model=VendorBillOut,
    openapi_extra=requires("payables:write", no_channel=True),
    responses=_CONFLICT,
)
def enter_vendor_bill(body: VendorBillIn, principal: Auth, request: Request) -> Response:
    """Enter a vendor's bill against one purchase order. It is matched three ways at once — each line against its PO
    line's unit cost (price tolerance) and the units received (quantity tolerance, counting other bills), the total
    against the units at cost (amount tolerance) — and comes back `matched` or `exception` with its reasons. A line
    naming a PO line that does not exist is refused (422 naming `lines.N.po_line`) and nothing is written."""
    lines = [
        service.NewBillLine(
            po_line=x.po_line or 0, quantity=x.quantity, unit_price=x.unit_price, sku=x.sku, kind=x.kind
        )
        for x in body.lines
    ]

    def execute(uow: UnitOfWork) -> VendorBillOut:
        bill = service.enter_vendor_bill(
            uow,
            purchase_order=body.purchase_order,
            vendor_invoice=body.vendor_invoice,
            billed_on=body.billed_on,
            lines=lines,
            vendor=body.vendor,
            currency=body.currency,
            source="api",
        )
        return _bill_out(bill)

    return created(request, principal, body.model_dump(mode="json"), execute)


@router.get(
    "/vendor-bills",
    response_model=PageOut[VendorBillOut],
    openapi_extra=requires("payables:read", no_channel=True),
)
def list_vendor_bills(
    principal: Auth,
    request: Request,
    status: BillStatus | None = None,
    vendor: Code | None = None,
    purchase_order: BillRef | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Bills newest first, filtered by status, vendor or purchase order."""
    page = service.list_vendor_bills(
        unit_of_work(request),
        status=status,
        vendor=vendor,
        purchase_order=purchase_order,
        cursor=cursor,
        limit=limit,
    )
    return {"items": [_bill_out(b) for b in page.items], "next_cursor": page.next_cursor}


@router.get(
    "/vendor-bills/{ref}",
    response_model=VendorBillOut,
    openapi_extra=requires("payables:read", no_channel=True),
)
def get_vendor_bill(ref: str, principal: Auth, request: Request, response: Response) -> VendorBillOut:
    """A bill by number (`VB-000001`) or id, with its lines and its last match's reasons (`ETag`: its version)."""
    return _bill_out(service.get_vendor_bill(unit_of_work(request), ref=ref), response)


@router.post(
    "/vendor-bills/{ref}/match",
    response_model=VendorBillOut,
    openapi_extra=requires("payables:write", no_channel=True),
    responses=_CONFLICT,
)
def rematch_vendor_bill(ref: str, principal: Auth, request: Request, response: Response) -> VendorBillOut:
    """Match an exception again (more goods received, the PO corrected, tolerances changed)."""
    return _bill_out(service.rematch_vendor_bill(unit_of_work(request), ref=ref), response)


@router.post(
    "/vendor-bills/{ref}/approve",
    response_model=VendorBillOut,
    openapi_extra=requires("payables:approve", no_channel=True),
    responses=_CONFLICT,
)
def approve_vendor_bill(ref: str, principal: Auth, request: Request, response: Response) -> VendorBillOut:
    """Approve a matched bill for payment (`If-Match` honoured): it becomes payable and is posted Dr GRNI
    (± purchase price variance) / Cr AP. Approved already, or not matched: 409."""
    bill = service.approve_vendor_bill(unit_of_work(request), ref=ref, version=if_match_version(request))
    return _bill_out(bill, response)


@router.post(
    "/vendor-bills/{ref}/reject",
    response_model=VendorBillOut,
    openapi_extra=requires("payables:write", no_channel=True),
    responses=_CONFLICT,
)
def reject_vendor_bill(
    ref: str, body: DecisionIn, principal: Auth, request: Request, response: Response
) -> VendorBillOut:
    """Reject a bill that is not approved yet, saying why: it will never be paid, and its units no longer count as
    billed on the PO."""
    bill = service.reject_vendor_bill(
        unit_of_work(request), ref=ref, note=body.note, version=if_match_version(request)
    )
    return _bill_out(bill, response)


@router.get(
    "/match-exceptions",
    response_model=PageOut[MatchExceptionOut],
    openapi_extra=requires("payables:read", no_channel=True),
)
def list_match_exceptions(
    principal: Auth,
    request: Request,
    status: Annotated[str, Query(pattern=r"^(open|resolved)$")] = "open",
    vendor: Code | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """The three-way-match exception queue: open exceptions oldest first with their reasons, or the resolved ones
    newest first with who resolved them and how."""
    page = service.list_match_exceptions(
        unit_of_work(request), status=status, vendor=vendor, cursor=cursor, limit=limit
    )
    return {
        "items": [MatchExceptionOut.model_validate(e) for e in page.items],
        "next_cursor": page.next_cursor,
    }


@router.get(
    "/match-exceptions/{exception_id}",
    response_model=MatchExceptionOut,
    openapi_extra=requires("payables:read", no_channel=True),
)
def get_match_exception(exception_id: uuid.UUID, principal: Auth, request: Request) -> MatchExceptionOut:
    return MatchExceptionOut.model_validate(
        service.get_match_exception(unit_of_work(request), exception_id=exception_id)
    )


@router.post(
    "/match-exceptions/{exception_id}/resolve",
    response_model=VendorBillOut,
    openapi_extra=requires("payables:override", no_channel=True),
    responses=_CONFLICT,
)
def resolve_match_exception(
    exception_id: uuid.UUID, body: ResolveIn, principal: Auth, request: Request, response: Response
) -> VendorBillOut:
    """Decide an exception (an override, `payables:override`): `accept` the bill as it is (it becomes matched and
    may be approved) or `reject` it, with a note saying why. Resolved already: 409."""
    uow = unit_of_work(request)
    found = service.get_match_exception(uow, exception_id=exception_id)
    decide = service.accept_exception if body.action == "accept" else service.reject_vendor_bill
    return _bill_out(
        decide(uow, ref=str(found.bill_id), note=body.note, version=if_match_version(request)), response
    )


@router.post(
    "/vendor-payments",
    status_code=201,
    response_model=VendorPaymentOut,
    openapi_extra=requires("payables:approve", no_channel=True),
    responses=_CONFLICT,
)
def pay_vendor(body: VendorPaymentIn, principal: Auth, request: Request) -> Response:
    """Pay a vendor: the amount spread over one or more approved bills, each partly or in full (`Idempotency-Key`
    honoured). All or nothing: a bill not payable, or a part above what it still owes, is a 409 and nothing is
    paid. Posted Dr AP / Cr the disbursement bank account."""
    amount = body.amount.to_money()
    bills = [
        service.PayBill(x.bill, money_in(x.amount, amount.currency, field=f"bills.{n}.amount"))
        for n, x in enumerate(body.bills)
    ]

    def execute(uow: UnitOfWork) -> VendorPaymentOut:
        payment = service.pay_vendor(
            uow,
            vendor=body.vendor,
            amount=amount,
            bills=bills,
            method=body.method,
            reference=body.reference,
            paid_on=body.paid_on,
        )
        return VendorPaymentOut.model_validate(payment)

    return created(request, principal, body.model_dump(mode="json"), execute)


@router.get(
    "/vendor-payments",
    response_model=PageOut[VendorPaymentOut],
    openapi_extra=requires("payables:read", no_channel=True),
)
def list_vendor_payments(
    principal: Auth,
    request: Request,
    vendor: Code | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    page = service.list_vendor_payments(unit_of_work(request), vendor=vendor, cursor=cursor, limit=limit)
    return {
        "items": [VendorPaymentOut.model_validate(p) for p in page.items],
        "next_cursor": page.next_cursor,
    }


@router.get(
    "/vendor-payments/{ref}",
    response_model=VendorPaymentOut,
    openapi_extra=requires("payables:read", no_channel=True),
)
def get_vendor_payment(ref: str, principal: Auth, request: Request) -> VendorPaymentOut:
    return VendorPaymentOut.model_validate(service.get_vendor_payment(unit_of_work(request), ref=ref))


@router.get(
    "/vendors/{vendor}/match-tolerances",
    response_model=ToleranceOut,
    openapi_extra=requires("payables:read", no_channel=True),
)
def get_match_tolerance(vendor: str, principal: Auth, request: Request) -> ToleranceOut:
    """The tolerances the vendor's bills are matched with (its own, else the built-in default: `default`)."""
    return ToleranceOut.model_validate(service.get_match_tolerance(unit_of_work(request), vendor=vendor))


@router.put(
    "/vendors/{vendor}/match-tolerances",
    response_model=ToleranceOut,
    openapi_extra=requires("payables:write", no_channel=True),
)
def set_match_tolerance(vendor: str, body: ToleranceIn, principal: Auth, request: Request) -> ToleranceOut:
    """Set how far the vendor's bills may stray and still match: units over received (%), unit price either way
    (%), and the bill's total either way (an amount in the vendor's currency)."""
    found = service.set_match_tolerance(
        unit_of_work(request),
        vendor=vendor,
        quantity_pct=body.quantity_pct,
        price_pct=body.price_pct,
        amount=body.amount.to_money(),
    )
    return ToleranceOut.model_validate(found)


@router.get(
    "/ap/aging", response_model=PayablesAgingOut, openapi_extra=requires("payables:read", no_channel=True)
)
def ap_aging(principal: Auth, request: Request, as_of: date | None = None) -> PayablesAgingOut:
    """What is owed each vendor on approved bills by days past due (current, 1-30, 31-60, 61-90, over 90) as of a
    day (default today), totals per currency, and the AP subledger reconciled to the AP control account."""
    uow = unit_of_work(request)
    return PayablesAgingOut.of(service.ap_aging(uow, as_of=as_of or uow.now().date()))

"""Purchasing API: vendors and their items, purchase orders and receipts, replenishment."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.http import authorize, created, requires, unit_of_work
from ordersmith.platform.schemas import PageOut
from ordersmith.purchasing import rules, service
from ordersmith.purchasing.schemas import (
    CancelIn,
    OrderSuggestionsIn,
    PurchaseOrderIn,
    PurchaseOrderOut,
    ReceiptIn,
    ReceiptOut,
    ReplenishmentRuleIn,
    ReplenishmentRuleOut,
    SuggestionOut,
    VendorIn,
    VendorItemIn,
    VendorItemOut,
    VendorOut,
)

router = APIRouter(tags=["purchasing"])
Auth = Annotated[Principal, Depends(authorize)]
_STATE: dict[int | str, dict[str, Any]] = {
    409: {"description": "illegal_transition, with the purchase order's current `state`"}
}
_RECEIPT: dict[int | str, dict[str, Any]] = {
    409: {"description": "illegal_transition (with `state`) or over_receipt (with `allowed`)"}
}


@router.post(
    "/vendors", status_code=201, response_model=VendorOut, openapi_extra=requires("purchasing:write")
)
def create_vendor(body: VendorIn, principal: Auth, request: Request) -> Response:
    return created(request, principal, body.model_dump(),
                   lambda uow: VendorOut.model_validate(service.create_vendor(uow, **body.model_dump())))  # fmt: skip


@router.get("/vendors", response_model=list[VendorOut], openapi_extra=requires("purchasing:read"))
def list_vendors(principal: Auth, request: Request) -> list[VendorOut]:
    return [VendorOut.model_validate(v) for v in service.list_vendors(unit_of_work(request))]


@router.get("/vendors/{code}", response_model=VendorOut, openapi_extra=requires("purchasing:read"))
def get_vendor(code: str, principal: Auth, request: Request) -> VendorOut:
    return VendorOut.model_validate(service.get_vendor(unit_of_work(request), code=code))


@router.put("/vendors/{code}/items", response_model=VendorItemOut, openapi_extra=requires("purchasing:write"))
def set_vendor_item(code: str, body: VendorItemIn, principal: Auth, request: Request) -> VendorItemOut:
    """Record what the vendor charges for an item, its vendor SKU, minimum order quantity and pack size."""
    fields = body.model_dump(exclude={"cost"})
    return VendorItemOut.model_validate(
        service.set_vendor_item(unit_of_work(request), vendor=code, cost=body.cost.to_money(), **fields)
    )


@router.get(
    "/vendors/{code}/items", response_model=list[VendorItemOut], openapi_extra=requires("purchasing:read")
)
def list_vendor_items(code: str, principal: Auth, request: Request) -> list[VendorItemOut]:
    return [
        VendorItemOut.model_validate(v) for v in service.list_vendor_items(unit_of_work(request), vendor=code)
    ]


@router.post("/purchase-orders", status_code=201, response_model=PurchaseOrderOut,
             openapi_extra=requires("purchasing:write"))  # fmt: skip
def create_purchase_order(body: PurchaseOrderIn, principal: Auth, request: Request) -> Response:
    """A draft PO; lines default to the vendor's listed cost and to today plus the vendor's lead time."""
    lines = [service.NewLine(line.sku, line.quantity, line.unit_cost.to_money() if line.unit_cost else None,
                             line.expected_on) for line in body.lines]  # fmt: skip

    def execute(uow: UnitOfWork) -> PurchaseOrderOut:
        po = service.create_purchase_order(uow, vendor=body.vendor, location=body.location, lines=lines,
                                           notes=body.notes)  # fmt: skip
        return PurchaseOrderOut.model_validate(po)

    return created(request, principal, body.model_dump(mode="json"), execute)


@router.get(
    "/purchase-orders", response_model=PageOut[PurchaseOrderOut], openapi_extra=requires("purchasing:read")
)
def list_purchase_orders(
    principal: Auth, request: Request,
    status: Literal[rules.STATUSES] | None = None,  # type: ignore[valid-type]
    vendor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Newest first, optionally by status (an unknown one: 422 naming it) and vendor."""
    page = service.list_purchase_orders(unit_of_work(request), status=status, vendor=vendor, cursor=cursor,
                                        limit=limit)  # fmt: skip
    return {
        "items": [PurchaseOrderOut.model_validate(po) for po in page.items],
        "next_cursor": page.next_cursor,
    }


@router.get(
    "/purchase-orders/{number}", response_model=PurchaseOrderOut, openapi_extra=requires("purchasing:read")
)
def get_purchase_order(number: str, principal: Auth, request: Request) -> PurchaseOrderOut:
    return PurchaseOrderOut.model_validate(service.get_purchase_order(unit_of_work(request), number=number))


@router.get(
    "/purchase-orders/{number}/receipts",
    response_model=list[ReceiptOut],
    openapi_extra=requires("purchasing:read"),
)
def receipts(number: str, principal: Auth, request: Request) -> list[ReceiptOut]:
    """The deliveries received against the PO, oldest first, with their units per line."""
    return [ReceiptOut.model_validate(r) for r in service.receipts_of(unit_of_work(request), number=number)]


@router.post("/purchase-orders/{number}/approve", response_model=PurchaseOrderOut, responses=_STATE,
             openapi_extra=requires("purchasing:approve"))  # fmt: skip
def approve(number: str, principal: Auth, request: Request) -> PurchaseOrderOut:
    return PurchaseOrderOut.model_validate(service.approve(unit_of_work(request), number=number))


@router.post("/purchase-orders/{number}/send", response_model=PurchaseOrderOut, responses=_STATE,
             openapi_extra=requires("purchasing:write"))  # fmt: skip
def send(number: str, principal: Auth, request: Request) -> PurchaseOrderOut:
    return PurchaseOrderOut.model_validate(service.send(unit_of_work(request), number=number))


@router.post("/purchase-orders/{number}/cancel", response_model=PurchaseOrderOut, responses=_STATE,
             openapi_extra=requires("purchasing:approve"))  # fmt: skip
def cancel(number: str, principal: Auth, request: Request, body: CancelIn | None = None) -> PurchaseOrderOut:
    """Cancel what is still open: `cancelled` when nothing arrived yet, else `closed` with the remainder cancelled."""
    reason = body.reason if body else ""
    return PurchaseOrderOut.model_validate(
        service.cancel(unit_of_work(request), number=number, reason=reason)
    )


@router.post("/purchase-orders/{number}/close", response_model=PurchaseOrderOut, responses=_STATE,
             openapi_extra=requires("purchasing:approve"))  # fmt: skip
def close(number: str, principal: Auth, request: Request) -> PurchaseOrderOut:
    return PurchaseOrderOut.model_validate(service.close(unit_of_work(request), number=number))


@router.post("/purchase-orders/{number}/receipts", status_code=201, response_model=PurchaseOrderOut,
             openapi_extra=requires("purchasing:write"), responses=_RECEIPT)  # fmt: skip
def receive(number: str, body: ReceiptIn, principal: Auth, request: Request) -> Response:
    """Receive some or all of a sent PO into stock (all lines or none); emits `po.received`."""
    lines = [service.ReceivedLine(line.sku, line.quantity, line.line) for line in body.lines]

    def execute(uow: UnitOfWork) -> PurchaseOrderOut:
        return PurchaseOrderOut.model_validate(service.receive(
            uow, number=number, lines=lines, location=body.location, reference=body.reference))  # fmt: skip

    return created(request, principal, body.model_dump(), execute)


@router.put("/replenishment/rules/{sku}/{location}", response_model=ReplenishmentRuleOut,
            openapi_extra=requires("purchasing:write"))  # fmt: skip
def set_rule(
    sku: str, location: str, body: ReplenishmentRuleIn, principal: Auth, request: Request
) -> ReplenishmentRuleOut:
    """min/max (order up to max when the projected position falls to min) or reorder point (lead-time demand
    from the last 28 days of shipments plus safety stock)."""
    return ReplenishmentRuleOut.model_validate(
        service.set_rule(unit_of_work(request), sku=sku, location=location, **body.model_dump())
    )


@router.get("/replenishment/suggestions", response_model=list[SuggestionOut],
            openapi_extra=requires("purchasing:read"))  # fmt: skip
def suggestions(
    principal: Auth, request: Request, location: str | None = None, vendor: str | None = None
) -> list[SuggestionOut]:
    """What to order now, with the figures and the reason behind each quantity."""
    found = service.suggestions(unit_of_work(request), location=location, vendor=vendor)
    return [SuggestionOut.model_validate(s) for s in found]


@router.post("/replenishment/orders", status_code=201, response_model=list[PurchaseOrderOut],
             openapi_extra=requires("purchasing:write"))  # fmt: skip
def order_suggestions(body: OrderSuggestionsIn, principal: Auth, request: Request) -> Response:
    """Turn the current suggestions — all, or the `lines` chosen with their quantities — into draft POs, one per
    vendor and ship-to location."""

    def execute(uow: UnitOfWork) -> list[PurchaseOrderOut]:
        chosen = (
            None
            if body.lines is None
            else [service.ChosenSuggestion(c.sku, c.location, c.quantity) for c in body.lines]
        )
        orders = service.order_suggestions(uow, location=body.location, vendor=body.vendor, chosen=chosen)
        return [PurchaseOrderOut.model_validate(po) for po in orders]

    return created(request, principal, body.model_dump(), execute)

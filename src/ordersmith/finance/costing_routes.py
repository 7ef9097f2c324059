"""Inventory costing API: landed-cost charges against PO receipts, the inventory valuation per location with the
subledger reconciled to the inventory account, and the costing policy (one moving average per item, or per
location) — ADR 0041.

Staff only, by `finance:*` scopes that no channel-bound key may hold; to such a key these records (no channel's)
do not exist: every operation answers 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from ordersmith.finance import service
from ordersmith.finance.costing_schemas import (
    CostingPolicyIn,
    CostingPolicyOut,
    ItemCostingPolicyIn,
    LandedCostIn,
    LandedCostOut,
    PolicyChangeOut,
    TrueUpEntryOut,
    TrueUpIn,
    TrueUpOut,
    ValuationOut,
)
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.http import authorize, created, requires, unit_of_work
from ordersmith.platform.schemas import PageOut

router = APIRouter(tags=["costing"])
Auth = Annotated[Principal, Depends(authorize)]
Ref = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]
Sku = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00/]+$")]
Filter = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[^\x00]+$")]


@router.post(
    "/landed-costs",
    status_code=201,
    response_model=LandedCostOut,
    openapi_extra=requires("finance:write", no_channel=True),
)
def record_landed_cost(body: LandedCostIn, principal: Auth, request: Request) -> Response:
    """Enter a landed-cost charge (freight, duty, brokerage, other) against PO receipts — named, or every receipt
    of `purchase_order` — allocated over their lines by value, weight or units (the parts add up to the charge).
    The ledger posts it once: Dr inventory for the share on units still in stock (their moving-average cost rises),
    Dr cost of goods sold for the share on units sold / Cr landed costs accrued. Takes an `Idempotency-Key`."""

    def execute(uow: UnitOfWork) -> LandedCostOut:
        charge = service.record_landed_cost(
            uow,
            kind=body.kind,
            basis=body.basis,
            amount=body.amount.to_money(),
            receipts=body.receipts,
            purchase_order=body.purchase_order,
            reference=body.reference,
            memo=body.memo,
        )
        return LandedCostOut.model_validate(charge)

    return created(request, principal, body.model_dump(mode="json"), execute)


@router.get(
    "/landed-costs",
    response_model=PageOut[LandedCostOut],
    openapi_extra=requires("finance:read", no_channel=True),
)
def list_landed_costs(
    principal: Auth,
    request: Request,
    purchase_order: Annotated[
        str | None, Query(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Charges newest first, optionally those on one purchase order, each with its lines and (once posted) how it
    split between inventory and cost of goods sold."""
    page = service.list_landed_costs(
        unit_of_work(request), purchase_order=purchase_order, cursor=cursor, limit=limit
    )
    return {"items": [LandedCostOut.model_validate(c) for c in page.items], "next_cursor": page.next_cursor}


@router.get(
    "/landed-costs/{ref}",
    response_model=LandedCostOut,
    openapi_extra=requires("finance:read", no_channel=True),
)
def get_landed_cost(ref: Ref, principal: Auth, request: Request) -> LandedCostOut:
    """A charge by number (`LC-000001`) or id: each receipt line's allocation, its share on stock and on goods sold,
    and the average cost before and after."""
    return LandedCostOut.model_validate(service.get_landed_cost(unit_of_work(request), ref=ref))


@router.get(
    "/inventory-valuation",
    response_model=ValuationOut,
    openapi_extra=requires("finance:read", no_channel=True),
)
def inventory_valuation(
    principal: Auth, request: Request, location: Filter = None, sku: Filter = None
) -> ValuationOut:
    """What the stock is worth at cost per item and location (an item costed per location: its locations' own
    averages; per item: its value spread over the locations holding it), totals per location, and the inventory
    subledger against the inventory account."""
    found = service.inventory_valuation(unit_of_work(request), location=location, sku=sku)
    return ValuationOut.model_validate(found)


@router.post(
    "/inventory-valuation/true-up",
    response_model=TrueUpOut,
    openapi_extra=requires("finance:write", no_channel=True),
)
def true_up_inventory(body: TrueUpIn, principal: Auth, request: Request) -> TrueUpOut:
    """Post what separates the inventory account from the inventory subledger, per currency, against `account` —
    once, after upgrading a database whose item costs were seeded from earlier averages (the reconciliation then
    shows a difference no posting closes). An entry per currency that differs (rule `inventory_true_up`); none when
    they agree, so a second call posts nothing. 422 naming `account` (unknown, inactive, or the inventory account);
    409 `period_closed` naming `posted_on`."""
    done = service.true_up_inventory(unit_of_work(request), account=body.account, posted_on=body.posted_on)
    return TrueUpOut(entries=[TrueUpEntryOut.model_validate(t) for t in done])


@router.get(
    "/costing-policy",
    response_model=CostingPolicyOut,
    openapi_extra=requires("finance:read", no_channel=True),
)
def costing_policy(principal: Auth, request: Request) -> CostingPolicyOut:
    """Whether items keep one moving-average cost per location: every item's setting and the items' own."""
    return CostingPolicyOut.model_validate(service.costing_policy(unit_of_work(request)))


@router.put(
    "/costing-policy",
    response_model=PolicyChangeOut,
    openapi_extra=requires("finance:write", no_channel=True),
)
def set_costing_policy(body: CostingPolicyIn, principal: Auth, request: Request) -> PolicyChangeOut:
    """Cost every item (without a setting of its own) per location or per item. Items that change are switched at
    once: per-location rows start at the item's average with its units and value spread by units on hand; going
    back sums them. No value changes, so the inventory account stays equal to the subledger."""
    change = service.set_costing_policy(unit_of_work(request), by_location=body.by_location)
    return PolicyChangeOut.of(change)


@router.put(
    "/costing-policy/items/{sku}",
    response_model=PolicyChangeOut,
    openapi_extra=requires("finance:write", no_channel=True),
)
def set_item_costing_policy(
    sku: Sku, body: ItemCostingPolicyIn, principal: Auth, request: Request
) -> PolicyChangeOut:
    """Cost one item per location (`true`), per item (`false`), or as every item is (`null`), switching it now."""
    change = service.set_costing_policy(unit_of_work(request), by_location=body.by_location, sku=sku)
    return PolicyChangeOut.of(change)

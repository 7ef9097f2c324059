"""Console screens for inventory costing (ADR 0041): landed-cost charges (freight, duty, brokerage, other) entered
against PO receipts — every receipt of a purchase order, or named receipts — and split over their lines by value,
weight or units; a charge's page with its split (each line's share, on stock and on goods sold, the average cost
before and after); and the costing policy, for every item or one item (one moving average per location, or one
per item); the inventory subledger against the inventory account, and its one-time true-up after an upgrade.

Scopes are the API's: reading `finance:read` (`GET /api/v1/landed-costs`, `/costing-policy`), writing
`finance:write` (`POST /api/v1/landed-costs`, `PUT /api/v1/costing-policy[/items/{sku}]`), checked by the API's
input models (`LandedCostIn`, `CostingPolicyIn`, `ItemCostingPolicyIn`). A refusal shows the form it came from
again with what was typed, the problem's detail and each field's message beside it; nothing is written.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.console._books import NO_REFUSAL, Refusal, not_found, page, ref, refusal
from ordersmith.console._forms import posted
from ordersmith.console._pages import principal_for
from ordersmith.finance import service as finance
from ordersmith.finance.costing_schemas import CostingPolicyIn, ItemCostingPolicyIn, LandedCostIn, TrueUpIn
from ordersmith.kernel.errors import NotFound, OrdersmithError, ValidationFailed
from ordersmith.platform.http import unit_of_work
from ordersmith.platform.schemas import validated

router = APIRouter(include_in_schema=False)
READ, WRITE = "finance:read", "finance:write"
SHOWN = 50
KINDS = ("freight", "duty", "brokerage", "other")
BASES = ("value", "weight", "units")
# The API's field paths → the form's inputs.
CHARGE_INPUTS = {"amount.amount": "amount", "amount.currency": "currency", "amount": "amount"}
ITEM_CHOICES = {"location": True, "item": False, "every": None}


def _page(
    request: Request,
    *,
    refused: Refusal = NO_REFUSAL,
    failed: str = "",
    typed: dict[str, str] | None = None,
) -> Response:
    principal = principal_for(request, READ)
    uow = unit_of_work(request)
    purchase_order = request.query_params.get("purchase_order", "").strip().upper()[:40]
    charges = finance.list_landed_costs(uow, purchase_order=purchase_order or None, limit=SHOWN)
    return page(
        request,
        "books/costing.html",
        principal,
        refused=refused,
        clean=NO_REFUSAL,
        failed=failed,
        charges=charges.items,
        more=charges.next_cursor is not None,
        purchase_order=purchase_order,
        policy=finance.costing_policy(uow),
        reconciliation=finance.inventory_reconciliation(uow),
        kinds=KINDS,
        bases=BASES,
        typed=typed or {"currency": "USD", "kind": "freight", "basis": "value"},
        may_write=principal.can(WRITE),
        done=request.query_params.get("done", "")[:200],
    )


@router.get("/finance/costing")
def costing(request: Request) -> Response:
    return _page(request)


def _fields(refused: Refusal) -> Refusal:
    fields: dict[str, str] = {}
    for name, message in refused.fields.items():
        top = name.split(".")[0]
        fields.setdefault(CHARGE_INPUTS.get(name, "receipts" if top == "receipts" else name), message)
    return Refusal(refused.status, refused.detail, fields)


@router.post("/finance/costing/landed-costs")
async def record(request: Request) -> Response:
    """Enter a charge (`LandedCostIn`, `record_landed_cost`) and open its split."""
    _, _, typed = await posted(request, WRITE)
    receipts = [r for r in typed.get("receipts", "").replace(",", " ").split() if r]
    payload: dict[str, Any] = {
        "kind": typed.get("kind", ""),
        "basis": typed.get("basis", ""),
        "amount": {"amount": typed.get("amount", ""), "currency": typed.get("currency", "").upper()},
        "receipts": receipts,
        "purchase_order": typed.get("purchase_order", "").upper() or None,
        "reference": typed.get("reference", ""),
        "memo": typed.get("memo", ""),
    }
    try:
        body = validated(LandedCostIn, payload)
        charge = finance.record_landed_cost(
            unit_of_work(request),
            kind=body.kind,
            basis=body.basis,
            amount=body.amount.to_money(),
            receipts=body.receipts,
            purchase_order=body.purchase_order,
            reference=body.reference,
            memo=body.memo,
        )
    except OrdersmithError as exc:
        return _page(request, refused=_fields(refusal(exc)), failed="charge", typed=typed)
    return RedirectResponse(f"/finance/costing/landed-costs/{charge.number}?done=entered", status_code=303)


@router.get("/finance/costing/landed-costs/{number}")
def charge(request: Request, number: str) -> Response:
    principal = principal_for(request, READ)
    try:
        found = finance.get_landed_cost(unit_of_work(request), ref=ref(number, "landed cost"))
    except NotFound as exc:
        return not_found(request, principal, exc)
    return page(
        request,
        "books/landed_cost.html",
        principal,
        charge=found,
        done=request.query_params.get("done", "")[:40],
    )


@router.post("/finance/costing/true-up")
async def true_up(request: Request) -> Response:
    """Post the inventory account's difference from the subledger against an adjustment account (`TrueUpIn`,
    `true_up_inventory`): once, after an upgrade."""
    _, _, typed = await posted(request, WRITE)
    try:
        body = validated(TrueUpIn, {"account": typed.get("account", "")})
        done = finance.true_up_inventory(unit_of_work(request), account=body.account)
    except OrdersmithError as exc:
        return _page(request, refused=refusal(exc), failed="true-up", typed=typed)
    said = (
        "; ".join(f"{t.amount.amount} {t.currency} to the inventory account" for t in done)
        or "nothing to post"
    )
    return RedirectResponse(f"/finance/costing?done={quote('trued up: ' + said)}#subledger", status_code=303)


@router.post("/finance/costing/policy")
async def policy(request: Request) -> Response:
    """Cost every item per location or per item (`CostingPolicyIn`, `set_costing_policy`)."""
    _, _, typed = await posted(request, WRITE)
    choice = typed.get("by_location", "")
    try:
        body = validated(
            CostingPolicyIn, {"by_location": {"location": True, "item": False}.get(choice, choice)}
        )
        change = finance.set_costing_policy(unit_of_work(request), by_location=body.by_location)
    except OrdersmithError as exc:
        return _page(request, refused=refusal(exc), failed="policy", typed=typed)
    done = f"every item is costed per {'location' if body.by_location else 'item'}; {len(change.switched)} switched"
    return RedirectResponse(f"/finance/costing?done={quote(done)}#policy", status_code=303)


@router.post("/finance/costing/policy/items")
async def item_policy(request: Request) -> Response:
    """Cost one item per location, per item, or as every item is (`ItemCostingPolicyIn`)."""
    _, _, typed = await posted(request, WRITE)
    sku = typed.get("sku", "")
    choice = typed.get("item_by_location", "")
    try:
        if not sku:
            raise ValidationFailed.on("sku", "the item's SKU")
        body = validated(ItemCostingPolicyIn, {"by_location": ITEM_CHOICES.get(choice, choice)})
        change = finance.set_costing_policy(unit_of_work(request), by_location=body.by_location, sku=sku)
    except OrdersmithError as exc:
        renamed = {"item_by_location" if k == "by_location" else k: v for k, v in refusal(exc).fields.items()}
        if isinstance(exc, NotFound):
            renamed.setdefault("sku", exc.detail)
        found = refusal(exc)
        return _page(
            request, refused=Refusal(found.status, found.detail, renamed), failed="item-policy", typed=typed
        )
    how = {True: "per location", False: "per item", None: "as every item"}[body.by_location]
    done = f"{sku.upper()} is costed {how}; {len(change.switched)} switched"
    return RedirectResponse(f"/finance/costing?done={quote(done)}#policy", status_code=303)

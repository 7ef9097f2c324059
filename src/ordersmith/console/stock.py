"""Console screens for stock and buying: an item's availability per division and location with its latest
movements, adjustments and transfers (warehouse), its or its style's merchandise category (set with
`catalog:write`: a variant's through its style), and purchase orders — drafts from the replenishment suggestions,
approval (managers), sending, receiving."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.catalog import service as catalog
from ordersmith.catalog import styles
from ordersmith.catalog.schemas import CategoryAssignmentIn
from ordersmith.console import categories, custom_fields
from ordersmith.console._forms import posted
from ordersmith.console._pages import check_form_csrf, principal_for, render
from ordersmith.finance import service as finance
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import NotFound, OrdersmithError
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.platform.http import unit_of_work
from ordersmith.platform.schemas import validated
from ordersmith.purchasing import service as purchasing

router = APIRouter(include_in_schema=False)
LOW_SHOWN = 200  # levels running low listed at once, fewest free units first
DIVISIONS = ["", "web", "catalog", "store", "marketplace"]


def sees_cost(principal: Any) -> bool:
    """Value at cost is for those who read the books (accountants) or approve purchase orders at their costs
    (managers); admins hold every scope. Agents, warehouse and marketing see quantities only."""
    return bool(principal.can("finance:read") or principal.can("purchasing:approve"))


def _valued(uow: Any, sku: str, availability: Any) -> dict[str, Any]:
    """The item's stock at its moving-average cost (finance's costing subledger, one statement): per location and
    in total; `cost` None when the item was never received at a cost (shown as "no cost", never as 0)."""
    cost = finance.item_costs(uow, skus=[sku]).get(sku)
    if cost is None:
        return {"cost": None, "values": {}, "total": None}
    values = {level.location: cost * level.on_hand for level in availability.locations}
    return {"cost": cost, "values": values, "total": cost * availability.on_hand}


def _stock_page(
    request: Request,
    sku: str,
    division: str,
    status: int = 200,
    error: str = "",
    done: str = "",
    low: bool = False,
) -> Response:
    principal = principal_for(request, "inventory:read")
    uow = unit_of_work(request)
    low_levels = inventory.low_stock_levels(uow, limit=LOW_SHOWN) if low else None
    item = availability = style = None
    movements: list[Any] = []
    variants: list[Any] = []
    grid: dict[str, Any] | None = None
    on_order: dict[str, int] = {}
    valued: dict[str, Any] | None = None
    if sku:
        try:
            item = catalog.get_item(uow, sku=sku)
            availability = inventory.get_availability(uow, sku=item.sku, division=division or None)
            movements = _readable(uow, inventory.recent_movements(uow, item_id=item.id, limit=30))
            if principal.can("purchasing:read"):
                on_order = purchasing.on_order(uow, sku=item.sku)
            if sees_cost(principal):
                valued = _valued(uow, item.sku, availability)
        except NotFound:
            try:  # a style: every variant's availability, to pick from
                style = styles.get_style(uow, code=sku)
                variants = [(v, inventory.get_availability(uow, sku=v.sku, division=division or None).available)
                            for v in style.variants]  # fmt: skip
                grid = _grid(style, variants)
            except NotFound:
                error = error or f"no item or style {sku}"
    locations = inventory.list_locations(uow)
    return render(
        request,
        "stock.html",
        principal,
        status=status,
        error=error,
        done=done,
        sku=sku,
        division=division,
        divisions=DIVISIONS,
        item=item,
        availability=availability,
        movements=movements,
        locations=locations,
        style=style,
        variants=variants,
        grid=grid,
        on_order=on_order,
        valued=valued,
        low_levels=low_levels,
        low_shown=LOW_SHOWN,
        custom=custom_fields.panel(uow, kind="item", record_id=item.id) if item else None,
        category=_category(uow, item, style) if item or style else None,
        can_edit=principal.can("catalog:write"),
        action=f"/custom-values/item/{quote(item.sku)}" if item else "",
    )


def _category(uow: Any, item: catalog.Item | None, style: styles.Style | None) -> dict[str, Any]:
    """What the page shows of the item's or the style's category: its code and names from the top down, the
    style whose category a variant takes (its form sets the style's), and the categories to choose from: the active
    ones, and the one it is in (marked when inactive, so the form shows where it is)."""
    tree = catalog.list_categories(uow)
    trails = categories.trails(tree)
    if item is not None:
        code, style_code = item.category, catalog.style_codes(uow, ids=[item.id]).get(item.id)
    else:
        assert style is not None
        code, style_code = style.category, style.code
    return {
        "code": code,
        "trail": trails.get(code, code) if code else "",
        "style": style_code,
        "choices": [
            (c.code, trails[c.code] + ("" if c.active else ", inactive"))
            for c in tree
            if c.active or c.code == code
        ],
    }


def _grid(style: styles.Style, variants: list[tuple[Any, int]]) -> dict[str, Any] | None:
    """A two-axis style (colour by size) as a grid: rows by the first axis, columns by the second, each in the
    order the style lists its values (sizes in their natural order, not alphabetical); None for other styles."""
    if len(style.axes) != 2:
        return None
    (row_axis, rows), (column_axis, columns) = style.axes
    cells = {(v.values[row_axis], v.values[column_axis]): (v.sku, available) for v, available in variants}
    return {
        "row_axis": row_axis,
        "column_axis": column_axis,
        "rows": rows,
        "columns": columns,
        "cells": cells,
    }


_ORDER_KEY = re.compile(r"^ord:([0-9a-f]{32}):(\d+):\d+")


def _readable(uow: Any, movements: list[inventory.Movement]) -> list[tuple[inventory.Movement, str]]:
    """Each movement with its reference as people say it: an order's reservation key becomes "order 100234,
    line 2"; other references (PO numbers, delivery notes) are shown as they are."""
    ids = {uuid.UUID(m.group(1)) for m in (_ORDER_KEY.match(x.reference) for x in movements) if m}
    numbers = orders.order_numbers(uow, ids=sorted(ids)) if ids else {}
    shown = []
    for movement in movements:
        found = _ORDER_KEY.match(movement.reference)
        number = numbers.get(uuid.UUID(found.group(1))) if found else None
        more = movement.reference.partition(" (+")[2].rstrip(")")
        text = f"order {number}, line {found.group(2)}" if found and number else movement.reference
        shown.append((movement, text + (f" and {more} more" if found and number and more else "")))
    return shown


@router.get("/stock")
def stock(request: Request, sku: str = "", division: str = "", low: bool = False, done: str = "") -> Response:
    """An item's or a style's stock; with `low`, the levels running low (what the dashboard's tile counts)."""
    return _stock_page(request, sku.strip(), division, low=low, done=done[:200])


@router.post("/stock/category")
async def set_item_category(request: Request) -> Response:
    """Put an item in a category, or in none (`CategoryAssignmentIn`, `set_item_category`: a style's variant is
    refused, it takes its style's)."""
    _, _, typed = await posted(request, "catalog:write")
    sku = typed.get("sku", "")
    try:
        body = validated(CategoryAssignmentIn, {"category": typed.get("category") or None})
        item = catalog.set_item_category(unit_of_work(request), sku=sku, category=body.category)
    except OrdersmithError as exc:
        return _stock_page(request, sku, "", status=exc.status, error=exc.detail)
    done = f"{item.sku} is in category {item.category}" if item.category else f"{item.sku} is in no category"
    return RedirectResponse(f"/stock?sku={quote(item.sku)}&done={quote(done)}", status_code=303)


@router.post("/stock/style-category")
async def set_style_category(request: Request) -> Response:
    """Put a style and every variant of it in a category, or in none (`CategoryAssignmentIn`,
    `set_style_category`); back to the page it was set from (`sku`: the style's or a variant's)."""
    _, _, typed = await posted(request, "catalog:write")
    code = typed.get("style", "")
    back = typed.get("sku") or code
    try:
        body = validated(CategoryAssignmentIn, {"category": typed.get("category") or None})
        changed = catalog.set_style_category(unit_of_work(request), code=code, category=body.category)
    except OrdersmithError as exc:
        return _stock_page(request, back, "", status=exc.status, error=exc.detail)
    where = f"category {body.category.upper()}" if body.category else "no category"
    done = f"Style {code.upper()} is in {where}; variants changed: {len(changed)}"
    return RedirectResponse(f"/stock?sku={quote(back)}&done={quote(done)}", status_code=303)


@router.post("/stock/adjust")
def adjust(
    request: Request,
    sku: Annotated[str, Form()],
    location: Annotated[str, Form()],
    quantity: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "adjustment",
    reference: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    principal = principal_for(request, "inventory:write")
    check_form_csrf(principal, csrf_token)
    try:
        inventory.adjust_stock(
            unit_of_work(request),
            sku=sku,
            location=location,
            quantity=int(quantity),
            reason=reason,
            reference=reference,
        )
    except ValueError:
        return _stock_page(request, sku, "", status=422, error="quantity: a whole number, negative to remove")
    except OrdersmithError as exc:
        return _stock_page(request, sku, "", status=exc.status, error=exc.detail)
    return RedirectResponse(f"/stock?sku={sku}", status_code=303)


@router.post("/stock/transfer")
def transfer(
    request: Request,
    sku: Annotated[str, Form()],
    from_location: Annotated[str, Form()],
    to_location: Annotated[str, Form()],
    quantity: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    principal = principal_for(request, "inventory:write")
    check_form_csrf(principal, csrf_token)
    try:
        inventory.transfer_stock(
            unit_of_work(request),
            sku=sku,
            from_location=from_location,
            to_location=to_location,
            quantity=int(quantity),
        )
    except ValueError:
        return _stock_page(request, sku, "", status=422, error="quantity: a whole number")
    except OrdersmithError as exc:
        return _stock_page(request, sku, "", status=exc.status, error=exc.detail)
    return RedirectResponse(f"/stock?sku={sku}", status_code=303)


def _purchasing_page(request: Request, status: str = "", error: str = "", status_code: int = 200) -> Response:
    principal = principal_for(request, "purchasing:read")
    uow = unit_of_work(request)
    found = purchasing.suggestions(uow)
    # Each vendor's suggested total at its cost, so a buyer sees what a PO would commit before making it.
    totals: dict[str, Money] = {}
    for s in found:
        if s.vendor is not None and s.unit_cost is not None:
            line = s.unit_cost * s.quantity
            totals[s.vendor] = totals[s.vendor] + line if s.vendor in totals else line
    return render(
        request,
        "purchasing.html",
        principal,
        status=status_code,
        error=error,
        status_filter=status,
        orders=purchasing.list_purchase_orders(uow, status=status or None, limit=50).items,
        suggestions=found,
        vendor_totals=totals,
    )


@router.get("/purchasing")
def purchase_orders(request: Request, status: str = "", error: str = "") -> Response:
    return _purchasing_page(request, status, error)


@router.post("/purchasing/from-suggestions")
async def from_suggestions(request: Request) -> Response:
    """Draft POs from the suggestions the buyer ticked, at the quantities in the form (all ticked by default)."""
    principal = principal_for(request, "purchasing:write")
    form = await request.form()
    check_form_csrf(principal, str(form.get("csrf_token", "")))
    chosen: list[purchasing.ChosenSuggestion] = []
    for value in form.getlist("pick"):
        sku, _, location = str(value).partition("@")
        text = str(form.get(f"quantity-{value}", "")).strip()
        if text and not (text.isascii() and text.isdigit()):
            return _purchasing_page(
                request, error=f"{sku} at {location}: a whole number of units", status_code=422
            )
        chosen.append(purchasing.ChosenSuggestion(sku, location, int(text) if text else None))
    if not chosen:
        return _purchasing_page(request, error="tick at least one suggestion to order", status_code=422)
    try:
        made = purchasing.order_suggestions(unit_of_work(request), chosen=chosen)
    except OrdersmithError as exc:
        return _purchasing_page(request, error=exc.detail, status_code=exc.status)
    return RedirectResponse(f"/purchasing?status=draft&made={len(made)}", status_code=303)


@router.get("/purchasing/{number}")
def purchase_order(request: Request, number: str, error: str = "", status_code: int = 200) -> Response:
    principal = principal_for(request, "purchasing:read")
    uow = unit_of_work(request)
    po = purchasing.get_purchase_order(uow, number=number)
    receipts = purchasing.receipts_of(uow, number=number)
    return render(
        request, "purchase_order.html", principal, status=status_code, po=po, receipts=receipts, error=error
    )


@router.post("/purchasing/{number}/{action}")
async def move(request: Request, number: str, action: str) -> Response:
    scope = {"approve": "purchasing:approve", "send": "purchasing:write", "receive": "purchasing:write"}.get(
        action
    )
    if scope is None:
        raise NotFound(f"no action {action}")
    principal = principal_for(request, scope)
    form = await request.form()
    check_form_csrf(principal, str(form.get("csrf_token", "")))
    uow = unit_of_work(request)
    try:
        if action == "approve":
            purchasing.approve(uow, number=number)
        elif action == "send":
            purchasing.send(uow, number=number)
        else:
            lines = [
                purchasing.ReceivedLine(
                    sku=str(form.get(f"sku-{key.split('-')[1]}")),
                    quantity=int(str(value)),
                    line=int(key.split("-")[1]),
                )
                for key, value in form.multi_items()
                if key.startswith("receive-") and str(value).strip() not in ("", "0")
            ]
            purchasing.receive(uow, number=number, lines=lines, reference=str(form.get("reference", "")))
    except (OrdersmithError, ValueError) as exc:
        detail = exc.detail if isinstance(exc, OrdersmithError) else "a quantity is not a number"
        return purchase_order(request, number, error=detail, status_code=getattr(exc, "status", 422))
    return RedirectResponse(f"/purchasing/{number}", status_code=303)

"""Phone order entry: the agent finds or creates the customer, takes lines by SKU or name (live price and
availability per division, personalization fields from the item's template), ship-tos for several recipients,
coupons and a source code, and the tenders — a card typed into a form that posts straight to the vault, a gift
card with its balance, a check, on account — then places the order through the same service as every channel.

The page works as one form; its script adds the look-ups, the live quote (`POST /api/v1/orders/quote`) and the
vault's card form. The handler only turns the form into the API's `OrderIn` (so the console refuses exactly what
the API refuses) and calls `checkout.place_order`.
"""

from __future__ import annotations

import re
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.catalog import personalization, styles
from ordersmith.catalog import service as catalog
from ordersmith.checkout import rules as checkout_rules
from ordersmith.checkout import service as checkout
from ordersmith.checkout.schemas import order_request
from ordersmith.console import recent
from ordersmith.console._pages import check_form_csrf, money, principal_for, render
from ordersmith.customers import service as customers
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import NotFound, OrdersmithError
from ordersmith.orders.schemas import OrderIn
from ordersmith.platform import sales_channels
from ordersmith.platform.access import Principal
from ordersmith.platform.http import unit_of_work
from ordersmith.platform.schemas import validated

router = APIRouter(include_in_schema=False)
PHONE_CHANNELS = ("call_center", "catalog")  # the channels an agent takes orders for


def _channels(request: Request, principal: Principal) -> list[sales_channels.SalesChannel]:
    found = sales_channels.list_sales_channels(unit_of_work(request), principal=principal, limit=100).items
    return [c for c in found if c.kind in PHONE_CHANNELS and c.active] or list(found)


@router.get("/phone-order")
def entry(request: Request, customer: str = "") -> Response:
    """The phone-order screen; `?customer=C-…` (the customer page's "New order") starts it for that customer,
    recipient A filled in from their default ship-to address (else their first one, else their name)."""
    principal = principal_for(request, "orders:write")
    form: dict[str, str] = {}
    if customer.strip() and principal.can("customers:read"):
        try:
            found = customers.get_customer(unit_of_work(request), ref=customer.strip())
        except NotFound:
            found = None
        if found is not None:
            form = {"customer": found.number, "ship-0-name": found.display_name}
            ship_tos = sorted(
                (a for a in found.addresses if a.kind == "ship_to"), key=lambda a: not a.is_default
            )
            if ship_tos:
                a = ship_tos[0]
                form |= {"ship-0-name": a.name or found.display_name, "ship-0-line1": a.line1,
                         "ship-0-city": a.city, "ship-0-region": a.region, "ship-0-postal_code": a.postal_code,
                         "ship-0-country": a.country}  # fmt: skip
    return render(
        request,
        "phone_order.html",
        principal,
        channels=_channels(request, principal),
        form=form,
        methods=["ground", "express"],
    )


@router.get("/phone-order/item")
def item(request: Request, sku: str, division: str = "") -> dict[str, Any]:
    """What the entry form shows for a line: the item, its availability in the channel's division, and the fields
    of its personalization template."""
    principal_for(request, "orders:write")
    uow = unit_of_work(request)
    try:
        found = catalog.get_item(uow, sku=sku)
    except NotFound:
        try:  # a style's code: the agent picks the variant (size, colour, …)
            style = styles.get_style(uow, code=sku)
        except NotFound:
            return {"found": False, "sku": sku}
        return {
            "found": False,
            "sku": sku,
            "style": {
                "code": style.code,
                "name": style.name,
                "axes": [[name, values] for name, values in style.axes],
                "variants": [{"sku": v.sku, "values": v.values, "status": v.status} for v in style.variants],
            },
        }
    fields: list[dict[str, Any]] = []
    if found.personalization_template:
        template = personalization.get_template(uow, code=found.personalization_template)
        fields = [
            {
                "name": f.name,
                "label": f.label,
                "kind": f.kind,
                "required": f.required,
                "max_length": f.max_length,
                "options": list(f.options),
                "surcharge": money(f.surcharge) if f.surcharge else "",
            }
            for f in template.fields
        ]
    available = inventory.get_availability(uow, sku=found.sku, division=division or None).available
    return {
        "found": True,
        "sku": found.sku,
        "name": found.name,
        "status": found.status,
        "available": available,
        "fields": fields,
    }


@router.get("/phone-order/items")
def items(request: Request, q: str = "") -> list[dict[str, str]]:
    principal_for(request, "orders:write")
    return [{"sku": i.sku, "name": i.name} for i in catalog.find_items(unit_of_work(request), q=q, limit=8)]


def _indexed(form: Any, prefix: str) -> list[dict[str, str]]:
    """Rows of a form sent as `prefix-N-field` (N from 0), in order, skipping rows left empty."""
    rows: dict[int, dict[str, str]] = {}
    pattern = re.compile(rf"^{prefix}-(\d+)-(.+)$")
    for key, value in form.multi_items():
        match = pattern.match(key)
        if match and isinstance(value, str):
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = value.strip()
    return [rows[n] for n in sorted(rows) if any(rows[n].values())]


def order_in(form: Any) -> OrderIn:
    """The order the entry form describes, checked by the API's own model: the console refuses what the API
    refuses (a country of three letters, a 5,000-character name, a quantity of `1.5`), field by field.

    Raises:
        ValidationFailed: naming each field as the API names it (`ship_tos.0.country`, `lines.0.quantity`).
    """
    ship_rows = [r for r in _indexed(form, "ship") if r.get("name") or r.get("line1")]
    ship_tos: list[dict[str, Any]] = [
        {
            "ref": s.get("ref") or f"R{n + 1}",
            "name": s.get("name", ""),
            "line1": s.get("line1", ""),
            "line2": s.get("line2", ""),
            "city": s.get("city", ""),
            "region": s.get("region", ""),
            "postal_code": s.get("postal_code", ""),
            "country": s.get("country") or "US",
            "phone": s.get("phone", ""),
            "method": s.get("method") or "ground",
        }
        for n, s in enumerate(ship_rows)
    ]
    lines = [
        {
            "sku": row["sku"],
            "quantity": row.get("quantity") or "1",
            "ship_to": row.get("ship_to") or (ship_tos[0]["ref"] if ship_tos else "R1"),
            "personalization": {k.removeprefix("p-"): v for k, v in row.items() if k.startswith("p-") and v},
            "gift_message": row.get("gift_message", ""),
        }
        for row in _indexed(form, "line")
        if row.get("sku")
    ]
    payments = [
        {
            "method": p["method"],
            "amount": p.get("amount") or None,
            "token": p.get("token", ""),
            "reference": p.get("reference", ""),
            "bank": p.get("bank", ""),
        }
        for p in _indexed(form, "pay")
        if p.get("method")
    ]
    new_customer = None
    if not form.get("customer") and (form.get("first_name") or form.get("last_name")):
        new_customer = {
            name: str(form.get(name, "")) for name in ("first_name", "last_name", "email", "phone")
        }
    return validated(
        OrderIn,
        {
            "lines": lines,
            "ship_tos": ship_tos,
            "customer": str(form.get("customer") or "") or None,
            "new_customer": new_customer,
            "source_code": str(form.get("source_code") or "") or None,
            "coupons": [c.strip() for c in str(form.get("coupons", "")).split(",") if c.strip()],
            "payments": payments,
        },
    )


@router.post("/phone-order")
async def place(request: Request) -> Response:
    principal = principal_for(request, "orders:write")
    form = await request.form()
    check_form_csrf(principal, str(form.get("csrf_token", "")))
    uow = unit_of_work(request)
    try:
        channel = sales_channels.ordering_channel(uow, principal, str(form.get("channel") or "") or None)
        caller = checkout_rules.Caller(channel_kind=channel.kind, scopes=principal.scopes,
                                       bills_later=channel.bills_later)  # fmt: skip
        wanted = order_request(order_in(form), channel.currency)
        placed = await anyio.to_thread.run_sync(
            lambda: checkout.place_order(uow, channel=channel, caller=caller, request=wanted)
        )
    except OrdersmithError as exc:
        problems = [f"{e.field}: {e.message}" for e in exc.errors] or [exc.detail]
        return render(
            request,
            "phone_order.html",
            principal,
            status=exc.status,
            problems=problems,
            channels=_channels(request, principal),
            form=dict(form),
            methods=["ground", "express"],
        )
    done = RedirectResponse(f"/orders/{placed.order.number}?placed=1", status_code=303)
    return recent.remember(
        request, done, principal, customer=placed.order.customer_number, order=placed.order.number
    )

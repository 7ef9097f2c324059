"""Phone order entry, one screen: the agent finds or creates the customer (their default ship-to, recent orders,
holds, credit and consent come with them), takes any number of lines by SKU or name (availability per division,
personalization fields from the item's template) for any number of recipients, a coupon and a source code, and the
tenders — a card typed into a form that posts straight to the vault (shown back as "Visa ····4242"), a gift card
with its balance, a check, on account — then places the order through checkout, as the API does.

The quote beside the lines is rendered here (`POST /phone-order/quote`, a fragment the page's script swaps in as
lines change; without a script the "Update quote" button re-renders the page with it). The handler only turns the
form into the API's `OrderIn` (so the console refuses exactly what the API refuses) and calls
`checkout.place_order`.
"""

from __future__ import annotations

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
from ordersmith.console._pages import check_form_csrf, money, principal_for, render, templates
from ordersmith.console.phone_form import card_label, order_in, quote_view, screen_rows
from ordersmith.customers import service as customers
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import NotFound, OrdersmithError
from ordersmith.orders import service as orders
from ordersmith.payments import service as payments
from ordersmith.platform import sales_channels
from ordersmith.platform.access import Principal
from ordersmith.platform.http import unit_of_work

router = APIRouter(include_in_schema=False)
PHONE_CHANNELS = ("call_center", "catalog")  # the channels an agent takes orders for
METHODS = ["ground", "express"]


def _channels(request: Request, principal: Principal) -> list[sales_channels.SalesChannel]:
    found = sales_channels.list_sales_channels(unit_of_work(request), principal=principal, limit=100).items
    return [c for c in found if c.kind in PHONE_CHANNELS and c.active] or list(found)


def _ship_to_of(customer: customers.Customer) -> dict[str, str]:
    """Recipient A for this customer: their default ship-to address (else their first one, else their name)."""
    ship_tos = sorted((a for a in customer.addresses if a.kind == "ship_to"), key=lambda a: not a.is_default)
    if not ship_tos:
        return {"name": customer.display_name}
    a = ship_tos[0]
    return {"name": a.name or customer.display_name, "line1": a.line1, "line2": a.line2, "city": a.city,
            "region": a.region, "postal_code": a.postal_code, "country": a.country}  # fmt: skip


def _bill_to_of(customer: customers.Customer) -> customers.Address | None:
    bill_tos = sorted((a for a in customer.addresses if a.kind == "bill_to"), key=lambda a: not a.is_default)
    return bill_tos[0] if bill_tos else None


def _customer_panel(request: Request, principal: Principal, ref: str) -> dict[str, Any] | None:
    """What the agent sees about the caller: consent first, credit, holds and their recent orders."""
    if not ref or not principal.can("customers:read"):
        return None
    uow = unit_of_work(request)
    try:
        customer = customers.get_customer(uow, ref=ref)
    except NotFound:
        return None
    recent_orders = (
        orders.list_orders(uow, customer=str(customer.id), limit=5).items
        if principal.can("orders:read")
        else []
    )
    held = (
        orders.list_orders(uow, customer=str(customer.id), status="on_hold", limit=5).items
        if principal.can("orders:read")
        else []
    )
    return {
        "customer": customer,
        "ship_to": _ship_to_of(customer),
        "bill_to": _bill_to_of(customer),
        "recent": recent_orders,
        "held": held,
        "open_balance": payments.open_balance(uow, customer_id=customer.id)
        if principal.can("payments:read")
        else None,
    }


def _saved_card(request: Request, form: Any) -> str:
    """The card the form carries (a vault token in a hidden field), as it is shown: `Visa ····4242`."""
    token = str(form.get("pay-0-token", ""))
    if not token.startswith("vtok_"):
        return ""
    card = payments.wiring(unit_of_work(request)).vault.card(token)
    return card_label(card.brand, card.last_four) if card is not None else ""


def _screen(
    request: Request, principal: Principal, form: Any, *, status: int = 200, problems: list[str] | None = None,
    quote: bool = False,
) -> Response:  # fmt: skip
    lines, recipients = screen_rows(form)
    return render(
        request,
        "phone_order.html",
        principal,
        status=status,
        problems=problems or [],
        channels=_channels(request, principal),
        form=form,
        lines=lines,
        recipients=recipients,
        methods=METHODS,
        panel=_customer_panel(request, principal, str(form.get("customer", "")).strip()),
        saved_card=_saved_card(request, form),
        view=quote_view(unit_of_work(request), principal, form) if quote else None,
    )


class _Typed(dict[str, str]):
    """A dict read like a submitted form (`multi_items`), for the screen started from a customer's page."""

    def multi_items(self) -> list[tuple[str, str]]:
        return list(self.items())


@router.get("/phone-order")
def entry(request: Request, customer: str = "") -> Response:
    """The phone-order screen; `?customer=C-…` (the customer page's "New order") starts it for that customer,
    recipient A filled in from their default ship-to address (else their first one, else their name)."""
    principal = principal_for(request, "orders:write")
    form = _Typed()
    panel = _customer_panel(request, principal, customer.strip())
    if panel is not None:
        form["customer"] = panel["customer"].number
        form |= {f"ship-0-{name}": value for name, value in panel["ship_to"].items()}
        form["ship-0-ref"] = "A"
    return _screen(request, principal, form)


@router.get("/phone-order/customer")
def customer_panel(request: Request, ref: str = "") -> Response:
    """The caller's panel (a fragment the screen swaps in when the agent picks a customer); its data attributes
    carry the default ship-to the script fills recipient A with."""
    principal = principal_for(request, "orders:write")
    panel = _customer_panel(request, principal, ref.strip())
    return templates.TemplateResponse(
        request, "_phone_customer.html", {"panel": panel}, status_code=200 if panel else 404
    )


@router.post("/phone-order/quote")
async def live_quote(request: Request) -> Response:
    """The quote panel for the form as it stands, rendered here (what `POST /api/v1/orders/quote` answers, in
    words): lines numbered as on the form, totals, why each adjustment, coupons set aside with their reasons."""
    principal = principal_for(request, "orders:write")
    form = await request.form()
    check_form_csrf(principal, str(form.get("csrf_token", "")))
    view = await anyio.to_thread.run_sync(lambda: quote_view(unit_of_work(request), principal, form))
    return templates.TemplateResponse(request, "_phone_quote.html", {"view": view}, status_code=view.status)


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


@router.post("/phone-order")
async def place(request: Request) -> Response:
    """Place the order the form describes through checkout (as `POST /api/v1/orders` does); `intent=quote` (the
    "Update quote" button, for a browser without scripts) re-renders the screen with its quote instead."""
    principal = principal_for(request, "orders:write")
    form = await request.form()
    check_form_csrf(principal, str(form.get("csrf_token", "")))
    if form.get("intent") == "quote":
        return await anyio.to_thread.run_sync(lambda: _screen(request, principal, form, quote=True))
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
        return _screen(request, principal, form, status=exc.status, problems=problems, quote=True)
    done = RedirectResponse(f"/orders/{placed.order.number}?placed=1", status_code=303)
    return recent.remember(
        request, done, principal, customer=placed.order.customer_number, order=placed.order.number
    )

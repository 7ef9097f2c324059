"""Setting stores and their tills up in the console (store managers and admins: `pos:manage`): a store location's
POS channel, its address (a till sale's tax is the store's), the free method its carried-out sales are priced with
and its receipt footer; and the registers of each store (added, renamed, closed and opened again).

Forms are checked by the POS API's own input models (`StoreIn`, `RegisterIn`) and made by the same use cases
(`put_store`, `create_register`): a refusal shows the form again with the problem's reason beside each input it
names, what was typed kept, its status, and nothing written.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.channels.pos import service as pos
from ordersmith.channels.pos.schemas import RegisterIn, RegisterPatch, StoreIn
from ordersmith.console._forms import Refusal, posted, refused
from ordersmith.console._pages import principal_for, render
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import OrdersmithError, ValidationFailed
from ordersmith.platform.http import unit_of_work
from ordersmith.platform.sales_channels import list_sales_channels
from ordersmith.platform.schemas import validated

router = APIRouter(include_in_schema=False)
MANAGE = "pos:manage"
STORE_FIELDS = ("channel", "name", "line1", "line2", "city", "region", "postal_code", "country", "phone", "method",
                "receipt_footer")  # fmt: skip


def _page(request: Request, *, refusal: Refusal | None = None, done: str = "") -> Response:
    principal = principal_for(request, MANAGE)
    uow = unit_of_work(request)
    stores = pos.list_stores(uow, principal=principal)
    set_up = {s.location for s in stores}
    locations = [loc for loc in inventory.list_locations(uow) if loc.kind == "store" and loc.active]
    channels = [c for c in list_sales_channels(uow, principal=principal, limit=200).items if c.kind == "pos"]
    return render(request, "pos/setup.html", principal, status=refusal.status if refusal else 200, stores=stores,
                  registers=pos.list_registers(uow, principal=principal, store=None),
                  new_locations=[loc for loc in locations if loc.code not in set_up], channels=channels,
                  refusal=refusal, done=done)  # fmt: skip


@router.get("/pos/setup")
def setup_page(request: Request, done: str = "") -> Response:
    return _page(request, done=done[:200])


@router.post("/pos/setup/stores")
async def put_store(request: Request) -> Response:
    """Set a store up, or change it (`StoreIn`, `put_store`); the form of a store already set up is named after
    its location, the new-store form `new-store`."""
    _, _, typed = await posted(request, MANAGE)
    location = typed.get("location", "")
    form = typed.get("form", "new-store")
    try:
        if not location:
            raise ValidationFailed.on("location", "choose a store location")
        sent = {name: typed.get(name, "") for name in STORE_FIELDS}
        body = validated(StoreIn, sent | {"method": sent["method"] or pos.CARRY_OUT})
        pos.put_store(
            unit_of_work(request), location=location, settings=pos.StoreSettings(**body.model_dump())
        )
    except OrdersmithError as exc:
        return _page(request, refusal=refused(exc, form=form, typed=typed))
    return RedirectResponse(f"/pos/setup?done={quote(f'Store {location} saved')}", status_code=303)


@router.post("/pos/setup/registers")
async def create_register(request: Request) -> Response:
    """A new register at a store that is set up (`RegisterIn`, `create_register`)."""
    _, _, typed = await posted(request, MANAGE)
    try:
        body = validated(RegisterIn, {name: typed.get(name, "") for name in ("code", "store", "name")})
        pos.create_register(unit_of_work(request), code=body.code, store=body.store, name=body.name)
    except OrdersmithError as exc:
        return _page(request, refusal=refused(exc, form="new-register", typed=typed))
    return RedirectResponse(f"/pos/setup?done={quote(f'Register {body.code} added')}", status_code=303)


@router.post("/pos/setup/registers/{code}")
async def update_register(request: Request, code: str) -> Response:
    """Rename a register (`name`) or close / open it (`active`: "false" / "true"); the form is named after the
    register (`register-<code>`)."""
    principal, _, typed = await posted(request, MANAGE)
    form = f"register-{code}"
    try:
        sent: dict[str, object] = {}
        if "name" in typed:
            sent["name"] = typed["name"]
        if typed.get("active") in ("true", "false"):
            sent["active"] = typed["active"] == "true"
        body = validated(RegisterPatch, sent)
        changed = pos.update_register(
            unit_of_work(request), code=code, principal=principal, name=body.name, active=body.active
        )
    except OrdersmithError as exc:
        return _page(request, refusal=refused(exc, form=form, typed=typed))
    state = "saved" if body.active is None else ("opened" if changed.active else "closed")
    return RedirectResponse(f"/pos/setup?done={quote(f'Register {changed.code} {state}')}", status_code=303)

"""Custom fields in the console (ADR 0051): the admin's screen that defines them per record kind (items, customers,
orders), and the form on an item's (stock page), a customer's and an order's page that edits one record's values.

Forms are checked by the API's input models (`CustomFieldIn`, `CustomFieldPatch`) and made by the same use cases,
so the console refuses what the API refuses; a refusal shows the form again with the problem's reason beside each
field it names, what was typed kept, its status, nothing written. Reading the definitions needs
`custom_fields:read`, changing them `custom_fields:write` (admins); a record's values need the record's own write
scope (`catalog:write`, `customers:write`, `orders:write`).
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.catalog import service as catalog
from ordersmith.console._forms import Refusal, posted, refused
from ordersmith.console._pages import principal_for, render
from ordersmith.customers import service as customers
from ordersmith.kernel.errors import NotFound, OrdersmithError, ValidationFailed
from ordersmith.orders import service as orders
from ordersmith.platform import custom_fields
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.http import unit_of_work
from ordersmith.platform.schemas import CustomFieldIn, CustomFieldPatch, validated

router = APIRouter(include_in_schema=False)
READ, WRITE = "custom_fields:read", "custom_fields:write"
KIND_LABELS = {"item": "Items", "customer": "Customers", "order": "Orders"}
# The scope that edits a record's values, and the page the record is shown on.
RECORD_SCOPES = {"item": "catalog:write", "customer": "customers:write", "order": "orders:write"}
INPUT_PREFIX = "cf_"


def _page(request: Request, *, refusal: Refusal | None = None, done: str = "") -> Response:
    principal = principal_for(request, READ)
    found = custom_fields.list_definitions(unit_of_work(request))
    return render(
        request,
        "custom_fields.html",
        principal,
        status=refusal.status if refusal else 200,
        kinds=KIND_LABELS,
        fields=found,
        types=custom_fields.TYPES,
        refusal=refusal,
        done=done,
        can_write=principal.can(WRITE),
    )


@router.get("/admin/custom-fields")
def custom_fields_page(request: Request, done: str = "") -> Response:
    return _page(request, done=done[:200])


def _choices(text: str) -> list[str]:
    return [c.strip() for c in text.replace("\n", ",").split(",") if c.strip()]


def _number(text: str) -> int | str | None:
    """A form's whole number as the API takes it (typed text the model refuses is passed on, to be named)."""
    if not text:
        return None
    return int(text) if text.isascii() and text.lstrip("-").isdigit() and len(text) < 12 else text


@router.post("/admin/custom-fields")
async def define(request: Request) -> Response:
    """A new field (`CustomFieldIn`, `create_definition`)."""
    _, _, typed = await posted(request, WRITE)
    try:
        body = validated(CustomFieldIn, {
            "kind": typed.get("kind", ""), "name": typed.get("name", ""), "label": typed.get("label", ""),
            "type": typed.get("type", ""), "required": "required" in typed,
            "choices": _choices(typed.get("choices", "")), "max_length": _number(typed.get("max_length", "")),
            "position": _number(typed.get("position", "")) or 0,
        })  # fmt: skip
        custom_fields.create_definition(unit_of_work(request), **body.model_dump())
    except OrdersmithError as exc:
        return _page(request, refusal=refused(exc, form="define", typed=typed))
    return RedirectResponse(
        f"/admin/custom-fields?done={quote(f'Field {body.kind}.{body.name} defined')}", status_code=303
    )


@router.post("/admin/custom-fields/{kind}/{name}")
async def change(request: Request, kind: str, name: str) -> Response:
    """A field's label, required flag, choices, maximum length and position at the version read."""
    _, _, typed = await posted(request, WRITE)
    form = f"field-{kind}-{name}"
    try:
        definition = custom_fields.get_definition(unit_of_work(request), kind=kind, name=name)
        sent: dict[str, Any] = {"label": typed.get("label", ""), "required": "required" in typed,
                                "position": _number(typed.get("position", "")) or 0}  # fmt: skip
        if definition.type == "choice":
            sent["choices"] = _choices(typed.get("choices", ""))
        if definition.type == "text":
            sent["max_length"] = _number(typed.get("max_length", ""))
        body = validated(CustomFieldPatch, sent)
        custom_fields.update_definition(unit_of_work(request), kind=kind, name=name,
                                        changes=body.model_dump(exclude_unset=True),
                                        expected_version=int(typed.get("version") or 0) or None)  # fmt: skip
    except OrdersmithError as exc:
        return _page(request, refusal=refused(exc, form=form, typed=typed))
    return RedirectResponse(
        f"/admin/custom-fields?done={quote(f'Field {kind}.{name} saved')}", status_code=303
    )


@router.post("/admin/custom-fields/{kind}/{name}/delete")
async def remove(request: Request, kind: str, name: str) -> Response:
    """Remove a field and every value stored in it (the form asks to type the field's name to confirm)."""
    _, _, typed = await posted(request, WRITE)
    form = f"field-{kind}-{name}"
    if typed.get("confirm", "") != name:
        exc = ValidationFailed.on("confirm", f"type {name} to remove the field and all its values")
        return _page(request, refusal=refused(exc, form=form, typed=typed))
    try:
        custom_fields.delete_definition(unit_of_work(request), kind=kind, name=name)
    except OrdersmithError as exc:
        return _page(request, refusal=refused(exc, form=form, typed=typed))
    return RedirectResponse(
        f"/admin/custom-fields?done={quote(f'Field {kind}.{name} removed')}", status_code=303
    )


# --- a record's values -----------------------------------------------------------------------------------------


def panel(uow: UnitOfWork, *, kind: str, record_id: uuid.UUID) -> dict[str, Any]:
    """What a record's page shows of its custom fields: the kind's definitions and the record's values (nothing
    when the kind has no fields)."""
    found = custom_fields.definitions(uow, kind)
    if not found:
        return {"kind": kind, "fields": (), "values": {}}
    return {"kind": kind, "fields": found,
            "values": custom_fields.read_values(uow, kind=kind, record_id=record_id)}  # fmt: skip


def _record(uow: UnitOfWork, kind: str, ref: str) -> tuple[uuid.UUID, str, str]:
    """The record's id, how people name it, and its page."""
    if kind == "item":
        item = catalog.get_item(uow, sku=ref)
        return item.id, f"item {item.sku}", f"/stock?sku={quote(item.sku)}"
    if kind == "customer":
        customer = customers.get_customer(uow, ref=ref)
        return customer.id, f"customer {customer.number}", f"/customers/{customer.number}"
    if kind == "order":
        order = orders.get_order(uow, ref=ref)
        return order.id, f"order {order.number}", f"/orders/{order.number}"
    raise NotFound(f"no record kind {kind!r}")


@router.post("/custom-values/{kind}/{ref}")
async def save_values(request: Request, kind: str, ref: str) -> Response:
    """Save one record's custom field values as edited (an empty input clears its value)."""
    scope = RECORD_SCOPES.get(kind)
    if scope is None:
        raise NotFound(f"no record kind {kind!r}")
    principal, _, typed = await posted(request, scope)
    uow = unit_of_work(request)
    record_id, label, back = _record(uow, kind, ref)
    values = {
        key[len(INPUT_PREFIX) :]: (value or None)
        for key, value in typed.items()
        if key.startswith(INPUT_PREFIX)
    }
    try:
        if kind == "item":
            catalog.set_custom_fields(uow, sku=ref, values=values)
        elif kind == "customer":
            customers.set_custom_fields(uow, ref=ref, values=values)
        else:
            orders.set_order_custom_fields(uow, ref=ref, values=values)
    except OrdersmithError as exc:
        names = {f"custom_fields.{name}": f"{INPUT_PREFIX}{name}" for name in values}
        refusal = refused(exc, form="custom-values", typed=typed, names=names)
        shown = panel(uow, kind=kind, record_id=record_id)
        return render(request, "custom_values.html", principal, status=exc.status, refusal=refusal, label=label,
                      back=back, action=request.url.path, custom=shown)  # fmt: skip
    return RedirectResponse(back + ("&" if "?" in back else "?") + "saved=custom", status_code=303)

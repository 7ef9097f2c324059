"""Catalog API: items, styles, divisions, categories and personalization templates."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from ordersmith.catalog import personalization, rules, service, styles
from ordersmith.catalog.schemas import (
    AxisValueIn,
    BackorderableIn,
    CategoryAssignmentIn,
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    DivisionIn,
    DivisionOut,
    ItemIn,
    ItemOut,
    ItemStatusIn,
    QuoteIn,
    QuoteOut,
    StyleIn,
    StyleOut,
    TemplateIn,
    TemplateOut,
)
from ordersmith.platform import custom_fields
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.http import authorize, created, etag, if_match_version, requires, unit_of_work
from ordersmith.platform.schemas import CustomValuesIn, CustomValuesOut, MoneyOut, PageOut

router = APIRouter(tags=["catalog"])
Auth = Annotated[Principal, Depends(authorize)]


@router.get("/divisions", response_model=list[DivisionOut], openapi_extra=requires("catalog:read"))
def list_divisions(principal: Auth, request: Request) -> list[DivisionOut]:
    return [DivisionOut.model_validate(d) for d in service.list_divisions(unit_of_work(request))]


@router.post(
    "/divisions", status_code=201, response_model=DivisionOut, openapi_extra=requires("catalog:write")
)
def create_division(body: DivisionIn, principal: Auth, request: Request) -> Response:
    return created(
        request,
        principal,
        body.model_dump(),
        lambda uow: DivisionOut.model_validate(service.create_division(uow, code=body.code, name=body.name)),
    )


@router.get("/categories", response_model=list[CategoryOut], openapi_extra=requires("catalog:read"))
def list_categories(principal: Auth, request: Request, active: bool | None = None) -> list[CategoryOut]:
    """The merchandise category tree in path order (each category right after its parent)."""
    found = service.list_categories(unit_of_work(request), active=active)
    return [CategoryOut.model_validate(c) for c in found]


@router.post(
    "/categories", status_code=201, response_model=CategoryOut, openapi_extra=requires("catalog:write")
)
def create_category(body: CategoryIn, principal: Auth, request: Request) -> Response:
    """Add a category at the top level or under `parent` (at most six levels deep)."""

    def execute(uow: UnitOfWork) -> CategoryOut:
        found = service.create_category(uow, code=body.code, name=body.name, parent=body.parent)
        return CategoryOut.model_validate(found)

    return created(request, principal, body.model_dump(), execute)


@router.get("/categories/{code}", response_model=CategoryOut, openapi_extra=requires("catalog:read"))
def get_category(code: str, principal: Auth, request: Request, response: Response) -> CategoryOut:
    category = service.get_category(unit_of_work(request), code=code)
    response.headers["ETag"] = etag(category.version)
    return CategoryOut.model_validate(category)


@router.patch("/categories/{code}", response_model=CategoryOut, openapi_extra=requires("catalog:write"))
def update_category(
    code: str, body: CategoryPatch, principal: Auth, request: Request, response: Response
) -> CategoryOut:
    """Rename a category, move it with everything under it (`parent`; null: to the top), or make it inactive or
    active again (`If-Match` honoured)."""
    sent = body.model_dump(exclude_unset=True)
    category = service.update_category(
        unit_of_work(request),
        code=code,
        version=if_match_version(request),
        name=sent.get("name"),
        active=sent.get("active"),
        parent=sent.get("parent", service.KEEP),
    )
    response.headers["ETag"] = etag(category.version)
    return CategoryOut.model_validate(category)


@router.put("/items/{sku}/category", response_model=ItemOut, openapi_extra=requires("catalog:write"))
def set_item_category(sku: str, body: CategoryAssignmentIn, principal: Auth, request: Request) -> ItemOut:
    """Put an item in a category (null: in none). A style's variant takes its style's: 422."""
    uow = unit_of_work(request)
    return _with_values(uow, service.set_item_category(uow, sku=sku, category=body.category))


@router.put("/styles/{code}/category", response_model=StyleOut, openapi_extra=requires("catalog:write"))
def set_style_category(code: str, body: CategoryAssignmentIn, principal: Auth, request: Request) -> StyleOut:
    """Put a style and every variant of it in a category (null: in none)."""
    uow = unit_of_work(request)
    service.set_style_category(uow, code=code, category=body.category)
    return StyleOut.of(styles.get_style(uow, code=code))


@router.post("/items", status_code=201, response_model=ItemOut, openapi_extra=requires("catalog:write"))
def create_item(body: ItemIn, principal: Auth, request: Request) -> Response:
    """Create an item; a kit (`kind: kit`) lists its components, which must keep stock."""

    def execute(uow: UnitOfWork) -> ItemOut:
        fields = body.model_dump(exclude={"components"})
        components = [(c.sku, c.quantity) for c in body.components]
        return _with_values(uow, service.create_item(uow, **fields, components=components))

    return created(request, principal, body.model_dump(), execute)


def _with_values(uow: UnitOfWork, item: service.Item) -> ItemOut:
    values = custom_fields.read_values(uow, kind="item", record_id=item.id)
    return ItemOut.model_validate(item).model_copy(update={"custom_fields": values})


@router.get(
    "/items", response_model=PageOut[ItemOut], openapi_extra=requires("catalog:read", custom_filters=True)
)
def list_items(
    principal: Auth, request: Request, division: str | None = None,
    category: Annotated[str | None, Query(max_length=40, description="this category or any under it")] = None,
    status: Literal[rules.ITEM_STATUSES] | None = None,  # type: ignore[valid-type]
    limit: Annotated[int, Query(ge=1, le=500)] = 50, cursor: str | None = None,
) -> dict[str, object]:  # fmt: skip
    """Items in SKU order. `custom.<name>=value` (any number of them) keeps the items whose custom field has that
    value (an index lookup; an unknown field or a value of the wrong type is a 422 naming `custom.<name>`)."""
    uow = unit_of_work(request)
    wanted = custom_fields.filters_from(request.query_params.multi_items())
    page = service.list_items(
        uow,
        division=division,
        status=status,
        limit=limit,
        cursor=cursor,
        custom_filters=wanted,
        category=category,
    )
    values = custom_fields.read_values_many(uow, kind="item", record_ids=[i.id for i in page.items])
    return {"items": [ItemOut.model_validate(i).model_copy(update={"custom_fields": values[i.id]})
                      for i in page.items], "next_cursor": page.next_cursor}  # fmt: skip


@router.get("/items/{sku}", response_model=ItemOut, openapi_extra=requires("catalog:read"))
def get_item(sku: str, principal: Auth, request: Request, response: Response) -> ItemOut:
    uow = unit_of_work(request)
    item = service.get_item(uow, sku=sku)
    response.headers["ETag"] = etag(item.version)
    return _with_values(uow, item)


@router.put(
    "/items/{sku}/custom-fields", response_model=CustomValuesOut, openapi_extra=requires("catalog:write")
)
def set_item_custom_fields(
    sku: str, body: CustomValuesIn, principal: Auth, request: Request
) -> CustomValuesOut:
    """Set the custom field values sent (null clears one; fields not sent stay) and answer with all of them. A bad
    value is a 422 naming `custom_fields.<name>`, and nothing is written."""
    return CustomValuesOut(
        custom_fields=service.set_custom_fields(unit_of_work(request), sku=sku, values=body.custom_fields)
    )


@router.post("/personalization-templates", status_code=201, response_model=TemplateOut,
             openapi_extra=requires("catalog:write"))  # fmt: skip
def create_template(body: TemplateIn, principal: Auth, request: Request) -> Response:
    """Define what customers may personalise (text, choices, fonts, thread colours) and what it costs."""

    def execute(uow: UnitOfWork) -> TemplateOut:
        fields = [f.model_dump() for f in body.fields]
        return TemplateOut.of(personalization.create_template(
            uow, code=body.code, name=body.name, currency=body.currency, fields=fields,
            non_returnable=body.non_returnable))  # fmt: skip

    return created(request, principal, body.model_dump(), execute)


@router.get(
    "/personalization-templates/{code}", response_model=TemplateOut, openapi_extra=requires("catalog:read")
)
def get_template(code: str, principal: Auth, request: Request) -> TemplateOut:
    return TemplateOut.of(personalization.get_template(unit_of_work(request), code=code))


@router.post("/personalization-templates/{code}/quote", response_model=QuoteOut,
             openapi_extra=requires("catalog:read"))  # fmt: skip
def quote(code: str, body: QuoteIn, principal: Auth, request: Request) -> QuoteOut:
    """Check a customer's values (422 naming each bad field) and return the surcharge. Changes nothing."""
    result = personalization.quote(unit_of_work(request), code=code, values=body.values)
    return QuoteOut(values=result.values, surcharge=MoneyOut.of(result.surcharge),
                    non_returnable=result.non_returnable)  # fmt: skip


@router.post("/styles", status_code=201, response_model=StyleOut, openapi_extra=requires("catalog:write"))
def create_style(body: StyleIn, principal: Auth, request: Request) -> Response:
    """Create a style and one item per combination of its axis values (SKU `CODE-VALUE-VALUE`)."""

    def execute(uow: UnitOfWork) -> StyleOut:
        axes = [(a.name, a.values) for a in body.axes]
        return StyleOut.of(styles.create_style(uow, code=body.code, name=body.name, axes=axes,
                                               divisions=body.divisions, tax_class=body.tax_class,
                                               category=body.category))  # fmt: skip

    return created(request, principal, body.model_dump(), execute)


@router.get("/styles/{code}", response_model=StyleOut, openapi_extra=requires("catalog:read"))
def get_style(code: str, principal: Auth, request: Request) -> StyleOut:
    return StyleOut.of(styles.get_style(unit_of_work(request), code=code))


@router.post("/styles/{code}/axes/{axis}/values", status_code=201, response_model=StyleOut,
             openapi_extra=requires("catalog:write"))  # fmt: skip
def add_axis_value(code: str, axis: str, body: AxisValueIn, principal: Auth, request: Request) -> Response:
    """Add a value (a new size or colour); the variants it makes are created at once."""
    return created(request, principal, body.model_dump(), lambda uow: StyleOut.of(
        styles.add_axis_value(uow, code=code, axis=axis, value=body.value)))  # fmt: skip


@router.post("/items/{sku}/status", response_model=ItemOut, openapi_extra=requires("catalog:write"))
def set_item_status(sku: str, body: ItemStatusIn, principal: Auth, request: Request) -> ItemOut:
    """Activate, deactivate or discontinue one item (for a style: one variant, leaving the others)."""
    return ItemOut.model_validate(service.set_item_status(unit_of_work(request), sku=sku, status=body.status))


@router.put("/items/{sku}/backorderable", response_model=ItemOut, openapi_extra=requires("catalog:write"))
def set_backorderable(sku: str, body: BackorderableIn, principal: Auth, request: Request) -> ItemOut:
    """Allow orders to take more than is in stock (backorders, released as stock arrives), or stop it."""
    return ItemOut.model_validate(
        service.set_backorderable(unit_of_work(request), sku=sku, backorderable=body.backorderable)
    )

"""Custom field definitions API (ADR 0051): admins define the fields; values travel with each record's own API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from ordersmith.platform import custom_fields
from ordersmith.platform.access import Principal
from ordersmith.platform.http import authorize, created, etag, if_match_version, requires, unit_of_work
from ordersmith.platform.schemas import CustomFieldIn, CustomFieldKind, CustomFieldOut, CustomFieldPatch

router = APIRouter(tags=["custom fields"])
Auth = Annotated[Principal, Depends(authorize)]


def _out(definition: custom_fields.Definition, response: Response | None = None) -> CustomFieldOut:
    if response is not None:
        response.headers["ETag"] = etag(definition.version)
    return CustomFieldOut.model_validate(definition)


@router.get(
    "/custom-fields", response_model=list[CustomFieldOut], openapi_extra=requires("custom_fields:read")
)
def list_custom_fields(
    principal: Auth, request: Request, kind: CustomFieldKind | None = None
) -> list[CustomFieldOut]:
    """The fields defined on items, customers and orders (or one kind), in display order."""
    return [_out(d) for d in custom_fields.list_definitions(unit_of_work(request), kind=kind)]


@router.post("/custom-fields", status_code=201, response_model=CustomFieldOut,
             openapi_extra=requires("custom_fields:write"))  # fmt: skip
def create_custom_field(body: CustomFieldIn, principal: Auth, request: Request) -> Response:
    """Define a field: its values are then sent as `custom_fields.<name>` with the records of its kind, checked by
    its type (text, number, decimal, date, boolean, choice), returned in reads and found by `?custom.<name>=`."""
    return created(request, principal, body.model_dump(), lambda uow: _out(custom_fields.create_definition(
        uow, **body.model_dump())))  # fmt: skip


@router.get("/custom-fields/{kind}/{name}", response_model=CustomFieldOut,
            openapi_extra=requires("custom_fields:read"))  # fmt: skip
def get_custom_field(
    kind: CustomFieldKind, name: str, principal: Auth, request: Request, response: Response
) -> CustomFieldOut:
    return _out(custom_fields.get_definition(unit_of_work(request), kind=kind, name=name), response)


@router.patch("/custom-fields/{kind}/{name}", response_model=CustomFieldOut,
              openapi_extra=requires("custom_fields:write"))  # fmt: skip
def update_custom_field(
    kind: CustomFieldKind, name: str, body: CustomFieldPatch, principal: Auth, request: Request,
    response: Response,
) -> CustomFieldOut:  # fmt: skip
    """Change the label, required flag, choices, maximum length or position (`If-Match` honoured). The name and
    type stay: define a new field for another."""
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    return _out(custom_fields.update_definition(unit_of_work(request), kind=kind, name=name, changes=changes,
                                                expected_version=if_match_version(request)), response)  # fmt: skip


@router.delete("/custom-fields/{kind}/{name}", status_code=204, openapi_extra=requires("custom_fields:write"))
def delete_custom_field(kind: CustomFieldKind, name: str, principal: Auth, request: Request) -> Response:
    """Remove the field and every value stored in it (audited)."""
    custom_fields.delete_definition(unit_of_work(request), kind=kind, name=name)
    return Response(status_code=204)

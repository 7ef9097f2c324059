"""Customer API: records, search, optimistic edits, the timeline.

A channel-bound key sees and edits only its channel's customers — those it created and those that ordered through
it; any other answers 404 exactly as an unknown customer, and never shows up in a search or a duplicate list.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from ordersmith.customers import service
from ordersmith.customers.schemas import (
    AnonymizeIn,
    CustomerIn,
    CustomerOut,
    CustomerPatch,
    DuplicateOut,
    MergeIn,
    NoteIn,
    SearchHitOut,
    TimelineEntryOut,
)
from ordersmith.kernel.errors import PreconditionRequired
from ordersmith.kernel.money import Money
from ordersmith.platform import custom_fields, sales_channels
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.http import authorize, created, etag, if_match_version, requires, unit_of_work
from ordersmith.platform.schemas import CustomValuesIn, CustomValuesOut, PageOut

router = APIRouter(tags=["customers"])
Auth = Annotated[Principal, Depends(authorize)]


def _details(fields: dict[str, Any], credit_limit: Money | None) -> dict[str, Any]:
    fields = dict(fields)
    if "phones" in fields:
        fields["phones"] = [service.Phone(p["number"], p.get("label", "")) for p in fields["phones"]]
    if "addresses" in fields:
        fields["addresses"] = [service.Address(**a) for a in fields["addresses"]]
    if "credit_limit" in fields:
        fields["credit_limit"] = credit_limit
    return fields


def _out(
    customer: service.Customer, response: Response | None = None, uow: UnitOfWork | None = None
) -> CustomerOut:
    if response is not None:
        response.headers["ETag"] = etag(customer.version)
    out = CustomerOut.model_validate(customer)
    if uow is not None:
        values = custom_fields.read_values(uow, kind="customer", record_id=customer.id)
        out = out.model_copy(update={"custom_fields": values})
    return out


@router.post(
    "/customers", status_code=201, response_model=CustomerOut, openapi_extra=requires("customers:write")
)
def create_customer(body: CustomerIn, principal: Auth, request: Request) -> Response:
    """A new customer: e-mails, phones (any format, stored E.164) and postal codes are checked and normalised.
    Money fields need their own scope as well (403 otherwise): `credit_limit` and `payment_terms`
    `customers:credit`, `tax_exempt` / `tax_certificate` / `tax_exempt_until` `customers:tax`, `customer_group`
    `customers:pricing`."""
    fields = _details(
        body.model_dump(exclude={"source_code", "custom_fields"}),
        body.credit_limit.to_money() if body.credit_limit else None,
    )

    def execute(uow: UnitOfWork) -> CustomerOut:
        channel = sales_channels.acting_channel(uow, principal)
        check = getattr(request.app.state, "source_code_check", None)  # marketing's master list, handed in
        customer = service.create_customer(uow, details=service.Details(**fields), created_channel=channel,
                                           source_code=body.source_code, granted=principal.scopes,
                                           source_code_check=check, custom_fields=body.custom_fields)  # fmt: skip
        return _out(customer, uow=uow)

    return created(request, principal, body.model_dump(mode="json"), execute)


@router.get("/customers", response_model=PageOut[SearchHitOut],
            openapi_extra=requires("customers:read", custom_filters=True))  # fmt: skip
def search_customers(
    principal: Auth, request: Request,
    q: Annotated[str, Query(max_length=200, description="name, phone, e-mail, postal code or number")] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:  # fmt: skip
    """Best matches first: a phone in any format, an e-mail, a postal code, a customer number, or a name (prefix,
    or misspelt: names are also matched by sound) — at least two characters. `custom.<name>=value` (any number)
    keeps the customers whose custom field has that value; with one, `q` may be left out."""
    uow = unit_of_work(request)
    wanted = custom_fields.filters_from(request.query_params.multi_items())
    hits = service.search_customers(uow, q=q, limit=limit, visible_to=sales_channels.bound_channel(uow, principal),
                                    custom_filters=wanted)  # fmt: skip
    return {"items": [SearchHitOut.model_validate(h) for h in hits], "next_cursor": None}


@router.get("/customers/{ref}", response_model=CustomerOut, openapi_extra=requires("customers:read"))
def get_customer(ref: str, principal: Auth, request: Request, response: Response) -> CustomerOut:
    """By id or number; a number merged into another customer answers with that customer. Sends an `ETag`. A
    channel key sees the customers its channel created or that ordered through it (others: 404, as unknown)."""
    uow = unit_of_work(request)
    customer = service.get_customer(uow, ref=ref, visible_to=sales_channels.bound_channel(uow, principal))
    return _out(customer, response, uow)


@router.patch("/customers/{ref}", response_model=CustomerOut, openapi_extra=requires("customers:write"),
              responses={412: {"description": "changed by someone else since your ETag"},
                         428: {"description": "If-Match missing"}})  # fmt: skip
def update_customer(
    ref: str, body: CustomerPatch, principal: Auth, request: Request, response: Response
) -> CustomerOut:
    """Change the fields sent. `If-Match` with the ETag you read is required: a customer someone else changed
    since is refused with 412, never overwritten. Changing a money field needs its scope too (see create)."""
    expected = if_match_version(request)
    if expected is None:
        raise PreconditionRequired("send If-Match with the ETag of the customer you are editing")
    sent = body.model_dump(exclude_unset=True, exclude={"custom_fields"})
    changes = _details(sent, body.credit_limit.to_money() if body.credit_limit else None)
    uow = unit_of_work(request)
    customer = service.update_customer(uow, ref=ref, changes=changes, expected_version=expected,
                                       granted=principal.scopes,
                                       visible_to=sales_channels.bound_channel(uow, principal),
                                       custom_fields=body.custom_fields)  # fmt: skip
    return _out(customer, response, uow)


@router.put("/customers/{ref}/custom-fields", response_model=CustomValuesOut,
            openapi_extra=requires("customers:write"))  # fmt: skip
def set_customer_custom_fields(
    ref: str, body: CustomValuesIn, principal: Auth, request: Request
) -> CustomValuesOut:
    """Set the custom field values sent (null clears one; fields not sent stay) and answer with all of them. A bad
    value is a 422 naming `custom_fields.<name>`, and nothing is written. A channel key: its channel's customers."""
    uow = unit_of_work(request)
    values = service.set_custom_fields(uow, ref=ref, values=body.custom_fields,
                                       visible_to=sales_channels.bound_channel(uow, principal))  # fmt: skip
    return CustomValuesOut(custom_fields=values)


@router.post("/customers/{ref}/notes", status_code=201, response_model=TimelineEntryOut,
             openapi_extra=requires("customers:write"))  # fmt: skip
def add_note(ref: str, body: NoteIn, principal: Auth, request: Request) -> Response:
    return created(request, principal, body.model_dump(), lambda uow: TimelineEntryOut.model_validate(
        service.add_note(uow, ref=ref, body=body.body, kind=body.kind, channel=body.channel,
                         visible_to=sales_channels.bound_channel(uow, principal))))  # fmt: skip


@router.get("/customers/{ref}/timeline", response_model=PageOut[TimelineEntryOut],
            openapi_extra=requires("customers:read"))  # fmt: skip
def timeline(
    ref: str, principal: Auth, request: Request, limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Notes, calls, e-mails and system events, newest first."""
    uow = unit_of_work(request)
    page = service.timeline(uow, ref=ref, cursor=cursor, limit=limit,
                            visible_to=sales_channels.bound_channel(uow, principal))  # fmt: skip
    return {
        "items": [TimelineEntryOut.model_validate(e) for e in page.items],
        "next_cursor": page.next_cursor,
    }


@router.get(
    "/customers/{ref}/duplicates", response_model=list[DuplicateOut], openapi_extra=requires("customers:read")
)
def duplicates(ref: str, principal: Auth, request: Request) -> list[DuplicateOut]:
    """Customers that look like this one: same e-mail, same phone, or the same name at one of its postal codes."""
    uow = unit_of_work(request)
    found = service.find_duplicates(uow, ref=ref, visible_to=sales_channels.bound_channel(uow, principal))
    return [DuplicateOut.model_validate(d) for d in found]


@router.post("/customers/{ref}/merge", response_model=CustomerOut, openapi_extra=requires("customers:manage"),
             responses={409: {"description": "the same customer, or one already merged or anonymized"}})  # fmt: skip
def merge(ref: str, body: MergeIn, principal: Auth, request: Request, response: Response) -> CustomerOut:
    """Merge `merged` into this customer: contacts and timeline move; the merged number redirects here."""
    return _out(service.merge_customers(unit_of_work(request), survivor=ref, merged=body.merged), response)


@router.get("/customers/{ref}/export", openapi_extra=requires("customers:manage"))
def export(ref: str, principal: Auth, request: Request) -> dict[str, Any]:
    """Everything held about the customer (a subject-access request), as one JSON document."""
    return service.export_customer(unit_of_work(request), ref=ref)


@router.post(
    "/customers/{ref}/anonymize", response_model=CustomerOut, openapi_extra=requires("customers:manage")
)
def anonymize(
    ref: str, body: AnonymizeIn, principal: Auth, request: Request, response: Response
) -> CustomerOut:
    """Remove the person for good (an erasure request); the number and its orders stay for the accounts."""
    return _out(service.anonymize_customer(unit_of_work(request), ref=ref, reason=body.reason), response)

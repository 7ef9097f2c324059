"""Continuity API: programs (`/continuity-programs`, staff) and members' subscriptions (`/subscriptions`).

A channel-bound key signs up, reads and changes only its own channel's subscriptions (another's answer 404);
cancelling needs exactly what signing up needs (`subscriptions:write`) — cancellation is as easy as sign-up.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from ordersmith.continuity import rules, service
from ordersmith.continuity.schemas import (
    CancelIn,
    CardIn,
    Code,
    PauseIn,
    ProgramIn,
    ProgramOut,
    ProgramPatch,
    ResumeIn,
    Status,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPatch,
)
from ordersmith.platform import sales_channels
from ordersmith.platform.access import Principal
from ordersmith.platform.http import authorize, created, etag, if_match_version, requires, unit_of_work
from ordersmith.platform.schemas import PageOut

router = APIRouter(tags=["continuity"])
Auth = Annotated[Principal, Depends(authorize)]
Limit = Annotated[int, Query(ge=1, le=200)]
Ref = Annotated[str, Query(min_length=1, max_length=40)]


def _subscription(found: service.Subscription, response: Response) -> SubscriptionOut:
    response.headers["ETag"] = etag(found.version)
    return SubscriptionOut.model_validate(found)


@router.get(
    "/continuity-programs", response_model=PageOut[ProgramOut], openapi_extra=requires("continuity:read")
)
def list_programs(
    principal: Auth,
    request: Request,
    active: bool | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Continuity programs by code, with their items, rhythm, offer and current terms."""
    page = service.list_programs(unit_of_work(request), active=active, cursor=cursor, limit=limit)
    return {"items": [ProgramOut.model_validate(p) for p in page.items], "next_cursor": page.next_cursor}


@router.post(
    "/continuity-programs",
    status_code=201,
    response_model=ProgramOut,
    openapi_extra=requires("continuity:write"),
)
def create_program(body: ProgramIn, principal: Auth, request: Request) -> Response:
    """A program: `replenish` ships every item every `interval_weeks`; `series` ships one item per shipment in
    order and ends with the last. `terms` is the disclosure a customer sees and accepts at sign-up."""
    fields = body.model_dump(exclude={"items"})
    items = [rules.ProgramItem(sku=i.sku, quantity=i.quantity) for i in body.items]
    return created(
        request,
        principal,
        body.model_dump(mode="json"),
        lambda uow: ProgramOut.model_validate(service.create_program(uow, items=items, **fields)),
    )


@router.get(
    "/continuity-programs/{code}", response_model=ProgramOut, openapi_extra=requires("continuity:read")
)
def get_program(code: Code, principal: Auth, request: Request, response: Response) -> ProgramOut:
    found = service.get_program(unit_of_work(request), code=code)
    response.headers["ETag"] = etag(found.version)
    return ProgramOut.model_validate(found)


@router.patch(
    "/continuity-programs/{code}", response_model=ProgramOut, openapi_extra=requires("continuity:write")
)
def update_program(
    code: Code, body: ProgramPatch, principal: Auth, request: Request, response: Response
) -> ProgramOut:
    """Rename, restate the terms (a new terms version for new sign-ups) or close to sign-ups (`If-Match`
    honoured)."""
    found = service.update_program(
        unit_of_work(request),
        code=code,
        version=if_match_version(request),
        **body.model_dump(exclude_unset=True),
    )
    response.headers["ETag"] = etag(found.version)
    return ProgramOut.model_validate(found)


@router.get(
    "/subscriptions", response_model=PageOut[SubscriptionOut], openapi_extra=requires("subscriptions:read")
)
def list_subscriptions(
    principal: Auth,
    request: Request,
    program: Code | None = None,
    customer: Ref | None = None,
    status: Status | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Subscriptions, newest first (a program's members with `program`); a channel key's are its channel's."""
    uow = unit_of_work(request)
    page = service.list_subscriptions(uow, program=program, customer=customer, status=status, cursor=cursor,
                                      limit=limit, visible_to=sales_channels.bound_channel(uow, principal))  # fmt: skip
    return {"items": [SubscriptionOut.model_validate(s) for s in page.items], "next_cursor": page.next_cursor}


@router.post(
    "/subscriptions",
    status_code=201,
    response_model=SubscriptionOut,
    openapi_extra=requires("subscriptions:write"),
)
def sign_up(body: SubscriptionIn, principal: Auth, request: Request) -> Response:
    """Sign a customer up: `accepted_terms` must be true and `terms_version` the program's current one (the
    terms shown); the card is a vault token. The first shipment is placed on `starts_on` (default today)."""
    uow = unit_of_work(request)
    channel = sales_channels.ordering_channel(uow, principal, body.channel)
    visible_to = sales_channels.bound_channel(uow, principal)
    service.check_accepted(body.accepted_terms)
    card = service.vaulted_card(uow, token=body.card_token)  # the vault is asked before any transaction opens
    fields = body.model_dump(exclude={"channel", "ship_to", "card_token", "accepted_terms"})
    ship_to = body.ship_to.model_dump()
    return created(
        request,
        principal,
        body.model_dump(mode="json"),
        lambda joined: SubscriptionOut.model_validate(
            service.enrol(
                joined, card=card, channel=channel.code, ship_to=ship_to, visible_to=visible_to, **fields
            )
        ),
    )


@router.get(
    "/subscriptions/{ref}", response_model=SubscriptionOut, openapi_extra=requires("subscriptions:read")
)
def get_subscription(ref: str, principal: Auth, request: Request, response: Response) -> SubscriptionOut:
    """One subscription (id or number) with its shipments."""
    uow = unit_of_work(request)
    found = service.get_subscription(uow, ref=ref, visible_to=sales_channels.bound_channel(uow, principal))
    return _subscription(found, response)


@router.patch(
    "/subscriptions/{ref}", response_model=SubscriptionOut, openapi_extra=requires("subscriptions:write")
)
def change_subscription(
    ref: str, body: SubscriptionPatch, principal: Auth, request: Request, response: Response
) -> SubscriptionOut:
    """Change the ship-to or the quantity from the next shipment on (`If-Match` honoured)."""
    uow = unit_of_work(request)
    found = service.change_subscription(
        uow, ref=ref, version=if_match_version(request), visible_to=sales_channels.bound_channel(uow, principal),
        ship_to=body.ship_to.model_dump() if body.ship_to else None, quantity=body.quantity,
    )  # fmt: skip
    return _subscription(found, response)


@router.post(
    "/subscriptions/{ref}/skip", response_model=SubscriptionOut, openapi_extra=requires("subscriptions:write")
)
def skip_shipment(ref: str, principal: Auth, request: Request, response: Response) -> SubscriptionOut:
    """Skip the next shipment (it moves one interval on; a series' item waits)."""
    uow = unit_of_work(request)
    found = service.skip_shipment(uow, ref=ref, version=if_match_version(request),
                                  visible_to=sales_channels.bound_channel(uow, principal))  # fmt: skip
    return _subscription(found, response)


@router.post(
    "/subscriptions/{ref}/pause",
    response_model=SubscriptionOut,
    openapi_extra=requires("subscriptions:write"),
)
def pause_subscription(
    ref: str, body: PauseIn, principal: Auth, request: Request, response: Response
) -> SubscriptionOut:
    """Pause until resumed, or until `until` (shipping starts again by itself that day)."""
    uow = unit_of_work(request)
    found = service.pause_subscription(uow, ref=ref, until=body.until, version=if_match_version(request),
                                       visible_to=sales_channels.bound_channel(uow, principal))  # fmt: skip
    return _subscription(found, response)


@router.post(
    "/subscriptions/{ref}/resume",
    response_model=SubscriptionOut,
    openapi_extra=requires("subscriptions:write"),
)
def resume_subscription(
    ref: str, body: ResumeIn, principal: Auth, request: Request, response: Response
) -> SubscriptionOut:
    """Resume a paused subscription (the next shipment on `next_shipment_on`, else when it was due or today)."""
    uow = unit_of_work(request)
    found = service.resume_subscription(uow, ref=ref, next_shipment_on=body.next_shipment_on,
                                        version=if_match_version(request),
                                        visible_to=sales_channels.bound_channel(uow, principal))  # fmt: skip
    return _subscription(found, response)


@router.post(
    "/subscriptions/{ref}/cancel",
    response_model=SubscriptionOut,
    openapi_extra=requires("subscriptions:write"),
)
def cancel_subscription(
    ref: str, body: CancelIn, principal: Auth, request: Request, response: Response
) -> SubscriptionOut:
    """Cancel at once (no reason required): nothing more ships."""
    uow = unit_of_work(request)
    found = service.cancel_subscription(uow, ref=ref, reason=body.reason, version=if_match_version(request),
                                        visible_to=sales_channels.bound_channel(uow, principal))  # fmt: skip
    return _subscription(found, response)


@router.post(
    "/subscriptions/{ref}/card", response_model=SubscriptionOut, openapi_extra=requires("subscriptions:write")
)
def change_card(
    ref: str, body: CardIn, principal: Auth, request: Request, response: Response
) -> SubscriptionOut:
    """Put another vaulted card on the subscription; one past due or suspended for payment is tried again with it
    today."""
    uow = unit_of_work(request)
    found = service.change_card(uow, ref=ref, card_token=body.card_token, version=if_match_version(request),
                                visible_to=sales_channels.bound_channel(uow, principal))  # fmt: skip
    return _subscription(found, response)

"""Dunning-run API: the letters a run would send on a day, a run (each past-due customer dunned once per stage and
day), and who was dunned. Reading needs `finance:read`; a run `receivables:write` (collections, like applying a
customer's payment). Staff only: a channel-bound key finds none of it (404).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from ordersmith.finance import service
from ordersmith.finance.dunning_schemas import (
    DunningDueOut,
    DunningLetterSentOut,
    DunningRunIn,
    DunningRunOut,
)
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.http import authorize, created, requires, unit_of_work
from ordersmith.platform.schemas import PageOut

router = APIRouter(tags=["finance"])
Auth = Annotated[Principal, Depends(authorize)]


@router.get(
    "/ar/dunning-runs/preview",
    response_model=list[DunningDueOut],
    openapi_extra=requires("finance:read", no_channel=True),
)
def preview_dunning(principal: Auth, request: Request, as_of: date | None = None) -> list[DunningDueOut]:
    """The letters a run on `as_of` (default today) would send: each customer with something past due, the stage
    their oldest past-due invoice calls for and what it asks. Records nothing."""
    uow = unit_of_work(request)
    found = service.preview_dunning(
        uow, as_of=as_of or uow.now().date(), retailer=request.app.state.settings.retailer_name
    )
    return [DunningDueOut.model_validate(d) for d in found]


@router.post(
    "/ar/dunning-runs",
    response_model=DunningRunOut,
    openapi_extra=requires("receivables:write", no_channel=True),
)
def run_dunning(body: DunningRunIn, principal: Auth, request: Request) -> Response:
    """Dun every customer with something past due as of `as_of` (default today): each gets the letter their oldest
    past-due invoice calls for, recorded once per customer, stage and day — a second run that day sends nothing
    again and lists them in `already`. Takes an `Idempotency-Key`."""
    retailer = request.app.state.settings.retailer_name

    def execute(uow: UnitOfWork) -> DunningRunOut:
        run = service.run_dunning(uow, as_of=body.as_of or uow.now().date(), retailer=retailer)
        return DunningRunOut.model_validate(run)

    return created(request, principal, body.model_dump(mode="json"), execute, status_code=200)


@router.get(
    "/ar/dunning-runs/letters",
    response_model=PageOut[DunningLetterSentOut],
    openapi_extra=requires("finance:read", no_channel=True),
)
def dunning_letters_sent(
    principal: Auth,
    request: Request,
    customer: Annotated[str | None, Query(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Who was dunned, newest first (optionally one customer): the stage, what was asked, when and by whom."""
    page = service.list_dunning_letters(unit_of_work(request), customer=customer, cursor=cursor, limit=limit)
    return {
        "items": [DunningLetterSentOut.model_validate(x) for x in page.items],
        "next_cursor": page.next_cursor,
    }

"""Finance API of card disputes (chargebacks) and of captures and refunds no settlement has matched (ADR 0040).

Staff only: `finance:read` to read, `disputes:decide` to record an outcome; neither is ever held by a
channel-bound key.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from ordersmith.finance import service
from ordersmith.finance.dispute_schemas import DisputeIn, DisputeOut, DisputeOutcomeIn, UnsettledOut
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.http import authorize, created, etag, if_match_version, requires, unit_of_work
from ordersmith.platform.schemas import PageOut, money_in

router = APIRouter(tags=["finance"])
Auth = Annotated[Principal, Depends(authorize)]
_REF = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]
_CURSOR = Annotated[str | None, Query(max_length=500)]
_CLOSED: dict[int | str, dict[str, Any]] = {
    409: {"description": "dispute_closed: the dispute has its outcome already"},
    412: {"description": "If-Match names another version"},
}


@router.get(
    "/disputes", response_model=PageOut[DisputeOut], openapi_extra=requires("finance:read", no_channel=True)
)
def list_disputes(
    principal: Auth,
    request: Request,
    status: Literal["open", "won", "lost"] | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: _CURSOR = None,
) -> PageOut[DisputeOut]:
    """Card disputes (chargebacks), newest first; `status` open, won or lost."""
    page = service.list_disputes(unit_of_work(request), status=status, limit=limit, cursor=cursor)
    return PageOut[DisputeOut](
        items=[DisputeOut.model_validate(d) for d in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/disputes/{ref}", response_model=DisputeOut, openapi_extra=requires("finance:read", no_channel=True)
)
def get_dispute(ref: _REF, principal: Auth, request: Request, response: Response) -> DisputeOut:
    """A dispute by number (`DP-000001`) or id (`ETag`: its version)."""
    found = service.get_dispute(unit_of_work(request), ref=ref)
    response.headers["ETag"] = etag(found.version)
    return DisputeOut.model_validate(found)


@router.post(
    "/disputes",
    status_code=201,
    response_model=DisputeOut,
    openapi_extra=requires("disputes:decide", no_channel=True),
    responses={409: {"description": "`already_exists`: this processor's dispute is recorded already"}},
)
def open_dispute(body: DisputeIn, principal: Auth, request: Request) -> Response:
    """Open a dispute by hand (one the processor reported by letter or on its dashboard): recorded and posted as one
    its webhook opens (Dr disputed card payments / Cr the card clearing account, and the fee), `source` `manual`,
    exactly once — the same processor's dispute id again, however it came, is 409 `already_exists`."""
    amount = body.amount.to_money()

    def execute(uow: UnitOfWork) -> DisputeOut:
        opened = service.open_dispute_by_hand(
            uow,
            processor=body.processor,
            reference=body.reference,
            capture_reference=body.capture_reference,
            amount=amount,
            fee=money_in(body.fee, amount.currency, field="fee"),
            reason=body.reason,
        )
        return DisputeOut.model_validate(opened)

    return created(request, principal, body.model_dump(mode="json"), execute)


@router.post(
    "/disputes/{ref}/outcome",
    response_model=DisputeOut,
    openapi_extra=requires("disputes:decide", no_channel=True),
    responses=_CLOSED,
)
def record_outcome(ref: _REF, body: DisputeOutcomeIn, principal: Auth, request: Request) -> Response:
    """Record an open dispute's outcome, once: `won` (posted Dr the card clearing account / Cr disputed card
    payments, and any fee returned) or `lost` (Dr chargeback losses / Cr disputed card payments). A second outcome
    is refused (409 `dispute_closed`); `If-Match` guards against a stale read."""
    expected = if_match_version(request)

    def execute(uow: UnitOfWork) -> DisputeOut:
        fee = None
        if body.fee_returned is not None:
            currency = service.get_dispute(uow, ref=ref).currency
            fee = money_in(body.fee_returned, currency, field="fee_returned")
        decided = service.record_dispute_outcome(
            uow, ref=ref, outcome=body.outcome, fee_returned=fee, note=body.note, expected_version=expected
        )
        return DisputeOut.model_validate(decided)

    return created(request, principal, {"ref": ref, **body.model_dump(mode="json")}, execute, status_code=200)


@router.get(
    "/unsettled-transactions",
    response_model=PageOut[UnsettledOut],
    openapi_extra=requires("finance:read", no_channel=True),
)
def list_unsettled(
    principal: Auth,
    request: Request,
    older_than_days: Annotated[int | None, Query(ge=0, le=3650)] = None,
    processor: Annotated[str | None, Query(min_length=1, max_length=20, pattern=r"^[a-z0-9_-]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: _CURSOR = None,
) -> PageOut[UnsettledOut]:
    """Card captures and refunds that no imported settlement has matched `older_than_days` after they happened
    (default: `ORDERSMITH_UNSETTLED_AFTER_DAYS`), oldest first, with the processor and its reference."""
    page = service.list_unsettled(
        unit_of_work(request),
        older_than_days=older_than_days,
        processor=processor,
        limit=limit,
        cursor=cursor,
    )
    return PageOut[UnsettledOut](
        items=[UnsettledOut.model_validate(t) for t in page.items], next_cursor=page.next_cursor
    )

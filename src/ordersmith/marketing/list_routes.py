"""Marketing lists API: segments and their live counts, mail-hygiene flags, list pulls (extractions) with their
funnel and mail-file download, mail files as sent, matchback and its results.

Staff only: `marketing:read` / `marketing:write` are never held by a channel-bound key, and no channel owns these
records, so to such a key every operation answers 404 as if nothing were there (`requires(…, no_channel=True)`).
A pull's names and addresses are personal data: making one and downloading it need `marketing:write`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from ordersmith.kernel.errors import ValidationFailed
from ordersmith.marketing import service
from ordersmith.marketing.list_schemas import (
    CountOut,
    DefinitionIn,
    ExtractionIn,
    ExtractionOut,
    KeyCodeResultOut,
    MailFileIn,
    MailFileOut,
    MailFlagsIn,
    MailFlagsOut,
    MatchbackOut,
    SegmentIn,
    SegmentOut,
    SegmentPatch,
)
from ordersmith.marketing.schemas import Code
from ordersmith.platform.access import Principal
from ordersmith.platform.http import authorize, created, etag, if_match_version, requires, unit_of_work
from ordersmith.platform.schemas import PageOut

router = APIRouter(tags=["marketing"])
Auth = Annotated[Principal, Depends(authorize)]
Limit = Annotated[int, Query(ge=1, le=200)]
CustomerNumber = Annotated[str, Path(pattern=r"^[A-Za-z0-9-]{1,20}$")]


@router.get(
    "/segments", response_model=PageOut[SegmentOut], openapi_extra=requires("marketing:read", no_channel=True)
)
def list_segments(
    principal: Auth, request: Request, limit: Limit = 50, cursor: str | None = None
) -> dict[str, Any]:
    """Segments by code, each with its rule tree."""
    page = service.list_segments(unit_of_work(request), cursor=cursor, limit=limit)
    return {"items": [SegmentOut.model_validate(s) for s in page.items], "next_cursor": page.next_cursor}


@router.post(
    "/segments",
    status_code=201,
    response_model=SegmentOut,
    openapi_extra=requires("marketing:write", no_channel=True),
)
def create_segment(body: SegmentIn, principal: Auth, request: Request) -> Response:
    """A segment: a rule tree over customers, checked before it is stored (an unknown field is a 422 naming it)."""
    return created(
        request,
        principal,
        body.model_dump(mode="json"),
        lambda uow: SegmentOut.model_validate(service.create_segment(uow, **body.model_dump())),
    )


@router.post(
    "/segments/count", response_model=CountOut, openapi_extra=requires("marketing:read", no_channel=True)
)
def count_definition(body: DefinitionIn, principal: Auth, request: Request) -> CountOut:
    """How many customers an unsaved definition holds now: the live count while rules are edited. Stores nothing."""
    return CountOut(
        customers=service.count_rules(unit_of_work(request), rules=body.rules, currency=body.currency)
    )


@router.get(
    "/segments/{code}", response_model=SegmentOut, openapi_extra=requires("marketing:read", no_channel=True)
)
def get_segment(code: Code, principal: Auth, request: Request, response: Response) -> SegmentOut:
    segment = service.get_segment(unit_of_work(request), code=code)
    response.headers["ETag"] = etag(segment.version)
    return SegmentOut.model_validate(segment)


@router.patch(
    "/segments/{code}", response_model=SegmentOut, openapi_extra=requires("marketing:write", no_channel=True)
)
def update_segment(
    code: Code, body: SegmentPatch, principal: Auth, request: Request, response: Response
) -> SegmentOut:
    """Rename a segment or replace its rules (`If-Match` honoured)."""
    segment = service.update_segment(
        unit_of_work(request),
        code=code,
        version=if_match_version(request),
        **body.model_dump(exclude_unset=True),
    )
    response.headers["ETag"] = etag(segment.version)
    return SegmentOut.model_validate(segment)


@router.delete(
    "/segments/{code}", status_code=204, openapi_extra=requires("marketing:write", no_channel=True)
)
def delete_segment(code: Code, principal: Auth, request: Request) -> Response:
    service.delete_segment(unit_of_work(request), code=code)
    return Response(status_code=204)


@router.get(
    "/segments/{code}/count",
    response_model=CountOut,
    openapi_extra=requires("marketing:read", no_channel=True),
)
def count_segment(code: Code, principal: Auth, request: Request) -> CountOut:
    """How many customers the segment holds now (one query)."""
    return CountOut(customers=service.count_segment(unit_of_work(request), code=code))


@router.put(
    "/mail-flags/{customer}",
    response_model=MailFlagsOut,
    openapi_extra=requires("marketing:write", no_channel=True),
)
def set_mail_flags(
    customer: CustomerNumber, body: MailFlagsIn, principal: Auth, request: Request
) -> MailFlagsOut:
    """Flag a customer deceased or undeliverable (or clear it): every later pull leaves them out."""
    flags = service.set_mail_flags(unit_of_work(request), customer_number=customer, **body.model_dump())
    return MailFlagsOut(customer_number=customer, **flags)


def _extraction_args(body: ExtractionIn) -> dict[str, Any]:
    return {
        "segment": body.segment,
        "cells": [service.Cell(c.key_code, c.percent) for c in body.cells],
        "seed": body.seed,
        "households": body.households,
        "suppress": service.Suppressions(
            do_not_mail=body.suppress.do_not_mail,
            recent_buyers_days=body.suppress.recent_buyers_days,
            file=[service.SuppressionEntry(**e.model_dump()) for e in body.suppress.file],
        ),
    }


@router.post(
    "/extractions",
    status_code=201,
    response_model=ExtractionOut,
    openapi_extra=requires("marketing:write", no_channel=True),
    responses={
        200: {"model": ExtractionOut, "description": "a preview (`?preview=true`): counted, nothing stored"}
    },
)
def create_extraction(
    body: ExtractionIn, principal: Auth, request: Request, preview: bool = False
) -> Response | ExtractionOut:
    """Pull a segment's names: suppress (do-not-mail, deceased, undeliverable, recent buyers, the suppression file;
    anonymized customers never), one per household, dealt into key-coded cells by the seed. `?preview=true` answers
    the funnel (200) and stores nothing."""
    args = _extraction_args(body)
    if preview:
        result = service.extract(unit_of_work(request), preview=True, **args)
        return Response(ExtractionOut.model_validate(result).model_dump_json(), media_type="application/json")
    return created(
        request,
        principal,
        body.model_dump(mode="json"),
        lambda uow: ExtractionOut.model_validate(service.extract(uow, **args)),
    )


@router.get(
    "/extractions",
    response_model=PageOut[ExtractionOut],
    openapi_extra=requires("marketing:read", no_channel=True),
)
def list_extractions(
    principal: Auth, request: Request, limit: Limit = 50, cursor: str | None = None
) -> dict[str, Any]:
    """Pulls, the newest first, each with its funnel and cells."""
    page = service.list_extractions(unit_of_work(request), cursor=cursor, limit=limit)
    return {"items": [ExtractionOut.model_validate(e) for e in page.items], "next_cursor": page.next_cursor}


@router.get(
    "/extractions/{extraction_id}",
    response_model=ExtractionOut,
    openapi_extra=requires("marketing:read", no_channel=True),
)
def get_extraction(extraction_id: uuid.UUID, principal: Auth, request: Request) -> ExtractionOut:
    return ExtractionOut.model_validate(
        service.get_extraction(unit_of_work(request), extraction_id=extraction_id)
    )


_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@router.get(
    "/extractions/{extraction_id}/download",
    openapi_extra=requires("marketing:write", no_channel=True),
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, _TYPES["xlsx"]: {}}}},
)
def download_extraction(
    extraction_id: uuid.UUID, principal: Auth, request: Request, format: Literal["csv", "xlsx"] = "csv"
) -> Response:
    """The mail file: one row per name with its key code, in the layout of the marketer's guide."""
    body = service.export_extraction(unit_of_work(request), extraction_id=extraction_id, file_format=format)
    disposition = f'attachment; filename="extraction-{extraction_id}.{format}"'
    return Response(body, media_type=_TYPES[format], headers={"Content-Disposition": disposition})


@router.post(
    "/mail-files",
    status_code=201,
    response_model=MailFileOut,
    openapi_extra=requires("marketing:write", no_channel=True),
)
def import_mail_file(body: MailFileIn, principal: Auth, request: Request) -> Response:
    """A mail file as sent: a pull (`extraction`) or the names and addresses with their key codes (`names`)."""
    header: dict[str, Any] = {
        "code": body.code,
        "in_home_on": body.in_home_on,
        "window_days": body.window_days,
        "currency": body.currency,
    }
    extraction = body.extraction
    if extraction is not None and body.names:
        raise ValidationFailed.on("names", "give the names or an extraction, not both")
    if extraction is not None:

        def run(uow: Any) -> MailFileOut:
            return MailFileOut.model_validate(
                service.mail_file_from_extraction(uow, extraction_id=extraction, **header)
            )
    else:
        names = [service.MailedName(**n.model_dump()) for n in body.names]

        def run(uow: Any) -> MailFileOut:
            return MailFileOut.model_validate(service.import_mail_file(uow, names=names, **header))

    return created(request, principal, body.model_dump(mode="json"), run)


@router.get(
    "/mail-files", response_model=list[MailFileOut], openapi_extra=requires("marketing:read", no_channel=True)
)
def list_mail_files(principal: Auth, request: Request) -> list[MailFileOut]:
    """Mail files, the latest in-home date first."""
    return [MailFileOut.model_validate(f) for f in service.list_mail_files(unit_of_work(request))]


@router.get(
    "/mail-files/{code}",
    response_model=MailFileOut,
    openapi_extra=requires("marketing:read", no_channel=True),
)
def get_mail_file(code: Code, principal: Auth, request: Request) -> MailFileOut:
    return MailFileOut.model_validate(service.get_mail_file(unit_of_work(request), code=code))


@router.post(
    "/mail-files/{code}/matchback",
    response_model=MatchbackOut,
    openapi_extra=requires("marketing:write", no_channel=True),
)
def run_matchback(code: Code, principal: Auth, request: Request) -> MatchbackOut:
    """Attribute the window's orders placed without a code to the key code mailed to their customer or address.
    A keyed order is never attributed; running it again attributes only orders not attributed yet."""
    return MatchbackOut.model_validate(service.run_matchback(unit_of_work(request), code=code))


@router.get(
    "/mail-files/{code}/results",
    response_model=list[KeyCodeResultOut],
    openapi_extra=requires("marketing:read", no_channel=True),
)
def mail_file_results(code: Code, principal: Auth, request: Request) -> list[KeyCodeResultOut]:
    """Per key code: names mailed, keyed orders and matched-back orders (apart), their demand and the response."""
    return [
        KeyCodeResultOut.model_validate(r)
        for r in service.mail_file_results(unit_of_work(request), code=code)
    ]

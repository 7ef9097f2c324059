"""CRM API: connections (staff only: a channel-bound key is told they do not exist), their links to our customers
and orders, dead letters and replay."""

from __future__ import annotations

import functools
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import TypeAdapter

from ordersmith.channels.crm import service
from ordersmith.channels.crm.schemas import CrmConnectionChange, CrmConnectionIn
from ordersmith.kernel.pagination import Page
from ordersmith.platform.access import Principal
from ordersmith.platform.http import authorize, etag, if_match_version, parse_uuid, requires, unit_of_work

router = APIRouter(prefix="/channels", tags=["crm"])
Auth = Annotated[Principal, Depends(authorize)]
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=400)]


@functools.cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def _json(value: Any, kind: Any, status_code: int = 200) -> Response:
    return Response(_adapter(kind).dump_json(value), status_code=status_code, media_type="application/json")


@router.post(
    "/crm-connections",
    status_code=201,
    response_model=service.CrmConnection,
    openapi_extra=requires("channels:credentials", no_channel=True),
)
def create_connection(body: CrmConnectionIn, principal: Auth, request: Request) -> Response:
    """Connect a CRM account (HubSpot: a private app's access token, sealed and never shown again). From then on
    customers and orders changes are synced to it as contacts and deals."""
    connection = service.create_connection(unit_of_work(request), **body.model_dump())
    return _json(connection, service.CrmConnection, 201)


@router.get(
    "/crm-connections",
    response_model=Page[service.CrmConnection],
    openapi_extra=requires("crm:read", no_channel=True),
)
def list_connections(principal: Auth, request: Request, limit: Limit = 50, cursor: Cursor = None) -> Response:
    page = service.list_connections(unit_of_work(request), principal=principal, limit=limit, cursor=cursor)
    return _json(page, Page[service.CrmConnection])


@router.get(
    "/crm-connections/{code}",
    response_model=service.CrmConnection,
    openapi_extra=requires("crm:read", no_channel=True),
)
def get_connection(code: str, principal: Auth, request: Request) -> Response:
    """The connection with its health: last success and failure, records waiting, open dead letters, the CRM's
    last word on its rate limit."""
    connection = service.get_connection(unit_of_work(request), code=code, principal=principal)
    answer = _json(connection, service.CrmConnection)
    answer.headers["ETag"] = etag(connection.version)
    return answer


@router.patch(
    "/crm-connections/{code}",
    response_model=service.CrmConnection,
    openapi_extra=requires("channels:credentials", no_channel=True),
    responses={412: {"description": "changed by someone else since your ETag"}},
)
def change_connection(code: str, body: CrmConnectionChange, principal: Auth, request: Request) -> Response:
    """Rename, replace the settings or the access token (rotation), or switch the sync off and on. With
    `If-Match` (the ETag read), a connection changed since is refused with 412."""
    connection = service.change_connection(
        unit_of_work(request),
        code=code,
        expected_version=if_match_version(request),
        **body.model_dump(exclude_unset=True),
    )
    answer = _json(connection, service.CrmConnection)
    answer.headers["ETag"] = etag(connection.version)
    return answer


@router.delete(
    "/crm-connections/{code}",
    status_code=204,
    openapi_extra=requires("channels:credentials", no_channel=True),
)
def delete_connection(code: str, principal: Auth, request: Request) -> Response:
    """Disconnect: the connection, its links, waiting syncs and dead letters go (the CRM keeps what it has)."""
    service.delete_connection(unit_of_work(request), code=code)
    return Response(status_code=204)


@router.post(
    "/crm-connections/{code}/backfill",
    status_code=202,
    response_model=service.CrmConnection,
    openapi_extra=requires("crm:write", no_channel=True),
)
def backfill(code: str, principal: Auth, request: Request) -> Response:
    """Send every order placed so far (and its customer) to the CRM, in the background: what was synced already is
    updated in place, never made twice."""
    uow = unit_of_work(request)
    service.backfill(uow, code=code, principal=principal)
    return _json(service.get_connection(uow, code=code, principal=principal), service.CrmConnection, 202)


@router.get(
    "/crm-connections/{code}/links",
    response_model=Page[service.Link],
    openapi_extra=requires("crm:read", no_channel=True),
)
def list_links(
    code: str,
    principal: Auth,
    request: Request,
    kind: Annotated[str | None, Query(max_length=20)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """Which customers are which CRM contacts (`kind=contact`) and which orders which deals (`kind=deal`)."""
    page = service.list_links(
        unit_of_work(request), code=code, kind=kind, principal=principal, limit=limit, cursor=cursor
    )
    return _json(page, Page[service.Link])


@router.get(
    "/crm-connections/{code}/dead-letters",
    response_model=Page[service.CrmDeadLetter],
    openapi_extra=requires("crm:read", no_channel=True),
)
def list_dead_letters(
    code: str,
    principal: Auth,
    request: Request,
    status: Annotated[str | None, Query(max_length=20)] = "open",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    page = service.list_crm_dead_letters(
        unit_of_work(request), code=code, status=status, principal=principal, limit=limit, cursor=cursor
    )
    return _json(page, Page[service.CrmDeadLetter])


@router.post(
    "/crm-dead-letters/{dead_letter_id}/replay",
    response_model=service.CrmDeadLetter,
    openapi_extra=requires("crm:write", no_channel=True),
)
def replay_dead_letter(dead_letter_id: str, principal: Auth, request: Request) -> Response:
    """Sync a dead letter's records again, as they are now. Replayed already → 409."""
    letter = service.replay_crm_dead_letter(
        unit_of_work(request),
        dead_letter_id=parse_uuid(dead_letter_id, "dead_letter_id"),
        principal=principal,
    )
    return _json(letter, service.CrmDeadLetter)

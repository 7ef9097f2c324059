"""Channels API: connectors, their health, SKU mappings, the inbox of channel orders, dead letters and replay,
and the channels' own webhooks (public, signature checked)."""

from __future__ import annotations

import functools
import json
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import TypeAdapter

from ordersmith.channels import service
from ordersmith.channels.schemas import ConnectorIn, CredentialsIn, PollDue, SkuMapIn
from ordersmith.kernel.pagination import Page
from ordersmith.platform.access import PUBLIC, Principal
from ordersmith.platform.http import authorize, parse_uuid, requires, unit_of_work

router = APIRouter(prefix="/channels", tags=["channels"])
Auth = Annotated[Principal, Depends(authorize)]
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=400)]


@functools.cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def _json(value: Any, kind: Any, status_code: int = 200) -> Response:
    return Response(_adapter(kind).dump_json(value), status_code=status_code, media_type="application/json")


@router.post(
    "/connectors",
    status_code=201,
    response_model=service.Connector,
    openapi_extra=requires("channels:credentials"),
)
def create_connector(body: ConnectorIn, principal: Auth, request: Request) -> Response:
    """Connect a sales channel to its platform (one connector per channel instance). The credentials are sealed
    and never shown again: the answer names them only."""
    connector = service.create_connector(unit_of_work(request), **body.model_dump())
    return _json(connector, service.Connector, 201)


@router.get("/connectors", response_model=Page[service.Connector], openapi_extra=requires("channels:read"))
def list_connectors(principal: Auth, request: Request, limit: Limit = 50, cursor: Cursor = None) -> Response:
    page = service.list_connectors(unit_of_work(request), principal=principal, limit=limit, cursor=cursor)
    return _json(page, Page[service.Connector])


@router.get("/connectors/{code}", response_model=service.Connector, openapi_extra=requires("channels:read"))
def get_connector(code: str, principal: Auth, request: Request) -> Response:
    return _json(
        service.get_connector(unit_of_work(request), code=code, principal=principal), service.Connector
    )


@router.put(
    "/connectors/{code}/credentials",
    response_model=service.Connector,
    openapi_extra=requires("channels:credentials"),
)
def set_credentials(code: str, body: CredentialsIn, principal: Auth, request: Request) -> Response:
    """Replace the connector's credentials (rotation)."""
    connector = service.set_credentials(unit_of_work(request), code=code, credentials=body.credentials)
    return _json(connector, service.Connector)


@router.get(
    "/connectors/{code}/health", response_model=service.Health, openapi_extra=requires("channels:read")
)
def connector_health(code: str, principal: Auth, request: Request) -> Response:
    """Last success and failure, open dead letters, import lag, held orders, the channel's rate-limit state."""
    return _json(
        service.connector_health(unit_of_work(request), code=code, principal=principal), service.Health
    )


@router.post(
    "/connectors/{code}/sku-maps", response_model=service.Mapped, openapi_extra=requires("channels:write")
)
def map_sku(code: str, body: SkuMapIn, principal: Auth, request: Request) -> Response:
    """Map a channel SKU to our item; the channel orders held for it (`unmapped_sku`) are imported again."""
    mapped = service.map_sku(unit_of_work(request), connector=code, **body.model_dump())
    return _json(mapped, service.Mapped)


@router.get(
    "/connectors/{code}/sku-maps",
    response_model=Page[service.SkuMap],
    openapi_extra=requires("channels:read"),
)
def list_sku_maps(
    code: str, principal: Auth, request: Request, limit: Limit = 50, cursor: Cursor = None
) -> Response:
    page = service.list_sku_maps(
        unit_of_work(request), connector=code, principal=principal, limit=limit, cursor=cursor
    )
    return _json(page, Page[service.SkuMap])


@router.post("/connectors/{code}/poll", response_model=PollDue, openapi_extra=requires("channels:write"))
def poll_soon(code: str, principal: Auth, request: Request) -> Response:
    """Poll a polled connector (Amazon, WooCommerce) at the next run of the poll job, resuming one paused."""
    due = service.poll_soon(unit_of_work(request), connector=code, principal=principal)
    return _json(PollDue(next_poll_at=due), PollDue)


@router.post(
    "/connectors/{code}/orders",
    status_code=202,
    response_model=service.Received,
    openapi_extra=requires("channels:orders"),
)
def receive_order(code: str, body: dict[str, Any], principal: Auth, request: Request) -> Response:
    """A channel's order in its connector's own format (the generic format: docs/guides/channels-connectors.md),
    queued for import. Sent again, it answers with the first record (`duplicate: true`) and makes no second
    order."""
    received = service.receive_order(unit_of_work(request), connector=code, payload=body, principal=principal)
    return _json(received, service.Received, 202)


@router.get(
    "/connectors/{code}/orders",
    response_model=Page[service.ChannelOrder],
    openapi_extra=requires("channels:read"),
)
def list_channel_orders(
    code: str,
    principal: Auth,
    request: Request,
    status: Annotated[str | None, Query(max_length=20)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    page = service.list_channel_orders(
        unit_of_work(request), connector=code, status=status, principal=principal, limit=limit, cursor=cursor
    )
    return _json(page, Page[service.ChannelOrder])


@router.get(
    "/connectors/{code}/dead-letters",
    response_model=Page[service.DeadLetter],
    openapi_extra=requires("channels:read"),
)
def list_dead_letters(
    code: str,
    principal: Auth,
    request: Request,
    status: Annotated[str | None, Query(max_length=20)] = "open",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    page = service.list_dead_letters(
        unit_of_work(request), connector=code, status=status, principal=principal, limit=limit, cursor=cursor
    )
    return _json(page, Page[service.DeadLetter])


@router.post(
    "/dead-letters/{dead_letter_id}/replay",
    response_model=service.DeadLetter,
    openapi_extra=requires("channels:write"),
)
def replay_dead_letter(dead_letter_id: str, principal: Auth, request: Request) -> Response:
    """Try a dead-lettered sync again (a fresh job with its retries). Replayed already → 409."""
    letter = service.replay_dead_letter(
        unit_of_work(request),
        dead_letter_id=parse_uuid(dead_letter_id, "dead_letter_id"),
        principal=principal,
    )
    return _json(letter, service.DeadLetter)


@router.post("/webhooks/{code}", openapi_extra=requires(PUBLIC), status_code=200)
async def channel_webhook(code: str, request: Request) -> Response:
    """A channel's pushed order (Shopify: `orders/create`, `orders/updated`) or its cancellation or refund
    (`orders/cancelled`, `refunds/create`), its signature checked before anything is read: a forged one is a 401
    and changes nothing; one delivered again makes no second order, cancellation or refund."""
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    uow = unit_of_work(request)
    outcome = await anyio.to_thread.run_sync(
        lambda: service.receive_webhook(uow, connector=code, headers=headers, body=body)
    )
    answer: dict[str, Any] = {"accepted": outcome.received is not None}
    if outcome.received is not None:
        answer["duplicate"] = outcome.received.duplicate
    if outcome.changes:
        answer["changes"] = outcome.changes
    return Response(json.dumps(answer), media_type="application/json")

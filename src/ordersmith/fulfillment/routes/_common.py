"""What the fulfillment routes share: the caller, JSON answers from the service's dataclasses, a channel key's
own channel, a shipment's visibility, the shape of a route that moves a shipment, and documents as inline
downloads."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Response
from pydantic import TypeAdapter

from ordersmith.fulfillment import service
from ordersmith.platform import sales_channels
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.http import authorize, requires

Auth = Annotated[Principal, Depends(authorize)]
Route = TypeVar("Route", bound=Callable[..., Any])
STATE: dict[int | str, dict[str, Any]] = {
    409: {"description": "illegal_transition (with the shipment's `state`), scan_refused, or conflict"}
}


@functools.cache
def adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def shipment_action(router: APIRouter, path: str, scope: str) -> Callable[[Route], Route]:
    """A POST that moves one shipment and answers it, as `service.Shipment` (409 when its state forbids the move);
    the caller needs `scope`."""
    return router.post(path, response_model=service.Shipment, responses=STATE, openapi_extra=requires(scope))


def respond(value: Any, kind: Any, status_code: int = 200) -> Response:
    """The service's dataclass as JSON (pydantic: money amounts as strings, times in ISO 8601)."""
    return Response(adapter(kind).dump_json(value), status_code=status_code, media_type="application/json")


def channel_of(uow: UnitOfWork, principal: Principal) -> str | None:
    return sales_channels.bound_channel(uow, principal)


def visible(uow: UnitOfWork, principal: Principal, ref: str) -> str:
    """The shipment's id when the caller may see it (a refusal is a 404 and changes nothing)."""
    return str(service.get_shipment(uow, ref=ref, channel=channel_of(uow, principal)).id)


PDF: dict[int | str, dict[str, Any]] = {200: {"content": {"application/pdf": {}}, "description": "a PDF"}}


def inline(filename: str) -> dict[str, str]:
    safe = "".join(c for c in filename if c.isascii() and (c.isalnum() or c in "-_.")) or "document"
    return {"Content-Disposition": f'inline; filename="{safe}"', "Cache-Control": "no-store"}

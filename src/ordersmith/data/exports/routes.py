"""Exports API: ask for an export (202, then a job writes it), follow it, download its file.

Every route needs `data:export`, a staff scope a channel-bound key cannot hold (exports cover every channel).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse

from ordersmith.data.exports import service, writers
from ordersmith.data.exports.schemas import ExportIn, ExportOut
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.http import authorize, created, get_settings, parse_uuid, requires, unit_of_work
from ordersmith.platform.schemas import PageOut

router = APIRouter(tags=["exports"])
Auth = Annotated[Principal, Depends(authorize)]


@router.post("/exports", status_code=202, response_model=ExportOut, openapi_extra=requires("data:export"))
def request_export(body: ExportIn, principal: Auth, request: Request) -> Response:
    """Queue an export of `kind` in `format` with `filters`; follow it at `GET /exports/{id}`."""
    folder = Path(get_settings(request).exports_path)
    filters = body.filters.model_dump(by_alias=True, exclude_none=True)

    def execute(uow: UnitOfWork) -> ExportOut:
        export = service.request_export(
            uow, kind=body.kind, format=body.format, filters=filters, folder=folder
        )
        return ExportOut.model_validate(export)

    return created(request, principal, body.model_dump(mode="json", by_alias=True), execute, status_code=202)


@router.get("/exports", response_model=PageOut[ExportOut], openapi_extra=requires("data:export"))
def list_exports(
    principal: Auth,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Newest first."""
    page = service.list_exports(unit_of_work(request), limit=limit, cursor=cursor)
    return {"items": [ExportOut.model_validate(e) for e in page.items], "next_cursor": page.next_cursor}


@router.get("/exports/{export_id}", response_model=ExportOut, openapi_extra=requires("data:export"))
def get_export(export_id: str, principal: Auth, request: Request) -> ExportOut:
    export = service.get_export(unit_of_work(request), export_id=_id(export_id))
    return ExportOut.model_validate(export)


@router.get(
    "/exports/{export_id}/file",
    openapi_extra=requires("data:export"),
    response_class=FileResponse,
    responses={
        200: {"content": {v: {} for v in writers.MEDIA_TYPES.values()}, "description": "The export's file"},
        409: {"description": "not done yet (or failed), with its `status`"},
    },
)
def download_export(export_id: str, principal: Auth, request: Request) -> FileResponse:
    export, path = service.export_file(unit_of_work(request), export_id=_id(export_id))
    return FileResponse(path, media_type=writers.MEDIA_TYPES[export.format], filename=export.filename)


def _id(value: str) -> uuid.UUID:
    return parse_uuid(value, "export_id")

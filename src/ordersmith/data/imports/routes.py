"""Bulk import API: upload (multipart), follow, apply, cancel, download the row errors and the templates."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response, StreamingResponse

from ordersmith.data.imports import service, templates
from ordersmith.data.imports.kinds import KINDS
from ordersmith.data.imports.schemas import AbandonIn, ApplyIn, ImportOut, Mode, RowErrorOut
from ordersmith.platform.access import Principal
from ordersmith.platform.http import authorize, get_db, get_settings, requires, unit_of_work
from ordersmith.platform.schemas import PageOut

router = APIRouter(tags=["imports"])
Auth = Annotated[Principal, Depends(authorize)]
SCOPE = "data:import"
FILE_FORMATS = {"csv": "csv", "xlsx": "xlsx"}


def _out(request: Request, found: service.Import) -> ImportOut:
    return ImportOut.of(found, unit_of_work(request).now())


@router.get("/imports/templates/{kind}", openapi_extra=requires(SCOPE), response_class=Response)
def download_template(
    kind: str, principal: Auth, request: Request, format: Literal["csv", "xlsx"] = "csv"
) -> Response:
    """The kind's columns with an example row: fill it in and upload it. Items, customers and orders have a
    `custom.<name>` column per custom field defined for them."""
    spec = service.import_spec(unit_of_work(request), kind=kind)
    return Response(
        templates.template(spec, format),
        media_type=templates.MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{kind}-template.{format}"'},
    )


@router.post("/imports", status_code=202, response_model=ImportOut, openapi_extra=requires(SCOPE))
def upload_import(
    principal: Auth,
    request: Request,
    kind: Annotated[str, Form(description=f"one of {', '.join(KINDS)}")],
    file: Annotated[UploadFile, File(description="CSV (any delimiter and encoding) or XLSX")],
    mode: Annotated[Mode, Form()] = "all_or_nothing",
    apply: Annotated[bool, Form(description="apply as soon as a clean dry run ends")] = False,
) -> ImportOut:
    """Upload a file: its dry run starts at once (as a job). Follow it with GET; apply it when it is validated."""
    settings = get_settings(request)
    found = service.upload(
        get_db(request),
        unit_of_work(request).actor,
        kind=kind,
        file_name=file.filename or "upload",
        source=file.file,
        mode=mode,
        apply=apply,
        granted=principal.scopes,
        max_bytes=settings.import_max_bytes,
        chunk_rows=settings.import_chunk_rows,
    )
    return _out(request, found)


@router.get("/imports", response_model=PageOut[ImportOut], openapi_extra=requires(SCOPE))
def list_imports(
    principal: Auth,
    request: Request,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> dict[str, object]:
    page = service.list_imports(unit_of_work(request), kind=kind, limit=limit, cursor=cursor)
    return {"items": [_out(request, i) for i in page.items], "next_cursor": page.next_cursor}


@router.get("/imports/{import_id}", response_model=ImportOut, openapi_extra=requires(SCOPE))
def get_import(import_id: uuid.UUID, principal: Auth, request: Request) -> ImportOut:
    """The import's state, its dry run's diff and counts, and its progress (rows done, rate, time left)."""
    return _out(request, service.get_import(unit_of_work(request), import_id=import_id))


@router.post(
    "/imports/{import_id}/apply", status_code=202, response_model=ImportOut, openapi_extra=requires(SCOPE)
)
def apply_import(
    import_id: uuid.UUID, principal: Auth, request: Request, body: ApplyIn | None = None
) -> ImportOut:
    """Apply a validated import (as a job): all rows, or with `apply_valid` the valid rows only."""
    found = service.request_apply(
        unit_of_work(request), import_id=import_id, mode=body.mode if body else None
    )
    return _out(request, found)


@router.post("/imports/{import_id}/cancel", response_model=ImportOut, openapi_extra=requires(SCOPE))
def cancel_import(import_id: uuid.UUID, principal: Auth, request: Request) -> ImportOut:
    """Cancel an import that is not applying yet."""
    return _out(request, service.cancel_import(unit_of_work(request), import_id=import_id))


@router.post("/imports/{import_id}/abandon", response_model=ImportOut, openapi_extra=requires(SCOPE))
def abandon_import(
    import_id: uuid.UUID, principal: Auth, request: Request, body: AbandonIn | None = None
) -> ImportOut:
    """Give up an apply that cannot finish (its job failed every attempt): the import is marked failed and frees
    its kind; the chunks committed before it stopped stay, and the import says how many rows they hold."""
    found = service.abandon_import(
        unit_of_work(request), import_id=import_id, reason=body.reason if body else ""
    )
    return _out(request, found)


@router.get(
    "/imports/{import_id}/errors",
    openapi_extra=requires(SCOPE),
    response_model=list[RowErrorOut],
    responses={200: {"content": {m: {} for m in templates.MEDIA_TYPES.values()}}},
)
def import_errors(
    import_id: uuid.UUID,
    principal: Auth,
    request: Request,
    format: Literal["json", "csv", "xlsx"] = "json",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """The rows that failed: as JSON (the first `limit`), or the whole error file (CSV or XLSX) — the rows as read
    with an `error` column, ready to correct and upload again."""
    uow = unit_of_work(request)
    found = service.get_import(uow, import_id=import_id)
    if format == "json":
        errors = service.row_errors(uow, import_id=import_id, limit=limit)
        body = [RowErrorOut(row_number=e.row_number, column=e.column, reason=e.reason) for e in errors]
        return Response(
            "[" + ",".join(e.model_dump_json() for e in body) + "]", media_type="application/json"
        )
    rows = service.error_lines(get_db(request), import_id=import_id)
    return StreamingResponse(
        templates.error_file(found.columns, rows, format),
        media_type=templates.MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="import-{import_id}-errors.{format}"'},
    )

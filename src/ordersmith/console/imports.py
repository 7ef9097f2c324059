"""Console screens for bulk imports (managers): upload a file, read its dry run (the diff and the first row errors),
apply it (all rows, or the valid ones), follow its progress live (server-sent events; a page that refreshes itself
without JavaScript), download its error file, cancel it."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from ordersmith.console._pages import check_form_csrf, principal_for, render
from ordersmith.data.imports import service as imports
from ordersmith.data.imports.kinds import KINDS
from ordersmith.data.imports.schemas import progress_of
from ordersmith.kernel.errors import NotFound, OrdersmithError
from ordersmith.platform.http import get_db, get_settings, unit_of_work

router = APIRouter(include_in_schema=False)
SCOPE = "data:import"
BUSY = ("uploaded", "validating", "applying")
POLL_S = 1.0  # how often a progress stream reads the import (one query by primary key)
KEEPALIVE_S = 15.0


def _list_page(request: Request, status: int = 200, error: str = "") -> Response:
    principal = principal_for(request, SCOPE)
    page = imports.list_imports(unit_of_work(request), limit=30)
    return render(
        request,
        "imports.html",
        principal,
        status=status,
        error=error,
        imports=page.items,
        kinds=list(KINDS),
        specs=KINDS,
    )


@router.get("/imports")
def list_page(request: Request) -> Response:
    return _list_page(request)


@router.post("/imports")
def upload(
    request: Request,
    kind: Annotated[str, Form()],
    file: Annotated[UploadFile, File()],
    mode: Annotated[str, Form()] = "all_or_nothing",
    apply: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    principal = principal_for(request, SCOPE)
    check_form_csrf(principal, csrf_token)
    settings = get_settings(request)
    try:
        found = imports.upload(
            get_db(request),
            unit_of_work(request).actor,
            kind=kind,
            file_name=file.filename or "upload",
            source=file.file,
            mode=mode,
            apply=bool(apply),
            granted=principal.scopes,
            max_bytes=settings.import_max_bytes,
            chunk_rows=settings.import_chunk_rows,
        )
    except OrdersmithError as exc:
        return _list_page(request, status=exc.status, error=exc.detail)
    return RedirectResponse(f"/imports/{found.id}", status_code=303)


def _detail_page(request: Request, import_id: str, status: int = 200, error: str = "") -> Response:
    principal = principal_for(request, SCOPE)
    uow = unit_of_work(request)
    try:
        found = imports.get_import(uow, import_id=uuid.UUID(import_id))
    except (ValueError, NotFound):
        return render(
            request, "error.html", principal, status=404, title="Not found", detail="no such import"
        )
    errors = imports.row_errors(uow, import_id=found.id, limit=20)
    return render(
        request,
        "import.html",
        principal,
        status=status,
        error=error,
        found=found,
        errors=errors,
        progress=progress_of(found, uow.now()),
        busy=found.status in BUSY,
    )


@router.get("/imports/{import_id}")
def detail(request: Request, import_id: str) -> Response:
    return _detail_page(request, import_id)


@router.get("/imports/{import_id}/progress")
async def progress_stream(request: Request, import_id: str) -> Response:
    """The import's progress as server-sent events: `progress` (status, rows done of total, rate, time left) each
    time it moves, read once a second; `done` when it is no longer busy (the page then reloads itself), and the
    stream ends. Another role, or an unknown import: as the page answers."""
    principal = principal_for(request, SCOPE)
    uow = unit_of_work(request)
    try:
        wanted = uuid.UUID(import_id)
        await anyio.to_thread.run_sync(lambda: imports.get_import(uow, import_id=wanted))
    except (ValueError, NotFound):
        return render(
            request, "error.html", principal, status=404, title="Not found", detail="no such import"
        )
    db, actor = get_db(request), uow.actor

    def read() -> dict[str, object]:
        reader = db.unit_of_work(actor)
        found = imports.get_import(reader, import_id=wanted)
        progress = progress_of(found, reader.now())
        return {"status": found.status, **progress.model_dump(), "busy": found.status in BUSY}

    async def frames() -> AsyncIterator[str]:
        last: dict[str, object] | None = None
        quiet = 0.0
        while not await request.is_disconnected():
            state = await anyio.to_thread.run_sync(read)
            if state != last:
                yield f"event: progress\ndata: {json.dumps(state)}\n\n"
                last, quiet = state, 0.0
            elif quiet >= KEEPALIVE_S:
                yield ": keep-alive\n\n"
                quiet = 0.0
            if not state["busy"]:
                yield f"event: done\ndata: {json.dumps({'status': state['status']})}\n\n"
                return
            await anyio.sleep(POLL_S)
            quiet += POLL_S

    return StreamingResponse(
        frames(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.post("/imports/{import_id}/{action}")
def act(
    request: Request,
    import_id: str,
    action: str,
    mode: Annotated[str, Form()] = "all_or_nothing",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    principal = principal_for(request, SCOPE)
    check_form_csrf(principal, csrf_token)
    uow = unit_of_work(request)
    try:
        wanted = uuid.UUID(import_id)
        if action == "apply":
            imports.request_apply(uow, import_id=wanted, mode=mode)
        elif action == "cancel":
            imports.cancel_import(uow, import_id=wanted)
        elif action == "abandon":
            imports.abandon_import(uow, import_id=wanted, reason="from the console")
        else:
            return render(
                request, "error.html", principal, status=404, title="Not found", detail="no such action"
            )
    except ValueError:
        return render(
            request, "error.html", principal, status=404, title="Not found", detail="no such import"
        )
    except OrdersmithError as exc:
        return _detail_page(request, import_id, status=exc.status, error=exc.detail)
    return RedirectResponse(f"/imports/{import_id}", status_code=303)

"""Console screens for bulk imports (managers): upload a file, read its dry run (the diff and the first row errors),
apply it (all rows, or the valid ones), follow its progress, download its error file, cancel it."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from ordersmith.console._pages import check_form_csrf, principal_for, render
from ordersmith.data.imports import service as imports
from ordersmith.data.imports.kinds import KINDS
from ordersmith.data.imports.schemas import progress_of
from ordersmith.kernel.errors import NotFound, OrdersmithError
from ordersmith.platform.http import get_db, get_settings, unit_of_work

router = APIRouter(include_in_schema=False)
SCOPE = "data:import"


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
        busy=found.status in ("uploaded", "validating", "applying"),
    )


@router.get("/imports/{import_id}")
def detail(request: Request, import_id: str) -> Response:
    return _detail_page(request, import_id)


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

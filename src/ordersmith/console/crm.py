"""The CRM screen (`crm:read`): every CRM connection (HubSpot) with its health — last success, last failure and its
error, open dead letters, records waiting, the CRM's rate limit, when the next sync is due — and each connection's
open dead letters. With `crm:write`: replay a dead letter, and sync a connection now (one run, in this request, the
CRM called with no transaction open)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.channels.crm import rules
from ordersmith.channels.crm import service as crm
from ordersmith.console._pages import check_form_csrf, principal_for, render
from ordersmith.kernel.errors import OrdersmithError
from ordersmith.platform.http import parse_uuid, unit_of_work

router = APIRouter(include_in_schema=False)


def _crm_page(request: Request, status: int = 200, error: str = "", notice: str = "") -> Response:
    principal = principal_for(request, "crm:read")
    uow = unit_of_work(request)
    now = uow.now()
    connections = crm.list_connections(uow, principal=principal, limit=200).items
    letters = {
        c.code: crm.list_crm_dead_letters(uow, code=c.code, principal=principal, limit=50).items
        for c in connections
    }
    return render(
        request,
        "crm.html",
        principal,
        status=status,
        error=error,
        notice=notice,
        connections=connections,
        letters=letters,
        rate_limits={c.code: rules.rate_limit_text(c.rate_limit, now=now) for c in connections},
    )


@router.get("/admin/crm")
def crm_page(request: Request) -> Response:
    return _crm_page(request)


@router.post("/admin/crm/dead-letters/{dead_letter_id}/replay")
def replay(request: Request, dead_letter_id: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    principal = principal_for(request, "crm:write")
    check_form_csrf(principal, csrf_token)
    try:
        crm.replay_crm_dead_letter(
            unit_of_work(request),
            dead_letter_id=parse_uuid(dead_letter_id, "dead_letter_id"),
            principal=principal,
        )
    except OrdersmithError as exc:
        return _crm_page(request, status=exc.status, error=exc.detail)
    return RedirectResponse("/admin/crm", status_code=303)


@router.post("/admin/crm/{code}/sync")
def sync_now(request: Request, code: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    principal = principal_for(request, "crm:write")
    check_form_csrf(principal, csrf_token)
    try:
        ran = crm.sync_now(unit_of_work(request), code=code, principal=principal)
    except OrdersmithError as exc:
        return _crm_page(request, status=exc.status, error=exc.detail)
    c = ran.connection
    if ran.result == "idle":
        return _crm_page(request, notice=f"{code}: nothing was waiting.")
    if ran.result == "synced":
        left = f" {c.waiting} more record(s) go with the sync job." if c.waiting else ""
        return _crm_page(request, notice=f"{code}: synced.{left}")
    if ran.result == "dead":
        return _crm_page(
            request, error=f"{code}: the CRM refused it for good ({c.last_error}): see its dead letters."
        )
    return _crm_page(request, error=f"{code}: not synced yet; the sync job tries again at the time shown.")

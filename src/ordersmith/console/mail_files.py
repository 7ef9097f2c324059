"""Console screens for mail files and matchback: the mail files as sent (a pull recorded from its page, or a CSV
in the mail file's layout uploaded here), and a mail file's page — run matchback (orders placed without a code in
the in-home window credited to the key code mailed to their customer or address; a keyed order never) and read its
results per key code, keyed and matched-back orders apart.

Forms are checked by the API's `MailFileIn` and made by the same use cases as `POST /api/v1/mail-files` and
`…/matchback`; a refusal shows the form again with the problem's reason beside the field it names (a file's row by
its line), its status, nothing stored. Reading needs `marketing:read`; writing `marketing:write` and the session's
CSRF token.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.console._forms import Refusal, file_text, posted, refused, text_rows, uploaded
from ordersmith.console._pages import principal_for, render
from ordersmith.console.extractions import pull_page
from ordersmith.kernel.errors import NotFound, OrdersmithError, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.marketing import service as marketing
from ordersmith.marketing.list_schemas import MailFileIn
from ordersmith.platform.http import unit_of_work
from ordersmith.platform.schemas import validated

router = APIRouter(include_in_schema=False)
READ, WRITE = "marketing:read", "marketing:write"
NAME_COLUMNS = ("key_code", "customer_number", "name", "line1", "postal_code", "country")
_ROW = re.compile(r"^names\.(\d+)(?:\.(\w+))?")


def _list_page(request: Request, refusal: Refusal | None = None) -> Response:
    principal = principal_for(request, READ)
    return render(
        request,
        "marketing/mail_files.html",
        principal,
        status=refusal.status if refusal else 200,
        mail_files=marketing.list_mail_files(unit_of_work(request)),
        refusal=refusal,
        can_write=principal.can(WRITE),
    )


@router.get("/mail-files")
def mail_files(request: Request) -> Response:
    return _list_page(request)


def _header(typed: dict[str, str]) -> dict[str, Any]:
    return {
        "code": typed.get("code", ""),
        "in_home_on": typed.get("in_home_on", ""),
        "window_days": typed.get("window_days", "") or 90,
        "currency": typed.get("currency", "").upper() or "USD",
    }


def _by_line(refusal: Refusal, exc: OrdersmithError) -> Refusal:
    """A file's row named as people find it: `names.3.key_code` is the file's line 5 (after the header)."""
    for error in exc.errors:
        found = _ROW.match(error.field)
        if found:
            column = f" ({found.group(2)})" if found.group(2) else ""
            said = f"line {int(found.group(1)) + 2}{column}: {error.message}"
            return replace(refusal, fields={**refusal.fields, "names_file": said})
    return refusal


@router.post("/mail-files")
async def record_mail_file(request: Request) -> Response:
    """A mail file as sent: a pull (`extraction`, from the pull's page) or an uploaded CSV of names and addresses
    with their key codes (`names_file`)."""
    _, form, typed = await posted(request, WRITE)
    if typed.get("extraction"):
        return _from_pull(request, typed)
    typed.pop("names_file", None)
    try:
        upload = uploaded(form, "names_file")
        if upload is None:
            raise ValidationFailed.on("names_file", "choose the mail file (CSV) to record")
        rows = text_rows(await file_text(upload, "names_file"), "names_file")
        body = validated(
            MailFileIn,
            {**_header(typed), "names": [{c: row.get(c, "") for c in NAME_COLUMNS} for row in rows]},
        )
        names = [marketing.MailedName(**n.model_dump()) for n in body.names]
        made = marketing.import_mail_file(
            unit_of_work(request), names=names, **body.model_dump(exclude={"names", "extraction"})
        )
    except OrdersmithError as exc:
        refusal = refused(exc, form="upload", typed=typed, names={"names": "names_file"})
        return _list_page(request, _by_line(refusal, exc))
    return RedirectResponse(f"/mail-files/{made.code}?done=recorded", status_code=303)


def _from_pull(request: Request, typed: dict[str, str]) -> Response:
    extraction = typed["extraction"]
    try:
        body = validated(MailFileIn, {**_header(typed), "extraction": extraction})
        assert body.extraction is not None
        made = marketing.mail_file_from_extraction(
            unit_of_work(request),
            extraction_id=body.extraction,
            **body.model_dump(exclude={"names", "extraction"}),
        )
    except OrdersmithError as exc:
        return pull_page(request, extraction, refused(exc, form="record", typed=typed))
    return RedirectResponse(f"/mail-files/{made.code}?done=recorded", status_code=303)


def _file_page(
    request: Request, code: str, *, status: int = 200, error: str = "", done: str = ""
) -> Response:
    principal = principal_for(request, READ)
    uow = unit_of_work(request)
    try:
        found = marketing.get_mail_file(uow, code=code)
    except NotFound as exc:
        return render(request, "error.html", principal, status=404, title="Not found", detail=exc.detail)
    results = marketing.mail_file_results(uow, code=found.code)
    zero = Money.zero(found.currency)
    return render(
        request,
        "marketing/mail_file.html",
        principal,
        status=status,
        mail_file=found,
        results=results,
        totals={
            "mailed": sum(r.mailed for r in results),
            "keyed_orders": sum(r.keyed_orders for r in results),
            "keyed_demand": sum((r.keyed_demand for r in results), zero),
            "matched_orders": sum(r.matched_orders for r in results),
            "matched_demand": sum((r.matched_demand for r in results), zero),
        },
        error=error,
        done=done,
        can_write=principal.can(WRITE),
    )


@router.get("/mail-files/{code}")
def mail_file(request: Request, code: str, done: str = "") -> Response:
    return _file_page(request, code, done=done[:200])


@router.post("/mail-files/{code}/matchback")
async def matchback(request: Request, code: str) -> Response:
    """Attribute the window's uncoded orders to the key codes mailed (`run_matchback`); again attributes only what
    no matchback has attributed yet."""
    await posted(request, WRITE)
    try:
        done = marketing.run_matchback(unit_of_work(request), code=code)
    except OrdersmithError as exc:
        return _file_page(request, code, status=exc.status, error=exc.detail)
    said = (
        f"matchback: {done.looked_at} uncoded orders looked at, {done.by_customer} matched by customer, "
        f"{done.by_address} by address"
    )
    return RedirectResponse(f"/mail-files/{done.mail_file}?done={quote(said)}", status_code=303)

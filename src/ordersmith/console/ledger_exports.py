"""Console screens for exports to accounting packages: every export made (the newest first: what went to which
package, for which period, when and by whom; an API export's pushed and refused entries), a new export of a period
for a package (`finance:export`) — it carries every entry of the period no earlier export to that package carried,
so nothing is imported twice — its file to download, and pushing an API export (QuickBooks Online, Business
Central) again.

A refused export (nothing left to export, a malformed option, an account code too long for Sage) is shown beside
the field it names, and nothing is recorded.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from ordersmith.console._books import NO_REFUSAL, Refusal, current_period, not_found, page, record_id, refusal
from ordersmith.console._pages import check_form_csrf, principal_for
from ordersmith.finance import formats
from ordersmith.finance import service as finance
from ordersmith.kernel.errors import NotFound, OrdersmithError, ValidationFailed
from ordersmith.platform.access import Principal
from ordersmith.platform.http import unit_of_work

router = APIRouter(include_in_schema=False)
PAGE = 50
FORMAT_LABELS = {
    "gl": "Generic CSV (any package, a spreadsheet)",
    "iif": "QuickBooks Desktop (IIF)",
    "xero": "Xero manual journals (CSV)",
    "sage50": "Sage 50 US — general journal (CSV)",
    "sage50-sales": "Sage 50 US — sales journal (CSV)",
    "gp-im": "Dynamics GP — Integration Manager (CSV)",
    "gp-econnect": "Dynamics GP — eConnect (XML)",
    "qbo": "QuickBooks Online (pushed through its API)",
    "bc": "Business Central (pushed through its API)",
}


def _page(
    request: Request,
    principal: Principal,
    *,
    cursor: str = "",
    refused: Refusal = NO_REFUSAL,
    typed: dict[str, str] | None = None,
) -> Response:
    uow = unit_of_work(request)
    try:
        found = finance.list_exports(uow, limit=PAGE, cursor=cursor or None)
    except OrdersmithError as exc:
        refused, found = refusal(exc), finance.list_exports(uow, limit=PAGE)
    return page(
        request,
        "books/exports.html",
        principal,
        refused=refused,
        exports=found.items,
        next_cursor=found.next_cursor,
        formats=[(f, FORMAT_LABELS.get(f, f)) for f in formats.FORMATS],
        api_formats=formats.API_FORMATS,
        typed=typed or {"period": current_period(uow.now().date()), "format": "gl", "currency": "USD"},
        may_export=principal.can("finance:export"),
        done=request.query_params.get("done", ""),
    )


@router.get("/finance/exports")
def exports(request: Request, cursor: str = "") -> Response:
    return _page(request, principal_for(request, "finance:read"), cursor=cursor)


@router.post("/finance/exports")
def create_export(
    request: Request,
    period: Annotated[str, Form()] = "",
    format: Annotated[str, Form()] = "",
    currency: Annotated[str, Form()] = "",
    summary: Annotated[str, Form()] = "",
    tax_rate: Annotated[str, Form()] = "",
    batch: Annotated[str, Form()] = "",
    first: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Record an export of a period's journal for a package; then the list, with its file to download."""
    principal = principal_for(request, "finance:export")
    check_form_csrf(principal, csrf_token)
    typed = {
        "period": period[:7],
        "format": format[:20],
        "currency": currency[:3],
        "summary": summary[:2],
        "tax_rate": tax_rate[:60],
        "batch": batch[:15],
        "first": first[:10],
    }
    try:
        if format not in formats.FORMATS:
            raise ValidationFailed.on("format", "one of " + ", ".join(formats.FORMATS))
        if first.strip() and not (first.strip().isdigit() and 1 <= int(first.strip()) <= 2_000_000_000):
            raise ValidationFailed.on("first", "a whole number from 1")
        made = finance.create_export(
            unit_of_work(request),
            period=period.strip()[:7],
            format=format,
            currency=currency.strip().upper()[:3] or None,
            summary=bool(summary),
            tax_rate=tax_rate.strip()[:60] or "Tax Exempt",
            batch=batch.strip()[:15] or None,
            first=int(first.strip()) if first.strip() else 1,
        )
    except OrdersmithError as exc:
        return _page(request, principal, refused=refusal(exc), typed=typed)
    done = f"export {made.number}: {made.entries} entries, {made.lines} lines"
    return RedirectResponse(f"/finance/exports?done={quote(done)}", status_code=303)


@router.get("/finance/exports/{ref}/file")
def export_file(request: Request, ref: str) -> Response:
    """The export's file, streamed as an attachment (the same entries however often it is downloaded)."""
    principal = principal_for(request, "finance:read")
    uow = unit_of_work(request)
    try:
        export = finance.get_export(uow, export_id=record_id(ref, "export"))
    except NotFound as exc:
        return not_found(request, principal, exc)
    return StreamingResponse(
        finance.export_file(uow, export_id=export.id),
        media_type=formats.MEDIA_TYPES[export.format],
        headers={
            "Content-Disposition": f'attachment; filename="{export.file_name}"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/finance/exports/{ref}/push")
def push(request: Request, ref: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    """Queue a push of an API export's entries not yet delivered (the worker sends them)."""
    principal = principal_for(request, "finance:export")
    check_form_csrf(principal, csrf_token)
    try:
        export = finance.queue_push(unit_of_work(request), export_id=record_id(ref, "export"))
    except OrdersmithError as exc:
        return _page(request, principal, refused=refusal(exc))
    return RedirectResponse(
        f"/finance/exports?done={quote(f'push of export {export.number} queued')}", status_code=303
    )

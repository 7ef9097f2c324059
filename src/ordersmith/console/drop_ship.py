"""Console screen for drop-ship: what waits on vendors that ship straight to our customers, by vendor (each
shipment's PO, order, ship-to and lines), a form per shipment to confirm it with the vendor's carrier and tracking
number, and the upload of a vendor's CSV that confirms many at once (every row checked first: one bad row and
nothing is confirmed, each error naming its row and column).

Handlers read the form, call one fulfillment use case and render; a refusal re-renders the page with the reason
and its status, never a 500. Writes need the session's CSRF token in the form.
"""

from __future__ import annotations

from itertools import groupby
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from ordersmith.console._pages import check_form_csrf, principal_for, render
from ordersmith.console.warehouse import act, problem
from ordersmith.fulfillment import service as fulfillment
from ordersmith.kernel.errors import FieldError, OrdersmithError, ValidationFailed
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.http import unit_of_work
from ordersmith.purchasing import service as purchasing

router = APIRouter(include_in_schema=False)
CSV_LIMIT = 2_000_000  # bytes, as the API's upload


def _page(
    request: Request,
    principal: Principal,
    *,
    vendor: str = "",
    cursor: str = "",
    status: int = 200,
    error: str = "",
    errors: list[FieldError] | None = None,
    failed: str = "",
    form: dict[str, str] | None = None,
    imported: dict[str, int] | None = None,
) -> Response:
    uow = unit_of_work(request)
    page = fulfillment.list_drop_ships(uow, vendor=vendor or None, cursor=cursor or None, limit=100)
    by_vendor = groupby(sorted(page.items, key=lambda d: (d.vendor, d.created_at)), key=lambda d: d.vendor)
    names = {v.code: v.name for v in purchasing.list_vendors(uow)}
    return render(
        request,
        "warehouse/drop_ship.html",
        principal,
        status=status,
        error=error,
        errors=errors or [],
        failed=failed,
        form=form or {},
        imported=imported,
        groups=[(code, names.get(code, code), list(rows)) for code, rows in by_vendor],
        vendors=sorted(names.items()),
        vendor=vendor,
        next_cursor=page.next_cursor,
        confirmed=request.query_params.get("confirmed", ""),
    )


@router.get("/warehouse/drop-ship")
def drop_ships(request: Request, vendor: str = "", cursor: str = "") -> Response:
    return _page(request, principal_for(request, "warehouse:read"), vendor=vendor, cursor=cursor)


@router.post("/warehouse/drop-ship/{number}/confirm")
def confirm(
    request: Request,
    number: str,
    tracking: Annotated[str, Form()] = "",
    carrier: Annotated[str, Form()] = "",
    vendor: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """The vendor shipped everything on the shipment, with this carrier and tracking number."""

    def confirm_shipped(uow: UnitOfWork) -> None:
        if len(tracking.strip()) > 60 or len(carrier.strip()) > 40:
            raise ValidationFailed.on(
                "tracking", "a tracking number of at most 60 characters, a carrier of 40"
            )
        fulfillment.confirm_drop_ship(uow, ref=number, tracking=tracking.strip(), carrier=carrier.strip())

    typed = {"tracking": tracking[:60], "carrier": carrier[:40]}
    return act(
        request,
        "fulfillment:write",
        csrf_token,
        confirm_shipped,
        then=f"/warehouse/drop-ship?confirmed={quote(number)}"
        + (f"&vendor={quote(vendor)}" if vendor else ""),
        otherwise=lambda principal, status, error: _page(
            request, principal, vendor=vendor, status=status, error=error, failed=number, form=typed
        ),
    )


@router.post("/warehouse/drop-ship/confirmations")
async def upload(request: Request) -> Response:
    """A vendor's CSV, as a file or pasted: all rows confirmed, or none (the errors listed by row and column)."""
    principal = principal_for(request, "fulfillment:write")
    form = await request.form()
    check_form_csrf(principal, str(form.get("csrf_token", "")))
    upload = form.get("csv_file")
    try:
        text = await _csv_text(upload, str(form.get("csv_text", "")))
        counts = fulfillment.import_drop_ship_confirmations(unit_of_work(request), csv_text=text)
    except OrdersmithError as exc:
        status, detail = problem(exc)
        errors = list(exc.errors) if isinstance(exc, ValidationFailed) else []
        pasted = str(form.get("csv_text", ""))[:CSV_LIMIT]
        return _page(
            request, principal, status=status, error=detail, errors=errors, form={"csv_text": pasted}
        )
    return _page(request, principal, imported=counts)


async def _csv_text(upload: Any, pasted: str) -> str:
    """The uploaded file's text (else the pasted text), UTF-8 and at most CSV_LIMIT bytes."""
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read(CSV_LIMIT + 1)
        if len(raw) > CSV_LIMIT:
            raise ValidationFailed.on("csv", f"at most {CSV_LIMIT:,} bytes")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed.on("csv", "the file is not UTF-8 text (save it as CSV UTF-8)") from None
    if not pasted.strip():
        raise ValidationFailed.on("csv", "choose the vendor's CSV file, or paste its rows")
    if len(pasted.encode()) > CSV_LIMIT:
        raise ValidationFailed.on("csv", f"at most {CSV_LIMIT:,} bytes")
    return pasted

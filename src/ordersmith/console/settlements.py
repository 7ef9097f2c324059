"""Console screens for settlement reconciliation: the processors' payouts imported (the latest first, with how many
of their lines matched and how many a person must look at), one settlement with its lines — the differences
(unmatched, amount differs, other) first, or every line — and importing a file (`finance:write`): a Stripe payout's
itemized reconciliation report (CSV) or an Authorize.Net settled batch (JSON, with its batch id and currency).

An import is all or nothing: a file that cannot be read is shown with the row and column at fault and nothing is
written; a file imported before is refused (409) as the API refuses it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from ordersmith.console._books import NO_REFUSAL, Refusal, not_found, page, ref, refusal
from ordersmith.console._pages import check_form_csrf, principal_for
from ordersmith.finance import service as finance
from ordersmith.kernel.errors import NotFound, OrdersmithError, ValidationFailed
from ordersmith.platform.access import Principal
from ordersmith.platform.http import unit_of_work

router = APIRouter(include_in_schema=False)
LISTED = 50
FILE_LIMIT = 20_000_000  # bytes: a payout's report of a few hundred thousand lines
PROCESSORS = (
    ("stripe", "Stripe — payout reconciliation report, itemized (CSV)"),
    ("authorize_net", "Authorize.Net — settled batch, getTransactionListResponse (JSON)"),
)


def _list_page(
    request: Request,
    principal: Principal,
    *,
    refused: Refusal = NO_REFUSAL,
    typed: dict[str, str] | None = None,
) -> Response:
    uow = unit_of_work(request)
    return page(
        request,
        "books/settlements.html",
        principal,
        refused=refused,
        settlements=finance.list_settlements(uow, limit=LISTED),
        processors=PROCESSORS,
        typed=typed or {"processor": "stripe"},
        may_import=principal.can("finance:write"),
    )


@router.get("/finance/settlements")
def settlements(request: Request) -> Response:
    return _list_page(request, principal_for(request, "finance:read"))


@router.post("/finance/settlements")
async def import_settlement(request: Request) -> Response:
    """Import a settlement file: each line matched, the payout and its fees posted; then its page."""
    principal = principal_for(request, "finance:write")
    form = await request.form()
    check_form_csrf(principal, str(form.get("csrf_token", "")))
    fields = {k: str(form.get(k, ""))[:100] for k in ("processor", "batch_id", "currency")}
    try:
        processor, data, name = await _upload(form.get("file"), fields["processor"])
        made = finance.import_settlement(
            unit_of_work(request),
            processor=processor,
            file_name=name,
            data=data,
            batch_id=fields["batch_id"].strip() or None,
            currency=fields["currency"].strip().upper() or None,
        )
    except OrdersmithError as exc:
        return _list_page(request, principal, refused=refusal(exc), typed=fields)
    return RedirectResponse(f"/finance/settlements/{made.number}?imported=1", status_code=303)


async def _upload(upload: Any, processor: str) -> tuple[str, bytes, str]:
    if processor not in {code for code, _ in PROCESSORS}:
        raise ValidationFailed.on("processor", "stripe or authorize_net")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ValidationFailed.on("file", "choose the processor's settlement file")
    data = await upload.read(FILE_LIMIT + 1)
    if len(data) > FILE_LIMIT:
        raise ValidationFailed.on("file", f"at most {FILE_LIMIT:,} bytes")
    return processor, data, upload.filename[:200]


@router.get("/finance/settlements/{number}")
def settlement(request: Request, number: str, lines: str = "differences") -> Response:
    principal = principal_for(request, "finance:read")
    uow = unit_of_work(request)
    shown = "all" if lines == "all" else "differences"
    try:
        found = finance.get_settlement(
            uow, ref=ref(number, "settlement"), status=None if shown == "all" else "differences"
        )
    except NotFound as exc:
        return not_found(request, principal, exc)
    return page(
        request,
        "books/settlement.html",
        principal,
        settlement=found,
        shown=shown,
        imported=bool(request.query_params.get("imported")),
    )

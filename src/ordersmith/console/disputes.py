"""Console screen for card disputes (ADR 0040): every dispute newest first (or those of one status), a dispute
opened by hand — one the processor reported by letter or on its dashboard — and an open dispute's outcome.

Scopes are the API's: reading `finance:read` (`GET /api/v1/disputes`), opening and deciding `disputes:decide`
(`POST /api/v1/disputes`, `…/{number}/outcome`), checked by the API's input models (`DisputeIn`,
`DisputeOutcomeIn`) and made by the same use cases: opened once, posted as a webhook-opened dispute. A refusal
shows the form it came from again with what was typed, the reason and each field's message beside it; nothing
is written.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.console._books import NO_REFUSAL, Refusal, page, ref, refusal
from ordersmith.console._forms import posted
from ordersmith.console._pages import principal_for
from ordersmith.finance import service as finance
from ordersmith.finance.dispute_schemas import DisputeIn, DisputeOutcomeIn
from ordersmith.kernel.errors import OrdersmithError
from ordersmith.platform.http import unit_of_work
from ordersmith.platform.schemas import money_in, validated

router = APIRouter(include_in_schema=False)
READ, DECIDE = "finance:read", "disputes:decide"
SHOWN = 100
STATUSES = ("open", "won", "lost")
PROCESSORS = ("stripe", "authorizenet", "sandbox")
# The API's field paths → the form's inputs.
INPUTS = {"amount.amount": "amount", "amount.currency": "currency"}


def _page(
    request: Request,
    *,
    refused: Refusal = NO_REFUSAL,
    failed: str = "",
    typed: dict[str, str] | None = None,
) -> Response:
    principal = principal_for(request, READ)
    status = request.query_params.get("status", "")
    found = finance.list_disputes(
        unit_of_work(request), status=status if status in STATUSES else None, limit=SHOWN
    )
    return page(
        request,
        "books/disputes.html",
        principal,
        refused=refused,
        clean=NO_REFUSAL,
        failed=failed,
        disputes=found.items,
        more=found.next_cursor is not None,
        chosen=status,
        statuses=STATUSES,
        processors=PROCESSORS,
        typed=typed or {"processor": "stripe", "currency": "USD", "fee": "0.00"},
        may_decide=principal.can(DECIDE),
        done=request.query_params.get("done", "")[:200],
    )


@router.get("/finance/disputes")
def disputes(request: Request) -> Response:
    return _page(request)


@router.post("/finance/disputes")
async def open_dispute(request: Request) -> Response:
    """Open a dispute by hand (`DisputeIn`, `open_dispute_by_hand`)."""
    _, _, typed = await posted(request, DECIDE)
    currency = typed.get("currency", "").upper()
    try:
        body = validated(
            DisputeIn,
            {
                "processor": typed.get("processor", ""),
                "reference": typed.get("reference", ""),
                "capture_reference": typed.get("capture_reference", ""),
                "amount": {"amount": typed.get("amount", ""), "currency": currency},
                "fee": typed.get("fee", "") or "0.00",
                "reason": typed.get("reason", ""),
            },
        )
        amount = body.amount.to_money()
        opened = finance.open_dispute_by_hand(
            unit_of_work(request),
            processor=body.processor,
            reference=body.reference,
            capture_reference=body.capture_reference,
            amount=amount,
            fee=money_in(body.fee, amount.currency, field="fee"),
            reason=body.reason,
        )
    except OrdersmithError as exc:
        found = refusal(exc)
        fields = {INPUTS.get(k, k): v for k, v in found.fields.items()}
        return _page(request, refused=Refusal(found.status, found.detail, fields), failed="open", typed=typed)
    return RedirectResponse(f"/finance/disputes?done={quote(f'{opened.number} opened')}", status_code=303)


@router.post("/finance/disputes/{number}/outcome")
async def outcome(request: Request, number: str) -> Response:
    """Record an open dispute's outcome at the version the page showed (`DisputeOutcomeIn`)."""
    _, _, typed = await posted(request, DECIDE)
    uow = unit_of_work(request)
    try:
        body = validated(
            DisputeOutcomeIn,
            {
                "outcome": typed.get("outcome", ""),
                "fee_returned": typed.get("fee_returned") or None,
                "note": typed.get("note", ""),
            },
        )
        dispute = finance.get_dispute(uow, ref=ref(number, "dispute"))
        fee = (
            None
            if body.fee_returned is None
            else money_in(body.fee_returned, dispute.currency, field="fee_returned")
        )
        version = int(typed["version"]) if typed.get("version", "").isdigit() else None
        decided = finance.record_dispute_outcome(
            uow,
            ref=dispute.number,
            outcome=body.outcome,
            fee_returned=fee,
            note=body.note,
            expected_version=version,
        )
    except OrdersmithError as exc:
        return _page(request, refused=refusal(exc), failed=f"outcome-{number[:40]}", typed=typed)
    return RedirectResponse(
        f"/finance/disputes?done={quote(f'{decided.number} {decided.status}')}", status_code=303
    )

"""Console screen for accounts payable: the three-way-match exception queue. Each vendor bill that failed its match
waits here, the oldest first, with the reasons (the line, what was billed, ordered and received); the bill's lines
against its PO; and the decisions: match again (after more goods arrived, `payables:write`), accept as it is or
reject (an override: `payables:override`, always with a note).

Handlers read the form, call one finance use case and render; a refusal (someone decided first, the bill changed)
re-renders the queue with the reason and its status, never a 500. Writes need the session's CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from ordersmith.console._pages import principal_for, render
from ordersmith.console.warehouse import act
from ordersmith.finance import service as finance
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.http import unit_of_work

router = APIRouter(include_in_schema=False)
_QUEUE_LIMIT = 100


def _queue(
    request: Request,
    principal: Principal,
    *,
    vendor: str = "",
    status: int = 200,
    error: str = "",
    failed: str = "",
    note: str = "",
) -> Response:
    uow = unit_of_work(request)
    page = finance.list_match_exceptions(uow, vendor=vendor or None, limit=_QUEUE_LIMIT)
    bills = {e.bill: finance.get_vendor_bill(uow, ref=e.bill) for e in page.items}
    return render(
        request,
        "payables/exceptions.html",
        principal,
        status=status,
        queue=page.items,
        bills=bills,
        more=page.next_cursor is not None,
        vendor=vendor,
        now=uow.now(),
        error=error,
        failed=failed,
        note=note,
        may_decide=principal.can("payables:override"),
        may_rematch=principal.can("payables:write"),
        done=request.query_params.get("done", ""),
    )


@router.get("/payables/exceptions")
def exceptions(request: Request, vendor: str = "") -> Response:
    return _queue(request, principal_for(request, "payables:read"), vendor=vendor.strip()[:40])


def _decide(
    request: Request,
    number: str,
    scope: str,
    csrf_token: str,
    note: str,
    decide: Callable[[UnitOfWork, str], object],
    verb: str,
) -> Response:
    def run(uow: UnitOfWork) -> None:
        decide(uow, number)

    return act(
        request,
        scope,
        csrf_token,
        run,
        then=f"/payables/exceptions?done={quote(f'{number} {verb}')}",
        otherwise=lambda principal, status, error: _queue(
            request, principal, status=status, error=error, failed=number, note=note[:500]
        ),
    )


def _note(note: str) -> str:
    if not note.strip():
        raise ValidationFailed.on("note", "say why (it is kept with the bill and in the audit log)")
    return note


@router.post("/payables/exceptions/{number}/accept")
def accept(
    request: Request,
    number: str,
    note: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Accept the bill as it is (an override): it becomes matched and may be approved for payment."""
    expected = int(version) if version.isdigit() else None
    return _decide(
        request,
        number,
        "payables:override",
        csrf_token,
        note,
        lambda uow, ref: finance.accept_exception(uow, ref=ref, note=_note(note), version=expected),
        "accepted",
    )


@router.post("/payables/exceptions/{number}/reject")
def reject(
    request: Request,
    number: str,
    note: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Reject the bill: it will never be paid, and its units no longer count as billed on the PO."""
    expected = int(version) if version.isdigit() else None
    return _decide(
        request,
        number,
        "payables:override",
        csrf_token,
        note,
        lambda uow, ref: finance.reject_vendor_bill(uow, ref=ref, note=_note(note), version=expected),
        "rejected",
    )


@router.post("/payables/exceptions/{number}/match")
def rematch(request: Request, number: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    """Match the bill again (more goods received, the PO corrected, tolerances changed)."""

    return _decide(
        request,
        number,
        "payables:write",
        csrf_token,
        "",
        lambda uow, ref: finance.rematch_vendor_bill(uow, ref=ref),
        "matched again",
    )

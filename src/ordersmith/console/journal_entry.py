"""Console screen for a manual journal entry: the day, currency, memo and reference, optionally a division and a
sales channel, and up to `ROWS` lines (an account and a debit or a credit each); posted by the same use case and
checked by the same input model as `POST /api/v1/journal` (`finance:write`): balanced, on active accounts, in an open
period. Rows left empty are not lines. A refusal shows the form again with what was typed, the problem's detail
and each field's message beside it (`lines.2.credit`), and nothing is posted. Reversal is on the entry's page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.console._books import NO_REFUSAL, Refusal, page, refusal
from ordersmith.console._forms import posted
from ordersmith.console._pages import principal_for
from ordersmith.finance import service as finance
from ordersmith.finance.schemas import EntryIn
from ordersmith.kernel.errors import OrdersmithError
from ordersmith.platform.http import unit_of_work
from ordersmith.platform.schemas import money_in, validated

router = APIRouter(include_in_schema=False)
WRITE = "finance:write"
ROWS = 8  # lines on the form; an entry with more is posted through the API or an import
_LINE_INPUTS = ("account_code", "debit", "credit", "memo")


def _form(
    request: Request, *, refused: Refusal = NO_REFUSAL, typed: dict[str, str] | None = None
) -> Response:
    principal = principal_for(request, WRITE)
    uow = unit_of_work(request)
    return page(
        request,
        "books/new_entry.html",
        principal,
        refused=refused,
        accounts=[a for a in finance.list_accounts(uow) if a.active],
        rows=range(ROWS),
        typed=typed or {"posted_on": uow.now().date().isoformat(), "currency": "USD"},
    )


@router.get("/finance/journal/new")
def new_entry(request: Request) -> Response:
    return _form(request)


def _lines(typed: dict[str, str]) -> list[dict[str, Any]]:
    """The rows something was typed in, as the API's `lines` (keeping their row numbers for the refusal)."""
    lines = []
    for n in range(ROWS):
        row = {name: typed.get(f"lines.{n}.{name}", "") for name in _LINE_INPUTS}
        if any(row.values()):
            lines.append({**row, "debit": row["debit"] or None, "credit": row["credit"] or None, "row": n})
    return lines


@router.post("/finance/journal/new")
async def post_entry(request: Request) -> Response:
    """Post the entry (`EntryIn`, `post_manual_entry`) and open it; a refusal names the row and field."""
    _, _, typed = await posted(request, WRITE)
    rows = _lines(typed)
    try:
        body = validated(
            EntryIn,
            {
                "posted_on": typed.get("posted_on", ""),
                "currency": typed.get("currency", "").upper(),
                "memo": typed.get("memo", ""),
                "reference": typed.get("reference", ""),
                "division": typed.get("division") or None,
                "channel": typed.get("channel") or None,
                "lines": [{k: v for k, v in r.items() if k != "row"} for r in rows],
            },
        )
        lines = [
            finance.ManualLine(
                account_code=line.account_code,
                debit=money_in(line.debit, body.currency, field=f"lines.{n}.debit") if line.debit else None,
                credit=money_in(line.credit, body.currency, field=f"lines.{n}.credit")
                if line.credit
                else None,
                memo=line.memo,
            )
            for n, line in enumerate(body.lines)
        ]
        entry = finance.post_manual_entry(
            unit_of_work(request),
            posted_on=body.posted_on,
            currency=body.currency,
            lines=lines,
            memo=body.memo,
            reference=body.reference,
            division=body.division,
            channel=body.channel,
        )
    except OrdersmithError as exc:
        return _form(request, refused=_on_rows(refusal(exc), rows), typed=typed)
    return RedirectResponse(f"/finance/journal/{entry.id}?posted=1", status_code=303)


def _on_rows(refused: Refusal, rows: list[dict[str, Any]]) -> Refusal:
    """The refusal with each `lines.N…` field renamed to the form row it came from (empty rows are skipped, so the
    API's line N is the form's row `rows[N]["row"]`)."""
    fields: dict[str, str] = {}
    for name, message in refused.fields.items():
        parts = name.split(".")
        if parts[0] == "lines" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(rows):
            parts[1] = str(rows[int(parts[1])]["row"])
        fields.setdefault(".".join(parts), message)
    return Refusal(refused.status, refused.detail, fields)

"""Console screen for dunning: the letters a run on a day would send (each past-due customer, the stage their
oldest past-due invoice calls for, what it asks — and the letter itself), the run (`receivables:write`, as
`POST /api/v1/ar/dunning-runs`: each customer dunned once per stage and day), and who was dunned, newest first.

Reading needs `finance:read`. The run's form is checked by the API's input model (`DunningRunIn`); a refusal shows
it again with the field's message beside it, and nothing is recorded.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.console._books import NO_REFUSAL, Refusal, day, page, refusal
from ordersmith.console._forms import posted
from ordersmith.console._pages import principal_for
from ordersmith.finance import service as finance
from ordersmith.finance.dunning_schemas import DunningRunIn
from ordersmith.kernel.errors import OrdersmithError
from ordersmith.platform.http import unit_of_work
from ordersmith.platform.schemas import validated

router = APIRouter(include_in_schema=False)
READ, WRITE = "finance:read", "receivables:write"
SHOWN = 100
STAGES = {"reminder": "reminder", "second_notice": "second notice", "final_notice": "final notice"}


def _page(request: Request, as_of: str, *, refused: Refusal = NO_REFUSAL, letter: str = "") -> Response:
    principal = principal_for(request, READ)
    uow = unit_of_work(request)
    due: list[finance.DunningDue] = []
    when = uow.now().date()
    try:
        when = day(as_of, "as_of") or when
        due = finance.preview_dunning(uow, as_of=when, retailer=request.app.state.settings.retailer_name)
    except OrdersmithError as exc:
        refused = refused or refusal(exc)
    sent = finance.list_dunning_letters(uow, limit=SHOWN)
    return page(
        request,
        "books/dunning.html",
        principal,
        refused=refused,
        as_of=as_of[:10] or when.isoformat(),
        due=due,
        shown=next((d for d in due if d.customer_number == letter), None),
        sent=sent.items,
        more=sent.next_cursor is not None,
        stages=STAGES,
        may_run=principal.can(WRITE),
        done=request.query_params.get("done", "")[:200],
    )


@router.get("/finance/dunning")
def dunning(request: Request, as_of: str = "", letter: str = "") -> Response:
    return _page(request, as_of, letter=letter.strip().upper()[:40])


@router.post("/finance/dunning")
async def run(request: Request) -> Response:
    """Run dunning for the day (`DunningRunIn`, `run_dunning`)."""
    _, _, typed = await posted(request, WRITE)
    try:
        body = validated(DunningRunIn, {"as_of": typed.get("as_of") or None})
        uow = unit_of_work(request)
        done = finance.run_dunning(
            uow, as_of=body.as_of or uow.now().date(), retailer=request.app.state.settings.retailer_name
        )
    except OrdersmithError as exc:
        return _page(request, typed.get("as_of", ""), refused=refusal(exc))
    said = f"{len(done.sent)} dunned on {done.as_of}" + (
        f"; {len(done.already)} had this letter already" if done.already else ""
    )
    return RedirectResponse(f"/finance/dunning?as_of={done.as_of}&done={quote(said)}#sent", status_code=303)

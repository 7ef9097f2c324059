"""Console screen for segments: the stored segments with their live counts, and an editor whose count follows the
rules as they are typed (the page's script posts the unsaved definition to `POST /api/v1/segments/count`, which
stores nothing). Saving posts the form: the rules are checked by the same use case as the API's, and a refusal
re-renders the page naming the part of the rules that is wrong (nothing stored). Beside the editor, a reference of
every rule field with its operators and values (from the rules' own checks) and the active category codes.

Reading needs `marketing:read`; saving needs `marketing:write` and the session's CSRF token.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.catalog import service as catalog
from ordersmith.console import categories
from ordersmith.console._pages import check_form_csrf, principal_for, render
from ordersmith.kernel.errors import NotFound, OrdersmithError, ValidationFailed
from ordersmith.marketing import lists
from ordersmith.marketing import service as marketing
from ordersmith.marketing.list_schemas import SegmentIn
from ordersmith.platform.http import unit_of_work
from ordersmith.platform.schemas import validated

router = APIRouter(include_in_schema=False)
SCOPE = "marketing:read"
SHOWN = 200
EXAMPLE: dict[str, Any] = {
    "all": [
        {"field": "rfm_cell", "op": "in", "value": ["555", "554", "545"]},
        {"field": "country", "op": "in", "value": ["US"]},
        {"not": {"field": "last_order", "op": "within_days", "value": 30}},
    ]
}
# Each rule field with its operators and what each takes, as the rules' own checks say it: every check refuses no
# value with what it wants ("must be a list of 1 to 500 codes").
RULE_FIELDS = [
    (name, [(op, (check(None) or "").removeprefix("must be ")) for op, check in operators.items()])
    for name, operators in lists.FIELDS.items()
]


def _page(
    request: Request,
    *,
    editing: dict[str, str] | None = None,
    status: int = 200,
    error: str = "",
    done: str = "",
) -> Response:
    principal = principal_for(request, SCOPE)
    uow = unit_of_work(request)
    segments = marketing.list_segments(uow, limit=SHOWN).items
    tree = catalog.list_categories(uow)
    trails = categories.trails(tree)
    return render(
        request,
        "segments.html",
        principal,
        status=status,
        error=error,
        done=done,
        segments=segments,
        editing=editing
        or {"code": "", "name": "", "currency": "USD", "rules": json.dumps(EXAMPLE, indent=2)},
        can_write=principal.can("marketing:write"),
        rule_fields=RULE_FIELDS,
        categories=[(c.code, trails[c.code]) for c in tree if c.active],
    )


@router.get("/segments")
def segments(request: Request, edit: str = "", done: str = "") -> Response:
    editing = None
    if edit:
        try:
            found = marketing.get_segment(unit_of_work(request), code=edit)
        except NotFound:
            return _page(request, status=404, error=f"no segment {edit!r}")
        editing = {
            "code": found.code,
            "name": found.name,
            "currency": found.currency,
            "rules": json.dumps(found.rules, indent=2),
        }
    return _page(request, editing=editing, done=done)


@router.post("/segments")
async def save_segment(request: Request) -> Response:
    principal = principal_for(request, "marketing:write")
    form = {key: str(value) for key, value in (await request.form()).items()}
    check_form_csrf(principal, form.get("csrf_token", ""))
    editing = {k: form.get(k, "") for k in ("code", "name", "currency", "rules")}
    try:
        try:
            rules = json.loads(editing["rules"])
        except ValueError as exc:
            raise ValidationFailed.on("rules", f"not JSON: {exc}") from None
        body = validated(SegmentIn, {**editing, "rules": rules, "currency": editing["currency"] or "USD"})
        uow = unit_of_work(request)
        try:
            marketing.get_segment(uow, code=body.code)
            marketing.update_segment(
                uow, code=body.code, name=body.name, rules=body.rules, currency=body.currency
            )
        except NotFound:
            marketing.create_segment(uow, **body.model_dump())
    except OrdersmithError as exc:
        return _page(request, editing=editing, status=exc.status, error=exc.detail)
    return RedirectResponse(f"/segments?edit={body.code.upper()}&done=segment+saved", status_code=303)

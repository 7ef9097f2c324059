"""Console screens for list pulls (extractions): pick a segment, the suppressions (do-not-mail, recent buyers, a
suppression file uploaded as CSV, one name per household) and the key-coded cells with their test/control split;
count the funnel first (a preview: nothing stored), then pull — and, on the pull's page, its funnel, its cells and
the mail file as CSV or XLSX, and a form to record it as the mail file sent (for matchback).

A pull is checked by the API's `ExtractionIn` and made by the same use case as `POST /api/v1/extractions`; a
refusal shows the form again with what was typed (the suppression file too), the problem's reason and each field it
names, nothing stored. The download is the API's own `GET /api/v1/extractions/{id}/download`, which takes the
session. Reading needs `marketing:read`; counting, pulling and downloading `marketing:write` (a pull's names and
addresses are personal data) and the session's CSRF token.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from ordersmith.console._forms import Refusal, file_text, posted, refused, text_rows, uploaded
from ordersmith.console._pages import principal_for, render
from ordersmith.kernel.errors import NotFound, OrdersmithError, ValidationFailed
from ordersmith.marketing import service as marketing
from ordersmith.marketing.list_schemas import ExtractionIn
from ordersmith.platform.http import unit_of_work
from ordersmith.platform.schemas import validated

router = APIRouter(include_in_schema=False)
READ, WRITE = "marketing:read", "marketing:write"
CELL_ROWS = 4  # cells on the form: a test/control split, or a few test cells and a control
PULLS_SHOWN = 30
CHOICES_SHOWN = 200  # segments and key codes offered on the form (the API takes any)
SUPPRESSION_COLUMNS = ("name", "line1", "postal_code", "country", "email")
# What each step of the funnel leaves out, as the page says it.
STEPS = {
    "selected": "in the segment",
    "do_not_mail": "said no to mail",
    "deceased": "reported deceased",
    "undeliverable": "mail came back undeliverable",
    "recent_buyers": "bought recently",
    "no_address": "no mailing address",
    "suppression_file": "in the suppression file",
    "household": "another name at the same household",
}
DEFAULTS = {"seed": "0", "households": "on", "do_not_mail": "on", "cell-0-percent": "100"}


def _form_page(
    request: Request,
    *,
    typed: dict[str, str] | None = None,
    preview: marketing.Extraction | None = None,
    refusal: Refusal | None = None,
) -> Response:
    principal = principal_for(request, READ)
    uow = unit_of_work(request)
    return render(
        request,
        "marketing/extractions.html",
        principal,
        status=refusal.status if refusal else 200,
        pulls=marketing.list_extractions(uow, limit=PULLS_SHOWN).items,
        segments=marketing.list_segments(uow, limit=CHOICES_SHOWN).items,
        key_codes=[c.code for c in marketing.list_source_codes(uow, limit=CHOICES_SHOWN).items],
        typed=refusal.typed if refusal else (typed or DEFAULTS),
        rows=range(CELL_ROWS),
        steps=STEPS,
        preview=preview,
        refusal=refusal,
        can_write=principal.can(WRITE),
    )


@router.get("/extractions")
def extractions(request: Request, segment: str = "") -> Response:
    return _form_page(request, typed={**DEFAULTS, "segment": segment.strip().upper()[:40]})


async def _suppressions(form: FormData, typed: dict[str, str]) -> list[dict[str, str]]:
    """The suppression file's rows: a file chosen now, else the one carried from the last count (its text rides
    along in the form so that pulling uses exactly the file counted)."""
    if typed.pop("forget_suppression_file", "") == "on":
        typed.pop("suppression_csv", None)
        typed.pop("suppression_name", None)
    upload = uploaded(form, "suppression_file")
    if upload is not None:
        typed["suppression_csv"] = await file_text(upload, "suppression_file")
        typed["suppression_name"] = (upload.filename or "")[:200]
    if not typed.get("suppression_csv"):
        return []
    rows = text_rows(typed["suppression_csv"], "suppression_file")
    if not rows:
        raise ValidationFailed.on("suppression_file", "has no rows under its header")
    return [{column: row.get(column, "") for column in SUPPRESSION_COLUMNS} for row in rows]


def _cells(typed: dict[str, str]) -> tuple[list[dict[str, str]], dict[str, str]]:
    """The cells typed (rows left empty skipped) and where the API's `cells.N…` errors go on the form."""
    cells: list[dict[str, str]] = []
    names: dict[str, str] = {}
    for row in range(CELL_ROWS):
        code, percent = typed.get(f"cell-{row}-key_code", ""), typed.get(f"cell-{row}-percent", "")
        if not (code or (percent and row > 0)):
            continue
        n = len(cells)
        names[f"cells.{n}"] = names[f"cells.{n}.key_code"] = f"cell-{row}-key_code"
        names[f"cells.{n}.percent"] = f"cell-{row}-percent"
        cells.append({"key_code": code, "percent": percent})
    names["cells"] = names.get("cells.0.percent", "cell-0-key_code")
    return cells, names


INPUTS = {
    "suppress.do_not_mail": "do_not_mail",
    "suppress.recent_buyers_days": "recent_buyers_days",
    "suppress.file": "suppression_file",
}


@router.post("/extractions")
async def pull(request: Request) -> Response:
    """Count the funnel (`action=preview`: nothing stored) or pull the names (`action=pull`)."""
    _, form, typed = await posted(request, WRITE)
    typed.pop("suppression_file", None)
    for box in ("households", "do_not_mail"):
        typed.setdefault(box, "")
    cells, names = _cells(typed)
    try:
        body = validated(
            ExtractionIn,
            {
                "segment": typed.get("segment", ""),
                "cells": cells,
                "seed": typed.get("seed", "") or 0,
                "households": typed["households"] == "on",
                "suppress": {
                    "do_not_mail": typed["do_not_mail"] == "on",
                    "recent_buyers_days": typed.get("recent_buyers_days") or None,
                    "file": await _suppressions(form, typed),
                },
            },
        )
        made = marketing.extract(
            unit_of_work(request), preview=typed.get("action") != "pull", **_arguments(body)
        )
    except OrdersmithError as exc:
        return _form_page(request, refusal=refused(exc, form="pull", typed=typed, names=INPUTS | names))
    if made.id is None:
        return _form_page(request, typed=typed, preview=made)
    return RedirectResponse(f"/extractions/{made.id}?done=pulled", status_code=303)


def _arguments(body: ExtractionIn) -> dict[str, Any]:
    return {
        "segment": body.segment,
        "cells": [marketing.Cell(c.key_code, c.percent) for c in body.cells],
        "seed": body.seed,
        "households": body.households,
        "suppress": marketing.Suppressions(
            do_not_mail=body.suppress.do_not_mail,
            recent_buyers_days=body.suppress.recent_buyers_days,
            file=[marketing.SuppressionEntry(**e.model_dump()) for e in body.suppress.file],
        ),
    }


def pull_page(
    request: Request, extraction_id: str, refusal: Refusal | None = None, done: str = ""
) -> Response:
    """A pull's page: its funnel, cells and downloads, and the form that records it as the mail file sent."""
    principal = principal_for(request, READ)
    try:
        found = marketing.get_extraction(unit_of_work(request), extraction_id=uuid.UUID(extraction_id))
    except (ValueError, NotFound):
        return render(
            request, "error.html", principal, status=404, title="Not found", detail="There is no such pull."
        )
    return render(
        request,
        "marketing/extraction.html",
        principal,
        status=refusal.status if refusal else 200,
        pull=found,
        steps=STEPS,
        refusal=refusal,
        done=done,
        can_write=principal.can(WRITE),
    )


@router.get("/extractions/{extraction_id}")
def extraction(request: Request, extraction_id: str, done: str = "") -> Response:
    return pull_page(request, extraction_id, done=done[:200])

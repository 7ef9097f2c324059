"""Console screens for reports and exports: the report catalogue; a report with its parameter form, table, chart
(an `<img>` of the API's SVG, so the page's strict policy stays as it is) and CSV/XLSX downloads; exports asked
for, listed and downloaded. Downloads and charts are the API's own routes, which take the console session."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.console._pages import check_form_csrf, money, principal_for, render
from ordersmith.data.exports import service as exports
from ordersmith.data.exports.kinds import FORMATS, KINDS
from ordersmith.kernel.errors import AlreadyExists, NotFound, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.platform.access import Principal
from ordersmith.platform.http import get_settings, reports_unit_of_work, unit_of_work
from ordersmith.platform.schemas import validated
from ordersmith.reporting import render as report_render
from ordersmith.reporting import service as reports
from ordersmith.reporting.rules import PERIODS, ReportResult
from ordersmith.reporting.schemas import SavedReportIn

router = APIRouter(include_in_schema=False)


@router.get("/reports")
def catalogue(request: Request) -> Response:
    principal = principal_for(request, "reports:read")
    return render(
        request,
        "reports.html",
        principal,
        reports=reports.list_reports(),
        saved=reports.list_saved_reports(unit_of_work(request)),
        just_saved=request.query_params.get("saved", ""),
    )


def report_cells(result: ReportResult) -> list[list[str]]:
    """A report's rows as the page shows them: money as people read it, every other value as its CSV has it."""
    rows = []
    for row in result.rows:
        cells = []
        for column in result.spec.columns:
            value = row[column.name]
            if isinstance(value, Money):
                cells.append(money(value))
            else:
                shown = report_render.cell(column, value)
                cells.append("" if shown is None else str(shown))
        rows.append(cells)
    return rows


@router.get("/reports/{name}")
def report(name: str, request: Request) -> Response:
    principal = principal_for(request, "reports:read")
    raw = {key: value for key, value in request.query_params.items() if value}
    return _report_page(request, principal, name, raw)


def _report_page(
    request: Request,
    principal: Principal,
    name: str,
    raw: dict[str, str],
    *,
    status: int = 200,
    save_error: str | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    try:
        spec = reports.get_report(name)
    except NotFound:
        return render(
            request,
            "error.html",
            principal,
            status=404,
            title="Not found",
            detail=f"There is no report named {name!r}.",
        )
    error, result = None, None
    try:
        result = reports.run_report(reports_unit_of_work(request), name=name, parameters=raw)
    except ValidationFailed as exc:
        error = exc.detail
    values: dict[str, Any] = dict(result.parameters) if result else dict(raw)
    query = urlencode(
        {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in values.items() if v is not None}
    )
    return render(
        request,
        "report.html",
        principal,
        status=status,
        spec=spec,
        values={
            k: (v.isoformat() if hasattr(v, "isoformat") else ("" if v is None else v))
            for k, v in values.items()
        },
        given=raw,
        result=result,
        rows=report_cells(result) if result else [],
        error=error,
        api=f"/api/v1/reports/{name}?{query}",
        description=report_render.describe(result) if result else "",
        periods=[p for p in PERIODS if p],
        save_error=save_error,
        typed=typed or {},
    )


@router.post("/reports/{name}/save")
async def save_report(name: str, request: Request) -> Response:
    """Save the report with the parameters it was run with (`param.NAME` fields), optionally e-mailed daily or
    weekly: the API's `SavedReportIn` checks the form, as `POST /api/v1/saved-reports` does. A refusal shows the
    report again with the reason naming the field, and saves nothing."""
    principal = principal_for(request, "reports:schedule")
    form = await request.form()
    check_form_csrf(principal, str(form.get("csrf_token", "")))
    typed = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    parameters = {
        k.removeprefix("param."): v for k, v in typed.items() if k.startswith("param.") and v.strip()
    }
    body = {
        "title": typed.get("title", ""),
        "report": name,
        "parameters": parameters,
        "period": typed.get("period", ""),
        "format": typed.get("format", "xlsx"),
        "frequency": typed.get("frequency", "none"),
        "hour": typed.get("hour", "").strip() or 6,
        "weekday": typed.get("weekday", "").strip() or None,
        "recipients": [a for a in re.split(r"[,;\s]+", typed.get("recipients", "")) if a],
    }
    try:
        checked = validated(SavedReportIn, body)
        saved = reports.save_report(unit_of_work(request), **checked.model_dump())
    except (ValidationFailed, AlreadyExists) as exc:
        return _report_page(
            request, principal, name, parameters, status=exc.status, save_error=exc.detail, typed=typed
        )
    return RedirectResponse(f"/reports?saved={quote(saved.title)}#saved-title", status_code=303)


@router.get("/exports")
def exports_page(request: Request) -> Response:
    principal = principal_for(request, "data:export")
    page = exports.list_exports(unit_of_work(request), limit=50)
    return render(
        request, "exports.html", principal, exports=page.items, kinds=KINDS, formats=FORMATS, error=None
    )


@router.post("/exports")
def request_export(
    request: Request,
    csrf_token: Annotated[str, Form()],
    kind: Annotated[str, Form()],
    format: Annotated[str, Form()] = "csv",
    from_: Annotated[str, Form(alias="from")] = "",
    to: Annotated[str, Form()] = "",
    channel: Annotated[str, Form()] = "",
    status: Annotated[str, Form()] = "",
    location: Annotated[str, Form()] = "",
    contactable: Annotated[str, Form()] = "",
) -> Response:
    principal = principal_for(request, "data:export")
    check_form_csrf(principal, csrf_token)
    given = {
        "from": from_,
        "to": to,
        "channel": channel,
        "status": status,
        "location": location,
        "contactable": contactable,
    }
    try:
        exports.request_export(
            unit_of_work(request),
            kind=kind,
            format=format,
            filters={k: v for k, v in given.items() if v},
            folder=Path(get_settings(request).exports_path),
        )
    except ValidationFailed as exc:
        page = exports.list_exports(unit_of_work(request), limit=50)
        return render(
            request,
            "exports.html",
            principal,
            status=422,
            exports=page.items,
            kinds=KINDS,
            formats=FORMATS,
            error=exc.detail,
        )
    return RedirectResponse("/exports", status_code=303)

"""Console screens for reports and exports: the report catalogue; a report with its parameter form, table, chart
(an `<img>` of the API's SVG, so the page's strict policy stays as it is) and CSV/XLSX downloads; exports asked
for, listed and downloaded. Downloads and charts are the API's own routes, which take the console session."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.console._pages import check_form_csrf, money, principal_for, render
from ordersmith.data.exports import service as exports
from ordersmith.data.exports.kinds import FORMATS, KINDS
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.platform.http import get_settings, reports_unit_of_work, unit_of_work
from ordersmith.reporting import render as report_render
from ordersmith.reporting import service as reports
from ordersmith.reporting.rules import ReportResult

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
    )


def _cells(result: ReportResult) -> list[list[str]]:
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
    raw = {key: value for key, value in request.query_params.items() if value}
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
        spec=spec,
        values={
            k: (v.isoformat() if hasattr(v, "isoformat") else ("" if v is None else v))
            for k, v in values.items()
        },
        result=result,
        rows=_cells(result) if result else [],
        error=error,
        api=f"/api/v1/reports/{name}?{query}",
        description=report_render.describe(result) if result else "",
    )


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

"""Reports API: the catalogue, one report as JSON, CSV, XLSX or an SVG chart, and saved reports e-mailed on a
schedule.

Every route needs `reports:read` (saving and scheduling `reports:schedule`), staff scopes: a channel-bound key
cannot hold them (they are not in CHANNEL_KEY_SCOPES), because reports total every channel's figures.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from ordersmith.platform.access import Principal
from ordersmith.platform.http import authorize, created, reports_unit_of_work, requires, unit_of_work
from ordersmith.reporting import render, service
from ordersmith.reporting.catalogue import marketing as marketing_results
from ordersmith.reporting.rules import ReportResult
from ordersmith.reporting.schemas import ReportOut, ReportSpecOut, SavedReportIn, SavedReportOut

router = APIRouter(tags=["reports"])
Auth = Annotated[Principal, Depends(authorize)]
Text = Annotated[str | None, Query(max_length=60)]
Format = Literal["json", "csv", "xlsx", "svg"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/reports", response_model=list[ReportSpecOut], openapi_extra=requires("reports:read"))
def list_reports(principal: Auth) -> list[ReportSpecOut]:
    """The report catalogue: each report's parameters, typed columns and chart."""
    return [ReportSpecOut.model_validate(spec) for spec in service.list_reports()]


@router.get("/saved-reports", response_model=list[SavedReportOut], openapi_extra=requires("reports:read"))
def list_saved_reports(principal: Auth, request: Request) -> list[SavedReportOut]:
    """Saved reports, by title: each with its parameters, its schedule, when it runs next and how the last run
    went."""
    return [SavedReportOut.model_validate(s) for s in service.list_saved_reports(unit_of_work(request))]


@router.post(
    "/saved-reports",
    status_code=201,
    response_model=SavedReportOut,
    openapi_extra=requires("reports:schedule"),
)
def save_report(body: SavedReportIn, principal: Auth, request: Request) -> Response:
    """Save a report with its parameters; with a `frequency`, it is e-mailed daily or weekly at `hour` (UTC) as
    CSV or XLSX to `recipients`, its date range the `period` worked out on the day it runs."""
    return created(
        request,
        principal,
        body.model_dump(mode="json"),
        lambda uow: SavedReportOut.model_validate(service.save_report(uow, **body.model_dump())),
    )


@router.delete("/saved-reports/{saved_id}", status_code=204, openapi_extra=requires("reports:schedule"))
def delete_saved_report(saved_id: uuid.UUID, principal: Auth, request: Request) -> Response:
    """Delete a saved report and its schedule."""
    service.delete_saved_report(unit_of_work(request), saved_id=saved_id)
    return Response(status_code=204)


_FORMATS: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {}, XLSX: {}, "image/svg+xml": {}},
        "description": "The report: JSON by default, else as `format` asks",
    }
}


@router.get(
    "/reports/source-codes",
    response_model=ReportOut,
    openapi_extra=requires("marketing:read", no_channel=True),
    responses=_FORMATS,
)
def source_code_results(
    principal: Auth,
    request: Request,
    by: Literal["code", "drop", "campaign"] = "code",
    campaign: Text = None,
    format: Format = "json",
) -> Response:
    """Results per source (key) code, drop or campaign: orders, response %, gross demand, cancellations, returns,
    net sales, AOV, new and existing customers, cost, $ per book, cost per order, ROI % (the catalogue's
    `source_code_results`, `drop_results` and `campaign_results`)."""
    name = marketing_results.BY[by]
    result = service.run_report(reports_unit_of_work(request), name=name, parameters={"campaign": campaign})
    return _respond(result, name, format)


@router.get(
    "/reports/{name}",
    response_model=ReportOut,
    openapi_extra=requires("reports:read"),
    responses={
        200: {
            "content": {
                "text/csv": {},
                XLSX: {},
                "image/svg+xml": {},
            },
            "description": "The report: JSON by default, else as `format` asks",
        }
    },
)
def run_report(
    name: str,
    principal: Auth,
    request: Request,
    from_: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    to: Annotated[str | None, Query(max_length=10)] = None,
    grouping: Text = None,
    channel: Text = None,
    division: Text = None,
    location: Text = None,
    source_code: Text = None,
    by: Text = None,
    limit: Text = None,
    as_of: Annotated[str | None, Query(max_length=10)] = None,
    customer: Text = None,
    kind: Text = None,
    campaign: Text = None,
    currency: Text = None,
    format: Format = "json",
) -> Response:
    """Run one report. Only the parameters the catalogue lists for this report are accepted (422 names any
    other); dates are UTC days, YYYY-MM-DD."""
    raw = {key: value for key, value in request.query_params.items() if key != "format"}
    result = service.run_report(reports_unit_of_work(request), name=name, parameters=raw)
    return _respond(result, name, format)


def _respond(result: ReportResult, name: str, format: str) -> Response:
    filename = f"{name}.{format}"
    if format == "csv":
        return StreamingResponse(
            render.to_csv(result),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    if format == "xlsx":
        return Response(
            render.to_xlsx(result),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    if format == "svg":
        return Response(
            render.to_svg(result),
            media_type="image/svg+xml",
            headers={"Content-Security-Policy": render.SVG_CONTENT_SECURITY_POLICY},
        )
    return Response(
        ReportOut.model_validate(render.to_json(result)).model_dump_json(), media_type="application/json"
    )

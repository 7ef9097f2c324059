"""Reports API: the catalogue, and one report as JSON, CSV, XLSX or an SVG chart.

Every route needs `reports:read`, a staff scope: a channel-bound key cannot hold it (it is not in
CHANNEL_KEY_SCOPES), because reports total every channel's figures.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from ordersmith.platform.access import Principal
from ordersmith.platform.http import authorize, reports_unit_of_work, requires
from ordersmith.reporting import render, service
from ordersmith.reporting.schemas import ReportOut, ReportSpecOut

router = APIRouter(tags=["reports"])
Auth = Annotated[Principal, Depends(authorize)]
Text = Annotated[str | None, Query(max_length=60)]
Format = Literal["json", "csv", "xlsx", "svg"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/reports", response_model=list[ReportSpecOut], openapi_extra=requires("reports:read"))
def list_reports(principal: Auth) -> list[ReportSpecOut]:
    """The report catalogue: each report's parameters, typed columns and chart."""
    return [ReportSpecOut.model_validate(spec) for spec in service.list_reports()]


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
    format: Format = "json",
) -> Response:
    """Run one report. Only the parameters the catalogue lists for this report are accepted (422 names any
    other); dates are UTC days, YYYY-MM-DD."""
    raw = {key: value for key, value in request.query_params.items() if key != "format"}
    result = service.run_report(reports_unit_of_work(request), name=name, parameters=raw)
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

"""Console screen for campaign results: per key code, per drop or per campaign (all, or one campaign's) — orders,
response, demand, cancellations, returns, net sales, new and existing customers, cost, $ per book, cost per order
and ROI — as a table, its chart and CSV/XLSX downloads, with the campaign's response by week since in-home beside
them.

The figures are the report catalogue's (`source_code_results`, `drop_results`, `campaign_results`, run on the
reports database); the chart and the downloads are the API's own `GET /api/v1/reports/source-codes` (its SVG as an
`<img>`, so the page's strict policy stays as it is; no CDN), which takes the console session. Needs
`marketing:read`.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ordersmith.console._pages import principal_for, render
from ordersmith.console.reports import report_cells
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.marketing import service as marketing
from ordersmith.platform.http import reports_unit_of_work, unit_of_work
from ordersmith.reporting import render as report_render
from ordersmith.reporting import service as reports
from ordersmith.reporting.catalogue.marketing import BY

router = APIRouter(include_in_schema=False)
READ = "marketing:read"
BY_LABELS = {"code": "per key code", "drop": "per drop", "campaign": "per campaign"}


@router.get("/campaign-results")
def results(request: Request, by: str = "code", campaign: str = "") -> Response:
    principal = principal_for(request, READ)
    by = by if by in BY else "code"
    campaign = campaign.strip().upper()[:40]
    error, status, result = "", 200, None
    try:
        result = reports.run_report(
            reports_unit_of_work(request), name=BY[by], parameters={"campaign": campaign or None}
        )
    except ValidationFailed as exc:
        error, status = exc.detail, exc.status
    query = urlencode({"by": by, **({"campaign": campaign} if campaign else {})})
    curve = urlencode({"campaign": campaign}) if campaign else ""
    return render(
        request,
        "marketing/results.html",
        principal,
        status=status,
        by=by,
        by_labels=BY_LABELS,
        campaign=campaign,
        campaigns=marketing.list_campaigns(unit_of_work(request), limit=200).items,
        spec=reports.get_report(BY[by]),
        result=result,
        rows=report_cells(result) if result else [],
        description=report_render.describe(result) if result else "",
        api=f"/api/v1/reports/source-codes?{query}",
        curve=f"/api/v1/reports/source_code_response_curve?{curve}&format=svg" if curve else "",
        reads_reports=principal.can("reports:read"),
        error=error,
    )

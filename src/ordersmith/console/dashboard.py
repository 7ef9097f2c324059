"""The manager's dashboard: today's orders and revenue by channel, the average order, orders on hold,
backorders, low stock, the newest orders — kept current without a reload (the page follows the event stream and
asks `/dashboard/figures` again when an order moves)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ordersmith.console._pages import money, principal_for, render
from ordersmith.inventory import service as inventory
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.platform.access import Principal
from ordersmith.platform.http import reports_unit_of_work, unit_of_work
from ordersmith.reporting import service as reports

router = APIRouter(include_in_schema=False)


def today_figures(request: Request) -> dict[str, Any]:
    uow = unit_of_work(request)
    today = datetime.combine(uow.now().date(), time.min, tzinfo=UTC)
    b = orders.barometers(uow, since=today)
    return {
        "orders_today": b.orders,
        "revenue_today": money(b.revenue),
        "average_order": money(b.average_order),
        "on_hold": b.on_hold,
        "backordered": b.backordered_units,
        "low_stock": inventory.low_stock_count(uow),
        "by_channel": [
            {"channel": c.channel, "orders": c.orders, "revenue": money(c.revenue)} for c in b.by_channel
        ],
        "latest": [
            {
                "number": o.number,
                "channel": o.channel,
                "status": o.status.replace("_", " "),
                "total": money(o.total),
                "placed_at": o.placed_at.strftime("%H:%M:%S"),
            }
            for o in b.latest
        ],
    }


def _day_totals(request: Request, day: date) -> dict[str, Any]:
    """Orders and demand on one UTC day, all channels (per currency), from the sales report."""
    result = reports.run_report(
        reports_unit_of_work(request),
        name="sales_by_day_channel",
        parameters={"from": day.isoformat(), "to": day.isoformat()},
    )
    demand: dict[str, Money] = {}
    for row in result.rows:
        demand[row["currency"]] = demand.get(row["currency"], Money.zero(row["currency"])) + row["demand"]
    return {
        "day": day,
        "orders": sum(row["orders"] for row in result.rows),
        "demand": ", ".join(money(m) for m in demand.values()) or money(Money.zero("USD")),
    }


def _history(request: Request, principal: Principal) -> dict[str, Any] | None:
    """Today so far beside the same weekday last week (the whole day), and the last 30 days' chart per channel:
    for those who may read reports (each links to the report behind it)."""
    if not principal.can("reports:read"):
        return None
    today = unit_of_work(request).now().date()
    month_ago = today - timedelta(days=29)
    return {
        "today": _day_totals(request, today),
        "last_week": _day_totals(request, today - timedelta(days=7)),
        "chart": f"/api/v1/reports/sales_by_day_channel?from={month_ago}&to={today}&format=svg",
        "report": f"/reports/sales_by_day_channel?from={month_ago}&to={today}",
        "today_report": f"/reports/sales_by_day_channel?from={today}&to={today}",
        "last_week_report": f"/reports/sales_by_day_channel?from={today - timedelta(days=7)}"
        f"&to={today - timedelta(days=7)}",
    }


@router.get("/dashboard")
def dashboard(request: Request) -> Response:
    principal = principal_for(request, "orders:read")
    return render(
        request,
        "dashboard.html",
        principal,
        figures=today_figures(request),
        history=_history(request, principal),
    )


@router.get("/dashboard/figures")
def figures(request: Request) -> dict[str, Any]:
    principal_for(request, "orders:read")
    return today_figures(request)

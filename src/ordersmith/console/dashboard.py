"""The manager's dashboard: today's orders and revenue by channel, the average order, orders on hold,
backorders, low stock, the newest orders — kept current without a reload (the page follows the event stream and
asks `/dashboard/figures` again when an order moves)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ordersmith.console._pages import money, principal_for, render
from ordersmith.inventory import service as inventory
from ordersmith.kernel.clock import utcnow
from ordersmith.orders import service as orders
from ordersmith.platform.http import unit_of_work

router = APIRouter(include_in_schema=False)


def today_figures(request: Request) -> dict[str, Any]:
    uow = unit_of_work(request)
    today = datetime.combine(utcnow().date(), time.min, tzinfo=UTC)
    b = orders.barometers(uow, since=today)
    return {
        "orders_today": b.orders,
        "revenue_today": money(b.revenue),
        "average_order": money(b.average_order),
        "on_hold": b.on_hold,
        "backordered": b.backordered_units,
        "low_stock": inventory.low_stock_count(uow),
        "by_channel": [{"channel": c.channel, "orders": c.orders, "revenue": money(c.revenue)} for c in b.by_channel],
        "latest": [{"number": o.number, "channel": o.channel, "status": o.status.replace("_", " "),
                    "total": money(o.total), "placed_at": o.placed_at.strftime("%H:%M:%S")} for o in b.latest],
    }  # fmt: skip


@router.get("/dashboard")
def dashboard(request: Request) -> Response:
    principal = principal_for(request, "orders:read")
    return render(request, "dashboard.html", principal, figures=today_figures(request))


@router.get("/dashboard/figures")
def figures(request: Request) -> dict[str, Any]:
    principal_for(request, "orders:read")
    return today_figures(request)

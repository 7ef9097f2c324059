"""A return (RMA) as the order page links to it: its lines and reasons, what came back and how it was disposed of,
the refund due, and the exchange order it started."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ordersmith.console._pages import principal_for, render
from ordersmith.orders import service as orders
from ordersmith.platform.http import unit_of_work

router = APIRouter(include_in_schema=False)


@router.get("/returns/{ref}")
def return_page(request: Request, ref: str) -> Response:
    principal = principal_for(request, "orders:read")
    uow = unit_of_work(request)
    rma = orders.get_return(uow, ref=ref)
    exchange = orders.get_order(uow, ref=str(rma.exchange_order_id)) if rma.exchange_order_id else None
    return render(request, "return.html", principal, rma=rma, exchange=exchange)

"""Customer 360: the profile, addresses and consent flags, the notes and interaction timeline (add a note in one
step), orders, payments in those orders, gift cards and store credit, lifetime value and the last order date."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.console._pages import check_form_csrf, principal_for, render
from ordersmith.customers import service as customers
from ordersmith.kernel.errors import OrdersmithError
from ordersmith.orders import service as orders
from ordersmith.payments import service as payments
from ordersmith.platform.http import unit_of_work

router = APIRouter(include_in_schema=False)


@router.get("/customers")
def customer_search(request: Request, q: str = "") -> Response:
    principal = principal_for(request, "customers:read")
    hits = []
    error = ""
    if q:
        try:
            hits = customers.search_customers(unit_of_work(request), q=q, limit=50)
        except OrdersmithError as exc:
            error = exc.detail
    return render(request, "customers.html", principal, q=q, hits=hits, error=error)


def _customer_page(request: Request, ref: str, status: int = 200, error: str = "") -> Response:
    principal = principal_for(request, "customers:read")
    uow = unit_of_work(request)
    customer = customers.get_customer(uow, ref=ref)
    can_orders = principal.can("orders:read")
    recent = orders.list_orders(uow, customer=str(customer.id), limit=25) if can_orders else None
    return render(
        request, "customer.html", principal, status=status, error=error, customer=customer,
        totals=orders.customer_totals(uow, customer_id=customer.id, currency=customer.currency) if can_orders else None,
        recent=recent,
        timeline=customers.timeline(uow, ref=str(customer.id), limit=50).items,
        gift_cards=payments.list_gift_cards(uow, customer_id=customer.id, limit=20).items
        if principal.can("payments:read") else [],
        open_balance=payments.open_balance(uow, customer_id=customer.id) if principal.can("payments:read") else None,
    )  # fmt: skip


@router.get("/customers/{ref}")
def customer_360(request: Request, ref: str) -> Response:
    return _customer_page(request, ref)


@router.post("/customers/{ref}/notes")
def add_note(
    request: Request, ref: str, body: Annotated[str, Form()] = "", kind: Annotated[str, Form()] = "note",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:  # fmt: skip
    principal = principal_for(request, "customers:write")
    check_form_csrf(principal, csrf_token)
    try:
        customers.add_note(unit_of_work(request), ref=ref, body=body, kind=kind, channel="console")
    except OrdersmithError as exc:
        return _customer_page(request, ref, status=exc.status, error=exc.detail)
    return RedirectResponse(f"/customers/{ref}", status_code=303)

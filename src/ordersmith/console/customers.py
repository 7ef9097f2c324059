"""Customer 360: the profile, addresses and consent flags, the notes and interaction timeline (add a note in one
step), orders, payments in those orders, gift cards and store credit, lifetime value and the last order date."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.console import custom_fields
from ordersmith.console import recent as recent_work
from ordersmith.console._pages import check_form_csrf, principal_for, render
from ordersmith.customers import service as customers
from ordersmith.kernel.errors import OrdersmithError, PreconditionFailed
from ordersmith.orders import service as orders
from ordersmith.payments import service as payments
from ordersmith.platform.http import unit_of_work
from ordersmith.reporting import service as reporting

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


def _customer_page(
    request: Request,
    ref: str,
    status: int = 200,
    error: str = "",
    typed: dict[str, str] | None = None,
    *,
    remember: bool = False,
) -> Response:
    """The 360; with `remember`, the customer also goes first in the user's recent customers (their home)."""
    principal = principal_for(request, "customers:read")
    uow = unit_of_work(request)
    customer = customers.get_customer(uow, ref=ref)
    can_orders = principal.can("orders:read")
    recent = orders.list_orders(uow, customer=str(customer.id), limit=25) if can_orders else None
    page = render(
        request, "customer.html", principal, status=status, error=error, customer=customer, typed=typed or {},
        totals=orders.customer_totals(uow, customer_id=customer.id, currency=customer.currency) if can_orders else None,
        recent=recent,
        returns=orders.customer_returns(uow, customer_id=customer.id) if can_orders else [],
        timeline=customers.timeline(uow, ref=str(customer.id), limit=50).items,
        gift_cards=payments.list_gift_cards(uow, customer_id=customer.id, limit=20).items
        if principal.can("payments:read") else [],
        open_balance=payments.open_balance(uow, customer_id=customer.id) if principal.can("payments:read") else None,
        # the segment: RFM scores as the RFM report gives them (their orders + cached quintile boundaries)
        rfm=reporting.customer_rfm(uow, customer_id=customer.id, currency=customer.currency) if can_orders else None,
        custom=custom_fields.panel(uow, kind="customer", record_id=customer.id),
        can_edit=principal.can("customers:write"), action=f"/custom-values/customer/{customer.number}",
    )  # fmt: skip
    return recent_work.remember(request, page, principal, customer=customer.number) if remember else page


@router.get("/customers/{ref}")
def customer_360(request: Request, ref: str) -> Response:
    return _customer_page(request, ref, remember=True)


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


@router.post("/customers/{ref}/edit")
async def edit(request: Request, ref: str) -> Response:
    """Save the profile as edited — only if nobody changed it since it was read (the form carries its version);
    otherwise show what is stored now beside what the agent typed, and save nothing."""
    principal = principal_for(request, "customers:write")
    form = await request.form()
    check_form_csrf(principal, str(form.get("csrf_token", "")))
    typed = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    changes = {
        "first_name": typed.get("first_name", "").strip(),
        "last_name": typed.get("last_name", "").strip(),
        "company": typed.get("company", "").strip(),
        "emails": [e.strip() for e in typed.get("emails", "").split(",") if e.strip()],
        "do_not_mail": "do_not_mail" in typed,
        "do_not_email": "do_not_email" in typed,
        "do_not_call": "do_not_call" in typed,
    }
    try:
        customers.update_customer(unit_of_work(request), ref=ref, changes=changes, granted=principal.scopes,
                                  expected_version=int(typed.get("version") or 0))  # fmt: skip
    except PreconditionFailed:
        return _customer_page(request, ref, status=412, typed=typed,
                              error="Someone else changed this customer while you were editing: what is stored now is "
                                    "shown; your changes (below) were not saved.")  # fmt: skip
    except OrdersmithError as exc:
        return _customer_page(request, ref, status=exc.status, error=exc.detail, typed=typed)
    return RedirectResponse(f"/customers/{ref}?saved=1", status_code=303)

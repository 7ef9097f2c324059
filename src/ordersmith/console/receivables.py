"""Console screens for accounts receivable: the aging (every customer's open invoices by days past due, totals per
currency and the subledger reconciled to the control account), a customer's open-item statement (as a page and as
the PDF for mailing), and an invoice with its payments — and writing off what the customer will not pay
(`receivables:write_off`).

Handlers read the query or form, call one finance or payments use case and render; a refusal re-renders the page
with the problem's detail and each field's message beside its field, and nothing changed.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.console._books import (
    BUCKET_LABELS,
    NO_REFUSAL,
    Refusal,
    amount,
    day,
    not_found,
    page,
    ref,
    refusal,
)
from ordersmith.console._pages import check_form_csrf, principal_for
from ordersmith.finance import service as finance
from ordersmith.kernel.errors import NotFound, OrdersmithError, ValidationFailed
from ordersmith.payments import service as payments
from ordersmith.platform.access import Principal
from ordersmith.platform.http import unit_of_work

router = APIRouter(include_in_schema=False)


@router.get("/finance/receivables")
def aging(request: Request, as_of: str = "") -> Response:
    principal = principal_for(request, "finance:read")
    uow = unit_of_work(request)
    refused, found = NO_REFUSAL, None
    try:
        found = finance.ar_aging(uow, as_of=day(as_of, "as_of") or uow.now().date())
    except OrdersmithError as exc:
        refused = refusal(exc)
    rows = sorted(found.rows, key=lambda r: (r.oldest_due_on, r.customer_number)) if found else []
    return page(
        request,
        "books/receivables.html",
        principal,
        refused=refused,
        aging=found,
        rows=rows,
        labels=BUCKET_LABELS,
        as_of=as_of[:10],
    )


@router.get("/finance/receivables/invoices/{number}")
def invoice(request: Request, number: str) -> Response:
    principal = principal_for(request, "finance:read")
    return _invoice_page(request, principal, number)


def _invoice_page(
    request: Request,
    principal: Principal,
    number: str,
    *,
    refused: Refusal = NO_REFUSAL,
    typed: dict[str, str] | None = None,
) -> Response:
    uow = unit_of_work(request)
    try:
        found = payments.get_invoice(uow, ref=ref(number, "invoice"))
    except NotFound as exc:
        return not_found(request, principal, exc)
    return page(
        request,
        "books/invoice.html",
        principal,
        refused=refused,
        invoice=found,
        typed=typed or {},
        may_write_off=principal.can("receivables:write_off") and found.status == "open",
        done=request.query_params.get("done", ""),
    )


@router.post("/finance/receivables/invoices/{number}/write-off")
def write_off(
    request: Request,
    number: str,
    reason: Annotated[str, Form()] = "",
    amount_text: Annotated[str, Form(alias="amount")] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Write off the invoice's balance (or `amount` of it) as a bad debt, with a reason."""
    principal = principal_for(request, "receivables:write_off")
    check_form_csrf(principal, csrf_token)
    uow = unit_of_work(request)
    try:
        currency = payments.get_invoice(uow, ref=ref(number, "invoice")).currency
        if len(reason) > 500:
            raise ValidationFailed.on("reason", "at most 500 characters")
        finance.write_off_invoice(
            uow, invoice=number, reason=reason, amount=amount(amount_text, currency, "amount")
        )
    except NotFound as exc:
        return not_found(request, principal, exc)
    except OrdersmithError as exc:
        typed = {"reason": reason[:500], "amount": amount_text[:20]}
        return _invoice_page(request, principal, number, refused=refusal(exc), typed=typed)
    return RedirectResponse(
        f"/finance/receivables/invoices/{quote(number)}?done={quote('written off')}", status_code=303
    )


@router.get("/finance/receivables/{customer}")
def statement(request: Request, customer: str, as_of: str = "") -> Response:
    principal = principal_for(request, "finance:read")
    uow = unit_of_work(request)
    refused, found, when = NO_REFUSAL, None, None
    try:
        customer = ref(customer, "customer")
        when = day(as_of, "as_of") or uow.now().date()
        found = finance.customer_statement(uow, customer=customer, as_of=when)
        credits = finance.customer_credits(uow, customer=customer)
    except NotFound as exc:
        return not_found(request, principal, exc)
    except OrdersmithError as exc:
        refused, credits = refusal(exc), []
    return page(
        request,
        "books/statement.html",
        principal,
        refused=refused,
        customer=customer,
        statement=found,
        credits=credits,
        labels=BUCKET_LABELS,
        as_of=as_of[:10],
        when=when,
    )


@router.get("/finance/receivables/{customer}/statement.pdf")
def statement_pdf(request: Request, customer: str, as_of: str = "") -> Response:
    """The statement as the PDF the API gives (for mailing), as an attachment."""
    principal = principal_for(request, "finance:read")
    uow = unit_of_work(request)
    try:
        customer = ref(customer, "customer")
        when = day(as_of, "as_of") or uow.now().date()
        retailer = request.app.state.settings.retailer_name
        pdf = finance.statement_pdf(uow, customer=customer, as_of=when, retailer=retailer)
    except NotFound as exc:
        return not_found(request, principal, exc)
    except OrdersmithError as exc:
        return page(
            request,
            "books/statement.html",
            principal,
            refused=refusal(exc),
            customer=customer,
            statement=None,
            credits=[],
            labels=BUCKET_LABELS,
            as_of=as_of[:10],
            when=None,
        )
    name = f"statement-{customer.upper()}-{when.isoformat()}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{quote(name)}"', "Cache-Control": "no-store"},
    )

"""Console screen for cash received on account: a customer's payment not (yet) applied to an invoice is received
here (held as a credit on their account, `U-000001`), applied to one of their invoices (partly, or as much as both
allow), and every credit still open is listed, oldest first — or one customer's, beside the invoices they owe.

Reading needs `finance:read` (as `GET /api/v1/ar/unapplied-cash`); receiving and applying need `receivables:write`
(as `POST /api/v1/ar/unapplied-cash` and `…/{receipt}/apply`), checked by the API's input models
(`UnappliedCashIn`, `ApplyUnappliedIn`) and made by the same use cases. A refusal shows the form it came from
again with what was typed, the problem's detail and each field's message beside it, and nothing is written.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.console._books import NO_REFUSAL, Refusal, day, not_found, page, ref, refusal
from ordersmith.console._forms import posted
from ordersmith.console._pages import money, principal_for
from ordersmith.finance import service as finance
from ordersmith.finance.schemas import ApplyUnappliedIn, UnappliedCashIn
from ordersmith.kernel.errors import FieldError, NotFound, OrdersmithError
from ordersmith.payments import service as payments
from ordersmith.platform.http import unit_of_work
from ordersmith.platform.schemas import money_in, validated

router = APIRouter(include_in_schema=False)
READ, WRITE = "finance:read", "receivables:write"
SHOWN = 200
METHODS = ("check", "transfer", "card", "cash")


def _page(
    request: Request,
    customer: str = "",
    *,
    refused: Refusal = NO_REFUSAL,
    failed: str = "",
    typed: dict[str, str] | None = None,
) -> Response:
    principal = principal_for(request, READ)
    uow = unit_of_work(request)
    statement = None
    try:
        if customer:
            customer = ref(customer, "customer")
            credits = finance.customer_credits(uow, customer=customer)
            statement = finance.customer_statement(uow, customer=customer, as_of=uow.now().date())
        else:
            credits = finance.open_unapplied_cash(uow, limit=SHOWN)
    except NotFound as exc:
        return not_found(request, principal, exc)
    return page(
        request,
        "books/cash.html",
        principal,
        refused=refused,
        clean=NO_REFUSAL,  # the forms that were not refused
        failed=failed,
        forms_shown={"receive" if principal.can(WRITE) else "", *(f"apply-{c.number}" for c in credits)},
        customer=customer,
        credits=credits,
        statement=statement,
        methods=METHODS,
        typed=typed or {"customer": customer, "currency": "USD", "method": "check"},
        may_write=principal.can(WRITE),
        done=request.query_params.get("done", "")[:200],
    )


@router.get("/finance/cash")
def cash(request: Request, customer: str = "") -> Response:
    return _page(request, customer.strip()[:40])


@router.post("/finance/cash")
async def receive(request: Request) -> Response:
    """Receive a customer's payment on account (`UnappliedCashIn`, `receive_unapplied_cash`)."""
    _, _, typed = await posted(request, WRITE)
    try:
        body = validated(
            UnappliedCashIn,
            {
                "customer": typed.get("customer", ""),
                "amount": typed.get("amount", ""),
                "currency": typed.get("currency", "").upper(),
                "method": typed.get("method", ""),
                "reference": typed.get("reference", ""),
                "received_on": day(typed.get("received_on", ""), "received_on"),
            },
        )
        credit = finance.receive_unapplied_cash(
            unit_of_work(request),
            customer=body.customer,
            amount=money_in(body.amount, body.currency, field="amount"),
            method=body.method,
            reference=body.reference,
            received_on=body.received_on,
        )
    except OrdersmithError as exc:
        return _page(request, refused=refusal(exc), failed="receive", typed=typed)
    done = quote(f"{credit.number} received: {money(credit.amount)}")
    return RedirectResponse(
        f"/finance/cash?customer={quote(credit.customer_number)}&done={done}", status_code=303
    )


@router.post("/finance/cash/{receipt}/apply")
async def apply(request: Request, receipt: str) -> Response:
    """Apply a credit to one of the customer's invoices (`ApplyUnappliedIn`, `apply_unapplied_cash`): `amount`,
    or as much as both allow when left empty."""
    _, _, typed = await posted(request, WRITE)
    customer = typed.get("customer", "")[:40]
    uow = unit_of_work(request)
    try:
        body = validated(
            ApplyUnappliedIn, {"invoice": typed.get("invoice", ""), "amount": typed.get("amount") or None}
        )
        amount = None
        if body.amount is not None:
            amount = money_in(
                body.amount, payments.get_invoice(uow, ref=body.invoice).currency, field="amount"
            )
        credit = finance.apply_unapplied_cash(
            uow, receipt=ref(receipt, "receipt"), invoice=body.invoice, amount=amount
        )
    except OrdersmithError as exc:
        if isinstance(exc, NotFound) and not exc.errors:
            exc = _named(exc, typed)
        return _page(request, customer, refused=refusal(exc), failed=f"apply-{receipt[:40]}", typed=typed)
    done = quote(f"{credit.number} applied to {body.invoice}: {money(credit.remaining)} left")
    return RedirectResponse(
        f"/finance/cash?customer={quote(credit.customer_number)}&done={done}", status_code=303
    )


def _named(exc: NotFound, typed: dict[str, str]) -> OrdersmithError:
    """An unknown invoice typed in the form is that field's refusal (the receipt comes from the page itself)."""
    if "invoice" in exc.detail.lower() and typed.get("invoice"):
        return NotFound(exc.detail, errors=[FieldError("invoice", exc.detail)])
    return exc

"""Finance API: the chart of accounts and its mapping rules, the journal, periods and the trial balance.

Staff only: `finance:read` / `finance:write` are never held by a channel-bound key.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, Response, UploadFile
from fastapi.responses import StreamingResponse

from ordersmith.finance import formats, service
from ordersmith.finance.schemas import (
    AccountIn,
    AccountingExportIn,
    AccountingExportOut,
    AccountOut,
    AccountPatch,
    AgingOut,
    ApplyUnappliedIn,
    BalanceSheetOut,
    CardLiabilityOut,
    CustomerStatementOut,
    DimensionCode,
    DunningLetterOut,
    EntryIn,
    EntryOut,
    IncomeStatementOut,
    MappingIn,
    MappingOut,
    PeriodCode,
    PeriodOut,
    PushFailureOut,
    ReverseIn,
    SettlementOut,
    TrialBalanceOut,
    UnappliedCashIn,
    UnappliedCashOut,
    WriteOffIn,
    WrittenOffOut,
)
from ordersmith.kernel.money import Money
from ordersmith.payments import service as payments
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.http import authorize, created, etag, if_match_version, requires, unit_of_work
from ordersmith.platform.schemas import CurrencyCode, MoneyOut, PageOut, money_in

router = APIRouter(tags=["finance"])
Auth = Annotated[Principal, Depends(authorize)]
_CONFLICT: dict[int | str, dict[str, Any]] = {409: {"description": "period_closed or already reversed"}}


@router.get("/accounts", response_model=list[AccountOut], openapi_extra=requires("finance:read"))
def list_accounts(principal: Auth, request: Request) -> list[AccountOut]:
    """The chart of accounts, by code (the US retailer default is written by the database migrations)."""
    return [AccountOut.model_validate(a) for a in service.list_accounts(unit_of_work(request))]


@router.post("/accounts", status_code=201, response_model=AccountOut, openapi_extra=requires("finance:write"))
def create_account(body: AccountIn, principal: Auth, request: Request) -> Response:
    return created(
        request,
        principal,
        body.model_dump(),
        lambda uow: AccountOut.model_validate(service.create_account(uow, **body.model_dump())),
    )


@router.get("/accounts/{code}", response_model=AccountOut, openapi_extra=requires("finance:read"))
def get_account(code: str, principal: Auth, request: Request, response: Response) -> AccountOut:
    account = service.get_account(unit_of_work(request), code=code)
    response.headers["ETag"] = etag(account.version)
    return AccountOut.model_validate(account)


@router.patch("/accounts/{code}", response_model=AccountOut, openapi_extra=requires("finance:write"))
def update_account(
    code: str, body: AccountPatch, principal: Auth, request: Request, response: Response
) -> AccountOut:
    """Rename or (de)activate an account (`If-Match` honoured). Accounts are never deleted."""
    account = service.update_account(
        unit_of_work(request),
        code=code,
        version=if_match_version(request),
        **body.model_dump(exclude_unset=True),
    )
    response.headers["ETag"] = etag(account.version)
    return AccountOut.model_validate(account)


@router.get("/account-mappings", response_model=list[MappingOut], openapi_extra=requires("finance:read"))
def list_mappings(principal: Auth, request: Request) -> list[MappingOut]:
    return [MappingOut.model_validate(m) for m in service.list_mappings(unit_of_work(request))]


@router.put("/account-mappings", response_model=MappingOut, openapi_extra=requires("finance:write"))
def set_mapping(body: MappingIn, principal: Auth, request: Request) -> MappingOut:
    """Point a mapping rule (tender method, revenue division or channel, tax jurisdiction, role) at an account."""
    return MappingOut.model_validate(service.set_mapping(unit_of_work(request), **body.model_dump()))


@router.get("/journal", response_model=PageOut[EntryOut], openapi_extra=requires("finance:read"))
def list_journal(
    principal: Auth,
    request: Request,
    account: str | None = None,
    period: PeriodCode | None = None,
    source_event_id: uuid.UUID | None = None,
    rule: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Entries newest first, filtered by account, period, source event or posting rule."""
    page = service.list_journal(
        unit_of_work(request),
        account=account,
        period=period,
        source_event_id=source_event_id,
        rule=rule,
        cursor=cursor,
        limit=limit,
    )
    return {"items": [EntryOut.model_validate(e) for e in page.items], "next_cursor": page.next_cursor}


@router.post(
    "/journal",
    status_code=201,
    response_model=EntryOut,
    openapi_extra=requires("finance:write"),
    responses=_CONFLICT,
)
def post_entry(body: EntryIn, principal: Auth, request: Request) -> Response:
    """A manual entry: balanced, on active accounts, dated in an open period; optionally for a division and/or a
    sales channel (every line carries them)."""
    lines = [
        service.ManualLine(
            account_code=line.account_code,
            debit=money_in(line.debit, body.currency, field=f"lines.{n}.debit") if line.debit else None,
            credit=money_in(line.credit, body.currency, field=f"lines.{n}.credit") if line.credit else None,
            memo=line.memo,
        )
        for n, line in enumerate(body.lines)
    ]

    def execute(uow: UnitOfWork) -> EntryOut:
        entry = service.post_manual_entry(
            uow,
            posted_on=body.posted_on,
            currency=body.currency,
            lines=lines,
            memo=body.memo,
            reference=body.reference,
            division=body.division,
            channel=body.channel,
        )
        return EntryOut.model_validate(entry)

    return created(request, principal, body.model_dump(mode="json"), execute)


@router.get("/journal/{entry_id}", response_model=EntryOut, openapi_extra=requires("finance:read"))
def get_entry(entry_id: uuid.UUID, principal: Auth, request: Request) -> EntryOut:
    return EntryOut.model_validate(service.get_entry(unit_of_work(request), entry_id=entry_id))


@router.post(
    "/journal/{entry_id}/reverse",
    status_code=201,
    response_model=EntryOut,
    openapi_extra=requires("finance:write"),
    responses=_CONFLICT,
)
def reverse_entry(entry_id: uuid.UUID, body: ReverseIn, principal: Auth, request: Request) -> Response:
    """Correct an entry by reversing it (the only correction the journal allows)."""
    return created(
        request,
        principal,
        {"entry_id": str(entry_id), **body.model_dump(mode="json")},
        lambda uow: EntryOut.model_validate(
            service.reverse_entry(uow, entry_id=entry_id, posted_on=body.posted_on, memo=body.memo)
        ),
    )


@router.get("/periods", response_model=list[PeriodOut], openapi_extra=requires("finance:read"))
def list_periods(principal: Auth, request: Request) -> list[PeriodOut]:
    return [PeriodOut.model_validate(p) for p in service.list_periods(unit_of_work(request))]


@router.post(
    "/periods/{period}/close",
    response_model=PeriodOut,
    openapi_extra=requires("finance:write"),
    responses=_CONFLICT,
)
def close_period(period: PeriodCode, principal: Auth, request: Request) -> PeriodOut:
    """Close a period: later postings dated in it go to the next open period, with a note."""
    return PeriodOut.model_validate(service.close_period(unit_of_work(request), period=period))


@router.post(
    "/periods/{period}/reopen",
    response_model=PeriodOut,
    openapi_extra=requires("finance:write"),
    responses=_CONFLICT,
)
def reopen_period(period: PeriodCode, principal: Auth, request: Request) -> PeriodOut:
    return PeriodOut.model_validate(service.reopen_period(unit_of_work(request), period=period))


@router.get("/trial-balance", response_model=TrialBalanceOut, openapi_extra=requires("finance:read"))
def trial_balance(
    principal: Auth,
    request: Request,
    period: PeriodCode,
    cumulative: bool = False,
    division: DimensionCode | None = None,
    channel: DimensionCode | None = None,
) -> TrialBalanceOut:
    """Debits, credits and balance per account for `period` (or, `cumulative`, everything up to its end) — with
    `division` and/or `channel`, of the lines that carry them. `period` may be a year's closing period (`2026-13`:
    its closing entry; cumulative, the trial balance after the year-end close)."""
    found = service.trial_balance(
        unit_of_work(request), period=period, cumulative=cumulative, division=division, channel=channel
    )
    return TrialBalanceOut.model_validate(found)


@router.get("/income-statement", response_model=IncomeStatementOut, openapi_extra=requires("finance:read"))
def income_statement(
    principal: Auth,
    request: Request,
    from_period: PeriodCode,
    to_period: PeriodCode | None = None,
    currency: CurrencyCode | None = None,
    division: DimensionCode | None = None,
    channel: DimensionCode | None = None,
) -> IncomeStatementOut:
    """Revenue, expenses and net income per currency for `from_period` to `to_period` (default: one period) — with
    `division` and/or `channel`, of the lines that carry them. A year-end closing entry is never in it."""
    statement = service.income_statement(
        unit_of_work(request),
        from_period=from_period,
        to_period=to_period or from_period,
        currency=currency,
        division=division,
        channel=channel,
    )
    return IncomeStatementOut.of(statement)


@router.get("/balance-sheet", response_model=BalanceSheetOut, openapi_extra=requires("finance:read"))
def balance_sheet(
    principal: Auth,
    request: Request,
    period: PeriodCode,
    currency: CurrencyCode | None = None,
    division: DimensionCode | None = None,
    channel: DimensionCode | None = None,
) -> BalanceSheetOut:
    """Assets, liabilities and equity per currency at the end of `period` (earnings not yet closed shown apart) —
    with `division` and/or `channel`, of the lines that carry them. `period` may be a year's closing period
    (`2026-13`: the sheet at the year's last day after the year-end close)."""
    sheet = service.balance_sheet(
        unit_of_work(request), period=period, currency=currency, division=division, channel=channel
    )
    return BalanceSheetOut.of(sheet)


@router.get("/ar/aging", response_model=AgingOut, openapi_extra=requires("finance:read"))
def ar_aging(principal: Auth, request: Request, as_of: date | None = None) -> AgingOut:
    """Open invoices on account per customer by days past due as of a day (default today), totals per currency,
    and the AR subledger reconciled to the control account."""
    uow = unit_of_work(request)
    return AgingOut.of(service.ar_aging(uow, as_of=as_of or uow.now().date()))


@router.get("/ar/statements", response_model=CustomerStatementOut, openapi_extra=requires("finance:read"))
def customer_statement(
    principal: Auth,
    request: Request,
    customer: Annotated[str, Query(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")],
    as_of: date | None = None,
) -> CustomerStatementOut:
    """A customer's open-item statement (by customer number or id): open invoices aged as of a day, the total due
    per currency, and whether new orders on account go on credit hold."""
    uow = unit_of_work(request)
    found = service.customer_statement(uow, customer=customer, as_of=as_of or uow.now().date())
    return CustomerStatementOut.of(found, service.AGING_BUCKETS)


@router.get(
    "/ar/statements.pdf",
    response_class=Response,
    openapi_extra=requires("finance:read"),
    responses={200: {"content": {"application/pdf": {}}, "description": "the statement as PDF"}},
)
def customer_statement_pdf(
    principal: Auth,
    request: Request,
    customer: Annotated[str, Query(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")],
    as_of: date | None = None,
) -> Response:
    """A customer's statement as PDF (for mailing): open invoices aged, balances by days past due, the total due
    and any unapplied cash the customer holds."""
    uow = unit_of_work(request)
    day = as_of or uow.now().date()
    retailer = request.app.state.settings.retailer_name
    pdf = service.statement_pdf(uow, customer=customer, as_of=day, retailer=retailer)
    name = f"statement-{customer.upper()}-{day.isoformat()}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@router.post(
    "/accounting-exports",
    status_code=201,
    response_model=AccountingExportOut,
    openapi_extra=requires("finance:export"),
    responses={
        409: {"description": "`nothing_to_export`: every entry it would carry already went to that package"}
    },
)
def create_accounting_export(body: AccountingExportIn, principal: Auth, request: Request) -> Response:
    """Record an export of a period's journal to an accounting package: it carries every entry of the period (in
    `currency`) that no earlier export to the same package carried, so nothing is imported twice — `gl` (generic
    CSV), `iif` (QuickBooks Desktop), `xero`, `sage50` (Sage 50 US General Journal) and `sage50-sales` (its Sales
    Journal: the invoices on account), `gp-im` (Dynamics GP Integration Manager) and `gp-econnect` (GP eConnect
    XML), and `qbo` (QuickBooks Online) and `bc` (Business Central), which are pushed through the package's API
    (`…/{id}/push`) rather than imported. Download the file from `…/{id}/file`."""
    return created(
        request,
        principal,
        body.model_dump(mode="json"),
        lambda uow: AccountingExportOut.model_validate(service.create_export(uow, **body.model_dump())),
    )


@router.get(
    "/accounting-exports", response_model=PageOut[AccountingExportOut], openapi_extra=requires("finance:read")
)
def list_accounting_exports(
    principal: Auth,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Every export made, newest first: what went to which package, when and by whom."""
    page = service.list_exports(unit_of_work(request), limit=limit, cursor=cursor)
    return {
        "items": [AccountingExportOut.model_validate(e) for e in page.items],
        "next_cursor": page.next_cursor,
    }


@router.get(
    "/accounting-exports/{export_id}",
    response_model=AccountingExportOut,
    openapi_extra=requires("finance:read"),
)
def get_accounting_export(export_id: uuid.UUID, principal: Auth, request: Request) -> AccountingExportOut:
    return AccountingExportOut.model_validate(service.get_export(unit_of_work(request), export_id=export_id))


@router.get(
    "/accounting-exports/{export_id}/file",
    response_class=StreamingResponse,
    openapi_extra=requires("finance:read"),
    responses={
        200: {
            "content": {"text/csv": {}, "text/plain": {}, "application/xml": {}},
            "description": "the file, streamed",
        }
    },
)
def accounting_export_file(export_id: uuid.UUID, principal: Auth, request: Request) -> StreamingResponse:
    """The file of an export, streamed: the same entries however often it is downloaded."""
    uow = unit_of_work(request)
    export = service.get_export(uow, export_id=export_id)
    return StreamingResponse(
        service.export_file(uow, export_id=export_id),
        media_type=formats.MEDIA_TYPES[export.format],
        headers={
            "Content-Disposition": f'attachment; filename="{export.file_name}"',
            "Cache-Control": "no-store",
        },
    )


# --- collections (ADR 0030) ---------------------------------------------------------------------------------------

_REF = Annotated[str, Query(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]


@router.post(
    "/ar/invoices/{invoice}/write-off",
    response_model=WrittenOffOut,
    openapi_extra=requires("receivables:write_off"),
    responses={409: {"description": "conflict: the invoice is not open, or owes less than the amount"}},
)
def write_off_invoice(invoice: str, body: WriteOffIn, principal: Auth, request: Request) -> Response:
    """Write off what the customer will not pay on an invoice (its whole balance, or `amount`) as a bad debt:
    posted Dr bad debts / Cr accounts receivable."""

    def execute(joined: UnitOfWork) -> WrittenOffOut:
        found = service.write_off_invoice(
            joined,
            invoice=invoice,
            reason=body.reason,
            amount=None if body.amount is None else money_in(body.amount, _invoice_currency(joined, invoice)),
        )
        return WrittenOffOut.model_validate(found)

    return created(request, principal, body.model_dump(mode="json"), execute, status_code=200)


def _invoice_currency(uow: UnitOfWork, invoice: str) -> str:
    return payments.get_invoice(uow, ref=invoice).currency


@router.post(
    "/ar/unapplied-cash",
    status_code=201,
    response_model=UnappliedCashOut,
    openapi_extra=requires("receivables:write"),
)
def receive_unapplied_cash(body: UnappliedCashIn, principal: Auth, request: Request) -> Response:
    """A customer's payment not (yet) applied to an invoice: held as a credit on their account."""
    return created(
        request,
        principal,
        body.model_dump(mode="json"),
        lambda uow: UnappliedCashOut.model_validate(
            service.receive_unapplied_cash(
                uow,
                customer=body.customer,
                amount=money_in(body.amount, body.currency),
                method=body.method,
                reference=body.reference,
                received_on=body.received_on,
            )
        ),
    )


@router.get(
    "/ar/unapplied-cash", response_model=list[UnappliedCashOut], openapi_extra=requires("finance:read")
)
def customer_credits(principal: Auth, request: Request, customer: _REF) -> list[UnappliedCashOut]:
    """A customer's unapplied cash still open, oldest first."""
    found = service.customer_credits(unit_of_work(request), customer=customer)
    return [UnappliedCashOut.model_validate(c) for c in found]


@router.post(
    "/ar/unapplied-cash/{receipt}/apply",
    response_model=UnappliedCashOut,
    openapi_extra=requires("receivables:write"),
    responses={409: {"description": "conflict: the credit or the invoice holds less than the amount"}},
)
def apply_unapplied_cash(receipt: str, body: ApplyUnappliedIn, principal: Auth, request: Request) -> Response:
    """Apply unapplied cash to one of the customer's invoices (`amount`, or as much as both allow)."""

    def execute(joined: UnitOfWork) -> UnappliedCashOut:
        amount = None
        if body.amount is not None:
            amount = money_in(body.amount, _invoice_currency(joined, body.invoice))
        applied = service.apply_unapplied_cash(joined, receipt=receipt, invoice=body.invoice, amount=amount)
        return UnappliedCashOut.model_validate(applied)

    return created(request, principal, body.model_dump(mode="json"), execute, status_code=200)


@router.get(
    "/ar/card-liabilities", response_model=list[CardLiabilityOut], openapi_extra=requires("finance:read")
)
def card_liabilities(principal: Auth, request: Request) -> list[CardLiabilityOut]:
    """Gift-card and store-credit liability accounts beside the cards' outstanding balances, per currency."""
    return [CardLiabilityOut.model_validate(c) for c in service.card_liabilities(unit_of_work(request))]


@router.get("/ar/dunning-letters", response_model=DunningLetterOut, openapi_extra=requires("finance:read"))
def dunning_letter(
    principal: Auth, request: Request, customer: _REF, as_of: date | None = None
) -> DunningLetterOut:
    """The dunning letter a customer's past-due invoices call for (reminder, second or final notice) as text and
    HTML; `stage` null when nothing is past due."""
    uow = unit_of_work(request)
    day = as_of or uow.now().date()
    retailer = request.app.state.settings.retailer_name
    letter = service.dunning_letter(uow, customer=customer, as_of=day, retailer=retailer)
    if letter is None:
        return DunningLetterOut(
            customer=customer, as_of=day, stage=None, subject="", text="", html="", total=None
        )
    return DunningLetterOut(
        customer=customer,
        as_of=day,
        stage=letter.stage,
        subject=letter.subject,
        text=letter.text,
        html=letter.html,
        total=MoneyOut.of(Money.from_minor(letter.total_minor, letter.currency)),
    )


@router.post(
    "/accounting-exports/{export_id}/push",
    status_code=202,
    response_model=AccountingExportOut,
    openapi_extra=requires("finance:export"),
    responses={409: {"description": "`not_an_api_export`: only `qbo` and `bc` exports are pushed"}},
)
def push_accounting_export(export_id: uuid.UUID, principal: Auth, request: Request) -> AccountingExportOut:
    """Queue a push of an API export (`qbo`: QuickBooks Online, `bc`: Business Central) to its package: the
    worker sends every entry no push has delivered yet (refused ones again), each exactly once, and records each
    result; the export's `pushed` and `failed` counts follow."""
    return AccountingExportOut.model_validate(service.queue_push(unit_of_work(request), export_id=export_id))


@router.get(
    "/accounting-exports/{export_id}/failures",
    response_model=list[PushFailureOut],
    openapi_extra=requires("finance:read"),
)
def accounting_export_failures(
    export_id: uuid.UUID,
    principal: Auth,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[PushFailureOut]:
    """The entries of an API export that the last push could not deliver, with the package's message (entry order,
    at most `limit`): correct them, then push again."""
    uow = unit_of_work(request)
    service.get_export(uow, export_id=export_id)
    return [
        PushFailureOut(entry_id=entry_id, error=error)
        for entry_id, error in service.push_failures(uow, export_id=export_id, limit=limit)
    ]


@router.post(
    "/settlements",
    status_code=201,
    response_model=SettlementOut,
    openapi_extra=requires("finance:write"),
    responses={409: {"description": "`already_exists`: this file was imported before"}},
)
async def import_settlement(
    principal: Auth,
    request: Request,
    processor: Annotated[Literal["stripe", "authorize_net"], Form()],
    file: Annotated[
        UploadFile,
        File(
            description="Stripe: a payout's itemized reconciliation report (CSV); Authorize.Net: a settled "
            "batch's getTransactionListResponse (JSON)"
        ),
    ],
    batch_id: Annotated[str | None, Form(max_length=100, description="Authorize.Net: the batch's id")] = None,
    currency: Annotated[CurrencyCode | None, Form(description="Authorize.Net: the batch's currency")] = None,
) -> Response:
    """Import a processor's settlement: each line matched to the capture or refund it settles (`matched`,
    `amount_differs`, `unmatched`; fees as `fee`; a dispute line opens or wins its dispute, `dispute`), the payout
    and its fees posted (Dr cash in bank and processor fees / Cr the card clearing account). A file is imported
    once."""
    data = await file.read()
    name = file.filename or "settlement"

    def execute(uow: UnitOfWork) -> SettlementOut:
        made = service.import_settlement(
            uow, processor=processor, file_name=name, data=data, batch_id=batch_id, currency=currency
        )
        return SettlementOut.model_validate(made)

    return await anyio.to_thread.run_sync(
        lambda: created(request, principal, {"processor": processor, "file": name}, execute)
    )


@router.get("/settlements", response_model=list[SettlementOut], openapi_extra=requires("finance:read"))
def list_settlements(
    principal: Auth, request: Request, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[SettlementOut]:
    """The latest settlements imported, newest first (without their lines)."""
    return [
        SettlementOut.model_validate(s) for s in service.list_settlements(unit_of_work(request), limit=limit)
    ]


@router.get("/settlements/{ref}", response_model=SettlementOut, openapi_extra=requires("finance:read"))
def get_settlement(
    ref: Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")],
    principal: Auth,
    request: Request,
    status: Literal["matched", "amount_differs", "unmatched", "fee", "dispute", "other", "differences"]
    | None = None,
) -> SettlementOut:
    """A settlement with its lines (`status=differences`: only those a person must look at)."""
    return SettlementOut.model_validate(service.get_settlement(unit_of_work(request), ref=ref, status=status))

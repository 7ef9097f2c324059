"""Finance API models: accounts, mapping rules, journal entries, periods, the trial balance and the financial
statements."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field

from ordersmith.finance import rules
from ordersmith.finance.service import Aging, AgingRow, BalanceSheet, CustomerStatement, IncomeStatement
from ordersmith.kernel.money import Money
from ordersmith.platform.schemas import CurrencyCode, Input, MoneyAmount, MoneyOut, Output

AccountCode = Annotated[
    str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9._-]+$", examples=["4010"])
]
AccountType = Literal["asset", "liability", "equity", "revenue", "expense"]
PeriodCode = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}$", examples=["2026-11"])]
# A division's or sales channel's code, as a ledger dimension (ADR 0039).
DimensionCode = Annotated[
    str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$", examples=["web"])
]


class AccountIn(Input):
    code: AccountCode
    name: Annotated[str, Field(min_length=1, max_length=200)]
    type: AccountType


class AccountPatch(Input):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    active: bool | None = None


class AccountOut(Output):
    code: str
    name: str
    type: AccountType
    active: bool
    version: int


class MappingIn(Input):
    kind: Literal["tender", "revenue", "tax", "role"]
    key: Annotated[str, Field(min_length=1, max_length=60)]
    account_code: AccountCode


class MappingOut(Output):
    kind: str
    key: str
    account_code: str


class LineIn(Input):
    account_code: AccountCode
    debit: MoneyAmount | None = None
    credit: MoneyAmount | None = None
    memo: Annotated[str, Field(max_length=200)] = ""


class EntryIn(Input):
    posted_on: date
    currency: CurrencyCode
    memo: Annotated[str, Field(min_length=1, max_length=500)]
    reference: Annotated[str, Field(max_length=80)] = ""
    lines: Annotated[list[LineIn], Field(min_length=2, max_length=500)]
    division: DimensionCode | None = Field(default=None, description="every line carries this division")
    channel: DimensionCode | None = Field(default=None, description="every line carries this sales channel")


class ReverseIn(Input):
    posted_on: date
    memo: Annotated[str, Field(max_length=500)] = ""


class LineOut(Output):
    line_no: int
    account_code: str
    debit: MoneyOut
    credit: MoneyOut
    memo: str
    division: str  # the line's dimensions: "" for none
    channel: str


class EntryOut(Output):
    id: uuid.UUID
    posted_on: date
    period: str
    currency: str
    rule: str
    source_event_id: uuid.UUID | None
    source_type: str
    reference: str
    memo: str
    note: str
    reverses_id: uuid.UUID | None
    created_by: str
    created_at: datetime
    lines: list[LineOut]


class PeriodOut(Output):
    code: str
    starts_on: date
    ends_on: date
    status: Literal["open", "closed"]
    closed_by: str | None
    closed_at: datetime | None


class TrialBalanceRowOut(Output):
    account_code: str
    name: str
    type: AccountType
    currency: str
    debit: MoneyOut
    credit: MoneyOut
    balance: MoneyOut


class TrialBalanceOut(Output):
    period: str
    balanced: bool
    rows: list[TrialBalanceRowOut]
    division: str = Field(description='only the lines of this division ("": every line)')
    channel: str = Field(description='only the lines of this sales channel ("": every line)')


def _money(minor: int, currency: str) -> MoneyOut:
    return MoneyOut.model_validate(Money.from_minor(minor, currency))


class StatementLineOut(Output):
    account_code: str
    name: str
    amount: MoneyOut  # in the account's normal direction: contra accounts (discounts, returns) are negative


def _lines(lines: tuple[rules.StatementLine, ...], currency: str) -> list[StatementLineOut]:
    return [
        StatementLineOut(account_code=x.account_code, name=x.name, amount=_money(x.amount_minor, currency))
        for x in lines
    ]


class IncomeStatementSectionOut(Output):
    currency: str
    revenue: list[StatementLineOut]
    expenses: list[StatementLineOut]
    total_revenue: MoneyOut
    total_expenses: MoneyOut
    net_income: MoneyOut

    @classmethod
    def of(cls, figures: rules.IncomeStatementFigures) -> IncomeStatementSectionOut:
        c = figures.currency
        return cls(
            currency=c,
            revenue=_lines(figures.revenue, c),
            expenses=_lines(figures.expenses, c),
            total_revenue=_money(figures.total_revenue_minor, c),
            total_expenses=_money(figures.total_expenses_minor, c),
            net_income=_money(figures.net_income_minor, c),
        )


class IncomeStatementOut(Output):
    from_period: str
    to_period: str
    starts_on: date
    ends_on: date
    currencies: list[IncomeStatementSectionOut]
    division: str  # the filter: "" for every line
    channel: str

    @classmethod
    def of(cls, statement: IncomeStatement) -> IncomeStatementOut:
        return cls(
            from_period=statement.from_period,
            to_period=statement.to_period,
            starts_on=statement.starts_on,
            ends_on=statement.ends_on,
            currencies=[IncomeStatementSectionOut.of(f) for f in statement.currencies],
            division=statement.division,
            channel=statement.channel,
        )


class BalanceSheetSectionOut(Output):
    currency: str
    assets: list[StatementLineOut]
    liabilities: list[StatementLineOut]
    equity: list[StatementLineOut]
    earlier_earnings: MoneyOut
    current_earnings: MoneyOut
    total_assets: MoneyOut
    total_liabilities: MoneyOut
    total_equity: MoneyOut
    balanced: bool

    @classmethod
    def of(cls, figures: rules.BalanceSheetFigures) -> BalanceSheetSectionOut:
        c = figures.currency
        return cls(
            currency=c,
            assets=_lines(figures.assets, c),
            liabilities=_lines(figures.liabilities, c),
            equity=_lines(figures.equity, c),
            earlier_earnings=_money(figures.earlier_earnings_minor, c),
            current_earnings=_money(figures.current_earnings_minor, c),
            total_assets=_money(figures.total_assets_minor, c),
            total_liabilities=_money(figures.total_liabilities_minor, c),
            total_equity=_money(figures.total_equity_minor, c),
            balanced=figures.balanced,
        )


class BalanceSheetOut(Output):
    period: str
    as_of: date
    currencies: list[BalanceSheetSectionOut]
    division: str  # the filter: "" for every line
    channel: str

    @classmethod
    def of(cls, sheet: BalanceSheet) -> BalanceSheetOut:
        return cls(
            period=sheet.period,
            as_of=sheet.as_of,
            currencies=[BalanceSheetSectionOut.of(f) for f in sheet.currencies],
            division=sheet.division,
            channel=sheet.channel,
        )


class AgingRowOut(Output):
    customer_number: str  # "" on a total
    currency: str
    invoices: int
    buckets: dict[str, MoneyOut]  # current, days_1_30, days_31_60, days_61_90, days_91_120, over_120
    total: MoneyOut
    oldest_due_on: date

    @classmethod
    def of(cls, row: AgingRow, names: tuple[str, ...]) -> AgingRowOut:
        return cls(
            customer_number=row.customer_number,
            currency=row.currency,
            invoices=row.invoices,
            buckets={n: MoneyOut.model_validate(m) for n, m in zip(names, row.buckets, strict=True)},
            total=MoneyOut.model_validate(row.total),
            oldest_due_on=row.oldest_due_on,
        )


class ReconciliationOut(Output):
    currency: str
    subledger: MoneyOut
    control: MoneyOut
    difference: MoneyOut


class AgingOut(Output):
    as_of: date
    rows: list[AgingRowOut]
    totals: list[AgingRowOut]
    reconciliation: list[ReconciliationOut]

    @classmethod
    def of(cls, aging: Aging) -> AgingOut:
        return cls(
            as_of=aging.as_of,
            rows=[AgingRowOut.of(r, aging.buckets) for r in aging.rows],
            totals=[AgingRowOut.of(r, aging.buckets) for r in aging.totals],
            reconciliation=[ReconciliationOut.model_validate(r) for r in aging.reconciliation],
        )


class StatementItemOut(Output):
    invoice: str
    order: str
    issued_on: date
    due_on: date
    total: MoneyOut
    paid: MoneyOut
    balance: MoneyOut
    days_past_due: int


class CustomerStatementOut(Output):
    customer_number: str
    as_of: date
    terms: str
    credit_limit: MoneyOut | None
    items: list[StatementItemOut]
    aging: list[AgingRowOut]
    credit_hold: bool
    credit_note: str

    @classmethod
    def of(cls, statement: CustomerStatement, names: tuple[str, ...]) -> CustomerStatementOut:
        return cls(
            customer_number=statement.customer_number,
            as_of=statement.as_of,
            terms=statement.terms,
            credit_limit=MoneyOut.model_validate(statement.credit_limit) if statement.credit_limit else None,
            items=[StatementItemOut.model_validate(i) for i in statement.items],
            aging=[AgingRowOut.of(r, names) for r in statement.aging],
            credit_hold=statement.credit_hold,
            credit_note=statement.credit_note,
        )


# --- collections (ADR 0030) ---------------------------------------------------------------------------------------


class WriteOffIn(Input):
    reason: Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^\x00]*$")]
    amount: MoneyAmount | None = None  # default: the invoice's whole balance


class WrittenOffOut(Output):
    number: str
    customer_number: str
    status: str
    total: MoneyOut
    paid: MoneyOut
    written_off: MoneyOut | None
    balance: MoneyOut


class UnappliedCashIn(Input):
    customer: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]
    amount: MoneyAmount
    currency: CurrencyCode
    method: Literal["check", "transfer", "card", "cash"]
    reference: Annotated[str, Field(max_length=100, pattern=r"^[^\x00]*$")] = ""
    received_on: date | None = None


class UnappliedCashOut(Output):
    id: uuid.UUID
    number: str
    customer_number: str
    amount: MoneyOut
    applied: MoneyOut
    remaining: MoneyOut
    method: str
    reference: str
    received_on: date


class ApplyUnappliedIn(Input):
    invoice: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]
    amount: MoneyAmount | None = None  # default: as much as the credit and the invoice allow


class CardLiabilityOut(Output):
    kind: str
    currency: str
    outstanding: MoneyOut
    liability: MoneyOut
    difference: MoneyOut


class DunningLetterOut(Output):
    customer: str
    as_of: date
    stage: str | None  # reminder | second_notice | final_notice; None: nothing past due
    subject: str
    text: str
    html: str
    total: MoneyOut | None


ExportFormat = Literal["gl", "iif", "xero", "sage50", "sage50-sales", "gp-im", "gp-econnect", "qbo", "bc"]


class AccountingExportIn(Input):
    period: PeriodCode
    format: ExportFormat
    currency: CurrencyCode | None = Field(default=None, description="needed by every format but `gl`")
    summary: bool = Field(default=False, description="one entry per day and currency, netted per account")
    tax_rate: str = Field(
        default="Tax Exempt", min_length=1, max_length=60, pattern=r"^[^\x00-\x1f]+$",
        description="xero: the tax rate every line takes",
    )  # fmt: skip
    batch: str | None = Field(
        default=None, min_length=1, max_length=15, pattern=r"^[A-Za-z0-9_-]+$",
        description="gp-im / gp-econnect: the GP batch id (default OS + the period)",
    )  # fmt: skip
    first: int = Field(
        default=1, ge=1, le=2_000_000_000, description="gp-im / gp-econnect: GP's next journal entry number"
    )


class AccountingExportOut(Output):
    id: uuid.UUID
    number: int
    format: ExportFormat
    target: str
    period: str
    currency: str | None
    summary: bool
    options: dict[str, str]
    entries: int
    lines: int
    created_by: str
    created_at: datetime
    file_name: str
    pushed: int = Field(description="qbo / bc: entries the package took")
    failed: int = Field(
        description="qbo / bc: entries it refused or could not be reached for (a push retries them)"
    )


class PushFailureOut(Output):
    entry_id: uuid.UUID
    error: str = Field(description="the package's message (or why it could not be reached)")


class SettlementItemOut(Output):
    line_no: int
    kind: Literal["charge", "refund", "fee", "dispute", "other"]
    processor_id: str
    reference: str
    gross: MoneyOut
    fee: MoneyOut
    net: MoneyOut
    status: Literal["matched", "amount_differs", "unmatched", "fee", "dispute", "other"]
    transaction_id: uuid.UUID | None


class SettlementOut(Output):
    id: uuid.UUID
    number: str
    processor: Literal["stripe", "authorize_net"]
    file_name: str
    payout_reference: str
    payout_on: date | None
    currency: str
    charges: MoneyOut
    refunds: MoneyOut
    fees: MoneyOut
    other: MoneyOut
    net: MoneyOut
    lines: int
    matched: int
    differences: int
    imported_by: str
    imported_at: datetime
    items: list[SettlementItemOut]

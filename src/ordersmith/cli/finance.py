"""`ordersmith finance …`: the chart of accounts, the trial balance and period close from the command line (they
read the database directly; no server needed)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from ordersmith.cli._common import _cli_actor, _db, _settings, app, command, fail, out
from ordersmith.cli._common import table as cli_table
from ordersmith.finance import formats, ledgers
from ordersmith.finance import service as finance
from ordersmith.finance.rules import StatementLine
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.payments import service as payments
from ordersmith.platform.schemas import money_in

finance_app = typer.Typer(
    help="The ledger: chart of accounts, trial balance, statements, periods.", no_args_is_help=True
)
app.add_typer(finance_app, name="finance")
Division = Annotated[str | None, typer.Option(help="only the lines of this division (e.g. web)")]
Channel = Annotated[str | None, typer.Option(help="only the lines of this sales channel (e.g. phone)")]


def _filtered(division: str | None, channel: str | None) -> str:
    """What a statement was filtered by, for its heading: ` (division web, channel phone)` or ``."""
    named = [f"division {division}" if division else "", f"channel {channel}" if channel else ""]
    return f" ({', '.join(n for n in named if n)})" if division or channel else ""


@finance_app.command("chart")
@command
def chart() -> None:
    """Seed the default chart of accounts where missing, and list it."""
    uow = _db(_settings()).unit_of_work(_cli_actor())
    added = finance.ensure_chart(uow)
    table = cli_table("code", "name", "type", "active")
    for account in finance.list_accounts(uow):
        table.add_row(account.code, account.name, account.type, "yes" if account.active else "no")
    out.print(table)
    out.print(f"{added} account(s) added")


@finance_app.command("trial-balance")
@command
def trial_balance(
    period: Annotated[str, typer.Argument(help="YYYY-MM (or YYYY-13: a year's closing period)")],
    cumulative: Annotated[bool, typer.Option(help="everything up to the end of the period")] = False,
    division: Division = None,
    channel: Channel = None,
) -> None:
    """Debits, credits and balance per account for a period (of a division and/or channel's lines); exits 1 when
    it does not balance."""
    found = finance.trial_balance(
        _db(_settings()).unit_of_work(_cli_actor()),
        period=period,
        cumulative=cumulative,
        division=division,
        channel=channel,
    )
    table = cli_table(
        "account", "name", "currency", "debit", "credit", "balance", numeric=("debit", "credit", "balance")
    )
    for row in found.rows:
        table.add_row(
            row.account_code,
            row.name,
            row.currency,
            str(row.debit.amount),
            str(row.credit.amount),
            str(row.balance.amount),
        )
    out.print(table)
    if not found.balanced:
        fail(f"the trial balance of {period} does not balance")
    out.print(f"{period}{_filtered(division, channel)}: balanced, {len(found.rows)} account(s)")


@finance_app.command("close")
@command
def close(period: Annotated[str, typer.Argument(help="YYYY-MM")]) -> None:
    """Close an accounting period: later postings dated in it go to the next open period, with a note."""
    closed = finance.close_period(_db(_settings()).unit_of_work(_cli_actor()), period=period)
    out.print(f"{closed.code} closed ({closed.starts_on} to {closed.ends_on})")


@finance_app.command("replay")
@command
def replay() -> None:
    """Post every event still in the outbox that a posting rule knows (those posted already are skipped)."""
    read, posted = finance.replay_outbox(_db(_settings()).unit_of_work(_cli_actor()))
    out.print(f"{read} event(s) read, {posted} entr{'y' if posted == 1 else 'ies'} posted")


def _amount(minor: int, currency: str) -> str:
    return str(Money.from_minor(minor, currency).amount)


def _section(title: str, lines: tuple[StatementLine, ...], total: int, currency: str) -> None:
    table = cli_table("account", title, currency, numeric=(currency,))
    for line in lines:
        table.add_row(line.account_code, line.name, _amount(line.amount_minor, currency))
    table.add_row("", f"Total {title.lower()}", _amount(total, currency))
    out.print(table)


@finance_app.command("income-statement")
@command
def income_statement(
    from_period: Annotated[str, typer.Argument(help="first period, YYYY-MM")],
    to_period: Annotated[str | None, typer.Argument(help="last period, YYYY-MM (default: the first)")] = None,
    currency: Annotated[str | None, typer.Option(help="only this currency")] = None,
    division: Division = None,
    channel: Channel = None,
) -> None:
    """Revenue, expenses and net income for a period or a range of periods, per currency (of a division and/or
    channel's lines)."""
    found = finance.income_statement(
        _db(_settings()).unit_of_work(_cli_actor()),
        from_period=from_period,
        to_period=to_period or from_period,
        currency=currency,
        division=division,
        channel=channel,
    )
    out.print(f"Income statement {found.starts_on} to {found.ends_on}{_filtered(division, channel)}")
    for figures in found.currencies:
        c = figures.currency
        _section("Revenue", figures.revenue, figures.total_revenue_minor, c)
        _section("Expenses", figures.expenses, figures.total_expenses_minor, c)
        out.print(f"Net income ({c}): {_amount(figures.net_income_minor, c)}")
    if not found.currencies:
        out.print("nothing posted in these periods")


@finance_app.command("balance-sheet")
@command
def balance_sheet(
    period: Annotated[
        str,
        typer.Argument(
            help="YYYY-MM: the sheet is at this period's last day (YYYY-13: after the year-end close)"
        ),
    ],
    currency: Annotated[str | None, typer.Option(help="only this currency")] = None,
    division: Division = None,
    channel: Channel = None,
) -> None:
    """Assets, liabilities and equity at a period's end, per currency (of a division and/or channel's lines);
    exits 1 when they do not balance."""
    found = finance.balance_sheet(
        _db(_settings()).unit_of_work(_cli_actor()),
        period=period,
        currency=currency,
        division=division,
        channel=channel,
    )
    out.print(f"Balance sheet at {found.as_of}{_filtered(division, channel)}")
    for figures in found.currencies:
        c = figures.currency
        _section("Assets", figures.assets, figures.total_assets_minor, c)
        _section("Liabilities", figures.liabilities, figures.total_liabilities_minor, c)
        equity = (
            *figures.equity,
            StatementLine("", "Earnings of earlier years", figures.earlier_earnings_minor),
            StatementLine("", "Earnings this year", figures.current_earnings_minor),
        )
        _section("Equity", equity, figures.total_equity_minor, c)
        if not figures.balanced:
            fail(f"the balance sheet in {c} does not balance")
        out.print(f"{c}: assets = liabilities + equity")
    if not found.currencies:
        out.print("nothing posted up to this period")


_BUCKET_TITLES = ("current", "1-30", "31-60", "61-90", "91-120", "120+")


def _as_of(text: str | None, uow_today: date) -> date:
    if text is None:
        return uow_today
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--as-of: {text!r} is not a date (YYYY-MM-DD)") from None


@finance_app.command("aging")
@command
def aging(as_of: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today)")] = None) -> None:
    """Accounts receivable aging by customer, totals, and the subledger against the control account; exits 1 when
    they differ."""
    uow = _db(_settings()).unit_of_work(_cli_actor())
    found = finance.ar_aging(uow, as_of=_as_of(as_of, uow.now().date()))
    table = cli_table("customer", "currency", *_BUCKET_TITLES, "total", numeric=(*_BUCKET_TITLES, "total"))
    for row in [*found.rows, *found.totals]:
        table.add_row(
            row.customer_number or "TOTAL",
            row.currency,
            *(str(m.amount) for m in row.buckets),
            str(row.total.amount),
        )
    out.print(f"Accounts receivable aging as of {found.as_of}")
    out.print(table)
    for check in found.reconciliation:
        out.print(
            f"{check.currency}: subledger {check.subledger.amount}, control account {check.control.amount}, "
            f"difference {check.difference.amount}"
        )
    if any(not check.difference.is_zero() for check in found.reconciliation):
        fail("the AR subledger differs from the control account (unposted events, or a customer's credit)")


@finance_app.command("statement")
@command
def statement(
    customer: Annotated[str, typer.Argument(help="customer number")],
    as_of: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today)")] = None,
    pdf: Annotated[Path | None, typer.Option(help="write the statement as PDF to this file instead")] = None,
) -> None:
    """A customer's open-item statement: open invoices aged, the total due, and the credit standing."""
    settings = _settings()
    uow = _db(settings).unit_of_work(_cli_actor())
    day = _as_of(as_of, uow.now().date())
    if pdf is not None:
        pdf.write_bytes(
            finance.statement_pdf(uow, customer=customer, as_of=day, retailer=settings.retailer_name)
        )
        out.print(f"statement of {customer} as of {day} written to {pdf}")
        return
    found = finance.customer_statement(uow, customer=customer, as_of=day)
    out.print(f"Statement for {found.customer_number} as of {found.as_of} (terms {found.terms or 'none'})")
    table = cli_table(
        "invoice",
        "order",
        "issued",
        "due",
        "total",
        "paid",
        "balance",
        "days past due",
        numeric=("total", "paid", "balance", "days past due"),
    )
    for item in found.items:
        table.add_row(
            item.invoice,
            item.order,
            str(item.issued_on),
            str(item.due_on),
            str(item.total.amount),
            str(item.paid.amount),
            str(item.balance.amount),
            str(item.days_past_due),
        )
    out.print(table)
    for row in found.aging:
        buckets = ", ".join(f"{t} {m.amount}" for t, m in zip(_BUCKET_TITLES, row.buckets, strict=True))
        out.print(f"Total due {row.total.amount} {row.currency} ({buckets})")
    out.print(f"Credit hold: {found.credit_note}" if found.credit_hold else "Credit: in good standing")


@finance_app.command("export")
@command
def export(
    period: Annotated[str, typer.Argument(help="YYYY-MM")],
    format: Annotated[
        str,
        typer.Option(
            "--format",
            help="gl | iif (QuickBooks Desktop) | xero | sage50 | sage50-sales | gp-im | gp-econnect (Dynamics GP)"
            " | qbo (QuickBooks Online) | bc (Business Central): these two are pushed (`finance push`)",
        ),
    ] = "gl",
    currency: Annotated[
        str | None, typer.Option(help="only this currency (every format but gl needs one)")
    ] = None,
    summary: Annotated[bool, typer.Option(help="one entry per day, netted per account")] = False,
    tax_rate: Annotated[str, typer.Option(help="xero: the tax rate every line takes")] = "Tax Exempt",
    batch: Annotated[str | None, typer.Option(help="gp-im / gp-econnect: the GP batch id")] = None,
    first: Annotated[int, typer.Option(help="gp-im / gp-econnect: GP's next journal entry number")] = 1,
    output: Annotated[Path | None, typer.Option(help="write here instead of standard output")] = None,
) -> None:
    """Export a period's journal to an accounting package: recorded, and carrying only the entries no earlier
    export to that package carried."""
    uow = _db(_settings()).unit_of_work(_cli_actor())
    made = finance.create_export(
        uow, period=period, format=format, currency=currency, summary=summary, tax_rate=tax_rate, batch=batch,
        first=first,
    )  # fmt: skip
    if made.format in formats.API_FORMATS and output is None:
        out.print(
            f"export {made.number} ({made.id}): {made.entries} entries of {period} for {made.target}; "
            f"push them with `ordersmith finance push {made.id}`"
        )
        return
    _write(finance.export_file(uow, export_id=made.id), output)
    if output is not None:
        out.print(
            f"export {made.number}: {made.entries} entries of {period} to {made.target} written to {output}"
        )


@finance_app.command("exports")
@command
def exports() -> None:
    """The exports made, newest first."""
    page = finance.list_exports(_db(_settings()).unit_of_work(_cli_actor()), limit=200)
    table = cli_table(
        "number", "id", "format", "period", "currency", "entries", "by", "at", numeric=("number", "entries")
    )
    for e in page.items:
        table.add_row(str(e.number), str(e.id), e.format, e.period, e.currency or "all", str(e.entries),
                      e.created_by, e.created_at.strftime("%Y-%m-%d %H:%M"))  # fmt: skip
    out.print(table)


@finance_app.command("export-file")
@command
def export_file(
    export_id: Annotated[str, typer.Argument(help="the export's id (`ordersmith finance exports`)")],
    output: Annotated[Path | None, typer.Option(help="write here instead of standard output")] = None,
) -> None:
    """Write an earlier export's file again (the same entries: nothing new is exported)."""
    try:
        wanted = uuid.UUID(export_id)
    except ValueError:
        raise ValidationFailed.on("export_id", "an export's id (a UUID)") from None
    _write(finance.export_file(_db(_settings()).unit_of_work(_cli_actor()), export_id=wanted), output)


def _write(chunks: Iterator[str], output: Path | None) -> None:
    if output is None:
        for chunk in chunks:
            sys.stdout.write(chunk)
        return
    with output.open("w", encoding="utf-8", newline="") as file:
        for chunk in chunks:
            file.write(chunk)


# --- collections (ADR 0030) ---------------------------------------------------------------------------------------


@finance_app.command("write-off")
@command
def write_off(
    invoice: Annotated[str, typer.Argument(help="invoice number, e.g. I-000007")],
    reason: Annotated[str, typer.Option(help="why it will not be paid (required)")],
    amount: Annotated[str | None, typer.Option(help="part of the balance (default: all of it)")] = None,
) -> None:
    """Write off what a customer will not pay on an invoice as a bad debt (Dr bad debts / Cr receivables)."""
    uow = _db(_settings()).unit_of_work(_cli_actor())
    currency = payments.get_invoice(uow, ref=invoice).currency
    found = finance.write_off_invoice(
        uow,
        invoice=invoice,
        reason=reason,
        amount=None if amount is None else money_in(amount, currency, field="--amount"),
    )
    written = found.written_off.amount if found.written_off else 0
    out.print(
        f"{found.number}: {written} {found.currency} written off in all, {found.balance} owed ({found.status})"
    )


@finance_app.command("receive-cash")
@command
def receive_cash(
    customer: Annotated[str, typer.Argument(help="customer number")],
    amount: Annotated[str, typer.Argument(help="e.g. 120.00")],
    currency: Annotated[str, typer.Option(help="ISO 4217 code")] = "USD",
    method: Annotated[str, typer.Option(help="check, transfer, card or cash")] = "check",
    reference: Annotated[str, typer.Option(help="check number, bank reference")] = "",
) -> None:
    """A customer's payment not (yet) applied to an invoice: held as a credit on their account."""
    uow = _db(_settings()).unit_of_work(_cli_actor())
    found = finance.receive_unapplied_cash(
        uow,
        customer=customer,
        amount=money_in(amount, currency.upper(), field="amount"),
        method=method,
        reference=reference,
    )
    out.print(f"{found.number}: {found.amount} held for {found.customer_number}")


@finance_app.command("apply-cash")
@command
def apply_cash(
    receipt: Annotated[str, typer.Argument(help="unapplied cash number, e.g. U-000001")],
    invoice: Annotated[str, typer.Argument(help="invoice number")],
    amount: Annotated[str | None, typer.Option(help="default: as much as both allow")] = None,
) -> None:
    """Apply a customer's unapplied cash to one of their invoices."""
    uow = _db(_settings()).unit_of_work(_cli_actor())
    currency = payments.get_invoice(uow, ref=invoice).currency
    found = finance.apply_unapplied_cash(
        uow,
        receipt=receipt,
        invoice=invoice,
        amount=None if amount is None else money_in(amount, currency, field="--amount"),
    )
    out.print(f"{found.number}: {found.applied} applied, {found.remaining} left")


@finance_app.command("overdue")
@command
def overdue() -> None:
    """Flag the open invoices that fell past due today (what the hourly job does), and say how many."""
    uow = _db(_settings()).unit_of_work(_cli_actor())
    out.print(f"{payments.mark_overdue(uow)} invoice(s) flagged overdue")


@finance_app.command("expire-cards")
@command
def expire_cards() -> None:
    """Expire the gift cards and store credit past their expiry date (what the hourly job does)."""
    uow = _db(_settings()).unit_of_work(_cli_actor())
    out.print(f"{payments.expire_cards(uow)} card(s) expired")


@finance_app.command("card-liabilities")
@command
def card_liabilities() -> None:
    """Gift-card and store-credit liabilities against the cards' outstanding balances; exits 1 when they differ."""
    found = finance.card_liabilities(_db(_settings()).unit_of_work(_cli_actor()))
    table = cli_table(
        "kind", "currency", "cards", "ledger", "difference", numeric=("cards", "ledger", "difference")
    )
    for row in found:
        table.add_row(
            row.kind,
            row.currency,
            str(row.outstanding.amount),
            str(row.liability.amount),
            str(row.difference.amount),
        )
    out.print(table)
    if any(not row.difference.is_zero() for row in found):
        fail("a card liability differs from the cards' balances (unposted events?)")


@finance_app.command("dunning")
@command
def dunning_letter(
    customer: Annotated[str, typer.Argument(help="customer number")],
    as_of: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today)")] = None,
    html: Annotated[bool, typer.Option(help="the HTML letter instead of text")] = False,
) -> None:
    """The dunning letter a customer's past-due invoices call for, as text (or HTML) on standard output."""
    settings = _settings()
    uow = _db(settings).unit_of_work(_cli_actor())
    letter = finance.dunning_letter(
        uow, customer=customer, as_of=_as_of(as_of, uow.now().date()), retailer=settings.retailer_name
    )
    if letter is None:
        out.print(f"{customer}: nothing past due, no letter")
        return
    sys.stdout.write(letter.html if html else letter.text)


@finance_app.command("push")
@command
def push(
    export_id: Annotated[
        str, typer.Argument(help="the id of a qbo or bc export (`ordersmith finance exports`)")
    ],
) -> None:
    """Push an API export's undelivered entries (refused ones again) to QuickBooks Online or Business Central now,
    each exactly once."""
    try:
        wanted = uuid.UUID(export_id)
    except ValueError:
        raise ValidationFailed.on("export_id", "an export's id (a UUID)") from None
    try:
        done = finance.push_export(_db(_settings()).unit_of_work(_cli_actor()), export_id=wanted)
    except ledgers.LedgerUnavailable as exc:
        fail(f"push stopped: {exc}", 1)
        return
    out.print(
        f"export {done.number} to {done.target}: {done.pushed} of {done.entries} entries pushed, "
        f"{done.failed} refused"
    )
    if done.failed:
        failures = finance.push_failures(_db(_settings()).unit_of_work(_cli_actor()), export_id=wanted)
        for entry_id, error in failures:
            out.print(f"  {entry_id}: {error}")
        fail(f"{done.failed} entries were refused (above): correct them and push again", 1)


@finance_app.command("settlement-import")
@command
def settlement_import(
    file: Annotated[
        Path, typer.Argument(help="Stripe: a payout's itemized reconciliation CSV; Authorize.Net: JSON")
    ],
    processor: Annotated[str, typer.Option(help="stripe | authorize_net")] = "stripe",
    batch_id: Annotated[str | None, typer.Option(help="Authorize.Net: the settled batch's id")] = None,
    currency: Annotated[str | None, typer.Option(help="Authorize.Net: the batch's currency")] = None,
) -> None:
    """Import a processor's settlement: lines matched to captures and refunds, the payout and its fees posted."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise ValidationFailed.on("file", f"cannot read {file}: {exc.strerror}") from None
    made = finance.import_settlement(
        _db(_settings()).unit_of_work(_cli_actor()), processor=processor, file_name=file.name, data=data,
        batch_id=batch_id, currency=currency,
    )  # fmt: skip
    out.print(
        f"settlement {made.number}: {made.lines} lines, {made.matched} matched, {made.differences} to look at; "
        f"net {made.net.amount} {made.currency}, fees {made.fees.amount}"
    )


@finance_app.command("settlement")
@command
def settlement(
    ref: Annotated[str, typer.Argument(help="ST-000001")],
    differences: Annotated[bool, typer.Option(help="only the lines a person must look at")] = False,
) -> None:
    """A settlement's totals and lines."""
    found = finance.get_settlement(
        _db(_settings()).unit_of_work(_cli_actor()), ref=ref, status="differences" if differences else None
    )
    totals = (f"charges {found.charges.amount}, refunds {found.refunds.amount}, fees {found.fees.amount}, "
              f"net {found.net.amount}")  # fmt: skip
    out.print(f"{found.number} {found.processor} {found.payout_reference} {found.currency}: {totals}")
    table = cli_table("line", "kind", "reference", "gross", "fee", "status", numeric=("line", "gross", "fee"))
    for item in found.items:
        table.add_row(str(item.line_no), item.kind, item.reference, str(item.gross.amount), str(item.fee.amount),
                      item.status)  # fmt: skip
    out.print(table)

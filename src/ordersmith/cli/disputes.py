"""`ordersmith finance disputes|open-dispute|dispute-outcome|unsettled`: card disputes (chargebacks) and the
captures and refunds no settlement has matched, from the command line (they read and write the database directly;
no server needed)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer

from ordersmith.cli._common import _cli_actor, _db, _settings, command, fail, out
from ordersmith.cli._common import table as cli_table
from ordersmith.cli.finance import finance_app
from ordersmith.finance import service as finance
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.platform.schemas import money_in


@finance_app.command("disputes")
@command
def disputes(
    status: Annotated[str | None, typer.Option(help="open, won or lost")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
) -> None:
    """Card disputes, newest first."""
    uow = _db(_settings()).unit_of_work(_cli_actor())
    table = cli_table("number", "status", "processor", "charge", "amount", "fee", "opened", "reason")
    for d in finance.list_disputes(uow, status=status, limit=limit).items:
        table.add_row(
            d.number, d.status, d.processor, d.capture_reference, f"{d.amount.amount} {d.currency}",
            str(d.fee.amount), d.opened_at.date().isoformat(), d.reason,
        )  # fmt: skip
    out.print(table)


@finance_app.command("dispute-outcome")
@command
def dispute_outcome(
    dispute: Annotated[str, typer.Argument(help="DP-000001")],
    outcome: Annotated[str, typer.Argument(help="won or lost")],
    fee_returned: Annotated[str | None, typer.Option(help="won: the part of the fee given back")] = None,
    note: Annotated[str, typer.Option()] = "",
) -> None:
    """Record a dispute's outcome (once)."""
    uow = _db(_settings()).unit_of_work(_cli_actor())
    fee = None
    if fee_returned is not None:
        try:
            fee = Money(Decimal(fee_returned), finance.get_dispute(uow, ref=dispute).currency)
        except (InvalidOperation, ValueError):
            raise ValidationFailed.on("fee_returned", f"{fee_returned!r} is not an amount") from None
    decided = finance.record_dispute_outcome(uow, ref=dispute, outcome=outcome, fee_returned=fee, note=note)
    out.print(f"{decided.number} {decided.status}: {decided.amount.amount} {decided.currency}")


@finance_app.command("open-dispute")
@command
def open_dispute(
    reference: Annotated[str, typer.Argument(help="the processor's dispute id, e.g. dp_1Q2w3E")],
    capture: Annotated[str, typer.Option(help="the disputed charge's processor reference")],
    amount: Annotated[str, typer.Option(help="what the processor took back, e.g. 22.00")],
    processor: Annotated[str, typer.Option(help="stripe, authorizenet or sandbox")] = "stripe",
    currency: Annotated[str, typer.Option()] = "USD",
    fee: Annotated[str, typer.Option(help="the processor's dispute fee")] = "0.00",
    reason: Annotated[str, typer.Option()] = "",
) -> None:
    """Open a dispute by hand (reported by letter or on the processor's dashboard), posted as a webhook's, once."""
    uow = _db(_settings()).unit_of_work(_cli_actor())
    opened = finance.open_dispute_by_hand(
        uow,
        processor=processor,
        reference=reference,
        capture_reference=capture,
        amount=money_in(amount, currency.upper(), field="amount"),
        fee=money_in(fee, currency.upper(), field="fee"),
        reason=reason,
    )
    out.print(
        f"{opened.number} open: {opened.amount.amount} {opened.currency} against {opened.capture_reference}"
    )


@finance_app.command("unsettled")
@command
def unsettled(
    older_than_days: Annotated[
        int | None, typer.Option(help="default: ORDERSMITH_UNSETTLED_AFTER_DAYS")
    ] = None,
    processor: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 200,
) -> None:
    """Card captures and refunds that no imported settlement has matched, oldest first."""
    uow = _db(_settings()).unit_of_work(_cli_actor())
    if older_than_days is not None and older_than_days < 0:
        fail("older_than_days: 0 or more")
    table = cli_table("kind", "processor", "reference", "amount", "at", "days", "flagged")
    page = finance.list_unsettled(uow, older_than_days=older_than_days, processor=processor, limit=limit)
    for t in page.items:
        table.add_row(
            t.kind, t.processor, t.reference, f"{t.amount.amount} {t.amount.currency}", t.at.isoformat(),
            str(t.days), t.flagged_on.isoformat() if t.flagged_on else "",
        )  # fmt: skip
    out.print(table)

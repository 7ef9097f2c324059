"""`ordersmith finance …`: the chart of accounts, the trial balance and period close from the command line (they
read the database directly; no server needed)."""

from __future__ import annotations

from typing import Annotated

import typer

from ordersmith.cli._common import _cli_actor, _db, _settings, app, command, fail, out
from ordersmith.cli._common import table as cli_table
from ordersmith.finance import service as finance

finance_app = typer.Typer(help="The ledger: chart of accounts, trial balance, periods.", no_args_is_help=True)
app.add_typer(finance_app, name="finance")


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
    period: Annotated[str, typer.Argument(help="YYYY-MM")],
    cumulative: Annotated[bool, typer.Option(help="everything up to the end of the period")] = False,
) -> None:
    """Debits, credits and balance per account for a period; exits 1 when it does not balance."""
    found = finance.trial_balance(
        _db(_settings()).unit_of_work(_cli_actor()), period=period, cumulative=cumulative
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
    out.print(f"{period}: balanced, {len(found.rows)} account(s)")


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

"""`ordersmith finance close-year | reopen-year | fiscal-years`: the year-end close from the command line (ADR 0039;
the database directly, no server needed)."""

from __future__ import annotations

from typing import Annotated

import typer

from ordersmith.cli._common import _cli_actor, _db, _settings, command, out
from ordersmith.cli._common import table as cli_table
from ordersmith.cli.finance import finance_app
from ordersmith.finance import service as finance


def _describe(year: finance.FiscalYear) -> str:
    entries = len(year.closing_entries)
    return f"{year.year} {year.status}: {entries} closing entr{'y' if entries == 1 else 'ies'} in force"


@finance_app.command("close-year")
@command
def close_year(year: Annotated[int, typer.Argument(help="the fiscal (calendar) year, e.g. 2026")]) -> None:
    """Close a fiscal year whose twelve months are closed: post its closing entry (revenue and expenses into
    retained earnings, one entry per currency, in the closing period YYYY-13) — once."""
    closed = finance.close_fiscal_year(_db(_settings()).unit_of_work(_cli_actor()), year=year)
    out.print(_describe(closed))
    for entry_id in closed.closing_entries:
        out.print(f"  {entry_id}")


@finance_app.command("reopen-year")
@command
def reopen_year(
    year: Annotated[int, typer.Argument(help="the fiscal year to reopen")],
    note: Annotated[str, typer.Option(help="why it is reopened (kept with the year and audited)")],
) -> None:
    """Reopen a closed fiscal year (not while the next one is closed): its closing entries are reversed and its
    months may then be reopened."""
    opened = finance.reopen_fiscal_year(_db(_settings()).unit_of_work(_cli_actor()), year=year, note=note)
    out.print(_describe(opened))


@finance_app.command("fiscal-years")
@command
def fiscal_years() -> None:
    """Every fiscal year with periods: whether it is closed, and the months still open."""
    table = cli_table("year", "status", "closed by", "closed at", "open months", "closing entries")
    for year in finance.list_fiscal_years(_db(_settings()).unit_of_work(_cli_actor())):
        table.add_row(
            str(year.year),
            year.status,
            year.closed_by or "",
            year.closed_at.isoformat(timespec="minutes") if year.closed_at else "",
            ", ".join(code[5:] for code in year.open_periods) or "none",
            str(len(year.closing_entries)),
        )
    out.print(table)

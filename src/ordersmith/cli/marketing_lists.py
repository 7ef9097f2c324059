"""`ordersmith marketing …` for lists: segments (from a JSON rule file) and their counts, list pulls with their funnel
and mail file, mail-hygiene flags, mail files as sent and matchback (they read the database directly)."""

from __future__ import annotations

import csv
import json
import uuid
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer

from ordersmith.cli._common import command, day_option, out
from ordersmith.cli._common import table as cli_table
from ordersmith.cli.marketing import _uow, marketing_app
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.marketing import service as marketing


def _rules(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationFailed.on("--rules", f"{path}: not a readable JSON file ({exc})") from None
    if not isinstance(loaded, dict):
        raise ValidationFailed.on("--rules", f"{path}: the rules are a JSON object")
    return loaded


def _csv_rows(path: Path, option: str) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = [
                {k.strip().lower(): (v if isinstance(v, str) else "").strip() for k, v in row.items() if k}
                for row in csv.DictReader(handle)
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ValidationFailed.on(option, f"{path}: not a readable CSV file ({exc})") from None
    for n, row in enumerate(rows, start=2):
        if any("\x00" in value for value in row.values()):
            raise ValidationFailed.on(option, f"{path}: line {n} holds a NUL character")
    return rows


def _cells(specs: list[str]) -> list[marketing.Cell]:
    cells = []
    for spec in specs:
        code, _, percent = spec.partition(":")
        try:
            cells.append(marketing.Cell(code.strip(), Decimal(percent or "100")))
        except InvalidOperation:
            raise ValidationFailed.on("--cell", f"{spec!r} is not KEYCODE:PERCENT") from None
    return cells


@marketing_app.command("segment")
@command
def segment(
    code: str,
    rules: Annotated[Path, typer.Option(help="a JSON file with the rule tree (see the marketer's guide)")],
    name: Annotated[str | None, typer.Option(help="what people call it; default: the code")] = None,
    currency: str = "USD",
) -> None:
    """Create a segment from a JSON rule tree, or replace the rules of the one of that code; print its count."""
    uow, tree = _uow(), _rules(rules)
    try:
        marketing.get_segment(uow, code=code)
        marketing.update_segment(uow, code=code, rules=tree, name=name, currency=currency)
        verb = "updated"
    except NotFound:
        marketing.create_segment(uow, code=code, name=name or code, rules=tree, currency=currency)
        verb = "created"
    out.print(f"segment {code.upper()} {verb}: {marketing.count_segment(uow, code=code)} customer(s)")


@marketing_app.command("count")
@command
def count(
    code: Annotated[str | None, typer.Argument(help="a stored segment")] = None,
    rules: Annotated[Path | None, typer.Option(help="or a JSON rule file, not stored")] = None,
    currency: str = "USD",
    live: Annotated[
        bool, typer.Option(help="compute from the orders, not the stored facts (slow at scale; for checking)")
    ] = False,
) -> None:
    """How many customers a segment (or an unsaved rule file) holds now."""
    uow = _uow()
    if live and code is not None:
        stored = marketing.get_segment(uow, code=code)
        found = marketing.count_rules(uow, rules=stored.rules, currency=stored.currency, live=True)
    elif rules is not None:
        found = marketing.count_rules(uow, rules=_rules(rules), currency=currency, live=live)
    elif code is not None:
        found = marketing.count_segment(uow, code=code)
    else:
        raise ValidationFailed.on("code", "name a segment or give --rules")
    out.print(f"{found} customer(s)")


@marketing_app.command("extract")
@command
def extract(
    segment: Annotated[str, typer.Option(help="the segment to pull")],
    cell: Annotated[list[str], typer.Option(help="KEYCODE:PERCENT, repeat for test/control cells")],
    seed: Annotated[int, typer.Option(help="the random split's seed")] = 0,
    recent_buyers_days: Annotated[
        int | None, typer.Option(help="leave out who ordered within N days")
    ] = None,
    suppress_file: Annotated[
        Path | None, typer.Option(help="CSV with columns name, line1, postal_code, country, email")
    ] = None,
    keep_households: Annotated[bool, typer.Option(help="keep every name at an address")] = False,
    preview: Annotated[bool, typer.Option(help="only count the funnel; store nothing")] = False,
    output: Annotated[Path | None, typer.Option(help="write the mail file here (.csv or .xlsx)")] = None,
) -> None:
    """Pull a segment's names into key-coded cells: the funnel, then (with --output) the mail file."""
    entries = []
    if suppress_file is not None:
        fields = ("name", "line1", "postal_code", "country", "email")
        entries = [
            marketing.SuppressionEntry(**{f: row.get(f, "") for f in fields})
            for row in _csv_rows(suppress_file, "--suppress-file")
        ]
    file_format = (output.suffix.lstrip(".").lower() if output else "csv") or "csv"
    if output is not None and file_format not in ("csv", "xlsx"):
        raise ValidationFailed.on("--output", "must end in .csv or .xlsx")
    uow = _uow()
    made = marketing.extract(
        uow,
        segment=segment,
        cells=_cells(cell),
        seed=seed,
        households=not keep_households,
        preview=preview,
        suppress=marketing.Suppressions(recent_buyers_days=recent_buyers_days, file=entries),
    )
    funnel = cli_table("step", "removed", "remaining", numeric=("removed", "remaining"))
    for step in made.funnel:
        funnel.add_row(step.step, str(step.removed), str(step.remaining))
    out.print(funnel)
    for c in made.cells:
        out.print(f"cell {c.key_code} ({c.percent} %): {c.count} name(s)")
    if made.id is None:
        out.print("preview: nothing stored")
        return
    out.print(f"extraction {made.id}: {made.names} name(s)")
    if output is not None:
        output.write_bytes(marketing.export_extraction(uow, extraction_id=made.id, file_format=file_format))
        out.print(f"mail file written to {output}")


@marketing_app.command("mail-flags")
@command
def mail_flags(
    customer: str,
    deceased: Annotated[bool | None, typer.Option("--deceased/--not-deceased")] = None,
    undeliverable: Annotated[bool | None, typer.Option("--undeliverable/--deliverable")] = None,
) -> None:
    """Flag a customer deceased or undeliverable (or clear it): pulls leave them out."""
    flags = marketing.set_mail_flags(
        _uow(), customer_number=customer, deceased=deceased, undeliverable=undeliverable
    )
    out.print(f"{customer}: deceased {flags['deceased']}, undeliverable {flags['undeliverable']}")


@marketing_app.command("import-mail-file")
@command
def import_mail_file(
    code: str,
    in_home: Annotated[str, typer.Option(help="in-home date, YYYY-MM-DD")],
    file: Annotated[
        Path | None, typer.Option(help="CSV: key_code, customer_number, name, line1, postal_code, country")
    ] = None,
    extraction: Annotated[str | None, typer.Option(help="or the id of the pull sent as it was")] = None,
    window_days: Annotated[int, typer.Option(help="days from the in-home date orders are matched back")] = 90,
    currency: str = "USD",
) -> None:
    """Record a mail file as sent: a CSV in the mail file's layout, or a pull."""
    in_home_on = day_option(in_home, "--in-home")
    assert in_home_on is not None
    uow = _uow()
    if extraction is not None:
        try:
            extraction_id = uuid.UUID(extraction)
        except ValueError:
            raise ValidationFailed.on("--extraction", f"{extraction!r} is not an extraction id") from None
        made = marketing.mail_file_from_extraction(
            uow,
            code=code,
            extraction_id=extraction_id,
            in_home_on=in_home_on,
            window_days=window_days,
            currency=currency,
        )
    elif file is not None:
        names = [
            marketing.MailedName(
                key_code=row.get("key_code", ""),
                line1=row.get("line1", ""),
                postal_code=row.get("postal_code", ""),
                country=row.get("country", ""),
                name=row.get("name", ""),
                customer_number=row.get("customer_number", ""),
            )
            for row in _csv_rows(file, "--file")
        ]
        made = marketing.import_mail_file(
            uow, code=code, in_home_on=in_home_on, window_days=window_days, names=names, currency=currency
        )
    else:
        raise ValidationFailed.on("--file", "give --file or --extraction")
    out.print(
        f"mail file {made.code}: {made.names} name(s), in home {made.in_home_on} for {made.window_days} days"
    )


@marketing_app.command("matchback")
@command
def matchback(code: str) -> None:
    """Attribute the window's uncoded orders to the mail file's key codes; print keyed and matched-back results."""
    uow = _uow()
    done = marketing.run_matchback(uow, code=code)
    out.print(
        f"{done.mail_file}: {done.looked_at} uncoded order(s) looked at, {done.by_customer} matched by customer, "
        f"{done.by_address} by address"
    )
    table = cli_table(
        "key code",
        "mailed",
        "keyed",
        "keyed demand",
        "matched",
        "matched demand",
        "response %",
        numeric=("mailed", "keyed", "keyed demand", "matched", "matched demand", "response %"),
    )
    for r in marketing.mail_file_results(uow, code=code):
        table.add_row(
            r.key_code,
            str(r.mailed),
            str(r.keyed_orders),
            str(r.keyed_demand.amount),
            str(r.matched_orders),
            str(r.matched_demand.amount),
            r.response_pct,
        )
    out.print(table)

"""`ordersmith marketing …`: campaigns, their drops, the master list of source (key) codes, channels' policies for
unknown codes and the results per key code (they read the database directly; no server needed)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer

from ordersmith.cli._common import _cli_actor, _db, _settings, app, command, day_option, out
from ordersmith.cli._common import table as cli_table
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.marketing import service as marketing
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.schemas import money_in
from ordersmith.reporting import render
from ordersmith.reporting import service as reports

# The report behind each grouping of `results`, and the columns the terminal shows (`ordersmith report NAME` shows
# them all, and writes CSV, XLSX or a chart).
_RESULTS = {
    "code": ("source_code_results", "source_code"),
    "drop": ("drop_results", "drop"),
    "campaign": ("campaign_results", "campaign"),
}
_SHOWN = (
    "quantity_mailed",
    "orders",
    "response_pct",
    "new_customers",
    "gross_demand",
    "net_sales",
    "aov",
    "cost",
    "demand_per_book",
    "cost_per_order",
    "roi_pct",
    "contribution_margin",
    "matched_orders",
)

marketing_app = typer.Typer(help="Campaigns, drops and source (key) codes.", no_args_is_help=True)
app.add_typer(marketing_app, name="marketing")


def _uow() -> UnitOfWork:
    return _db(_settings()).unit_of_work(_cli_actor())


def _percent(text: str, option: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValidationFailed.on(option, f"{option}: {text!r} is not a number") from None


@marketing_app.command("add-campaign")
@command
def add_campaign(
    code: str,
    name: Annotated[str, typer.Option(help="what people call it")],
    kind: Annotated[str, typer.Option(help="catalog | email | web | space_ad | marketplace")] = "catalog",
    currency: str = "USD",
) -> None:
    """Create a campaign (add its drops with `add-drop`)."""
    made = marketing.create_campaign(_uow(), code=code, name=name, kind=kind, currency=currency)
    out.print(f"campaign {made.code} created ({made.kind}, {made.currency})")


@marketing_app.command("add-drop")
@command
def add_drop(
    campaign: str,
    code: str,
    in_home: Annotated[str, typer.Option(help="in-home date, YYYY-MM-DD")],
    quantity: Annotated[int, typer.Option(help="pieces mailed")],
    cost_per_piece: Annotated[str, typer.Option(help="e.g. 0.62, in the campaign's currency")],
    creative: Annotated[str, typer.Option(help="creative or catalog version")] = "",
) -> None:
    """Add a drop to a campaign: one in-home date, its quantity mailed and cost per piece."""
    uow = _uow()
    currency = marketing.get_campaign(uow, code=campaign).currency
    in_home_on = day_option(in_home, "--in-home")
    assert in_home_on is not None
    drop = marketing.NewDrop(
        code=code,
        in_home_on=in_home_on,
        quantity_mailed=quantity,
        cost_per_piece=money_in(cost_per_piece, currency, field="--cost-per-piece"),
        creative=creative,
    )
    found = marketing.add_drops(uow, campaign=campaign, drops=[drop])
    added = next(d for d in found.drops if d.code == code.upper())
    out.print(
        f"drop {added.code} of {found.code}: {added.quantity_mailed} piece(s), cost {added.cost.amount}"
    )


@marketing_app.command("add-code")
@command
def add_code(
    code: str,
    campaign: Annotated[str, typer.Option()],
    drop: Annotated[str, typer.Option()],
    segment: Annotated[str, typer.Option(help="the list or segment mailed under this code")],
    quantity: Annotated[int, typer.Option(help="pieces of the drop mailed under this code")] = 0,
    price_list: Annotated[str | None, typer.Option(help="the offer's price list")] = None,
    promotion: Annotated[list[str] | None, typer.Option(help="the offer's promotions (repeat)")] = None,
    starts_on: Annotated[
        str | None, typer.Option(help="YYYY-MM-DD; default: the drop's in-home date")
    ] = None,
    ends_on: Annotated[str | None, typer.Option(help="YYYY-MM-DD, inclusive; default: no end")] = None,
    expected: Annotated[str, typer.Option(help="expected response, percent")] = "0",
) -> None:
    """Add a source (key) code to the master list, with its offer and validity."""
    made = marketing.create_source_code(
        _uow(),
        code=code,
        campaign=campaign,
        drop=drop,
        segment=segment,
        quantity_mailed=quantity,
        price_list=price_list,
        promotions=promotion or [],
        starts_on=day_option(starts_on, "--starts-on"),
        ends_on=day_option(ends_on, "--ends-on"),
        expected_response_pct=_percent(expected, "--expected"),
    )
    until = made.ends_on.isoformat() if made.ends_on else "no end"
    out.print(f"source code {made.code} created ({made.campaign}/{made.drop}, {made.starts_on} to {until})")


@marketing_app.command("campaigns")
@command
def campaigns() -> None:
    """Every campaign and its drops."""
    uow, cursor = _uow(), None
    table = cli_table("campaign", "kind", "drop", "in home", "mailed", "cost", numeric=("mailed", "cost"))
    while True:
        page = marketing.list_campaigns(uow, cursor=cursor, limit=200)
        for c in page.items:
            for d in c.drops or []:
                table.add_row(
                    c.code, c.kind, d.code, str(d.in_home_on), str(d.quantity_mailed), str(d.cost.amount)
                )
            if not c.drops:
                table.add_row(c.code, c.kind, "", "", "", "")
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    out.print(table)


@marketing_app.command("codes")
@command
def codes(campaign: Annotated[str | None, typer.Option()] = None) -> None:
    """The master list of source codes (optionally one campaign's) with their offers and validity."""
    uow, cursor = _uow(), None
    table = cli_table(
        "code", "campaign", "drop", "segment", "mailed", "offer", "valid", "active", numeric=("mailed",)
    )
    while True:
        page = marketing.list_source_codes(uow, campaign=campaign, cursor=cursor, limit=200)
        for c in page.items:
            offer = " + ".join([c.price_list or "", *c.promotions]).strip(" +")
            valid = f"{c.starts_on} to {c.ends_on or 'no end'}"
            table.add_row(
                c.code,
                c.campaign,
                c.drop,
                c.segment,
                str(c.quantity_mailed),
                offer,
                valid,
                "yes" if c.active else "no",
            )
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    out.print(table)


@marketing_app.command("policy")
@command
def policy(
    channel: str,
    on_unknown: Annotated[str, typer.Argument(help="refuse | default")],
    default_code: Annotated[str | None, typer.Option(help="the code unknown or expired ones become")] = None,
) -> None:
    """What a channel does with an order whose source code is unknown or expired."""
    set_ = marketing.set_channel_policy(
        _uow(), channel=channel, on_unknown=on_unknown, default_code=default_code
    )
    then = f"key them to {set_.default_code}" if set_.on_unknown == "default" else "refuse them"
    out.print(f"{set_.channel}: unknown or expired source codes: {then}")


@marketing_app.command("results")
@command
def results(
    by: Annotated[str, typer.Option(help="code | drop | campaign")] = "code",
    campaign: Annotated[str | None, typer.Option(help="one campaign's")] = None,
) -> None:
    """Results per key code, drop or campaign: response, demand, net sales, $ per book, cost per order, ROI,
    contribution margin (blank until every unit is costed) and orders matched back."""
    if by not in _RESULTS:
        raise ValidationFailed.on("--by", "--by is one of code, drop, campaign")
    name, key = _RESULTS[by]
    result = reports.run_report(_uow(), name=name, parameters={"campaign": campaign})
    columns = [result.spec.column(key), *(result.spec.column(c) for c in _SHOWN)]
    table = cli_table(*(c.label for c in columns), numeric=[c.label for c in columns[1:]])
    for row in result.rows:
        table.add_row(*("" if (v := render.cell(c, row[c.name])) is None else str(v) for c in columns))
    out.print(table)
    out.print(f"{len(result.rows)} row(s); `ordersmith report {name}` for every column, CSV and XLSX")

"""`ordersmith finance landed-cost|landed-costs|valuation|true-up-inventory|costing-policy`: inventory costing from
the command line — landed-cost charges against PO receipts, the inventory valuation per location with the subledger
against the inventory account (and its one-time true-up after an upgrade), and the costing policy (per item or per
location). They read and write the database directly; no server needed (the charge is posted by the relay, or
`ordersmith finance replay`)."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer

from ordersmith.cli._common import _cli_actor, _db, _settings, command, fail, out
from ordersmith.cli._common import table as cli_table
from ordersmith.cli.finance import finance_app
from ordersmith.finance import service as finance
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.schemas import money_in


def _uow() -> UnitOfWork:
    return _db(_settings()).unit_of_work(_cli_actor())


def _receipt_ids(texts: list[str]) -> list[uuid.UUID]:
    ids = []
    for n, text in enumerate(texts):
        try:
            ids.append(uuid.UUID(text))
        except ValueError:
            raise ValidationFailed.on(f"receipts.{n}", f"{text!r} is not a receipt id") from None
    return ids


def _print_charge(charge: finance.LandedCost) -> None:
    state = "posted" if charge.posted else "waiting for the ledger"
    out.print(
        f"{charge.number}: {charge.kind} {charge.amount.amount} {charge.amount.currency} by {charge.basis} on "
        f"{', '.join(charge.purchase_orders)} ({state})"
    )
    table = cli_table(
        "line", "po", "sku", "location", "units", "allocated", "inventory", "cogs", numeric=("units",)
    )
    for x in charge.lines:
        table.add_row(
            str(x.line),
            f"{x.purchase_order}/{x.po_line}",
            x.sku,
            x.location,
            str(x.quantity),
            str(x.allocated.amount),
            str(x.inventory.amount) if x.inventory else "",
            str(x.cogs.amount) if x.cogs else "",
        )
    out.print(table)


@finance_app.command("landed-cost")
@command
def landed_cost(
    kind: Annotated[str, typer.Option(help="freight, duty, brokerage or other")],
    amount: Annotated[str, typer.Option(help="the charge, e.g. 45.00")],
    basis: Annotated[str, typer.Option(help="allocate by value, weight or units")] = "value",
    currency: Annotated[str, typer.Option(help="the receipts' PO currency")] = "USD",
    receipt: Annotated[list[str] | None, typer.Option("--receipt", help="a PO receipt's id (repeat)")] = None,
    po: Annotated[str | None, typer.Option("--po", help="instead: every receipt of this PO so far")] = None,
    reference: Annotated[str, typer.Option(help="the carrier's or broker's invoice, a bill of lading")] = "",
    memo: Annotated[str, typer.Option(help="a note")] = "",
) -> None:
    """Enter a landed-cost charge against PO receipts, allocated over their lines; the ledger posts it: inventory
    for the units still in stock (their average cost rises), cost of goods sold for those sold."""
    charge = finance.record_landed_cost(
        _uow(),
        kind=kind,
        basis=basis,
        amount=money_in(amount, currency.upper()),
        receipts=_receipt_ids(receipt or []),
        purchase_order=po,
        reference=reference,
        memo=memo,
    )
    _print_charge(charge)


@finance_app.command("landed-costs")
@command
def landed_costs(
    po: Annotated[str | None, typer.Option("--po", help="only the charges on this PO")] = None,
    number: Annotated[str | None, typer.Argument(help="one charge (LC-000001) in detail")] = None,
) -> None:
    """The landed-cost charges, newest first (or one in detail, with how it split once posted)."""
    uow = _uow()
    if number is not None:
        _print_charge(finance.get_landed_cost(uow, ref=number))
        return
    table = cli_table("number", "kind", "basis", "amount", "purchase orders", "inventory", "cogs", "posted")
    page = finance.list_landed_costs(uow, purchase_order=po, limit=200)
    for c in page.items:
        table.add_row(
            c.number,
            c.kind,
            c.basis,
            f"{c.amount.amount} {c.amount.currency}",
            ", ".join(c.purchase_orders),
            str(c.inventory.amount) if c.inventory else "",
            str(c.cogs.amount) if c.cogs else "",
            "yes" if c.posted else "no",
        )
    out.print(table)
    out.print(f"{len(page.items)} charge(s)")


@finance_app.command("true-up-inventory")
@command
def true_up_inventory(
    account: Annotated[
        str, typer.Option(help="the account inventory adjustments go to (not the inventory account)")
    ],
) -> None:
    """Post what separates the inventory account from the inventory subledger, per currency, against ACCOUNT —
    once, after upgrading a database whose item costs were seeded from earlier averages."""
    done = finance.true_up_inventory(_uow(), account=account)
    for t in done:
        side = "debit" if t.amount.minor > 0 else "credit"
        out.print(f"{t.currency}: {abs(t.amount.amount)} to the inventory account ({side}) against {t.account}, "
                  f"entry {t.entry_id}")  # fmt: skip
    if not done:
        out.print("the inventory account equals the subledger: nothing posted")


@finance_app.command("valuation")
@command
def valuation(
    location: Annotated[str | None, typer.Option(help="one location's code")] = None,
    sku: Annotated[str | None, typer.Option(help="one item")] = None,
) -> None:
    """What the stock is worth at cost per item and location, totals per location, and the inventory subledger
    against the inventory account; exits 1 when they differ."""
    found = finance.inventory_valuation(_uow(), location=location, sku=sku)
    table = cli_table(
        "location", "sku", "costed", "units", "average", "value", numeric=("units", "average", "value")
    )
    for row in found.rows:
        table.add_row(
            row.location or "(none)",
            row.sku,
            "per location" if row.basis == "location" else "per item",
            str(row.units),
            str(row.average.amount),
            str(row.value.amount),
        )
    out.print(table)
    for total in found.locations:
        out.print(
            f"{total.location or '(none)'}: {total.units} unit(s), {total.value.amount} {total.currency}"
        )
    differs = False
    for check in found.reconciliation:
        out.print(
            f"{check.currency}: subledger {check.subledger.amount}, inventory account {check.control.amount}, "
            f"difference {check.difference.amount}"
        )
        differs = differs or not check.difference.is_zero()
    if differs:
        fail("the inventory subledger differs from the inventory account (events not yet posted?)")


@finance_app.command("costing-policy")
@command
def costing_policy(
    by_location: Annotated[
        bool | None, typer.Option("--by-location/--per-item", help="switch (every item, or --sku's)")
    ] = None,
    sku: Annotated[str | None, typer.Option(help="one item's own setting")] = None,
    follow: Annotated[bool, typer.Option(help="drop --sku's own setting: it follows every item's")] = False,
) -> None:
    """Show whether items keep one average cost per location, or switch it (every item, or one); a switch spreads
    each item's value over its locations by units on hand, or sums it back, and changes no value."""
    uow = _uow()
    if by_location is None and not follow:
        policy = finance.costing_policy(uow)
        out.print(f"every item: {'per location' if policy.by_location else 'per item'}")
        for code, own in policy.items.items():
            out.print(f"{code}: {'per location' if own else 'per item'}")
        return
    if follow and sku is None:
        fail("--follow needs --sku", 2)
    change = finance.set_costing_policy(uow, by_location=None if follow else by_location, sku=sku)
    for item in change.switched:
        out.print(
            f"{item.sku}: now {'per location' if item.by_location else 'per item'}, {item.units} unit(s) "
            f"{item.value.amount} {item.value.currency}"
        )
        for code, state in sorted(item.locations.items()):
            out.print(f"  {code or '(none)'}: {state.units} unit(s), value {state.value_minor} minor units")
    out.print(f"{len(change.switched)} item(s) switched")

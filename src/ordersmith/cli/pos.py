"""`ordersmith pos …`: set a store's till up, add registers, list them, and list the sales flagged for the store
manager."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ordersmith.channels.pos import service as pos
from ordersmith.cli._common import _cli_actor, _db, _settings, app, command, out, when
from ordersmith.cli._common import table as cli_table
from ordersmith.kernel.errors import ValidationFailed

pos_app = typer.Typer(help="The store POS: stores, registers, flagged sales.", no_args_is_help=True)
app.add_typer(pos_app, name="pos")


def _uow() -> Any:
    return _db(_settings()).unit_of_work(_cli_actor())


@pos_app.command("store")
@command
def store(
    location: str,
    channel: Annotated[str, typer.Option(help="the store's POS sales channel")],
    name: Annotated[str, typer.Option(help="the store's name, on receipts")],
    line1: Annotated[str, typer.Option(help="street")],
    city: Annotated[str, typer.Option()],
    country: Annotated[str, typer.Option(help="two letters")],
    region: Annotated[str, typer.Option()] = "",
    postal_code: Annotated[str, typer.Option()] = "",
    method: Annotated[
        str, typer.Option(help="the free shipping method carried-out sales are priced with")
    ] = (pos.CARRY_OUT),
    receipt_footer: Annotated[str, typer.Option()] = "",
) -> None:
    """Set a store location's till up (or change it): its POS channel and address (a sale's tax is the store's)."""
    found = pos.put_store(
        _uow(),
        location=location,
        settings=pos.StoreSettings(
            channel=channel,
            name=name,
            line1=line1,
            city=city,
            country=country,
            region=region,
            postal_code=postal_code,
            method=method,
            receipt_footer=receipt_footer,
        ),
    )
    out.print(
        f"store {found.location} ({found.name}) sells through {found.channel}, carry-out method {found.method}"
    )


@pos_app.command("register")
@command
def register(
    code: str, store: Annotated[str, typer.Option(help="the store's location code")], name: str = ""
) -> None:
    """Add a register (till) to a store that is set up."""
    added = pos.create_register(_uow(), code=code, store=store, name=name or code)
    out.print(f"register {added.code} at {added.store.location}")


@pos_app.command("register-change")
@command
def register_change(
    code: str,
    name: Annotated[str, typer.Option(help="its new name")] = "",
    close: Annotated[
        bool, typer.Option("--close", help="close it: no shift opens and no sale is taken")
    ] = False,
    reopen: Annotated[bool, typer.Option("--open", help="open it again")] = False,
) -> None:
    """Rename a register, close it (refused while its shift is open) or open it again."""
    if close and reopen:
        raise ValidationFailed.on("close", "--close or --open, not both")
    changed = pos.update_register(
        _uow(),
        code=code,
        principal=None,
        name=name or None,
        active=False if close else (True if reopen else None),
    )
    out.print(f"register {changed.code} ({changed.name}) {'in use' if changed.active else 'closed'}")


@pos_app.command("registers")
@command
def registers() -> None:
    """Every register, with its store, whether it is in use, and its open shift."""
    table = cli_table("register", "store", "channel", "name", "in use", "open shift")
    for r in pos.list_registers(_uow(), principal=None):
        table.add_row(r.code, r.store.location, r.store.channel, r.name, "yes" if r.active else "closed",
                      str(r.open_shift or "-"))  # fmt: skip
    out.print(table)


@pos_app.command("flagged")
@command
def flagged(store: Annotated[str, typer.Option(help="one store's")] = "") -> None:
    """Sales handed over offline that could not become orders, the oldest first."""
    table = cli_table("sale", "rung up", "store", "register", "reason", "cash in", numeric=("cash in",))
    for s in pos.list_flagged(_uow(), principal=None, store=store or None, limit=200).items:
        table.add_row(
            str(s.id), when(s.rung_at), s.store, s.register, s.reason or "", str(s.cash_received.amount)
        )
    out.print(table)

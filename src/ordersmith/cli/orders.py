"""`ordersmith orders …`: list and show orders, work the hold queue, cancel, release backorders."""

from __future__ import annotations

from typing import Annotated

import typer

from ordersmith.cli._common import _cli_actor, _db, _settings, app, command, out, when
from ordersmith.cli._common import table as cli_table
from ordersmith.orders import service as orders

orders_app = typer.Typer(help="Orders: list, show, holds, release, cancel, backorders.", no_args_is_help=True)
app.add_typer(orders_app, name="orders")


@orders_app.command("list")
@command
def list_orders(
    status: Annotated[
        str | None, typer.Option(help="pending, on_hold, released, shipped, cancelled, …")
    ] = None,
    channel: Annotated[str | None, typer.Option(help="a sales channel code")] = None,
    customer: Annotated[str | None, typer.Option(help="a customer number or id")] = None,
    limit: int = 50,
) -> None:
    """The newest orders first."""
    page = orders.list_orders(_db(_settings()).unit_of_work(_cli_actor()), status=status, channel=channel,
                              customer=customer, limit=limit)  # fmt: skip
    table = cli_table(
        "number", "placed", "channel", "customer", "status", "fulfillment", "total", numeric=["total"]
    )
    for o in page.items:
        table.add_row(o.number, when(o.placed_at), o.channel, o.customer_number or "guest",
                      o.status, o.fulfillment_status, f"{o.total.amount} {o.total.currency}")  # fmt: skip
    out.print(table)


@orders_app.command("show")
@command
def show(ref: str) -> None:
    """One order, by number or id: lines with where they are held, holds, totals."""
    o = orders.get_order(_db(_settings()).unit_of_work(_cli_actor()), ref=ref)
    out.print(f"order {o.number} from {o.channel} ({o.status}, payment {o.payment_status}, "
              f"fulfillment {o.fulfillment_status}) — {o.customer_number or 'guest'}")  # fmt: skip
    for line in o.lines:
        where = [f"{a.quantity} at {a.location}" for a in line.allocations if a.status == "active"]
        if line.backordered:
            where.append(f"{line.backordered} backordered")
        out.print(f"  {line.line_no}. {line.quantity} x {line.sku} {line.name} @ {line.unit_price.amount} "
                  f"[{line.state}{': ' + ', '.join(where) if where else ''}]", markup=False)  # fmt: skip
    for hold in o.holds:
        out.print(f"  hold {hold.reason} ({hold.status}): {hold.detail}")
    out.print(f"  merchandise {o.merchandise.amount}  discounts {o.discounts.amount}  shipping {o.shipping.amount}  "
              f"tax {o.tax.amount}  total {o.total.amount} {o.currency}")  # fmt: skip


@orders_app.command("holds")
@command
def holds(reason: Annotated[str | None, typer.Option(help="only this hold reason")] = None) -> None:
    """The hold queue, oldest first."""
    table = cli_table("order", "held since", "channel", "reason", "detail", "total", numeric=["total"])
    for h in orders.list_holds(_db(_settings()).unit_of_work(_cli_actor()), reason=reason):
        table.add_row(h.order_number, when(h.placed_at), h.channel, h.reason, h.detail,
                      str(h.total.amount))  # fmt: skip
    out.print(table)


@orders_app.command("release")
@command
def release(
    ref: str, note: Annotated[str, typer.Option(help="why (required for a held order)")] = ""
) -> None:
    """Release a pending or held order to fulfillment."""
    o = orders.release_order(_db(_settings()).unit_of_work(_cli_actor()), ref=ref, note=note)
    out.print(f"order {o.number} is {o.status}")


@orders_app.command("cancel")
@command
def cancel(ref: str, reason: Annotated[str, typer.Option(help="why the order is cancelled")]) -> None:
    """Cancel a whole order: its stock is released."""
    o = orders.cancel_order(_db(_settings()).unit_of_work(_cli_actor()), ref=ref, reason=reason)
    out.print(f"order {o.number} is {o.status}")


@orders_app.command("release-backorders")
@command
def release_backorders() -> None:
    """Give stock that has arrived to waiting backorders now (the relay does this as stock arrives)."""
    units = orders.release_all_backorders(_db(_settings()).unit_of_work(_cli_actor()))
    out.print(f"{units} backordered unit(s) released")

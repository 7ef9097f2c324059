"""`ordersmith inventory …`: the ledger verifier, adjustments, transfers, counts, locations and level settings."""

from __future__ import annotations

from typing import Annotated

import typer

from ordersmith.cli._common import _cli_actor, _db, _settings, command, fail, inventory_app, out
from ordersmith.cli._common import table as cli_table
from ordersmith.inventory import service as inventory


@inventory_app.command("verify")
@command
def inventory_verify() -> None:
    """Prove on-hand equals the movement ledger and reserved equals active reservations, for every stock level.

    Exits 1 and names each stock level that differs.
    """
    db = _db(_settings())
    found = inventory.verify(db.unit_of_work(_cli_actor()))
    if not found:
        out.print("every stock level agrees with its ledger")
        return
    for d in found:
        typer.echo(
            f"{d.sku} at {d.location}: {d.field} is {d.recorded}, the ledger says {d.expected}", err=True
        )
    raise typer.Exit(1)


@inventory_app.command("adjust")
@command
def inventory_adjust(
    sku: str,
    location: str,
    quantity: Annotated[int, typer.Argument(help="units to add; negative to remove")],
    reason: str = "adjustment",
    reference: str = "",
) -> None:
    """Add or remove units of SKU at LOCATION, with a reason code."""
    db = _db(_settings())
    result = inventory.adjust_stock(db.unit_of_work(_cli_actor()), sku=sku, location=location, quantity=quantity,
                                    reason=reason, reference=reference)  # fmt: skip
    out.print(
        f"{result.sku}: on hand {result.on_hand}, reserved {result.reserved}, available {result.available}"
    )


@inventory_app.command("transfer")
@command
def inventory_transfer(
    sku: str, from_location: str, to_location: str, quantity: int, reference: str = ""
) -> None:
    """Move free units of SKU from one location to another."""
    db = _db(_settings())
    inventory.transfer_stock(db.unit_of_work(_cli_actor()), sku=sku, from_location=from_location,
                             to_location=to_location, quantity=quantity, reference=reference)  # fmt: skip
    out.print(f"moved {quantity} of {sku} from {from_location} to {to_location}")


@inventory_app.command("count")
@command
def inventory_count(
    location: str,
    lines: Annotated[list[str], typer.Argument(help="SKU=COUNTED, one per counted item")],
    reference: str = "",
) -> None:
    """Apply a count sheet at LOCATION: each SKU's on-hand becomes its count (all lines or none)."""
    counts: dict[str, int] = {}
    for line in lines:
        sku, _, counted = line.partition("=")
        if not sku or not counted.strip().isdigit():
            fail(f"count lines look like SKU=12, got {line!r}", 2)
        counts[sku] = int(counted)
    db = _db(_settings())
    for result in inventory.record_count(db.unit_of_work(_cli_actor()), location=location, counts=counts,
                                         reference=reference):  # fmt: skip
        out.print(
            f"{result.sku}: {result.on_hand_before} -> {result.counted} (variance {result.variance:+d})"
        )


@inventory_app.command("locations")
@command
def inventory_locations() -> None:
    """List locations in shipping priority order."""
    db = _db(_settings())
    table = cli_table("code", "name", "kind", "division", "priority", numeric=["priority"])
    for loc in inventory.list_locations(db.unit_of_work(_cli_actor())):
        table.add_row(loc.code, loc.name, loc.kind, loc.division or "all", str(loc.priority))
    out.print(table)


def _pairs(values: list[str], option: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for value in values:
        division, _, units = value.partition("=")
        if not division or not units.strip().isdigit():
            fail(f"{option} looks like DIVISION=UNITS, got {value!r}", 2)
        found[division] = int(units)
    return found


@inventory_app.command("level")
@command
def inventory_level(
    sku: str,
    location: str,
    safety: Annotated[int, typer.Option(help="safety stock: units never offered to anyone")] = 0,
    fence: Annotated[list[str] | None, typer.Option(help="DIVISION=UNITS kept for that division")] = None,
    buffer: Annotated[
        list[str] | None, typer.Option(help="DIVISION=UNITS kept away from that division")
    ] = None,
) -> None:
    """Set SKU's safety stock at LOCATION and replace its division pools (ring-fences and buffers)."""
    fences, buffers = _pairs(fence or [], "--fence"), _pairs(buffer or [], "--buffer")
    pools = [
        inventory.PoolSetting(d, fences.get(d, 0), buffers.get(d, 0)) for d in sorted({*fences, *buffers})
    ]
    db = _db(_settings())
    result = inventory.configure_level(db.unit_of_work(_cli_actor()), sku=sku, location=location,
                                       safety_stock=safety, pools=pools)  # fmt: skip
    here = next(x for x in result.locations if x.location.upper() == location.upper())
    pooled = "; ".join(f"{p.division}: fence {p.ring_fence}, buffer {p.buffer}" for p in here.pools)
    out.print(f"{result.sku} at {here.location}: safety stock {here.safety_stock}; pools: {pooled or 'none'}")

"""`ordersmith purchasing …`: vendors, purchase orders, receipts and replenishment from the command line."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer

from ordersmith.cli._common import _cli_actor, _db, _settings, app, command, fail, out
from ordersmith.cli._common import table as cli_table
from ordersmith.kernel.money import Money
from ordersmith.purchasing import service as purchasing

purchasing_app = typer.Typer(
    help="Vendors, purchase orders, receipts and replenishment.", no_args_is_help=True
)
app.add_typer(purchasing_app, name="purchasing")

Lines = Annotated[list[str], typer.Argument(help="SKU=QUANTITY, one per line")]


def _lines(values: list[str]) -> list[tuple[str, int]]:
    parsed: list[tuple[str, int]] = []
    for value in values:
        sku, _, quantity = value.partition("=")
        if not sku or not quantity.strip().isdigit():
            fail(f"lines look like SKU=12, got {value!r}", 2)
        parsed.append((sku, int(quantity)))
    return parsed


def _show(po: purchasing.PurchaseOrder) -> None:
    out.print(f"{po.number} {po.status} — {po.vendor} → {po.location}, total {po.total}")
    for line in po.lines:
        out.print(f"  {line.line:>3} {line.sku:<20} ordered {line.ordered:>6} received {line.received:>6} "
                  f"cancelled {line.cancelled:>6} open {line.open:>6} at {line.unit_cost}")  # fmt: skip


@purchasing_app.command("vendor-add")
@command
def vendor_add(
    code: str, name: str, currency: str = "USD", terms: str = "NET30", lead_time_days: int = 14,
    over_receipt_pct: int = 0, email: str = "", phone: str = "", contact: str = "",
) -> None:  # fmt: skip
    """Create a vendor with its terms, lead time and over-receipt tolerance (percent)."""
    vendor = purchasing.create_vendor(
        _db(_settings()).unit_of_work(_cli_actor()), code=code, name=name, currency=currency, terms=terms,
        lead_time_days=lead_time_days, over_receipt_pct=over_receipt_pct, email=email, phone=phone,
        contact_name=contact)  # fmt: skip
    out.print(f"vendor {vendor.code} created")


@purchasing_app.command("vendors")
@command
def vendors() -> None:
    """List vendors."""
    table = cli_table(
        "code",
        "name",
        "currency",
        "terms",
        "lead time (days)",
        "tolerance %",
        numeric=["lead time (days)", "tolerance %"],
    )
    for v in purchasing.list_vendors(_db(_settings()).unit_of_work(_cli_actor())):
        table.add_row(v.code, v.name, v.currency, v.terms, str(v.lead_time_days), str(v.over_receipt_pct))
    out.print(table)


@purchasing_app.command("vendor-item")
@command
def vendor_item(
    vendor: str, sku: str, vendor_sku: str, cost: Annotated[str, typer.Argument(help="unit cost, e.g. 4.20")],
    moq: int = 1, pack: int = 1, preferred: bool = False,
) -> None:  # fmt: skip
    """Record what VENDOR charges for SKU (in the vendor's currency)."""
    uow = _db(_settings()).unit_of_work(_cli_actor())
    seller = purchasing.get_vendor(uow, code=vendor)
    try:
        price = Money(Decimal(cost), seller.currency)
    except (InvalidOperation, ValueError):
        fail(f"cost must be a decimal amount, got {cost!r}", 2)
        raise
    listed = purchasing.set_vendor_item(uow, vendor=vendor, sku=sku, vendor_sku=vendor_sku, cost=price,
                                        min_order_qty=moq, pack_size=pack, preferred=preferred)  # fmt: skip
    out.print(f"{listed.vendor} sells {listed.sku} as {listed.vendor_sku} at {listed.cost}")


@purchasing_app.command("create")
@command
def create(vendor: str, location: str, lines: Lines, notes: str = "") -> None:
    """Draft a purchase order to VENDOR for delivery to LOCATION, at the vendor's listed costs."""
    new = [purchasing.NewLine(sku, quantity) for sku, quantity in _lines(lines)]
    _show(purchasing.create_purchase_order(_db(_settings()).unit_of_work(_cli_actor()), vendor=vendor,
                                           location=location, lines=new, notes=notes))  # fmt: skip


@purchasing_app.command("show")
@command
def show(number: str) -> None:
    """Show one purchase order with its lines."""
    _show(purchasing.get_purchase_order(_db(_settings()).unit_of_work(_cli_actor()), number=number))


@purchasing_app.command("list")
@command
def list_orders(status: str | None = None, vendor: str | None = None, limit: int = 50) -> None:
    """Purchase orders, newest first."""
    page = purchasing.list_purchase_orders(_db(_settings()).unit_of_work(_cli_actor()), status=status,
                                           vendor=vendor, limit=limit)  # fmt: skip
    table = cli_table("number", "status", "vendor", "location", "total", "lines", numeric=["total", "lines"])
    for po in page.items:
        table.add_row(po.number, po.status, po.vendor, po.location, str(po.total), str(len(po.lines)))
    out.print(table)


@purchasing_app.command("approve")
@command
def approve(number: str) -> None:
    """draft → approved."""
    _show(purchasing.approve(_db(_settings()).unit_of_work(_cli_actor()), number=number))


@purchasing_app.command("send")
@command
def send(number: str) -> None:
    """approved → sent (receipts are taken from now on)."""
    _show(purchasing.send(_db(_settings()).unit_of_work(_cli_actor()), number=number))


@purchasing_app.command("cancel")
@command
def cancel(number: str, reason: str = "") -> None:
    """Cancel what is still open (closed with the remainder cancelled when something arrived)."""
    _show(purchasing.cancel(_db(_settings()).unit_of_work(_cli_actor()), number=number, reason=reason))


@purchasing_app.command("close")
@command
def close(number: str) -> None:
    """received (or short-closed when partially received) → closed."""
    _show(purchasing.close(_db(_settings()).unit_of_work(_cli_actor()), number=number))


@purchasing_app.command("receive")
@command
def receive(number: str, lines: Lines, location: str | None = None, reference: str = "") -> None:
    """Receive SKU=QUANTITY lines against a sent PO (all or none), into its location unless --location."""
    received = [purchasing.ReceivedLine(sku, quantity) for sku, quantity in _lines(lines)]
    _show(purchasing.receive(_db(_settings()).unit_of_work(_cli_actor()), number=number, lines=received,
                             location=location, reference=reference))  # fmt: skip


@purchasing_app.command("rule")
@command
def rule(
    sku: str, location: str, method: Annotated[str, typer.Option(help="min_max or reorder_point")],
    min_qty: int = 0, max_qty: int = 0, reorder_qty: int = 0, vendor: str | None = None,
) -> None:  # fmt: skip
    """Set how SKU is replenished at LOCATION."""
    set_ = purchasing.set_rule(_db(_settings()).unit_of_work(_cli_actor()), sku=sku, location=location,
                               method=method, min_qty=min_qty, max_qty=max_qty, reorder_qty=reorder_qty,
                               vendor=vendor)  # fmt: skip
    out.print(f"{set_.sku} at {set_.location}: {set_.method} min {set_.min_qty} max {set_.max_qty} "
              f"reorder {set_.reorder_qty} vendor {set_.vendor or 'default'}")  # fmt: skip


@purchasing_app.command("suggest")
@command
def suggest(location: str | None = None, vendor: str | None = None, order: bool = False) -> None:
    """Replenishment suggestions; with --order, turn them into draft POs (one per vendor and location)."""
    uow = _db(_settings()).unit_of_work(_cli_actor())
    if order:
        for po in purchasing.order_suggestions(uow, location=location, vendor=vendor):
            _show(po)
        return
    table = cli_table(
        "vendor",
        "location",
        "sku",
        "to order",
        "on hand",
        "reserved",
        "on order",
        "why",
        numeric=["to order", "on hand", "reserved", "on order"],
    )
    for s in purchasing.suggestions(uow, location=location, vendor=vendor):
        table.add_row(s.vendor or "-", s.location, s.sku, str(s.quantity), str(s.on_hand), str(s.reserved),
                      str(s.on_order), s.explanation)  # fmt: skip
    out.print(table)

"""`ordersmith customers …`: find, show, merge, export and anonymize customers from the command line."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ordersmith.cli._common import _cli_actor, _db, _settings, app, command, out
from ordersmith.cli._common import table as cli_table
from ordersmith.customers import service as customers

customers_app = typer.Typer(help="Customers: find, show, merge, export, anonymize.", no_args_is_help=True)
app.add_typer(customers_app, name="customers")


@customers_app.command("find")
@command
def find(
    query: Annotated[str, typer.Argument(help="name, phone, e-mail, postal code or number")], limit: int = 20
) -> None:
    """Search customers the way the console does (best first)."""
    hits = customers.search_customers(_db(_settings()).unit_of_work(_cli_actor()), q=query, limit=limit)
    table = cli_table("number", "name", "e-mail", "phone", "postal code", "matched")
    for h in hits:
        table.add_row(
            h.number,
            h.display_name,
            h.email or "",
            customers.display_phone(h.phone) if h.phone else "",
            h.postal_code or "",
            ", ".join(h.matched),
        )
    out.print(table)


@customers_app.command("show")
@command
def show(ref: str) -> None:
    """One customer, by number or id."""
    c = customers.get_customer(_db(_settings()).unit_of_work(_cli_actor()), ref=ref)
    out.print(
        f"{c.number} {c.display_name} ({c.kind}, {c.status}, group {c.customer_group}, version {c.version})"
    )
    for email in c.emails:
        out.print(f"  e-mail  {email}")
    for phone in c.phones:
        out.print(f"  phone   {customers.display_phone(phone.number)} {phone.label}")
    for a in c.addresses:
        out.print(f"  {a.kind:<8}{a.line1}, {a.city} {a.region} {a.postal_code} {a.country}")


@customers_app.command("merge")
@command
def merge(survivor: str, merged: str) -> None:
    """Merge MERGED into SURVIVOR (contacts and timeline move; MERGED's number redirects)."""
    c = customers.merge_customers(
        _db(_settings()).unit_of_work(_cli_actor()), survivor=survivor, merged=merged
    )
    out.print(f"{merged} merged into {c.number} {c.display_name}")


@customers_app.command("export")
@command
def export(ref: str) -> None:
    """Everything held about a customer, as JSON on standard output (a subject-access request)."""
    document = customers.export_customer(_db(_settings()).unit_of_work(_cli_actor()), ref=ref)
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


@customers_app.command("anonymize")
@command
def anonymize(ref: str, reason: Annotated[str, typer.Option(help="the erasure request's reference")]) -> None:
    """Remove the person for good; the number (and orders) stay."""
    c = customers.anonymize_customer(_db(_settings()).unit_of_work(_cli_actor()), ref=ref, reason=reason)
    out.print(f"{c.number} anonymized")

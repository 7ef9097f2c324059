"""`ordersmith channels …`: connect a channel's platform, map its SKUs, read a connector's health, inbox and
dead letters, replay a dead letter."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from ordersmith.channels import service as channels
from ordersmith.cli._common import _cli_actor, _db, _settings, app, command, fail, out, when
from ordersmith.cli._common import table as cli_table

channels_app = typer.Typer(help="Channel connectors: Shopify and generic channels.", no_args_is_help=True)
app.add_typer(channels_app, name="channels")

_INTEGER_SETTINGS = {
    "stock_buffer",
    "stock_window_s",
    "poll_interval_s",
    "page_size",
    "max_calls_per_s",
    "port",
}


def _uow() -> Any:
    channels.register()  # the job kinds an intake or a replay queues
    return _db(_settings()).unit_of_work(_cli_actor())


def _config(values: list[str]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for value in values:
        key, sep, setting = value.partition("=")
        if not sep or not key:
            fail(f"settings look like KEY=VALUE, got {value!r}", 2)
        if key.startswith("shipping_methods."):
            config.setdefault("shipping_methods", {})[key.split(".", 1)[1]] = setting
        elif key in _INTEGER_SETTINGS:
            if not setting.isdigit():
                fail(f"{key} is a whole number, got {setting!r}", 2)
            config[key] = int(setting)
        else:
            config[key] = setting
    return config


def _read_json(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        return json.loads(text)
    except (OSError, ValueError) as exc:
        fail(f"cannot read JSON from {path}: {exc}", 2)


@channels_app.command("connect")
@command
def connect(
    code: str,
    kind: str,
    sales_channel: str,
    name: Annotated[str, typer.Option(help="a name people read")] = "",
    setting: Annotated[list[str] | None, typer.Option("--set", help="KEY=VALUE (repeat)")] = None,
    credentials: Annotated[str, typer.Option(help="a JSON file of credentials, or - for stdin")] = "",
) -> None:
    """Connect a sales channel to its platform (the credentials are sealed and never shown again)."""
    secret = _read_json(credentials) if credentials else {}
    if not isinstance(secret, dict):
        fail("the credentials are a JSON object of names and values", 2)
    connector = channels.create_connector(
        _uow(),
        code=code,
        kind=kind,
        sales_channel=sales_channel,
        name=name or code,
        config=_config(setting or []),
        credentials=secret,
    )
    out.print(f"connector {connector.code} ({connector.kind}) connected to {connector.sales_channel}")


@channels_app.command("list")
@command
def list_connectors() -> None:
    """Every connector."""
    table = cli_table("code", "kind", "sales channel", "name", "active")
    for c in channels.list_connectors(_uow(), limit=200).items:
        table.add_row(c.code, c.kind, c.sales_channel, c.name, "yes" if c.active else "no")
    out.print(table)


@channels_app.command("health")
@command
def health(code: str) -> None:
    """A connector's last success and failure, open dead letters, import lag and rate-limit state."""
    h = channels.connector_health(_uow(), code=code)
    out.print(f"{h.connector} ({h.kind}) {'active' if h.active else 'inactive'}")
    out.print(f"  last success   {when(h.last_success_at) or '-'}")
    out.print(f"  last failure   {when(h.last_failure_at) or '-'} {h.last_error or ''}".rstrip())
    out.print(f"  dead letters   {h.dead_letters_open}")
    out.print(f"  import lag     {h.lag_s:.0f} s")
    out.print(f"  oldest held    {when(h.oldest_held_at) or '-'}")
    out.print(f"  rate limit     {json.dumps(h.rate_limit) if h.rate_limit else '-'}")
    if h.polling is not None:
        p = h.polling
        state = (
            "paused (replay its dead letter)" if p.paused else "polling now" if p.polling_now else "waiting"
        )
        out.print(
            f"  polling        {state}; next {when(p.next_poll_at)}, last {when(p.last_polled_at) or '-'}"
        )
        out.print(
            f"  poll cursor    {json.dumps(p.cursor) if p.cursor else '-'} ({p.failures} failure(s) in a row)"
        )


@channels_app.command("poll")
@command
def poll(code: str) -> None:
    """Poll a polled connector (Amazon, WooCommerce) at the next job run, resuming one that was paused."""
    due = channels.poll_soon(_uow(), connector=code)
    out.print(f"{code}: poll queued; the regular poll after it is due {when(due)}")


@channels_app.command("map")
@command
def map_sku(code: str, channel_sku: str, sku: str, listing_id: str = "") -> None:
    """Map a channel SKU to an item; orders held for it are imported again."""
    mapped = channels.map_sku(_uow(), connector=code, channel_sku=channel_sku, sku=sku, listing_id=listing_id)
    out.print(f"{channel_sku} → {mapped.mapping.sku}; {mapped.released} held order(s) released")


@channels_app.command("receive")
@command
def receive(
    code: str, path: Annotated[str, typer.Argument(help="a JSON file of the channel's order, or -")]
) -> None:
    """Put a channel's order (its own JSON) in the connector's inbox, for import."""
    payload = _read_json(path)
    if not isinstance(payload, dict):
        fail("a channel order is a JSON object", 2)
    received = channels.receive_order(_uow(), connector=code, payload=payload)
    note = " (sent before: nothing new)" if received.duplicate else ""
    out.print(f"order {received.external_id} {received.status}{note}")


@channels_app.command("orders")
@command
def inbox(code: str, status: str = "") -> None:
    """The connector's inbox, newest first (status: received, held, imported, dead)."""
    table = cli_table("channel order", "status", "order", "held for", "attempts", "received")
    for o in channels.list_channel_orders(_uow(), connector=code, status=status or None, limit=200).items:
        table.add_row(
            o.external_id,
            o.status,
            o.order_number or "",
            " ".join(o.unmapped_skus),
            str(o.attempts),
            when(o.received_at),
        )
    out.print(table)


@channels_app.command("dead-letters")
@command
def dead_letters(code: str) -> None:
    """The connector's open dead letters: what failed, how often, and why."""
    table = cli_table("id", "operation", "reference", "attempts", "error")
    for d in channels.list_dead_letters(_uow(), connector=code, limit=200).items:
        table.add_row(str(d.id), d.operation, d.reference, str(d.attempts), d.error[:200])
    out.print(table)


@channels_app.command("replay")
@command
def replay(dead_letter_id: str) -> None:
    """Try a dead-lettered sync again."""
    try:
        parsed = uuid.UUID(dead_letter_id)
    except ValueError:
        fail(f"not a dead letter id: {dead_letter_id!r}", 2)
        raise
    letter = channels.replay_dead_letter(_uow(), dead_letter_id=parsed)
    out.print(f"{letter.operation} {letter.reference} queued again")

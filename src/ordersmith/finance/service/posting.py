"""The posting subscriber: each business event the rules know becomes one journal entry, exactly once.

Invariant: `(source_event_id, rule)` is unique, so an event redelivered by the outbox, replayed, or handled by two
workers at once posts one entry. Figures an event does not carry (order totals, PO unit costs, item costs) are
read through the owning context's service. The lines of an order's event carry the order's division and channel
(ADR 0039), read once per batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from ordersmith.catalog import rules as catalog_rules
from ordersmith.catalog import service as catalog
from ordersmith.finance import rules
from ordersmith.finance.service import costing
from ordersmith.finance.service._common import mappings
from ordersmith.finance.service.dimensions import NONE, ORDER_EVENTS, Dimensions, order_dimensions
from ordersmith.finance.service.journal import NewEntry, write_entries, write_entry
from ordersmith.finance.tables import JournalEntryRow, LineCostRow
from ordersmith.kernel.errors import AlreadyExists
from ordersmith.kernel.events import Event
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.platform import outbox, sets
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.tables import OutboxRow
from ordersmith.purchasing import service as purchasing

_ENTRIES = cast(sa.Table, JournalEntryRow.__table__)
_LINE_COSTS = cast(sa.Table, LineCostRow.__table__)


def _order_facts(uow: UnitOfWork, payload: Mapping[str, Any]) -> dict[str, Any]:
    order = orders.get_order(uow, ref=str(payload["order_id"]))
    region = order.ship_tos[0].region or order.ship_tos[0].country if order.ship_tos else ""
    where: dict[str, dict[str, int]] = {}
    for line in order.lines:
        for part in line.allocations:
            if part.status == "shipped":
                here = where.setdefault(line.sku, {})
                here[part.location] = here.get(part.location, 0) + part.quantity
    shipped_units: dict[str, int] = {}
    for line in order.lines:
        if line.shipped:
            shipped_units[line.sku] = shipped_units.get(line.sku, 0) + line.shipped
    facts = {
        "currency": order.currency,
        "merchandise": str(order.merchandise.amount),
        "surcharges": str(order.surcharges.amount),
        "discounts": str(order.discounts.amount),
        "shipping": str(order.shipping.amount),
        "tax": str(order.tax.amount),
        "total": str(order.total.amount),
        "division": order.division,
        "channel": order.channel,
        "jurisdiction": region,
        "shipped_units": shipped_units,
        "shipped": any(line.shipped for line in order.lines),
    }
    costing.order_shipped_costs(uow, facts, where)  # sets cost_minor: the units at cost (ADR 0041)
    return facts


def _shipment_facts(uow: UnitOfWork, event: Event) -> dict[str, Any]:
    """What `rules.post_shipment` needs: the order's totals and each line's money, units and cost, and whether the
    line sells a gift card (its value is the card's liability, not revenue)."""
    order = orders.get_order(uow, ref=str(event.payload["order_id"]))
    region = order.ship_tos[0].region or order.ship_tos[0].country if order.ship_tos else ""
    skus = sorted({line.sku for line in order.lines})
    kinds = {key: f.kind for key, f in catalog.selling_facts(uow, skus=skus).items()}
    zero = Money.zero(order.currency)
    facts = {
        "currency": order.currency,
        "division": order.division,
        "channel": order.channel,
        "jurisdiction": region,
        "totals": {
            "merchandise": str(order.merchandise.amount),
            "surcharges": str(order.surcharges.amount),
            "discounts": str(order.discounts.amount),
            "shipping": str(order.shipping.amount),
            "tax": str(order.tax.amount),
            "total": str(order.total.amount),
        },
        "shipping_minor": sum((s.shipping or zero).minor for s in order.ship_tos),
        "shipping_tax_minor": sum((s.shipping_tax or zero).minor for s in order.ship_tos),
        "lines": {
            line.line_no: {
                "sku": line.sku,
                "quantity": line.quantity,
                "cancelled": line.cancelled,
                "merchandise_minor": line.merchandise.minor,
                "surcharge_minor": line.surcharge.minor,
                "discount_minor": line.discount.minor,
                "tax_minor": line.tax.minor,
                "gift_card": kinds.get(catalog_rules.sku_key(line.sku)) == "gift_card",
            }
            for line in order.lines
        },
    }
    shipped_parts = {
        line.line_no: {p.location: p.quantity for p in line.allocations if p.status == "shipped"}
        for line in order.lines
    }
    costing.shipment_costs(uow, event, facts, shipped_parts)  # each shipped line's cost_minor (ADR 0041)
    return facts


def _facts(uow: UnitOfWork, event: Event) -> dict[str, Any]:
    """What the event's rule needs beyond its payload; cost figures are worked out on the items' cost books
    (`costing`), which `_update_costs` writes back with the entry."""
    if event.type in ("order.shipped", "order.shipped_in_part"):
        if "shipped_before" in event.payload:
            return _shipment_facts(uow, event)
        return _order_facts(uow, event.payload) if event.type == "order.shipped" else {}
    if event.type == "return.received":
        currency = (
            event.payload.get("currency")
            or orders.get_order(uow, ref=str(event.payload["order_id"])).currency
        )
        facts: dict[str, Any] = {"currency": currency}
        costing.return_costs(uow, event, facts)
        return facts
    if event.type == "stock.changed":
        return costing.stock_costs(uow, event)
    if event.type == "payment.refunded":
        order = orders.get_order(uow, ref=str(event.payload["order_id"]))
        return {"shipped": any(line.shipped for line in order.lines)}
    if event.type == "po.received":
        po = purchasing.get_purchase_order(uow, number=str(event.payload["number"]))
        facts = {
            "currency": po.currency,
            "unit_cost_minor": {line.line: line.unit_cost.minor for line in po.lines},
            "skus": {line.line: line.sku for line in po.lines},
        }
        costing.receipt_costs(uow, event, facts)
        return facts
    if event.type == "landed_cost.recorded":
        return costing.charge_costs(uow, event)
    return {}


def _update_costs(uow: UnitOfWork, event: Event, facts: Mapping[str, Any]) -> None:
    """The inventory costing subledger: what the event's facts moved on the items' cost books, written back in the
    same savepoint or batch as the entry it feeds (ADR 0026, ADR 0041)."""
    costing.apply(uow, event, facts)
    if event.type in ("order.shipped", "order.shipped_in_part") and "lines" in facts:
        _record_line_costs(uow, event, facts, shipped_line_costs(event.payload, facts))
    elif event.type == "return.received":
        _record_line_costs(uow, event, facts, returned_line_costs(event.payload, facts))


def _dimensions(uow: UnitOfWork, events: Sequence[Event]) -> dict[uuid.UUID, Dimensions]:
    """The division and channel of each order's event (by event id), in one read of the orders they name."""
    named = {
        e.id: str(e.payload["order_id"])
        for e in events
        if e.type in ORDER_EVENTS and e.payload.get("order_id")
    }
    found = order_dimensions(uow, set(named.values()))
    return {event_id: found.get(order_id, NONE) for event_id, order_id in named.items()}


def _tagged(lines: Sequence[rules.Line], tagged: Dimensions) -> tuple[rules.Line, ...]:
    if not tagged:
        return tuple(lines)
    return tuple(x._replace(division=tagged.division, channel=tagged.channel) for x in lines)


def shipped_line_costs(payload: Mapping[str, Any], facts: Mapping[str, Any]) -> list[tuple[int, int, int]]:
    """(line, units, cost) of a shipment's lines whose item had a cost: what `post_shipment` debited COGS with,
    line by line (`costing.shipment_costs` worked each line's cost out at its locations' averages)."""
    by_line = {int(n): line for n, line in facts["lines"].items()}
    return [
        (n, units, int(by_line[n].get("cost_minor") or 0))
        for n, units in sorted(rules.line_units(payload.get("lines")).items())
        if n in by_line and units > 0 and by_line[n].get("costed")
    ]


def returned_line_costs(payload: Mapping[str, Any], facts: Mapping[str, Any]) -> list[tuple[int, int, int]]:
    """(line, -units, -cost) of a received return's lines whose item had a cost: what `post_return_received`
    credited COGS with (restocked and scrapped alike), line by line."""
    costs: Mapping[str, int] = facts.get("unit_cost_minor", {})
    return [
        (
            int(line["line"]),
            -int(line["quantity"]),
            -int(line["quantity"]) * int(costs[str(line.get("sku", ""))]),
        )
        for line in payload.get("lines", [])
        if int(line.get("quantity", 0)) > 0 and str(line.get("sku", "")) in costs and "line" in line
    ]


def _record_line_costs(
    uow: UnitOfWork, event: Event, facts: Mapping[str, Any], costs: list[tuple[int, int, int]]
) -> None:
    """Keep the COGS this event posts per order line (results per key code read it, ADR 0038), in the entry's
    transaction. A row already there (a redelivered event racing its first posting) is left as it is: the entry's
    own unique key then refuses the duplicate posting."""
    order_id = event.payload.get("order_id")
    if not costs or not order_id:
        return
    rows = [
        {
            "order_id": uuid.UUID(str(order_id)),
            "line_no": n,
            "source_event_id": event.id,
            "kind": "shipment" if units > 0 else "return",
            "units": units,
            "unit_cost_minor": abs(cost) // abs(units),
            "cost_minor": cost,
            "currency": str(facts["currency"]),
            "posted_on": event.occurred_at.date(),
        }
        for n, units, cost in costs
    ]
    insert = (postgresql.insert if uow.dialect == "postgresql" else sqlite.insert)(_LINE_COSTS)
    uow.execute_core(insert.on_conflict_do_nothing(), rows)


def posted(uow: UnitOfWork, event_id: Any, rule: str) -> bool:
    query = sa.select(_ENTRIES.c.id).where(_ENTRIES.c.source_event_id == event_id, _ENTRIES.c.rule == rule)
    return uow.execute_core(query).first() is not None


@use_case
def post_event(uow: UnitOfWork, event: Event) -> bool:
    """Post the journal entry for one event, unless it was posted already; returns whether this call posted it.

    Events no rule knows, and events that move no money, post nothing (and return False).
    """
    rule = rules.RULES.get(event.type)
    if rule is None or not rules.posts(event.type, event.payload) or posted(uow, event.id, event.type):
        return False
    mapped = mappings(uow)
    facts = _facts(uow, event)
    posting = rule(event.payload, facts, mapped)
    if posting is None:
        costing.apply_unposted(uow, event, facts)  # a transfer moves cost between locations, once
        return False
    tagged = _dimensions(uow, [event]).get(event.id, NONE)
    try:
        with uow.session.begin_nested():
            write_entry(
                uow,
                lines=_tagged(rules.compact(posting.lines), tagged),
                currency=posting.currency,
                posted_on=event.occurred_at.date(),
                rule=posting.rule,
                memo=posting.memo,
                reference=posting.reference,
                source_event_id=event.id,
                source_type=event.type,
            )
            _update_costs(uow, event, facts)
    except IntegrityError:
        if posted(uow, event.id, event.type):
            return False  # another worker posted it meanwhile: exactly once
        raise
    return True


_POSTED: dict[str, sa.Select[Any]] = {}  # "posted already?" for a batch, per dialect


@use_case
def post_events(uow: UnitOfWork, events: Sequence[Event]) -> int:
    """Post a batch of events set-wise (what the relay hands the subscriber): one read of those already posted,
    the mapping rules read once, each event's facts and cost updates in order (a receipt before a shipment in the
    same batch costs that shipment as posting one by one would), then every entry's lines, headers and period
    balances in one statement each. Returns how many entries were posted.

    Exactly once: a second worker posting one of these events at the same moment makes the headers' INSERT fail on
    `(source_event_id, rule)`; the relay then undoes the batch's writes and hands the events over one at a time
    (`post_event`, which answers that race by re-reading).
    """
    known = [e for e in events if rules.posts(e.type, e.payload)]
    if len(known) <= 1:
        return sum(post_event(uow, e) for e in known)
    query = _POSTED.get(uow.dialect)
    if query is None:
        query = _POSTED[uow.dialect] = sa.select(_ENTRIES.c.source_event_id, _ENTRIES.c.rule).where(
            sets.among(_ENTRIES.c.source_event_id, "ids", dialect=uow.dialect)
        )
    done = {(r.source_event_id, r.rule) for r in uow.execute_core(query, {"ids": [e.id for e in known]})}
    mapped = mappings(uow)
    tags = _dimensions(uow, [e for e in known if (e.id, e.type) not in done])
    planned: list[NewEntry] = []
    for event in known:
        if (event.id, event.type) in done:
            continue
        done.add((event.id, event.type))  # an event twice in one batch posts once
        facts = _facts(uow, event)
        posting = rules.RULES[event.type](event.payload, facts, mapped)
        if posting is None:
            costing.apply_unposted(uow, event, facts)  # a transfer moves cost between locations, once
            continue
        planned.append(
            NewEntry(
                lines=_tagged(rules.compact(posting.lines), tags.get(event.id, NONE)),
                currency=posting.currency,
                posted_on=event.occurred_at.date(),
                rule=posting.rule,
                memo=posting.memo,
                reference=posting.reference,
                source_event_id=event.id,
                source_type=event.type,
            )
        )
        _update_costs(uow, event, facts)
    write_entries(uow, planned)
    return len(planned)


def on_events(uow: UnitOfWork, events: list[Event]) -> None:
    post_events(uow, events)


@use_case(readonly=True)
def unposted_amount(uow: UnitOfWork, *, currency: str) -> Money:
    """Σ debits - Σ credits over the whole journal in `currency` (zero when the books balance)."""
    from ordersmith.finance.tables import JournalLineRow

    lines = JournalLineRow.__table__
    query = (
        sa.select(sa.func.coalesce(sa.func.sum(lines.c.debit_minor - lines.c.credit_minor), 0))
        .select_from(lines.join(_ENTRIES, _ENTRIES.c.id == lines.c.entry_id))
        .where(_ENTRIES.c.currency == currency)
    )
    return Money.from_minor(int(uow.execute_core(query).scalar_one()), currency)


@use_case(readonly=True)
def _outbox_batch(
    uow: UnitOfWork, *, after: uuid.UUID | None, limit: int
) -> tuple[list[Event], uuid.UUID | None]:
    """The next `limit` outbox events of a type a rule knows, and the last id read; only those that may post (a
    `stock.changed` that gains or loses goods, not a reservation) are returned."""
    query = (
        sa.select(OutboxRow).where(OutboxRow.type.in_(list(rules.RULES))).order_by(OutboxRow.id).limit(limit)
    )
    if after is not None:
        query = query.where(OutboxRow.id > after)
    events = [outbox.to_event(row) for row in uow.session.scalars(query)]
    last = events[-1].id if events else None
    return [e for e in events if rules.posts(e.type, e.payload)], last


def replay_outbox(uow: UnitOfWork, *, batch: int = 500) -> tuple[int, int]:
    """Post every event still in the outbox that a rule knows, in outbox order (a batch a transaction);
    events posted already are skipped, so this rebuilds a journal or catches up after the subscriber was off.

    Returns:
        (events read that may post, entries posted by this call).
    """
    read = posted_now = 0
    after: uuid.UUID | None = None
    while True:
        events, last = _outbox_batch(uow, after=after, limit=batch)
        if last is None:
            break
        if events:
            try:
                posted_now += post_events(uow, events)  # one transaction for the batch
            except (AlreadyExists, IntegrityError):
                # a worker posted one of them meanwhile (its entry, or an item's first cost row): one at a time,
                # each answering the race
                posted_now += sum(post_event(uow, event) for event in events)
        read += len(events)
        after = last
    return read, posted_now


def register() -> None:
    """Subscribe the posting subscriber, set-wise per relay batch, to every event a posting rule knows
    (idempotent)."""
    unregister()
    # One subscription for every rule's events, so a batch reaches the subscriber whole and in outbox order (one
    # per event type would split it by type: a shipment could then be costed before the receipt that preceded it).
    outbox.subscribe_batch("*", on_events, when=_has_rule)


def _has_rule(event: Event) -> bool:
    return rules.posts(event.type, event.payload)


def unregister() -> None:
    outbox.unsubscribe(on_events)


__all__ = ["on_events", "post_event", "post_events", "register", "unposted_amount", "unregister"]

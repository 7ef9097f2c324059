"""The posting subscriber: each business event the rules know becomes one journal entry, exactly once.

Invariant: `(source_event_id, rule)` is unique, so an event redelivered by the outbox, replayed, or handled by two
workers at once posts one entry. Figures an event does not carry (order totals, PO unit costs, item costs) are
read through the owning context's service.
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
from ordersmith.finance.service._common import mappings
from ordersmith.finance.service.journal import NewEntry, write_entries, write_entry
from ordersmith.finance.tables import ItemCostRow, JournalEntryRow, LineCostRow
from ordersmith.kernel.errors import AlreadyExists
from ordersmith.kernel.events import Event
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.platform import outbox
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.tables import OutboxRow
from ordersmith.purchasing import service as purchasing

_ENTRIES = cast(sa.Table, JournalEntryRow.__table__)
_COSTS = cast(sa.Table, ItemCostRow.__table__)
_LINE_COSTS = cast(sa.Table, LineCostRow.__table__)


def _order_facts(uow: UnitOfWork, payload: Mapping[str, Any]) -> dict[str, Any]:
    order = orders.get_order(uow, ref=str(payload["order_id"]))
    region = order.ship_tos[0].region or order.ship_tos[0].country if order.ship_tos else ""
    costs = _average_costs(uow, {line.sku for line in order.lines if line.shipped})
    return {
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
        "cost_minor": sum(costs.get(line.sku, 0) * line.shipped for line in order.lines if line.shipped),
        "shipped_units": {line.sku: line.shipped for line in order.lines if line.shipped},
        "shipped": any(line.shipped for line in order.lines),
    }


def _shipment_facts(uow: UnitOfWork, payload: Mapping[str, Any]) -> dict[str, Any]:
    """What `rules.post_shipment` needs: the order's totals and each line's money, units and cost, and whether the
    line sells a gift card (its value is the card's liability, not revenue)."""
    order = orders.get_order(uow, ref=str(payload["order_id"]))
    region = order.ship_tos[0].region or order.ship_tos[0].country if order.ship_tos else ""
    skus = sorted({line.sku for line in order.lines})
    kinds = {key: f.kind for key, f in catalog.selling_facts(uow, skus=skus).items()}
    costs = _average_costs(uow, set(skus))
    zero = Money.zero(order.currency)
    return {
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
                "unit_cost_minor": costs.get(line.sku, 0),
                "costed": line.sku in costs,  # the item has a moving-average cost (else its cost is unknown)
            }
            for line in order.lines
        },
    }


def _item_cost(uow: UnitOfWork, sku: str) -> tuple[str, int] | None:
    query = sa.select(_COSTS.c.currency, _COSTS.c.average_cost_minor).where(_COSTS.c.sku == sku)
    row = uow.execute_core(query).first()
    return None if row is None else (row.currency, row.average_cost_minor)


def _average_costs(uow: UnitOfWork, skus: set[str]) -> dict[str, int]:
    if not skus:
        return {}
    query = sa.select(_COSTS.c.sku, _COSTS.c.average_cost_minor).where(_COSTS.c.sku.in_(skus))
    return {r.sku: r.average_cost_minor for r in uow.execute_core(query)}


def _facts(uow: UnitOfWork, event: Event) -> dict[str, Any]:
    if event.type in ("order.shipped", "order.shipped_in_part"):
        if "shipped_before" in event.payload:
            return _shipment_facts(uow, event.payload)
        return _order_facts(uow, event.payload) if event.type == "order.shipped" else {}
    if event.type == "return.received":
        skus = {str(line.get("sku", "")) for line in event.payload.get("lines", [])} - {""}
        currency = (
            event.payload.get("currency")
            or orders.get_order(uow, ref=str(event.payload["order_id"])).currency
        )
        return {"currency": currency, "unit_cost_minor": _average_costs(uow, skus)}
    if event.type == "stock.changed":
        found = _item_cost(uow, str(event.payload["sku"]))
        if found is None:
            return {"currency": "", "unit_cost_minor": 0}
        return {"currency": found[0], "unit_cost_minor": found[1]}
    if event.type == "payment.refunded":
        order = orders.get_order(uow, ref=str(event.payload["order_id"]))
        return {"shipped": any(line.shipped for line in order.lines)}
    if event.type == "po.received":
        po = purchasing.get_purchase_order(uow, number=str(event.payload["number"]))
        return {
            "currency": po.currency,
            "unit_cost_minor": {line.line: line.unit_cost.minor for line in po.lines},
            "skus": {line.line: line.sku for line in po.lines},
        }
    return {}


def _update_costs(uow: UnitOfWork, event: Event, facts: Mapping[str, Any]) -> None:
    """The inventory costing subledger: receipts move each item's average cost; shipments take units out at it."""
    now = uow.now()
    if event.type == "po.received":
        for line in event.payload.get("lines", []):
            sku, quantity = facts["skus"][int(line["line"])], int(line["quantity"])
            cost = facts["unit_cost_minor"][int(line["line"])]
            row = uow.session.get(ItemCostRow, sku, with_for_update=True)
            if row is None:
                uow.session.add(
                    ItemCostRow(
                        sku=sku,
                        currency=facts["currency"],
                        average_cost_minor=cost,
                        units=quantity,
                        updated_at=now,
                    )
                )
                uow.session.flush()
                continue
            row.average_cost_minor = rules.moving_average(row.units, row.average_cost_minor, quantity, cost)
            row.units += quantity
            row.updated_at = now
    elif event.type in ("order.shipped", "order.shipped_in_part") and "lines" in facts:
        by_line = facts["lines"]
        for n, units in rules.line_units(event.payload.get("lines")).items():
            if n in by_line:
                _move_units(uow, str(by_line[n]["sku"]), -units)
        _record_line_costs(uow, event, facts, shipped_line_costs(event.payload, facts))
    elif event.type == "return.received":
        for line in event.payload.get("lines", []):
            if line.get("disposition") == "restock" and int(line.get("quantity", 0)):
                _move_units(uow, str(line.get("sku", "")), int(line["quantity"]))
        _record_line_costs(uow, event, facts, returned_line_costs(event.payload, facts))
    elif event.type == "stock.changed":
        _move_units(uow, str(event.payload["sku"]), int(event.payload["on_hand_delta"]))
    elif event.type == "order.shipped":
        for sku, units in facts.get("shipped_units", {}).items():
            uow.execute_core(
                sa.update(_COSTS)
                .where(_COSTS.c.sku == sku)
                .values(units=_COSTS.c.units - units, updated_at=now)
            )


def shipped_line_costs(payload: Mapping[str, Any], facts: Mapping[str, Any]) -> list[tuple[int, int, int]]:
    """(line, units, unit cost) of a shipment's lines whose item had a cost: what `post_shipment` debited COGS
    with, line by line."""
    by_line = {int(n): line for n, line in facts["lines"].items()}
    return [
        (n, units, int(by_line[n].get("unit_cost_minor") or 0))
        for n, units in sorted(rules.line_units(payload.get("lines")).items())
        if n in by_line and units > 0 and by_line[n].get("costed")
    ]


def returned_line_costs(payload: Mapping[str, Any], facts: Mapping[str, Any]) -> list[tuple[int, int, int]]:
    """(line, -units, unit cost) of a received return's lines whose item had a cost: what `post_return_received`
    credited COGS with (restocked and scrapped alike), line by line."""
    costs: Mapping[str, int] = facts.get("unit_cost_minor", {})
    return [
        (int(line["line"]), -int(line["quantity"]), int(costs[str(line.get("sku", ""))]))
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
            "unit_cost_minor": unit_cost,
            "cost_minor": units * unit_cost,
            "currency": str(facts["currency"]),
            "posted_on": event.occurred_at.date(),
        }
        for n, units, unit_cost in costs
    ]
    insert = (postgresql.insert if uow.dialect == "postgresql" else sqlite.insert)(_LINE_COSTS)
    uow.execute_core(insert.on_conflict_do_nothing(), rows)


def _move_units(uow: UnitOfWork, sku: str, units: int) -> None:
    """Units in (positive) or out (negative) of an item's costing row at its current average (no row: the item was
    never costed, nothing to move)."""
    uow.execute_core(
        sa.update(_COSTS)
        .where(_COSTS.c.sku == sku)
        .values(units=_COSTS.c.units + units, updated_at=uow.now())
    )


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
        return False
    try:
        with uow.session.begin_nested():
            write_entry(
                uow,
                lines=rules.compact(posting.lines),
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
    query = sa.select(_ENTRIES.c.source_event_id, _ENTRIES.c.rule).where(
        _ENTRIES.c.source_event_id.in_([e.id for e in known])
    )
    done = {(r.source_event_id, r.rule) for r in uow.execute_core(query)}
    mapped = mappings(uow)
    planned: list[NewEntry] = []
    for event in known:
        if (event.id, event.type) in done:
            continue
        done.add((event.id, event.type))  # an event twice in one batch posts once
        facts = _facts(uow, event)
        posting = rules.RULES[event.type](event.payload, facts, mapped)
        if posting is None:
            continue
        planned.append(
            NewEntry(
                lines=rules.compact(posting.lines),
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
            except (
                AlreadyExists
            ):  # a worker posted one of them meanwhile: one at a time, each answering the race
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

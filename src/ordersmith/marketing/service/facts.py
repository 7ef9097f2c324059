"""Stored purchase facts (ADR 0037): per customer and currency the RFM measures, returns and lifetime value; per
customer their orders with the divisions they came from, the styles and the items of no style they bought (ADR
0063). Kept by the outbox relay from order and customer events, rebuilt from every order on demand (the backfill).

Invariants: the facts of a customer are recomputed from that customer's orders (read by `ix_orders_customer`)
whenever an event names one of their orders or the customer, so an event delivered twice, replayed or handled by
two workers leaves the same rows (exactly once in effect, without a ledger of event ids); on PostgreSQL an advisory
lock per customer makes the later of two concurrent recomputations read the other's commit. A customer merged away
or anonymized has no facts.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import aggregate_order_by

from ordersmith.kernel.errors import NotFound
from ordersmith.kernel.events import Event
from ordersmith.kernel.money import Money
from ordersmith.marketing.fact_tables import (
    CustomerFactRow,
    CustomerItemRow,
    CustomerPurchaseRow,
    CustomerStyleRow,
)
from ordersmith.marketing.service import scoring
from ordersmith.marketing.service._reads import customers, items, order_lines, orders, styles
from ordersmith.platform import jobs, outbox
from ordersmith.platform.db import UnitOfWork, use_case

FACTS = scoring.FACTS
PURCHASES = cast(sa.Table, CustomerPurchaseRow.__table__)
STYLES = cast(sa.Table, CustomerStyleRow.__table__)
ITEMS = cast(sa.Table, CustomerItemRow.__table__)  # items of no style bought (ADR 0063)

# Events after which a customer's facts may differ: an order placed, imported, cancelled (whole or lines), edited
# or returned against; a customer merged into another (their orders move) or anonymized (their facts go).
ORDER_EVENTS = frozenset(
    {"order.placed", "order.imported", "order.cancelled", "order.changed", "return.received"}
)
CUSTOMER_EVENTS = frozenset({"customer.merged", "customer.anonymized"})
_CHUNK = 500  # customers recomputed per statement
_LOCK_SPACE = 190_037  # the advisory locks' first key: marketing facts (ADR 0037)

Condition = sa.ColumnElement[bool]


def _buyer() -> Condition:
    """The order has a customer who is neither merged away nor anonymized."""
    return sa.and_(
        customers.c.id == orders.c.customer_id,
        customers.c.merged_into_id.is_(None),
        customers.c.anonymized_at.is_(None),
    )


def _goods() -> Any:
    return orders.c.merchandise_minor + orders.c.surcharges_minor - orders.c.discounts_minor


def _returned_value() -> Any:
    """The share of a line's value its returned units carry (as the reports count it)."""
    value = order_lines.c.merchandise_minor + order_lines.c.surcharge_minor - order_lines.c.discount_minor
    charged = order_lines.c.quantity - order_lines.c.cancelled
    return sa.case((order_lines.c.returned > 0, value * order_lines.c.returned // charged), else_=0)


def facts_query(where: Sequence[Condition]) -> sa.Select[Any]:
    """Per customer and currency: first and last order, orders, goods charged and their returned share — over the
    orders neither cancelled nor exchanges (the `rfm_cells` report's) of customers matching `where`."""
    counted = [orders.c.status != "cancelled", orders.c.exchange_for.is_(None), *where]
    bought = (
        sa.select(
            orders.c.customer_id,
            orders.c.currency,
            sa.func.min(orders.c.placed_at).label("first_order_at"),
            sa.func.max(orders.c.placed_at).label("last_order_at"),
            sa.func.count().label("orders"),
            sa.func.sum(_goods()).label("monetary_minor"),
        )
        .select_from(orders.join(customers, _buyer()))
        .where(*counted)
        .group_by(orders.c.customer_id, orders.c.currency)
        .subquery("bought")
    )
    returned = (
        sa.select(orders.c.customer_id, orders.c.currency, sa.func.sum(_returned_value()).label("returned"))
        .select_from(orders.join(order_lines, order_lines.c.order_id == orders.c.id))
        .where(order_lines.c.returned > 0, *counted)
        .group_by(orders.c.customer_id, orders.c.currency)
        .subquery("returned")
    )
    returned_minor = sa.func.coalesce(returned.c.returned, 0)
    return sa.select(
        bought.c.customer_id,
        bought.c.currency,
        bought.c.first_order_at,
        bought.c.last_order_at,
        bought.c.orders,
        bought.c.monetary_minor,
        returned_minor.label("returned_minor"),
        (bought.c.monetary_minor - returned_minor).label("lifetime_value_minor"),
    ).select_from(
        bought.outerjoin(
            returned,
            sa.and_(returned.c.customer_id == bought.c.customer_id, returned.c.currency == bought.c.currency),
        )
    )


def purchases_query(ids: Sequence[uuid.UUID] | None, dialect: str) -> sa.Select[Any]:
    """Per customer (of `ids`, or every one): the orders not cancelled (any currency, exchanges too), their first
    and last, the divisions they came from as `,catalog,web,` (in no particular order), and the categories of what
    they bought (`categories_query`: from their style and item pairs, written before)."""
    if dialect == "postgresql":
        listed: Any = sa.func.string_agg(sa.distinct(orders.c.division), sa.literal(","))
    else:
        listed = sa.func.group_concat(sa.distinct(orders.c.division))  # SQLite separates them with commas
    bought = (
        sa.select(
            orders.c.customer_id,
            sa.func.count().label("orders"),
            sa.func.min(orders.c.placed_at).label("first_order_at"),
            sa.func.max(orders.c.placed_at).label("last_order_at"),
            (sa.literal(",") + listed + sa.literal(",")).label("divisions"),
        )
        .select_from(orders.join(customers, _buyer()))
        .where(orders.c.status != "cancelled", *([] if ids is None else [orders.c.customer_id.in_(ids)]))
        .group_by(orders.c.customer_id)
        .subquery("bought")
    )
    filed = categories_query(ids, dialect).subquery("filed")
    return sa.select(
        *bought.c, sa.func.coalesce(filed.c.categories, sa.literal("")).label("categories")
    ).select_from(bought.outerjoin(filed, filed.c.customer_id == bought.c.customer_id))


LIKES_AT_MOST = 32  # codes tested by a LIKE each; more (a big category's subtree) are tested as one set


def listed_test(listed: Any, codes: Sequence[str], dialect: str) -> Condition:
    """The stored `,a,b,` list holds one of `codes`. A few: a LIKE each, ORed (their wildcards escaped: a code may
    hold `_`). Many: one test of the set — an array overlap on PostgreSQL, a look-up in the codes as JSON on SQLite
    — as hundreds of ORs would be slow to evaluate and too deep for SQLite's parser (at most 1,000 levels)."""
    if len(codes) > LIKES_AT_MOST:
        if dialect == "postgresql":
            wanted = sa.bindparam(None, list(codes), type_=postgresql.ARRAY(sa.Text()))
            return cast(Condition, sa.func.string_to_array(listed, ",").op("&&")(wanted))
        each = sa.func.json_each(sa.literal(json.dumps(list(codes)))).table_valued("value")
        found = sa.func.instr(listed, sa.literal(",") + each.c.value + sa.literal(",")) > 0
        return sa.exists(sa.select(sa.literal(1)).select_from(each).where(found))

    def escaped(text: str) -> str:
        return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

    return sa.or_(*(listed.like(f"%,{escaped(code)},%", escape="\\") for code in codes))


def styles_query(where: Sequence[Condition]) -> sa.Select[Any]:
    """Each (customer, style) with an item of the style on an order not cancelled."""
    return _bought_query(items.c.style_id, items.c.style_id.is_not(None), where)


def items_query(where: Sequence[Condition]) -> sa.Select[Any]:
    """Each (customer, item of no style) on an order not cancelled."""
    return _bought_query(items.c.id, items.c.style_id.is_(None), where)


def _bought_query(column: Any, kind: Condition, where: Sequence[Condition]) -> sa.Select[Any]:
    return (
        sa.select(orders.c.customer_id, column)
        .distinct()
        .select_from(
            orders.join(customers, _buyer())
            .join(order_lines, order_lines.c.order_id == orders.c.id)
            .join(items, items.c.id == order_lines.c.item_id)
        )
        .where(orders.c.status != "cancelled", kind, *where)
    )


def categories_query(ids: Sequence[uuid.UUID] | None, dialect: str) -> sa.Select[Any]:
    """Per customer (of `ids`, or every one) with a filed purchase: the categories of the styles and items of no
    style they bought (their stored pairs, with the catalog's categories now), as `,KITCHEN,TEES,` in code order
    (ADR 0063). One grouped pass over the pairs, so the backfill reads each pair once."""

    def mine(column: Any) -> list[Condition]:
        return [] if ids is None else [column.in_(ids)]

    pairs = sa.union(
        sa.select(STYLES.c.customer_id.label("customer_id"), styles.c.category.label("code"))
        .select_from(STYLES.join(styles, styles.c.id == STYLES.c.style_id))
        .where(styles.c.category.is_not(None), *mine(STYLES.c.customer_id)),
        sa.select(ITEMS.c.customer_id, items.c.category)
        .select_from(ITEMS.join(items, items.c.id == ITEMS.c.item_id))
        .where(items.c.category.is_not(None), *mine(ITEMS.c.customer_id)),
    )
    if dialect == "postgresql":
        bought = pairs.subquery("pairs")
        listed: Any = sa.func.string_agg(
            bought.c.code, aggregate_order_by(sa.literal_column("','"), bought.c.code)
        )
    else:  # SQLite joins them in the order they come (no ORDER BY in an aggregate before 3.44), with commas
        bought = pairs.order_by("customer_id", "code").subquery("pairs")
        listed = sa.func.group_concat(bought.c.code)
    return sa.select(
        bought.c.customer_id, (sa.literal(",") + listed + sa.literal(",")).label("categories")
    ).group_by(bought.c.customer_id)


def categories_update(uow: UnitOfWork, ids: Sequence[uuid.UUID]) -> None:
    """Write these customers' categories again (after items they bought were filed anew): none first, then those
    they have (a customer left with no filed purchase keeps none)."""
    subject = PURCHASES.c.customer_id
    uow.execute_core(sa.update(PURCHASES).where(subject.in_(ids)).values(categories=""))
    filed = categories_query(ids, uow.dialect).subquery("filed")
    uow.execute_core(
        sa.update(PURCHASES).where(subject == filed.c.customer_id).values(categories=filed.c.categories)
    )


_FACT_COLUMNS = [c.name for c in FACTS.columns]
_PURCHASE_COLUMNS = ["customer_id", "orders", "first_order_at", "last_order_at", "divisions", "categories"]


def _lock(uow: UnitOfWork, ids: list[uuid.UUID]) -> None:
    """PostgreSQL: hold each customer's advisory lock to the end of the transaction, in one order (no deadlock
    between two relays); whoever recomputes second then reads what the first committed."""
    if uow.dialect != "postgresql" or not ids:
        return
    keys = sorted({int.from_bytes(i.bytes[-4:], "big", signed=True) for i in ids})
    uow.execute_core(
        sa.text("SELECT count(pg_advisory_xact_lock(:space, k)) FROM unnest(CAST(:keys AS integer[])) AS k"),
        {"space": _LOCK_SPACE, "keys": keys},
    )


def _recompute(uow: UnitOfWork, ids: list[uuid.UUID]) -> int:
    """Replace the facts of `ids` by what their orders say now; returns the per-currency rows written."""
    _lock(uow, ids)
    for table in (FACTS, PURCHASES, STYLES, ITEMS):
        uow.execute_core(sa.delete(table).where(table.c.customer_id.in_(ids)))
    mine = [orders.c.customer_id.in_(ids)]
    now = uow.now()
    found = [dict(row) for row in uow.execute_core(facts_query(mine)).mappings()]
    for fact in found:
        fact["updated_at"] = now
    scoring.provisional_scores(uow, found)
    if found:
        uow.execute_core(sa.insert(FACTS), [{c: fact[c] for c in _FACT_COLUMNS} for fact in found])
    uow.execute_core(sa.insert(STYLES).from_select(["customer_id", "style_id"], styles_query(mine)))
    uow.execute_core(sa.insert(ITEMS).from_select(["customer_id", "item_id"], items_query(mine)))
    uow.execute_core(sa.insert(PURCHASES).from_select(_PURCHASE_COLUMNS, purchases_query(ids, uow.dialect)))
    return len(found)


@use_case
def refresh_customers(uow: UnitOfWork, *, customer_ids: Iterable[uuid.UUID]) -> int:
    """Recompute the stored facts of these customers from their orders now (the subscriber's step, also for
    repairs). Returns the per-currency rows written."""
    ids = sorted(set(customer_ids))
    return sum(_recompute(uow, ids[n : n + _CHUNK]) for n in range(0, len(ids), _CHUNK))


def customers_of(uow: UnitOfWork, events: list[Event]) -> list[uuid.UUID]:
    """The customers whose facts the events may change: the buyers of the orders they name (one read by primary
    key), and the customers merged, kept or anonymized."""
    named: set[uuid.UUID] = set()
    order_ids: set[uuid.UUID] = set()
    for event in events:
        payload = event.payload
        if event.type in ORDER_EVENTS and payload.get("order_id"):
            order_ids.add(uuid.UUID(str(payload["order_id"])))
        elif event.type == "customer.merged":
            named |= {uuid.UUID(str(payload["survivor_id"])), uuid.UUID(str(payload["merged_id"]))}
        elif event.type == "customer.anonymized":
            named.add(uuid.UUID(str(payload["id"])))
    ordered = sorted(order_ids)
    for n in range(0, len(ordered), _CHUNK):
        query = sa.select(orders.c.customer_id).where(
            orders.c.id.in_(ordered[n : n + _CHUNK]), orders.c.customer_id.is_not(None)
        )
        named |= set(uow.execute_core(query).scalars())
    return sorted(named)


def on_events(uow: UnitOfWork, events: list[Event]) -> None:
    """Batch subscriber: recompute the facts of every customer the batch's events touch, set-wise; items filed in
    another category queue the job that files their buyers' categories again."""
    refresh_customers(uow, customer_ids=customers_of(uow, events))
    filed = sorted({str(e.payload["id"]) for e in events if _refiled(e)})
    if filed:
        jobs.enqueue(uow, RECATEGORIZE_JOB, {"items": filed, "after": None})


def _refiled(event: Event) -> bool:
    return event.type == "item.updated" and "category" in (event.payload.get("changed") or ())


RECATEGORIZE_JOB = "marketing.recategorize"
# Buyers whose categories one run of the job writes again: as many as a relay batch recomputes, so the advisory
# locks it holds (one per buyer, on PostgreSQL) stay few in the shared lock table
RECATEGORIZE_CHUNK = 500
# Once a re-filing's chunks are done, one more pass this much later: a buyer's first order of the product, kept by a
# relay transaction that read the old category and committed after the pass scanned the pairs (another worker, on
# PostgreSQL), is written again then.
RECATEGORIZE_AGAIN_S = 60


@use_case
def recategorize(
    uow: UnitOfWork, *, item_ids: Sequence[uuid.UUID], after: uuid.UUID | None = None, again: bool = False
) -> uuid.UUID | None:
    """Write again the categories of up to RECATEGORIZE_CHUNK buyers of these items (of their styles, for
    variants), in customer order after `after`, and queue the next chunk in the same transaction when more may
    follow; returns the last buyer written then (None: done). Proportional to the items' buyers, so it runs as a
    job a chunk at a time, never on a request."""
    wanted = list(item_ids)
    of_styles = sa.select(items.c.style_id).where(items.c.id.in_(wanted), items.c.style_id.is_not(None))
    # The next buyers of each style and each item on their own, each a range of its pair index
    # (`ix_marketing_customer_styles_style`, `ix_marketing_customer_items_item`) from `after`, at most a chunk:
    # a run reads at most a chunk per product, however many buyers are left (one query over them all had to read
    # and sort every remaining buyer on each run, quadratic in a product's buyers).
    pairs = [(STYLES.c.customer_id, STYLES.c.style_id == style_id)
             for style_id in sorted(set(uow.execute_core(of_styles).scalars()))]  # fmt: skip
    pairs += [(ITEMS.c.customer_id, ITEMS.c.item_id == item_id) for item_id in sorted(set(wanted))]
    found: set[uuid.UUID] = set()
    for customer, of_product in pairs:
        query = sa.select(customer).where(of_product).order_by(customer).limit(RECATEGORIZE_CHUNK)
        if after is not None:
            query = query.where(customer > after)
        found.update(uow.execute_core(query).scalars())
    ids = sorted(found)[:RECATEGORIZE_CHUNK]
    if ids:
        _lock(uow, ids)
        categories_update(uow, ids)
    if len(ids) < RECATEGORIZE_CHUNK:
        if not again:  # the last chunk of the first pass: the second pass, later (RECATEGORIZE_AGAIN_S)
            jobs.enqueue(uow, RECATEGORIZE_JOB, {"items": [str(i) for i in wanted], "after": None, "again": True},
                         run_at=uow.now() + timedelta(seconds=RECATEGORIZE_AGAIN_S))  # fmt: skip
        return None
    # the next chunk in a job of its own: each run's transaction stays small
    jobs.enqueue(
        uow, RECATEGORIZE_JOB, {"items": [str(i) for i in wanted], "after": str(ids[-1]), "again": again}
    )
    last: uuid.UUID = ids[-1]
    return last


def _recategorize_job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    after = uuid.UUID(payload["after"]) if payload.get("after") else None
    recategorize(
        uow, item_ids=[uuid.UUID(i) for i in payload["items"]], after=after, again=bool(payload.get("again"))
    )


jobs.register(RECATEGORIZE_JOB, _recategorize_job)


def _wanted(event: Event) -> bool:
    return event.type in ORDER_EVENTS or event.type in CUSTOMER_EVENTS or _refiled(event)


@use_case
def rebuild_facts(uow: UnitOfWork) -> dict[str, int]:
    """Recompute every customer's facts from every order (the backfill, and a repair): one transaction, one
    INSERT … SELECT per table, so segments read the old facts or the new, never half. Buyers get their quintile
    scores in the same INSERT (a row written once); `score_rfm` then keeps the boundaries and scores cut-off
    currencies. Returns the rows written per table."""
    scoring.use_memory(uow, 256)
    for table in (FACTS, PURCHASES, STYLES, ITEMS):
        uow.execute_core(sa.delete(table))
    now = uow.now()
    columns = ["customer_id", "currency", "first_order_at", "last_order_at", "orders", "monetary_minor",
               "returned_minor", "lifetime_value_minor"]  # fmt: skip
    facts = facts_query([]).subquery("facts")

    def quintile(column: str) -> Any:
        return sa.func.ntile(5).over(
            partition_by=facts.c.currency, order_by=(facts.c[column], facts.c.customer_id)
        )

    scored = sa.select(
        *(facts.c[c] for c in columns),
        quintile("last_order_at"),
        quintile("orders"),
        quintile("monetary_minor"),
        sa.literal(now, FACTS.c.updated_at.type),
    )
    keep_count = {"preserve_rowcount": True}
    inserts = {
        "customers": sa.insert(FACTS).from_select(
            [*columns, "recency_score", "frequency_score", "monetary_score", "updated_at"], scored
        ),
        # the pairs first: each purchases row reads its customer's categories from them
        "styles": sa.insert(STYLES).from_select(["customer_id", "style_id"], styles_query([])),
        "items": sa.insert(ITEMS).from_select(["customer_id", "item_id"], items_query([])),
        "purchases": sa.insert(PURCHASES).from_select(_PURCHASE_COLUMNS, purchases_query(None, uow.dialect)),
    }
    written = {
        table: uow.execute_core(insert.execution_options(**keep_count)).rowcount
        for table, insert in inserts.items()
    }
    return {table: int(count or 0) for table, count in written.items()}


def refresh_facts(uow: UnitOfWork) -> tuple[dict[str, int], dict[str, int]]:
    """Rebuild every customer's facts, then score every buyer (two transactions): `ordersmith marketing
    refresh-facts` and the demo load. Returns the rows written per table and the buyers scored per currency."""
    return rebuild_facts(uow), scoring.score_rfm(uow)


@dataclass(frozen=True)
class CurrencyFacts:
    """What a customer bought in one currency, with their scores (None before a first scoring run)."""

    currency: str
    first_order_at: datetime
    last_order_at: datetime
    orders: int
    monetary: Money
    returned: Money
    lifetime_value: Money
    recency: int | None
    frequency: int | None
    monetary_score: int | None
    updated_at: datetime

    @property
    def cell(self) -> str | None:
        scores = (self.recency, self.frequency, self.monetary_score)
        return "".join(str(s) for s in scores) if all(scores) else None


@dataclass(frozen=True)
class PurchaseFacts:
    customer_number: str
    currencies: list[CurrencyFacts]
    orders: int  # not cancelled, any currency, exchanges too
    last_order_at: datetime | None
    divisions: list[str]  # bought from, by code
    styles: int  # how many styles they bought
    categories: list[str]  # the categories of what they bought (not those above them), by code


@use_case(readonly=True)
def get_purchase_facts(uow: UnitOfWork, *, customer_number: str) -> PurchaseFacts:
    """A customer's stored facts (read by primary key); empty lists before a first live order.

    Raises:
        NotFound: no customer of that number, or one merged away or anonymized.
    """
    found = None
    if "\x00" not in customer_number:
        found = uow.execute_core(
            sa.select(customers.c.id).where(
                customers.c.number == customer_number,
                customers.c.merged_into_id.is_(None),
                customers.c.anonymized_at.is_(None),
            )
        ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no customer {customer_number!r}")
    rows = uow.session.scalars(sa.select(CustomerFactRow).where(CustomerFactRow.customer_id == found))
    currencies = [
        CurrencyFacts(
            currency=r.currency,
            first_order_at=r.first_order_at,
            last_order_at=r.last_order_at,
            orders=r.orders,
            monetary=Money.from_minor(r.monetary_minor, r.currency),
            returned=Money.from_minor(r.returned_minor, r.currency),
            lifetime_value=Money.from_minor(r.lifetime_value_minor, r.currency),
            recency=r.recency_score,
            frequency=r.frequency_score,
            monetary_score=r.monetary_score,
            updated_at=r.updated_at,
        )
        for r in sorted(rows, key=lambda r: r.currency)
    ]
    bought = uow.session.get(CustomerPurchaseRow, found)
    styles = uow.execute_core(
        sa.select(sa.func.count()).select_from(STYLES).where(STYLES.c.customer_id == found)
    ).scalar_one()
    return PurchaseFacts(
        customer_number,
        currencies,
        bought.orders if bought else 0,
        bought.last_order_at if bought else None,
        sorted(d for d in bought.divisions.split(",") if d) if bought else [],
        int(styles),
        sorted(c for c in bought.categories.split(",") if c) if bought else [],
    )


def register(*, scoring_every_s: int = 3600) -> None:
    """Subscribe the facts to the order and customer events (set-wise per relay batch) and schedule the scoring run
    (idempotent)."""
    outbox.unsubscribe(on_events)
    outbox.subscribe_batch("*", on_events, when=_wanted)
    jobs.register(RECATEGORIZE_JOB, _recategorize_job)
    scoring.register(every_s=scoring_every_s)

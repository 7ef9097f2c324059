"""RFM: each buying customer's recency, frequency and monetary scores (quintiles: 5 is the most recent, most
frequent, biggest spending fifth) as of a day, and the number of customers in each R-F-M cell — the segments a
marketer mails. One aggregating query each.

Over the orders placed up to the end of `as_of` (UTC) in `currency`, of customers neither merged away nor
anonymized; cancelled and exchange orders are left out. Recency: the last order's moment; frequency: orders;
monetary: what the orders charged for goods (merchandise + surcharges - discounts). Quintiles by NTILE(5) over the
customers, ties broken by the customer's id (so equal customers may straddle a boundary, always the same way).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ordersmith.customers.tables import CustomerRow
from ordersmith.reporting.catalogue._base import QueryContext, Report
from ordersmith.reporting.catalogue._sql import day_start, orders
from ordersmith.reporting.rules import AS_OF, Chart, Column, Parameter, ReportSpec, average_minor

customers = CustomerRow.__table__
CURRENCY = Parameter("currency", "text", "Currency", default="USD")
TOP = Parameter("limit", "int", "How many", default="500", minimum=1, maximum=5000)


def _bought(params: dict[str, Any], customer_id: uuid.UUID | None = None) -> sa.Select[Any]:
    """Each buying customer's last order, orders and spend (or only `customer_id`'s: its orders by index)."""
    goods = orders.c.merchandise_minor + orders.c.surcharges_minor - orders.c.discounts_minor
    query = (
        sa.select(
            orders.c.customer_id.label("customer_id"),
            sa.func.max(orders.c.placed_at).label("last_order_at"),
            sa.func.count().label("orders"),
            sa.func.sum(goods).label("monetary"),
        )
        .select_from(orders.join(customers, customers.c.id == orders.c.customer_id))
        .where(
            orders.c.placed_at < day_start(params["as_of"] + timedelta(days=1)),
            orders.c.currency == params["currency"].upper(),
            orders.c.status != "cancelled",
            orders.c.exchange_for.is_(None),
            customers.c.merged_into_id.is_(None),
            customers.c.anonymized_at.is_(None),
        )
        .group_by(orders.c.customer_id)
    )
    if customer_id is not None:
        query = query.where(orders.c.customer_id == customer_id)
    return query


def _scored(params: dict[str, Any]) -> Any:
    bought = _bought(params).subquery("bought")

    def quintile(column: Any) -> Any:
        return sa.func.ntile(5).over(order_by=(column, bought.c.customer_id))

    return sa.select(
        bought,
        quintile(bought.c.last_order_at).label("recency"),
        quintile(bought.c.orders).label("frequency"),
        quintile(bought.c.monetary).label("monetary_score"),
    ).subquery("scored")


def _cells(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    scored = _scored(params)
    return (
        sa.select(
            scored.c.recency,
            scored.c.frequency,
            scored.c.monetary_score.label("monetary"),
            sa.func.count().label("customers"),
            sa.func.sum(scored.c.orders).label("orders"),
            sa.literal(params["currency"].upper()).label("currency"),
            sa.func.sum(scored.c.monetary).label("spent"),
        )
        .group_by(scored.c.recency, scored.c.frequency, scored.c.monetary_score)
        .order_by(scored.c.recency.desc(), scored.c.frequency.desc(), scored.c.monetary_score.desc())
    )


def _cell(row: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    row["cell"] = f"{row['recency']}{row['frequency']}{row['monetary']}"
    row["average_spent"] = average_minor(int(row["spent"]), int(row["customers"]))
    return row


def _customers(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    scored = _scored(params)
    return (
        sa.select(
            customers.c.number.label("customer"),
            customers.c.display_name.label("name"),
            scored.c.recency,
            scored.c.frequency,
            scored.c.monetary_score.label("monetary"),
            scored.c.last_order_at,
            scored.c.orders,
            sa.literal(params["currency"].upper()).label("currency"),
            scored.c.monetary.label("spent"),
        )
        .select_from(scored.join(customers, customers.c.id == scored.c.customer_id))
        .order_by(
            scored.c.recency.desc(),
            scored.c.frequency.desc(),
            scored.c.monetary_score.desc(),
            customers.c.number,
        )
        .limit(params["limit"])
    )


def _scores(row: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    row["cell"] = f"{row['recency']}{row['frequency']}{row['monetary']}"
    return row


_SCORES = (
    Column("cell", "RFM cell", "text"),
    Column("recency", "R", "int"),
    Column("frequency", "F", "int"),
    Column("monetary", "M", "int"),
)

RFM_CELLS = Report(
    ReportSpec(
        name="rfm_cells",
        title="RFM cells",
        description="How many buying customers fall in each recency x frequency x monetary cell (quintiles, 5 the "
        "best) as of a day, with their orders and spend: the segments to mail.",
        parameters=(AS_OF, CURRENCY),
        columns=(
            *_SCORES,
            Column("customers", "Customers", "int"),
            Column("orders", "Orders", "int"),
            Column("currency", "Currency", "text"),
            Column("spent", "Spent", "money", currency_column="currency"),
            Column("average_spent", "Average spent", "money", currency_column="currency"),
        ),
        chart=Chart("bar", x="cell", y="customers"),
        behind="orders (not cancelled, not exchanges) of customers not merged or anonymized, up to as_of",
    ),
    _cells,
    _cell,
)

RFM_CUSTOMERS = Report(
    ReportSpec(
        name="rfm_customers",
        title="RFM scores per customer",
        description="Each buying customer's recency, frequency and monetary quintile as of a day, best first.",
        parameters=(AS_OF, CURRENCY, TOP),
        columns=(
            Column("customer", "Customer", "text"),
            Column("name", "Name", "text"),
            *_SCORES,
            Column("last_order_at", "Last order", "date"),
            Column("orders", "Orders", "int"),
            Column("currency", "Currency", "text"),
            Column("spent", "Spent", "money", currency_column="currency"),
        ),
        chart=Chart("bar", x="customer", y="spent"),
        behind="as rfm_cells",
    ),
    _customers,
    _scores,
)

REPORTS = (RFM_CELLS, RFM_CUSTOMERS)

# One customer's scores without scoring everyone on each look-up: the quintile boundaries (the last customer of
# quintiles 1-4 for each measure, as NTILE orders them: by value, then customer id) are read in one aggregating
# query and kept a while; the customer's own recency, frequency and monetary come from their orders alone (by the
# orders' customer index) and are placed among those boundaries — the very scores `rfm_customers` gives while
# the boundaries are fresh.
_MEASURES = (("recency", "last_order_at"), ("frequency", "orders"), ("monetary_score", "monetary"))


@dataclass(frozen=True)
class Cutoffs:
    """For each measure, the (value, customer id) that ends quintiles 1 to 4 (fewer when there are fewer than five
    buying customers)."""

    as_of: date
    currency: str
    bounds: dict[str, list[tuple[Any, uuid.UUID]]]


@dataclass(frozen=True)
class CustomerRfm:
    recency: int
    frequency: int
    monetary: int
    last_order_at: datetime
    orders: int

    @property
    def cell(self) -> str:
        return f"{self.recency}{self.frequency}{self.monetary}"


def cutoffs_query(params: dict[str, Any]) -> sa.Select[Any]:
    """The last row of each quintile of each measure (at most 15 rows), in one aggregating query over the orders."""
    scored = _scored(params)

    def last_of(bucket: Any, value: Any) -> Any:
        return sa.func.row_number().over(
            partition_by=bucket, order_by=(value.desc(), scored.c.customer_id.desc())
        )

    ends = sa.select(
        scored,
        *(last_of(scored.c[b], scored.c[v]).label(f"{b}_end") for b, v in _MEASURES),
    ).subquery("ends")
    return sa.select(ends).where(sa.or_(*(ends.c[f"{b}_end"] == 1 for b, _ in _MEASURES)))


def cutoffs(rows: list[Any], *, as_of: date, currency: str) -> Cutoffs:
    bounds: dict[str, list[tuple[Any, uuid.UUID]]] = {}
    for bucket, value in _MEASURES:
        ends = sorted((r._mapping[bucket], r._mapping[value], r.customer_id) for r in rows
                      if r._mapping[f"{bucket}_end"] == 1)  # fmt: skip
        bounds[value] = [(v, customer) for n, v, customer in ends if n < 5]
    return Cutoffs(as_of, currency, bounds)


def customer_query(params: dict[str, Any], customer_id: uuid.UUID) -> sa.Select[Any]:
    """One customer's last order, orders and spend: their own orders only."""
    return _bought(params, customer_id)


def place(found: Any, limits: Cutoffs) -> CustomerRfm:
    """A customer's measures placed among the boundaries: 1 + the quintiles they come after."""

    def score(value: Any, bounds: list[tuple[Any, uuid.UUID]]) -> int:
        return 1 + sum(1 for bound in bounds if (value, found.customer_id) > bound)

    return CustomerRfm(
        score(found.last_order_at, limits.bounds["last_order_at"]),
        score(found.orders, limits.bounds["orders"]),
        score(found.monetary, limits.bounds["monetary"]),
        found.last_order_at,
        int(found.orders),
    )

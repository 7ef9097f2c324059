"""RFM: each buying customer's recency, frequency and monetary scores (5 the most recent, most frequent, biggest
spending) and the number of customers in each R-F-M cell — the segments a marketer mails. One query each.

As of today (the default) both read marketing's **stored** purchase facts and scores (ADR 0037, 0049): the scores
of the last scoring run (quintiles, or the currency's configured cut-offs), or, for a customer whose orders changed
since, the provisional scores the relay gave them; orders and spend are what the relay last recomputed from their
orders. A buyer not scored yet (a currency before its first run) is not listed. They read about a row per buyer,
never the orders, and their figures are the customer's facts (`GET /api/v1/purchase-facts/{customer}`).

As of a past day the stored facts (which keep no history) cannot answer: the scores are computed from the orders
placed up to the end of that day (UTC), by quintiles — NTILE(5) over the buyers, ties broken by the customer's id
(the scoring run's order, so right after a quintile run as of today the two agree). In both, the orders counted are
those of customers neither merged away nor anonymized, not cancelled, not exchanges; recency is the last order's
moment, frequency the orders, monetary what they charged for goods (merchandise + surcharges - discounts).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa

from ordersmith.customers.tables import CustomerRow
from ordersmith.marketing.fact_tables import CustomerFactRow
from ordersmith.reporting.catalogue._base import QueryContext, Report
from ordersmith.reporting.catalogue._sql import day_start, orders
from ordersmith.reporting.rules import AS_OF, Chart, Column, Parameter, ReportSpec, average_minor

customers = CustomerRow.__table__
facts = cast(sa.Table, CustomerFactRow.__table__)
CURRENCY = Parameter("currency", "text", "Currency", default="USD")
TOP = Parameter("limit", "int", "How many", default="500", minimum=1, maximum=5000)


def _bought(params: dict[str, Any]) -> sa.Select[Any]:
    """Each buying customer's last order, orders and spend up to the end of `as_of`."""
    goods = orders.c.merchandise_minor + orders.c.surcharges_minor - orders.c.discounts_minor
    return (
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


def _stored(params: dict[str, Any]) -> Any:
    """The stored facts and scores of the currency's scored buyers, named as `_from_orders` names its columns."""
    return (
        sa.select(
            facts.c.customer_id,
            facts.c.last_order_at,
            facts.c.orders,
            facts.c.monetary_minor.label("monetary"),
            facts.c.recency_score.label("recency"),
            facts.c.frequency_score.label("frequency"),
            facts.c.monetary_score,
        )
        .where(
            facts.c.currency == params["currency"].upper(),
            facts.c.recency_score.is_not(None),
            facts.c.frequency_score.is_not(None),
            facts.c.monetary_score.is_not(None),
        )
        .subquery("scored")
    )


def _scored(params: dict[str, Any], ctx: QueryContext) -> Any:
    """Each scored buyer's measures and scores: stored as of today (or a later day), from the orders for a past
    day."""
    if params["as_of"] >= ctx.now.date():
        return _stored(params)
    return _from_orders(params)


def _from_orders(params: dict[str, Any]) -> Any:
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
    scored = _scored(params, ctx)
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
    scored = _scored(params, ctx)
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
        description="How many buying customers fall in each recency x frequency x monetary cell (5 the best) with "
        "their orders and spend: the segments to mail. Today: the stored scores of the last scoring run (quintiles "
        "or the currency's cut-offs); a past day: quintiles from the orders up to that day.",
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
        behind="today: marketing's stored purchase facts and scores (kept by the relay, scored by the scoring run); "
        "a past day: orders (not cancelled, not exchanges) of customers not merged or anonymized, up to as_of",
    ),
    _cells,
    _cell,
)

RFM_CUSTOMERS = Report(
    ReportSpec(
        name="rfm_customers",
        title="RFM scores per customer",
        description="Each buying customer's recency, frequency and monetary score, best first: today the stored "
        "scores, a past day quintiles from the orders up to that day.",
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


@dataclass(frozen=True)
class CustomerRfm:
    """One customer's stored scores in a currency, as `rfm_customers` lists them today."""

    recency: int
    frequency: int
    monetary: int
    last_order_at: datetime
    orders: int

    @property
    def cell(self) -> str:
        return f"{self.recency}{self.frequency}{self.monetary}"


def customer_query(customer_id: uuid.UUID, currency: str) -> sa.Select[Any]:
    """One customer's stored scores in `currency` (by the facts' primary key); no row when not scored."""
    return sa.select(
        facts.c.recency_score,
        facts.c.frequency_score,
        facts.c.monetary_score,
        facts.c.last_order_at,
        facts.c.orders,
    ).where(
        facts.c.customer_id == customer_id,
        facts.c.currency == currency.upper(),
        facts.c.recency_score.is_not(None),
        facts.c.frequency_score.is_not(None),
        facts.c.monetary_score.is_not(None),
    )

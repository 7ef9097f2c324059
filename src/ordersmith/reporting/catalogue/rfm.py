"""RFM: each buying customer's recency, frequency and monetary scores (quintiles: 5 is the most recent, most
frequent, biggest spending fifth) as of a day, and the number of customers in each R-F-M cell — the segments a
marketer mails. One aggregating query each.

Over the orders placed up to the end of `as_of` (UTC) in `currency`, of customers neither merged away nor
anonymized; cancelled and exchange orders are left out. Recency: the last order's moment; frequency: orders;
monetary: what the orders charged for goods (merchandise + surcharges - discounts). Quintiles by NTILE(5) over the
customers, ties broken by the customer's id (so equal customers may straddle a boundary, always the same way).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from ordersmith.customers.tables import CustomerRow
from ordersmith.reporting.catalogue._base import QueryContext, Report
from ordersmith.reporting.catalogue._sql import day_start, orders
from ordersmith.reporting.rules import AS_OF, Chart, Column, Parameter, ReportSpec, average_minor

customers = CustomerRow.__table__
CURRENCY = Parameter("currency", "text", "Currency", default="USD")
TOP = Parameter("limit", "int", "How many", default="500", minimum=1, maximum=5000)


def _scored(params: dict[str, Any]) -> Any:
    goods = orders.c.merchandise_minor + orders.c.surcharges_minor - orders.c.discounts_minor
    bought = (
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
        .subquery("bought")
    )

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

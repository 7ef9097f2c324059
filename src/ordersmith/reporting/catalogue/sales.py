"""Sales reports over orders and their lines: by period x channel, by source code, top items and styles, returns
by reason and item, open orders and fill rate, sales tax by jurisdiction.

The figures, per line (orders keep a line's amounts net of its cancelled units):
- demand: the units ordered at their unit price (quantity x unit price), before discounts, shipping and tax;
- net: what the lines still charge for goods (merchandise + surcharges - discounts, after cancellations) less
  the share of it their returned units carry;
- AOV: demand ÷ orders.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ordersmith.catalog.tables import ItemRow, StyleRow
from ordersmith.orders.tables import ReturnLineRow, ReturnRow
from ordersmith.reporting.catalogue._base import QueryContext, Report
from ordersmith.reporting.catalogue._sql import (
    json_elements,
    line_value,
    lines,
    order_filters,
    orders,
    period,
    placed_between,
    returned_value,
    zero,
)
from ordersmith.reporting.rules import (
    CHANNEL,
    DATE_FROM,
    DATE_TO,
    DIVISION,
    GROUPING,
    Chart,
    Column,
    Parameter,
    ReportSpec,
    average_minor,
    ratio,
)

OPEN_STATUSES = ("pending", "on_hold", "released", "partially_shipped")


def _money(name: str, label: str) -> Column:
    return Column(name, label, "money", currency_column="currency")


SALES_COLUMNS = (
    Column("orders", "Orders", "int"),
    Column("units", "Units", "int"),
    Column("cancelled_units", "Units cancelled", "int"),
    Column("returned_units", "Units returned", "int"),
    Column("currency", "Currency", "text"),
    _money("demand", "Demand"),
    _money("net", "Net sales"),
    _money("aov", "Average order value"),
)


def _sales_figures() -> list[sa.ColumnElement[Any]]:
    return [
        sa.func.count(sa.distinct(orders.c.id)).label("orders"),
        zero(sa.func.sum(lines.c.quantity)).label("units"),
        zero(sa.func.sum(lines.c.cancelled)).label("cancelled_units"),
        zero(sa.func.sum(lines.c.returned)).label("returned_units"),
        orders.c.currency.label("currency"),
        zero(sa.func.sum(lines.c.unit_price_minor * lines.c.quantity)).label("demand"),
        zero(sa.func.sum(line_value() - returned_value())).label("net"),
    ]


def _with_aov(row: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    row["aov"] = average_minor(row["demand"], row["orders"])
    return row


def _order_lines() -> Any:
    return orders.join(lines, lines.c.order_id == orders.c.id)


def _sales_by_period(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    bucket = period(orders.c.placed_at, params["grouping"], ctx.dialect)
    return (
        sa.select(bucket.label("period"), orders.c.channel.label("channel"), *_sales_figures())
        .select_from(_order_lines())
        .where(*order_filters(params))
        .group_by(bucket, orders.c.channel, orders.c.currency)
        .order_by(bucket, orders.c.channel, orders.c.currency)
    )


SALES_BY_DAY_CHANNEL = Report(
    ReportSpec(
        name="sales_by_day_channel",
        title="Sales by day and channel",
        description="Orders, units, demand, net sales after cancellations and returns, and average order value "
        "per day (or week, month) and sales channel.",
        parameters=(DATE_FROM, DATE_TO, GROUPING, CHANNEL, DIVISION),
        columns=(Column("period", "Period", "date"), Column("channel", "Channel", "text"), *SALES_COLUMNS),
        chart=Chart("line", x="period", y="demand", series="channel"),
        behind="orders placed in the range (UTC) and their lines",
    ),
    _sales_by_period,
    _with_aov,
)


def _sales_by_source(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    code = sa.func.coalesce(orders.c.source_code, "")
    where = order_filters(params)
    if params.get("source_code"):
        where.append(orders.c.source_code == params["source_code"].upper())
    return (
        sa.select(code.label("source_code"), *_sales_figures())
        .select_from(_order_lines())
        .where(*where)
        .group_by(code, orders.c.currency)
        .order_by(sa.desc("demand"), code)
    )


SALES_BY_SOURCE_CODE = Report(
    ReportSpec(
        name="sales_by_source_code",
        title="Sales by source code",
        description="The same figures per source (key) code the order was placed with; orders without one are "
        "the row with an empty code.",
        parameters=(DATE_FROM, DATE_TO, CHANNEL, DIVISION, Parameter("source_code", "text", "Source code")),
        columns=(Column("source_code", "Source code", "text"), *SALES_COLUMNS),
        chart=Chart("bar", x="source_code", y="demand"),
        behind="orders.source_code (upper-cased at capture) of orders placed in the range",
    ),
    _sales_by_source,
    _with_aov,
)

TOP_BY = Parameter("by", "choice", "Rank", choices=("item", "style"), default="item")
LIMIT = Parameter("limit", "int", "How many", default="20", minimum=1, maximum=1000)


def _top_items(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    items, styles = ItemRow.__table__, StyleRow.__table__
    source: Any = _order_lines()
    code: sa.ColumnElement[Any]
    name: sa.ColumnElement[Any]
    if params["by"] == "style":
        source = source.join(items, items.c.id == lines.c.item_id).outerjoin(
            styles, styles.c.id == items.c.style_id
        )
        code, name = sa.func.coalesce(styles.c.code, ""), sa.func.coalesce(styles.c.name, "(no style)")
        group = [code, name, orders.c.currency]
    else:
        code, name = lines.c.sku, sa.func.max(lines.c.name)
        group = [code, orders.c.currency]
    return (
        sa.select(code.label("code"), name.label("name"), *_sales_figures())
        .select_from(source)
        .where(*order_filters(params))
        .group_by(*group)
        .order_by(sa.desc("units"), sa.desc("demand"), code)
        .limit(params["limit"])
    )


TOP_ITEMS = Report(
    ReportSpec(
        name="top_items",
        title="Top items and styles",
        description="The best-selling items (or styles: every variant together) by units ordered, with demand "
        "and net sales.",
        parameters=(DATE_FROM, DATE_TO, CHANNEL, DIVISION, TOP_BY, LIMIT),
        columns=(Column("code", "SKU or style", "text"), Column("name", "Name", "text"), *SALES_COLUMNS),
        chart=Chart("bar", x="code", y="units"),
        behind="order lines of orders placed in the range; styles through catalog items",
    ),
    _top_items,
    _with_aov,
)


def _returns_by_reason(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    returns, return_lines = ReturnRow.__table__, ReturnLineRow.__table__
    sold_where = order_filters(params)
    sold = (
        sa.select(lines.c.sku.label("sku"), sa.func.sum(lines.c.quantity - lines.c.cancelled).label("units"))
        .select_from(_order_lines())
        .where(*sold_where)
        .group_by(lines.c.sku)
        .subquery("sold")
    )
    where = [
        returns.c.status != "cancelled",
        *placed_between(returns.c.authorized_at, params["from"], params["to"]),
    ]
    if params.get("channel"):
        where.append(orders.c.channel == params["channel"])
    if params.get("division"):
        where.append(orders.c.division == params["division"])
    source = (
        return_lines.join(returns, returns.c.id == return_lines.c.return_id)
        .join(orders, orders.c.id == returns.c.order_id)
        .join(
            lines, sa.and_(lines.c.order_id == returns.c.order_id, lines.c.line_no == return_lines.c.line_no)
        )
        .outerjoin(sold, sold.c.sku == lines.c.sku)
    )
    return (
        sa.select(
            return_lines.c.reason.label("reason"),
            lines.c.sku.label("sku"),
            sa.func.max(lines.c.name).label("name"),
            sa.func.count(sa.distinct(returns.c.id)).label("returns"),
            sa.func.sum(return_lines.c.quantity).label("units_returned"),
            zero(sa.func.max(sold.c.units)).label("units_sold"),
        )
        .select_from(source)
        .where(*where)
        .group_by(return_lines.c.reason, lines.c.sku)
        .order_by(sa.desc("units_returned"), return_lines.c.reason, lines.c.sku)
    )


def _return_rate(row: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    row["return_rate"] = ratio(row["units_returned"], row["units_sold"])
    return row


RETURNS_BY_REASON = Report(
    ReportSpec(
        name="returns_by_reason",
        title="Returns by reason and item",
        description="Returns authorized in the range (not cancelled) by reason and item, with the return rate: "
        "units returned ÷ units sold (ordered less cancelled) of that item in orders placed in the same range.",
        parameters=(DATE_FROM, DATE_TO, CHANNEL, DIVISION),
        columns=(
            Column("reason", "Reason", "text"),
            Column("sku", "SKU", "text"),
            Column("name", "Name", "text"),
            Column("returns", "Returns (RMAs)", "int"),
            Column("units_returned", "Units returned", "int"),
            Column("units_sold", "Units sold", "int"),
            Column("return_rate", "Return rate %", "percent"),
        ),
        chart=Chart("bar", x="reason", y="units_returned", series="sku"),
        behind="returns and their lines (authorized_at), order lines for the item",
    ),
    _returns_by_reason,
    _return_rate,
)


def _open_orders(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    per_order = (
        sa.select(
            lines.c.order_id.label("order_id"),
            sa.func.sum(lines.c.quantity - lines.c.cancelled).label("units"),
            sa.func.sum(lines.c.shipped).label("shipped"),
            sa.func.sum(lines.c.backordered).label("backordered"),
        )
        .group_by(lines.c.order_id)
        .subquery("per_order")
    )
    is_open = orders.c.status.in_(OPEN_STATUSES)
    complete = orders.c.status.in_(("shipped", "completed"))
    return (
        sa.select(
            orders.c.channel.label("channel"),
            sa.func.count().label("orders"),
            sa.func.count(sa.case((orders.c.status != "cancelled", 1))).label("orders_not_cancelled"),
            sa.func.count(sa.case((complete, 1))).label("orders_complete"),
            sa.func.count(sa.case((is_open, 1))).label("open_orders"),
            orders.c.currency.label("currency"),
            zero(sa.func.sum(sa.case((is_open, orders.c.total_minor), else_=0))).label("open_value"),
            zero(sa.func.sum(per_order.c.units)).label("units"),
            zero(sa.func.sum(per_order.c.shipped)).label("units_shipped"),
            zero(sa.func.sum(per_order.c.backordered)).label("units_backordered"),
        )
        .select_from(orders.join(per_order, per_order.c.order_id == orders.c.id))
        .where(*order_filters(params))
        .group_by(orders.c.channel, orders.c.currency)
        .order_by(orders.c.channel, orders.c.currency)
    )


def _fill_rates(row: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    row["unit_fill_rate"] = ratio(row["units_shipped"], row["units"])
    row["order_fill_rate"] = ratio(row["orders_complete"], row["orders_not_cancelled"])
    return row


OPEN_ORDERS = Report(
    ReportSpec(
        name="open_orders",
        title="Open orders and fill rate",
        description="Per channel, of the orders placed in the range: how many are still open (pending, on hold, "
        "released, partly shipped) and their value; the unit fill rate (units shipped ÷ units ordered less "
        "cancelled) and the order fill rate (orders shipped complete ÷ orders not cancelled).",
        parameters=(DATE_FROM, DATE_TO, CHANNEL, DIVISION),
        columns=(
            Column("channel", "Channel", "text"),
            Column("orders", "Orders", "int"),
            Column("orders_not_cancelled", "Not cancelled", "int"),
            Column("orders_complete", "Shipped complete", "int"),
            Column("open_orders", "Open", "int"),
            Column("currency", "Currency", "text"),
            _money("open_value", "Open value"),
            Column("units", "Units (net of cancellations)", "int"),
            Column("units_shipped", "Units shipped", "int"),
            Column("units_backordered", "Units backordered", "int"),
            Column("unit_fill_rate", "Unit fill rate %", "percent"),
            Column("order_fill_rate", "Order fill rate %", "percent"),
        ),
        chart=Chart("bar", x="channel", y="open_orders"),
        behind="orders placed in the range (status, total) and their lines (shipped, cancelled, backordered)",
    ),
    _open_orders,
    _fill_rates,
)


def _sales_tax(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    """Goods' tax from the lines (each to its ship-to's jurisdiction) and shipping tax from the ship-tos, as one
    UNION ALL of the two filtered by the order's date, grouped once."""
    where = order_filters(params)
    ship_tos, field = json_elements(orders.c.ship_tos, ctx.dialect, "ship_to")
    country, region = field("country"), sa.func.coalesce(field("region"), "")
    goods = (
        sa.select(
            country.label("country"),
            region.label("region"),
            orders.c.currency.label("currency"),
            orders.c.id.label("order_id"),
            line_value().label("taxable"),
            lines.c.tax_minor.label("goods_tax"),
            sa.literal(0, sa.BigInteger).label("shipping_tax"),
        )
        .select_from(
            orders.join(lines, lines.c.order_id == orders.c.id).join(
                ship_tos, field("ref") == lines.c.ship_to
            )
        )
        .where(*where)
    )
    shipping = (
        sa.select(
            country,
            region,
            orders.c.currency,
            orders.c.id,
            sa.literal(0, sa.BigInteger),
            sa.literal(0, sa.BigInteger),
            zero(sa.cast(field("shipping_tax_minor"), sa.BigInteger)),
        )
        .select_from(orders.join(ship_tos, sa.true()))
        .where(*where)
    )
    parts = sa.union_all(goods, shipping).subquery("parts")
    goods_tax = sa.func.sum(parts.c.goods_tax)
    shipping_tax = sa.func.sum(parts.c.shipping_tax)
    return (
        sa.select(
            parts.c.country,
            parts.c.region,
            sa.func.count(sa.distinct(parts.c.order_id)).label("orders"),
            parts.c.currency,
            sa.func.sum(parts.c.taxable).label("taxable"),
            goods_tax.label("goods_tax"),
            shipping_tax.label("shipping_tax"),
            (goods_tax + shipping_tax).label("tax"),
        )
        .group_by(parts.c.country, parts.c.region, parts.c.currency)
        .order_by(parts.c.country, parts.c.region, parts.c.currency)
    )


SALES_TAX = Report(
    ReportSpec(
        name="sales_tax",
        title="Sales tax by jurisdiction",
        description="Tax charged on orders placed in the range, per ship-to country and region (the jurisdiction "
        "the tax rates are set by): on goods (after cancellations) and on shipping. Refunds on returns are not "
        "deducted here.",
        parameters=(DATE_FROM, DATE_TO, CHANNEL, DIVISION),
        columns=(
            Column("country", "Country", "text"),
            Column("region", "Region", "text"),
            Column("orders", "Orders", "int"),
            Column("currency", "Currency", "text"),
            _money("taxable", "Goods value"),
            _money("goods_tax", "Tax on goods"),
            _money("shipping_tax", "Tax on shipping"),
            _money("tax", "Tax"),
        ),
        chart=Chart("bar", x="region", y="tax", series="country"),
        behind="order lines' tax by ship-to, and each ship-to's shipping tax (orders.ship_tos)",
    ),
    _sales_tax,
)

REPORTS = (SALES_BY_DAY_CHANNEL, SALES_BY_SOURCE_CODE, TOP_ITEMS, RETURNS_BY_REASON, OPEN_ORDERS, SALES_TAX)

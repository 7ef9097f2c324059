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

from ordersmith.catalog.tables import StyleRow
from ordersmith.orders.tables import ReturnLineRow, ReturnRow
from ordersmith.reporting.catalogue._base import QueryContext, Report
from ordersmith.reporting.catalogue._daily import (
    ITEM_DAYS,
    ORDER_DAYS,
    STYLE_DAYS,
    TAX_DAYS,
    Grain,
    grain_filters,
    period_of_day,
)
from ordersmith.reporting.catalogue._sql import lines, orders, placed_between, zero
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


def _sales_figures(rows: sa.Subquery) -> list[sa.ColumnElement[Any]]:
    c = rows.c
    return [
        zero(sa.func.sum(c.orders)).label("orders"),
        zero(sa.func.sum(c.units)).label("units"),
        zero(sa.func.sum(c.cancelled_units)).label("cancelled_units"),
        zero(sa.func.sum(c.returned_units)).label("returned_units"),
        c.currency.label("currency"),
        zero(sa.func.sum(c.demand_minor)).label("demand"),
        zero(sa.func.sum(c.net_minor)).label("net"),
    ]


def _with_aov(row: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    row["aov"] = average_minor(row["demand"], row["orders"])
    return row


def _days(grain: Grain, params: dict[str, Any], ctx: QueryContext) -> sa.Subquery:
    """The grain's rows for the range: stored for the days computed, live for the others (ADR 0055)."""
    return grain.rows(((params["from"], params["to"]),), ctx.stored, ctx.dialect)


def _sales_by_period(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    rows = _days(ORDER_DAYS, params, ctx)
    bucket = period_of_day(rows.c.day, params["grouping"], ctx.dialect)
    return (
        sa.select(bucket.label("period"), rows.c.channel.label("channel"), *_sales_figures(rows))
        .where(*grain_filters(rows, params))
        .group_by(bucket, rows.c.channel, rows.c.currency)
        .order_by(bucket, rows.c.channel, rows.c.currency)
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
        behind="orders placed in the range (UTC) and their lines: daily facts for past days, the orders for today",
    ),
    _sales_by_period,
    _with_aov,
    daily=True,
)


def _sales_by_source(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    rows = _days(ORDER_DAYS, params, ctx)
    where = grain_filters(rows, params)
    if params.get("source_code"):
        where.append(rows.c.source_code == params["source_code"].upper())
    return (
        sa.select(rows.c.source_code.label("source_code"), *_sales_figures(rows))
        .where(*where)
        .group_by(rows.c.source_code, rows.c.currency)
        .order_by(sa.desc("demand"), rows.c.source_code)
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
        behind="orders.source_code (upper-cased at capture) of orders placed in the range: daily facts for past "
        "days, the orders for today",
    ),
    _sales_by_source,
    _with_aov,
    daily=True,
)

TOP_BY = Parameter("by", "choice", "Rank", choices=("item", "style"), default="item")
LIMIT = Parameter("limit", "int", "How many", default="20", minimum=1, maximum=1000)


def _top_items(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    styles = StyleRow.__table__
    code: sa.ColumnElement[Any]
    name: sa.ColumnElement[Any]
    if params["by"] == "style":
        rows = _days(STYLE_DAYS, params, ctx)
        source: Any = rows.outerjoin(
            styles, sa.and_(styles.c.code == rows.c.style_code, rows.c.style_code != "")
        )
        code, name = rows.c.style_code, sa.func.coalesce(sa.func.max(styles.c.name), "(no style)")
    else:
        rows = _days(ITEM_DAYS, params, ctx)
        source, code, name = rows, rows.c.sku, sa.func.max(rows.c.name)
    return (
        sa.select(code.label("code"), name.label("name"), *_sales_figures(rows))
        .select_from(source)
        .where(*grain_filters(rows, params))
        .group_by(code, rows.c.currency)
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
        behind="order lines of orders placed in the range, styles through catalog items: daily facts for past "
        "days, the orders for today",
    ),
    _top_items,
    _with_aov,
    daily=True,
)


def _returns_by_reason(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    returns, return_lines = ReturnRow.__table__, ReturnLineRow.__table__
    bought = _days(ITEM_DAYS, params, ctx)
    sold = (
        sa.select(bought.c.sku, sa.func.sum(bought.c.units - bought.c.cancelled_units).label("units"))
        .where(*grain_filters(bought, params))
        .group_by(bought.c.sku)
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
    daily=True,
)


def _open_orders(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    rows = _days(ORDER_DAYS, params, ctx)
    c = rows.c
    return (
        sa.select(
            c.channel.label("channel"),
            zero(sa.func.sum(c.orders)).label("orders"),
            zero(sa.func.sum(c.orders_not_cancelled)).label("orders_not_cancelled"),
            zero(sa.func.sum(c.orders_complete)).label("orders_complete"),
            zero(sa.func.sum(c.open_orders)).label("open_orders"),
            c.currency.label("currency"),
            zero(sa.func.sum(c.open_value_minor)).label("open_value"),
            zero(sa.func.sum(c.units - c.cancelled_units)).label("units"),
            zero(sa.func.sum(c.units_shipped)).label("units_shipped"),
            zero(sa.func.sum(c.units_backordered)).label("units_backordered"),
        )
        .where(*grain_filters(rows, params))
        .group_by(c.channel, c.currency)
        .order_by(c.channel, c.currency)
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
    daily=True,
)


def _sales_tax(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    rows = _days(TAX_DAYS, params, ctx)
    c = rows.c
    goods_tax, shipping_tax = zero(sa.func.sum(c.goods_tax_minor)), zero(sa.func.sum(c.shipping_tax_minor))
    return (
        sa.select(
            c.country,
            c.region,
            zero(sa.func.sum(c.orders)).label("orders"),
            c.currency,
            zero(sa.func.sum(c.taxable_minor)).label("taxable"),
            goods_tax.label("goods_tax"),
            shipping_tax.label("shipping_tax"),
            (goods_tax + shipping_tax).label("tax"),
        )
        .where(*grain_filters(rows, params))
        .group_by(c.country, c.region, c.currency)
        .order_by(c.country, c.region, c.currency)
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
    daily=True,
)

REPORTS = (SALES_BY_DAY_CHANNEL, SALES_BY_SOURCE_CODE, TOP_ITEMS, RETURNS_BY_REASON, OPEN_ORDERS, SALES_TAX)

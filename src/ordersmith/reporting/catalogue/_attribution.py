"""Which key code each order line counts under, and which orders were matched back to a code — the SQL the results
per key code, drop and campaign share (ADR 0038).

A line counts under its own source code when it has one (it came from another offer), else under its order's: the
two are read apart, each by its index (`ix_order_lines_source_code`, the partial index of keyed lines;
`ix_orders_source_code`), and added up, so no line counts twice and a line's cancellations and returns go with it.
An order counts once for each code it has a line under. A matched-back order carries no code on itself or on any
line, so it is never also a keyed order; its attribution (one per order) is marketing's `marketing_matchbacks`.
The cost of goods is finance's, per line (`finance_line_costs`); units it has not costed are counted, so a figure
built on them can say it is unknown.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ordersmith.finance.tables import LineCostRow
from ordersmith.marketing.list_tables import MatchbackRow
from ordersmith.marketing.tables import CampaignRow, DropRow, SourceCodeRow
from ordersmith.reporting.catalogue._sql import line_value, lines, orders, returned_value, zero

codes = SourceCodeRow.__table__
drops = DropRow.__table__
campaigns = CampaignRow.__table__
line_costs = LineCostRow.__table__
matchbacks = MatchbackRow.__table__

# What every attributed line brings, summed per code, drop or campaign (minor units, or units).
MEASURES = ("gross_demand", "cancellations", "returns", "net_sales", "cogs", "uncosted_units")


def _scope(params: dict[str, Any]) -> list[sa.ColumnElement[bool]]:
    where = [orders.c.exchange_for.is_(None), orders.c.currency == campaigns.c.currency]
    if params.get("campaign"):
        where.append(campaigns.c.code == params["campaign"].upper())
    if params.get("source_code"):
        where.append(codes.c.code == params["source_code"].upper())
    return where


def _line_cost(column: Any) -> Any:
    """Σ of a finance_line_costs column over this line's rows (its shipments and returns), by the table's key."""
    return zero(
        sa.select(sa.func.sum(column))
        .where(line_costs.c.order_id == lines.c.order_id, line_costs.c.line_no == lines.c.line_no)
        .scalar_subquery()
    )


def _measures(full: bool) -> list[Any]:
    demand = (lines.c.unit_price_minor * lines.c.quantity).label("gross_demand")
    if not full:  # the response curve: orders and demand only, no per-line lookups
        return [orders.c.id.label("order_id"), orders.c.placed_at.label("placed_at"), demand]
    first = sa.alias(orders, "earlier")
    earlier = sa.exists().where(
        first.c.customer_id == orders.c.customer_id, first.c.placed_at < orders.c.placed_at
    )
    # Units net sales count: ordered, not cancelled, not returned. Finance has costed `costed` of them (shipments
    # less returns); the rest — still open, or shipped or returned without a cost — leave COGS unknown.
    open_units = lines.c.quantity - lines.c.cancelled - lines.c.shipped
    costed = _line_cost(line_costs.c.units)
    return [
        orders.c.id.label("order_id"),
        orders.c.placed_at.label("placed_at"),
        sa.case((sa.or_(orders.c.customer_id.is_(None), ~earlier), 1), else_=0).label("new_customer"),
        demand,
        (lines.c.unit_price_minor * lines.c.cancelled).label("cancellations"),
        returned_value().label("returns"),
        (line_value() - returned_value()).label("net_sales"),
        _line_cost(line_costs.c.cost_minor).label("cogs"),
        (open_units + sa.func.abs(lines.c.shipped - lines.c.returned - costed)).label("uncosted_units"),
    ]


def attributed_lines(params: dict[str, Any], *, full: bool = True) -> Any:
    """One row per order line with the key code it counts under (`code`), its order, whether that order was a new
    customer's, and its measures (`full=False`: its order, placed-at and gross demand only). Exchange orders and
    orders in another currency than the code's campaign are left out; `campaign` / `source_code` parameters narrow
    it to those codes."""
    catalog = codes.join(drops, drops.c.id == codes.c.drop_id).join(
        campaigns, campaigns.c.id == drops.c.campaign_id
    )
    under_order = (
        sa.select(codes.c.code.label("code"), *_measures(full))
        .select_from(
            catalog.join(orders, orders.c.source_code == codes.c.code).join(
                lines, sa.and_(lines.c.order_id == orders.c.id, lines.c.source_code.is_(None))
            )
        )
        .where(*_scope(params))
    )
    under_line = (
        sa.select(codes.c.code.label("code"), *_measures(full))
        .select_from(
            catalog.join(lines, lines.c.source_code == codes.c.code).join(
                orders, orders.c.id == lines.c.order_id
            )
        )
        .where(*_scope(params))
    )
    return sa.union_all(under_order, under_line).subquery("attributed")


def keyed_sums(attributed: Any, *group: Any) -> list[Any]:
    """The sums of `attributed` rows per group: orders (each once, however many of its lines are in the group),
    new customers' orders, and every measure."""
    return [
        *group,
        sa.func.count(sa.distinct(attributed.c.order_id)).label("orders"),
        sa.func.count(sa.distinct(sa.case((attributed.c.new_customer == 1, attributed.c.order_id)))).label(
            "new_customers"
        ),
        *(zero(sa.func.sum(getattr(attributed.c, name))).label(name) for name in MEASURES),
    ]


def matched_orders(params: dict[str, Any]) -> Any:
    """One row per matched-back order with its key code and gross demand (units at their unit price, as keyed
    demand is counted). Only orders with no code on themselves or on any line: a keyed order is never counted
    again as matched (matchback never attributes one; this holds it even for rows older than that rule)."""
    keyed = sa.alias(lines, "keyed")
    keyed_line = sa.exists().where(keyed.c.order_id == orders.c.id, keyed.c.source_code.is_not(None))
    where = [
        orders.c.exchange_for.is_(None),
        orders.c.currency == campaigns.c.currency,
        sa.or_(orders.c.source_code.is_(None), orders.c.source_code == ""),
        ~keyed_line,
    ]
    if params.get("campaign"):
        where.append(campaigns.c.code == params["campaign"].upper())
    return (
        sa.select(
            matchbacks.c.key_code.label("code"),
            orders.c.id.label("order_id"),
            zero(sa.func.sum(lines.c.unit_price_minor * lines.c.quantity)).label("demand"),
        )
        .select_from(
            codes.join(matchbacks, matchbacks.c.key_code == codes.c.code)
            .join(drops, drops.c.id == codes.c.drop_id)
            .join(campaigns, campaigns.c.id == drops.c.campaign_id)
            .join(orders, orders.c.id == matchbacks.c.order_id)
            .join(lines, lines.c.order_id == orders.c.id)
        )
        .where(*where)
        .group_by(matchbacks.c.key_code, orders.c.id)
        .subquery("matched")
    )


def matched_sums(matched: Any, *group: Any) -> list[Any]:
    return [
        *group,
        sa.func.count(matched.c.order_id).label("matched_orders"),
        zero(sa.func.sum(matched.c.demand)).label("matched_demand"),
    ]

"""Campaign results: what each source (key) code, drop and campaign brought in per piece mailed — one aggregating
query each, reading orders by their (indexed) source code.

The figures (sums per code, then added up per drop or campaign), in the campaign's currency; exchange orders and
orders in another currency are left out:
- orders: orders placed with the code; response % = orders ÷ quantity mailed;
- new customers: orders by a guest or by a customer with no earlier order; existing: the rest;
- gross demand: units ordered at their unit price (before discounts, cancellations and returns);
- cancellations: cancelled units at their unit price; returns: the value returned units carried;
- net sales: what the lines still charge for goods (after discounts and cancellations) less returns;
- AOV: gross demand ÷ orders; demand per book: gross demand ÷ quantity mailed;
- cost: quantity mailed x the drop's cost per piece; cost per order: cost ÷ orders;
- ROI %: (net sales - cost) ÷ cost (before the cost of goods).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ordersmith.marketing import service as marketing
from ordersmith.marketing.tables import CampaignRow, DropRow, SourceCodeRow
from ordersmith.reporting.catalogue._base import QueryContext, Report
from ordersmith.reporting.catalogue._sql import line_value, lines, orders, returned_value, zero
from ordersmith.reporting.rules import Chart, Column, Parameter, ReportSpec

codes = SourceCodeRow.__table__
drops = DropRow.__table__
campaigns = CampaignRow.__table__
CAMPAIGN = Parameter("campaign", "text", "Campaign")

SUMS = ("orders", "new_customers", "gross_demand", "cancellations", "returns", "net_sales")


def _money(name: str, label: str) -> Column:
    return Column(name, label, "money", currency_column="currency")


FIGURES = (
    Column("quantity_mailed", "Quantity mailed", "int"),
    Column("orders", "Orders", "int"),
    Column("response_pct", "Response %", "percent"),
    Column("new_customers", "New customers", "int"),
    Column("existing_customers", "Existing customers", "int"),
    Column("currency", "Currency", "text"),
    _money("gross_demand", "Gross demand"),
    _money("cancellations", "Cancellations"),
    _money("returns", "Returns"),
    _money("net_sales", "Net sales"),
    _money("aov", "AOV"),
    _money("cost", "Cost"),
    _money("demand_per_book", "$ per book"),
    _money("cost_per_order", "Cost per order"),
    Column("roi_pct", "ROI %", "percent"),
)


def _per_code(params: dict[str, Any]) -> Any:
    """Each code's sums over the orders placed with it (in its campaign's currency, exchanges left out)."""
    first = sa.alias(orders, "earlier")
    earlier = sa.exists().where(
        first.c.customer_id == orders.c.customer_id, first.c.placed_at < orders.c.placed_at
    )
    is_new = sa.or_(orders.c.customer_id.is_(None), ~earlier)
    where = [orders.c.exchange_for.is_(None), orders.c.currency == campaigns.c.currency]
    if params.get("campaign"):
        where.append(campaigns.c.code == params["campaign"].upper())
    return (
        sa.select(
            orders.c.source_code.label("code"),
            sa.func.count(sa.distinct(orders.c.id)).label("orders"),
            sa.func.count(sa.distinct(sa.case((is_new, orders.c.id)))).label("new_customers"),
            zero(sa.func.sum(lines.c.unit_price_minor * lines.c.quantity)).label("gross_demand"),
            zero(sa.func.sum(lines.c.unit_price_minor * lines.c.cancelled)).label("cancellations"),
            zero(sa.func.sum(returned_value())).label("returns"),
            zero(sa.func.sum(line_value() - returned_value())).label("net_sales"),
        )
        .select_from(
            codes.join(orders, orders.c.source_code == codes.c.code)
            .join(lines, lines.c.order_id == orders.c.id)
            .join(drops, drops.c.id == codes.c.drop_id)
            .join(campaigns, campaigns.c.id == drops.c.campaign_id)
        )
        .where(*where)
        .group_by(orders.c.source_code)
        .subquery("per_code")
    )


def _summed(per_code: Any) -> list[Any]:
    return [zero(sa.func.sum(getattr(per_code.c, name))).label(name) for name in SUMS]


def _scope(query: sa.Select[Any], params: dict[str, Any]) -> sa.Select[Any]:
    return query.where(campaigns.c.code == params["campaign"].upper()) if params.get("campaign") else query


def _by_code(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    per_code = _per_code(params)
    query = (
        sa.select(
            codes.c.code.label("source_code"),
            campaigns.c.code.label("campaign"),
            drops.c.code.label("drop"),
            codes.c.segment.label("segment"),
            drops.c.in_home_on.label("in_home_on"),
            codes.c.expected_response_pct.label("expected_response_pct"),
            codes.c.quantity_mailed.label("quantity_mailed"),
            (codes.c.quantity_mailed * drops.c.cost_per_piece_minor).label("cost"),
            campaigns.c.currency.label("currency"),
            *(zero(getattr(per_code.c, name)).label(name) for name in SUMS),
        )
        .select_from(
            codes.join(drops, drops.c.id == codes.c.drop_id)
            .join(campaigns, campaigns.c.id == drops.c.campaign_id)
            .outerjoin(per_code, per_code.c.code == codes.c.code)
        )
        .order_by(campaigns.c.code, drops.c.in_home_on, drops.c.code, codes.c.code)
    )
    return _scope(query, params)


def _by_drop(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    per_code = _per_code(params)
    query = (
        sa.select(
            campaigns.c.code.label("campaign"),
            drops.c.code.label("drop"),
            drops.c.in_home_on.label("in_home_on"),
            drops.c.creative.label("creative"),
            drops.c.quantity_mailed.label("quantity_mailed"),
            (drops.c.quantity_mailed * drops.c.cost_per_piece_minor).label("cost"),
            campaigns.c.currency.label("currency"),
            *_summed(per_code),
        )
        .select_from(
            drops.join(campaigns, campaigns.c.id == drops.c.campaign_id)
            .outerjoin(codes, codes.c.drop_id == drops.c.id)
            .outerjoin(per_code, per_code.c.code == codes.c.code)
        )
        .group_by(
            campaigns.c.code,
            campaigns.c.currency,
            drops.c.id,
            drops.c.code,
            drops.c.in_home_on,
            drops.c.creative,
            drops.c.quantity_mailed,
            drops.c.cost_per_piece_minor,
        )
        .order_by(campaigns.c.code, drops.c.in_home_on, drops.c.code)
    )
    return _scope(query, params)


def _by_campaign(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    per_code = _per_code(params)
    mailed = (
        sa.select(
            drops.c.campaign_id,
            sa.func.sum(drops.c.quantity_mailed).label("quantity_mailed"),
            sa.func.sum(drops.c.quantity_mailed * drops.c.cost_per_piece_minor).label("cost"),
        )
        .group_by(drops.c.campaign_id)
        .subquery("mailed")
    )
    brought = (
        sa.select(drops.c.campaign_id, *_summed(per_code))
        .select_from(
            per_code.join(codes, codes.c.code == per_code.c.code).join(drops, drops.c.id == codes.c.drop_id)
        )
        .group_by(drops.c.campaign_id)
        .subquery("brought")
    )
    query = (
        sa.select(
            campaigns.c.code.label("campaign"),
            campaigns.c.name.label("name"),
            campaigns.c.kind.label("kind"),
            zero(mailed.c.quantity_mailed).label("quantity_mailed"),
            zero(mailed.c.cost).label("cost"),
            campaigns.c.currency.label("currency"),
            *(zero(getattr(brought.c, name)).label(name) for name in SUMS),
        )
        .select_from(
            campaigns.outerjoin(mailed, mailed.c.campaign_id == campaigns.c.id).outerjoin(
                brought, brought.c.campaign_id == campaigns.c.id
            )
        )
        .order_by(campaigns.c.code)
    )
    return _scope(query, params)


def _with_figures(row: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The ratios, from the row's own sums (marketing's rules)."""
    found = marketing.figures(
        marketing.Sums(
            quantity_mailed=int(row["quantity_mailed"]),
            cost_minor=int(row["cost"]),
            orders=int(row["orders"]),
            new_customer_orders=int(row["new_customers"]),
            gross_demand_minor=int(row["gross_demand"]),
            cancelled_minor=int(row["cancellations"]),
            returned_minor=int(row["returns"]),
            net_sales_minor=int(row["net_sales"]),
        )
    )
    row.update(
        response_pct=found.response_pct,
        existing_customers=found.existing_customer_orders,
        aov=found.aov_minor,
        demand_per_book=found.demand_per_book_minor,
        cost_per_order=found.cost_per_order_minor,
        roi_pct=found.roi_pct,
    )
    return row


BEHIND = (
    "marketing's source codes, drops and campaigns, and the orders (and their lines) placed with each code"
)

RESULTS_BY_CODE = Report(
    ReportSpec(
        name="source_code_results",
        title="Results per key code",
        description="What each source (key) code brought in against what it cost: orders, response, demand, "
        "cancellations, returns, net sales, new and existing customers, $ per book, cost per order and ROI.",
        parameters=(CAMPAIGN,),
        columns=(
            Column("source_code", "Source code", "text"),
            Column("campaign", "Campaign", "text"),
            Column("drop", "Drop", "text"),
            Column("segment", "List / segment", "text"),
            Column("in_home_on", "In home", "date"),
            Column("expected_response_pct", "Expected response %", "percent"),
            *FIGURES,
        ),
        chart=Chart("bar", x="source_code", y="demand_per_book"),
        behind=BEHIND,
    ),
    _by_code,
    _with_figures,
)

RESULTS_BY_DROP = Report(
    ReportSpec(
        name="drop_results",
        title="Results per drop",
        description="The key codes' results added up per drop (its quantity mailed and cost are the drop's own).",
        parameters=(CAMPAIGN,),
        columns=(
            Column("campaign", "Campaign", "text"),
            Column("drop", "Drop", "text"),
            Column("in_home_on", "In home", "date"),
            Column("creative", "Creative", "text"),
            *FIGURES,
        ),
        chart=Chart("bar", x="drop", y="net_sales", series="campaign"),
        behind=BEHIND,
    ),
    _by_drop,
    _with_figures,
)

RESULTS_BY_CAMPAIGN = Report(
    ReportSpec(
        name="campaign_results",
        title="Results per campaign",
        description="The key codes' results added up per campaign, against all its drops' quantity and cost.",
        parameters=(CAMPAIGN,),
        columns=(
            Column("campaign", "Campaign", "text"),
            Column("name", "Name", "text"),
            Column("kind", "Kind", "text"),
            *FIGURES,
        ),
        chart=Chart("bar", x="campaign", y="roi_pct"),
        behind=BEHIND,
    ),
    _by_campaign,
    _with_figures,
)


def _week_since_in_home(dialect: str) -> sa.ColumnElement[int]:
    """Whole weeks from the drop's in-home date (00:00 UTC) to the order; -1 for an order placed before it."""
    if dialect == "postgresql":
        seconds = sa.extract("epoch", orders.c.placed_at) - sa.extract(
            "epoch", sa.cast(drops.c.in_home_on, sa.DateTime())
        )
        weeks: Any = sa.cast(sa.func.floor(seconds / 604800), sa.Integer)
    else:  # SQLite keeps UTC timestamps as naive ISO text, dates as YYYY-MM-DD
        seconds = (sa.func.julianday(orders.c.placed_at) - sa.func.julianday(drops.c.in_home_on)) * 86400
        weeks = sa.cast(seconds / 604800, sa.Integer)
    return sa.case((seconds < 0, -1), else_=weeks)


def _curve(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    week = _week_since_in_home(ctx.dialect)
    where = [orders.c.exchange_for.is_(None), orders.c.currency == campaigns.c.currency]
    if params.get("campaign"):
        where.append(campaigns.c.code == params["campaign"].upper())
    if params.get("source_code"):
        where.append(codes.c.code == params["source_code"].upper())
    return (
        sa.select(
            codes.c.code.label("source_code"),
            week.label("week"),
            sa.func.count(sa.distinct(orders.c.id)).label("orders"),
            campaigns.c.currency.label("currency"),
            zero(sa.func.sum(lines.c.unit_price_minor * lines.c.quantity)).label("gross_demand"),
        )
        .select_from(
            codes.join(orders, orders.c.source_code == codes.c.code)
            .join(lines, lines.c.order_id == orders.c.id)
            .join(drops, drops.c.id == codes.c.drop_id)
            .join(campaigns, campaigns.c.id == drops.c.campaign_id)
        )
        .where(*where)
        .group_by(codes.c.code, week, campaigns.c.currency)
        .order_by(codes.c.code, week)
    )


RESPONSE_CURVE = Report(
    ReportSpec(
        name="source_code_response_curve",
        title="Response by week since in-home",
        description="Orders and demand per key code and week since its drop landed (week 0 is the in-home week; "
        "-1 gathers orders placed before it): how fast a mailing answers.",
        parameters=(CAMPAIGN, Parameter("source_code", "text", "Source code")),
        columns=(
            Column("source_code", "Source code", "text"),
            Column("week", "Week since in-home", "int"),
            Column("orders", "Orders", "int"),
            Column("currency", "Currency", "text"),
            _money("gross_demand", "Gross demand"),
        ),
        chart=Chart("line", x="week", y="orders", series="source_code"),
        behind=BEHIND,
    ),
    _curve,
)

REPORTS = (RESULTS_BY_CODE, RESULTS_BY_DROP, RESULTS_BY_CAMPAIGN, RESPONSE_CURVE)
BY = {
    "code": RESULTS_BY_CODE.spec.name,
    "drop": RESULTS_BY_DROP.spec.name,
    "campaign": RESULTS_BY_CAMPAIGN.spec.name,
}

"""Campaign results: what each source (key) code, drop and campaign brought in per piece mailed — one aggregating
query each, reading order lines by the code they count under (`_attribution`, ADR 0038).

The figures (sums per code, drop or campaign), in the campaign's currency; exchange orders and orders in another
currency are left out. A line counts under its own code (it came from another offer), else its order's:
- orders: orders with a line under the code (once each); response % = orders ÷ quantity mailed;
- new customers: those orders by a guest or by a customer with no earlier order; existing: the rest;
- gross demand: units ordered at their unit price (before discounts, cancellations and returns);
- cancellations: cancelled units at their unit price; returns: the value returned units carried;
- net sales: what the lines still charge for goods (after discounts and cancellations) less returns;
- AOV: gross demand ÷ orders; demand per book: gross demand ÷ quantity mailed;
- cost: quantity mailed x the drop's cost per piece; cost per order: cost ÷ orders;
- ROI %: (net sales - cost) ÷ cost (before the cost of goods);
- COGS: finance's cost of the units net sales count (shipped at moving-average cost, less returns); contribution
  margin: net sales - COGS - cost; ROI % on margin: margin ÷ cost. All three are empty while any of those units is
  not costed (still open, or shipped without a cost): `uncosted_units` says how many;
- matched orders / demand: orders that came in with no code at all, matched back to the code by a mail file's
  matchback (never a keyed order); totals: keyed + matched, and total response % over them.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ordersmith.marketing import service as marketing
from ordersmith.reporting.catalogue._attribution import (
    MEASURES,
    attributed_lines,
    campaigns,
    codes,
    drops,
    keyed_sums,
    matched_orders,
    matched_sums,
)
from ordersmith.reporting.catalogue._base import QueryContext, Report
from ordersmith.reporting.catalogue._sql import zero
from ordersmith.reporting.rules import Chart, Column, Parameter, ReportSpec

CAMPAIGN = Parameter("campaign", "text", "Campaign")

SUMS = ("orders", "new_customers", *MEASURES, "matched_orders", "matched_demand")


def _money(name: str, label: str) -> Column:
    return Column(name, label, "money", currency_column="currency")


FIGURES = (
    Column("quantity_mailed", "Quantity mailed", "int"),
    Column("orders", "Orders (keyed)", "int"),
    Column("response_pct", "Response %", "percent"),
    Column("new_customers", "New customers", "int"),
    Column("existing_customers", "Existing customers", "int"),
    Column("currency", "Currency", "text"),
    _money("gross_demand", "Gross demand (keyed)"),
    _money("cancellations", "Cancellations"),
    _money("returns", "Returns"),
    _money("net_sales", "Net sales"),
    _money("aov", "AOV"),
    _money("cost", "Cost"),
    _money("demand_per_book", "$ per book"),
    _money("cost_per_order", "Cost per order"),
    Column("roi_pct", "ROI % (before COGS)", "percent"),
    _money("cogs", "COGS"),
    Column("uncosted_units", "Units not costed", "int"),
    _money("contribution_margin", "Contribution margin"),
    Column("margin_roi_pct", "ROI % on margin", "percent"),
    Column("matched_orders", "Orders matched back", "int"),
    _money("matched_demand", "Demand matched back"),
    Column("total_orders", "Orders (keyed + matched)", "int"),
    _money("total_demand", "Demand (keyed + matched)"),
    Column("total_response_pct", "Response % (keyed + matched)", "percent"),
)


def _per_code(params: dict[str, Any]) -> Any:
    """Each code's sums: its attributed lines' and its matched-back orders'."""
    attributed, matched = attributed_lines(params), matched_orders(params)
    keyed = (
        sa.select(*keyed_sums(attributed, attributed.c.code)).group_by(attributed.c.code).subquery("keyed")
    )
    back = sa.select(*matched_sums(matched, matched.c.code)).group_by(matched.c.code).subquery("back")
    return keyed, back


def _code_sums(keyed: Any, back: Any) -> list[Any]:
    return [
        *(zero(getattr(keyed.c, name)).label(name) for name in ("orders", "new_customers", *MEASURES)),
        zero(back.c.matched_orders).label("matched_orders"),
        zero(back.c.matched_demand).label("matched_demand"),
    ]


def _group_sums(params: dict[str, Any], key: Any, name: str) -> tuple[Any, Any]:
    """Sums per drop or campaign (`key`, reached from a code): orders counted once per group, however many of its
    codes an order has lines under."""
    attributed, matched = attributed_lines(params), matched_orders(params)
    keyed = (
        sa.select(*keyed_sums(attributed, key.label("group_id")))
        .select_from(
            attributed.join(codes, codes.c.code == attributed.c.code).join(
                drops, drops.c.id == codes.c.drop_id
            )
        )
        .group_by(key)
        .subquery(f"keyed_{name}")
    )
    back = (
        sa.select(*matched_sums(matched, key.label("group_id")))
        .select_from(
            matched.join(codes, codes.c.code == matched.c.code).join(drops, drops.c.id == codes.c.drop_id)
        )
        .group_by(key)
        .subquery(f"back_{name}")
    )
    return keyed, back


def _scope(query: sa.Select[Any], params: dict[str, Any]) -> sa.Select[Any]:
    return query.where(campaigns.c.code == params["campaign"].upper()) if params.get("campaign") else query


def _by_code(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    keyed, back = _per_code(params)
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
            *_code_sums(keyed, back),
        )
        .select_from(
            codes.join(drops, drops.c.id == codes.c.drop_id)
            .join(campaigns, campaigns.c.id == drops.c.campaign_id)
            .outerjoin(keyed, keyed.c.code == codes.c.code)
            .outerjoin(back, back.c.code == codes.c.code)
        )
        .order_by(campaigns.c.code, drops.c.in_home_on, drops.c.code, codes.c.code)
    )
    return _scope(query, params)


def _by_drop(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    keyed, back = _group_sums(params, drops.c.id, "drop")
    query = (
        sa.select(
            campaigns.c.code.label("campaign"),
            drops.c.code.label("drop"),
            drops.c.in_home_on.label("in_home_on"),
            drops.c.creative.label("creative"),
            drops.c.quantity_mailed.label("quantity_mailed"),
            (drops.c.quantity_mailed * drops.c.cost_per_piece_minor).label("cost"),
            campaigns.c.currency.label("currency"),
            *_code_sums(keyed, back),
        )
        .select_from(
            drops.join(campaigns, campaigns.c.id == drops.c.campaign_id)
            .outerjoin(keyed, keyed.c.group_id == drops.c.id)
            .outerjoin(back, back.c.group_id == drops.c.id)
        )
        .order_by(campaigns.c.code, drops.c.in_home_on, drops.c.code)
    )
    return _scope(query, params)


def _by_campaign(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    keyed, back = _group_sums(params, drops.c.campaign_id, "campaign")
    mailed = (
        sa.select(
            drops.c.campaign_id,
            sa.func.sum(drops.c.quantity_mailed).label("quantity_mailed"),
            sa.func.sum(drops.c.quantity_mailed * drops.c.cost_per_piece_minor).label("cost"),
        )
        .group_by(drops.c.campaign_id)
        .subquery("mailed")
    )
    query = (
        sa.select(
            campaigns.c.code.label("campaign"),
            campaigns.c.name.label("name"),
            campaigns.c.kind.label("kind"),
            zero(mailed.c.quantity_mailed).label("quantity_mailed"),
            zero(mailed.c.cost).label("cost"),
            campaigns.c.currency.label("currency"),
            *_code_sums(keyed, back),
        )
        .select_from(
            campaigns.outerjoin(mailed, mailed.c.campaign_id == campaigns.c.id)
            .outerjoin(keyed, keyed.c.group_id == campaigns.c.id)
            .outerjoin(back, back.c.group_id == campaigns.c.id)
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
            cogs_minor=int(row["cogs"]),
            uncosted_units=int(row["uncosted_units"]),
            matched_orders=int(row["matched_orders"]),
            matched_demand_minor=int(row["matched_demand"]),
        )
    )
    row.update(
        response_pct=found.response_pct,
        existing_customers=found.existing_customer_orders,
        aov=found.aov_minor,
        demand_per_book=found.demand_per_book_minor,
        cost_per_order=found.cost_per_order_minor,
        roi_pct=found.roi_pct,
        cogs=found.cogs_minor,
        contribution_margin=found.contribution_margin_minor,
        margin_roi_pct=found.margin_roi_pct,
        total_orders=found.total_orders,
        total_demand=found.total_demand_minor,
        total_response_pct=found.total_response_pct,
    )
    return row


BEHIND = (
    "marketing's source codes, drops and campaigns; the order lines under each code (a line's own code, else its "
    "order's); finance's cost of goods per line; marketing's matchback attributions"
)

RESULTS_BY_CODE = Report(
    ReportSpec(
        name="source_code_results",
        title="Results per key code",
        description="What each source (key) code brought in against what it cost: orders, response, demand, "
        "cancellations, returns, net sales, new and existing customers, $ per book, cost per order, ROI, COGS, "
        "contribution margin, and keyed and matched-back orders apart.",
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


def _week_since_in_home(dialect: str, placed_at: Any) -> sa.ColumnElement[int]:
    """Whole weeks from the drop's in-home date (00:00 UTC) to the order; -1 for an order placed before it."""
    if dialect == "postgresql":
        seconds = sa.extract("epoch", placed_at) - sa.extract(
            "epoch", sa.cast(drops.c.in_home_on, sa.DateTime())
        )
        weeks: Any = sa.cast(sa.func.floor(seconds / 604800), sa.Integer)
    else:  # SQLite keeps UTC timestamps as naive ISO text, dates as YYYY-MM-DD
        seconds = (sa.func.julianday(placed_at) - sa.func.julianday(drops.c.in_home_on)) * 86400
        weeks = sa.cast(seconds / 604800, sa.Integer)
    return sa.case((seconds < 0, -1), else_=weeks)


def _curve(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    attributed = attributed_lines(params, full=False)
    week = _week_since_in_home(ctx.dialect, attributed.c.placed_at)
    return (
        sa.select(
            attributed.c.code.label("source_code"),
            week.label("week"),
            sa.func.count(sa.distinct(attributed.c.order_id)).label("orders"),
            campaigns.c.currency.label("currency"),
            zero(sa.func.sum(attributed.c.gross_demand)).label("gross_demand"),
        )
        .select_from(
            attributed.join(codes, codes.c.code == attributed.c.code)
            .join(drops, drops.c.id == codes.c.drop_id)
            .join(campaigns, campaigns.c.id == drops.c.campaign_id)
        )
        .group_by(attributed.c.code, week, campaigns.c.currency)
        .order_by(attributed.c.code, week)
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

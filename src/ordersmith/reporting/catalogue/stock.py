"""Stock reports: inventory valuation at cost (by location or division) and backorders (by item, by age).

Cost: an item's cost is what its default vendor lists for it (purchasing's vendor items); an item without a
default vendor takes the lowest cost any vendor lists; an item no vendor lists is counted in `uncosted_units`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ordersmith.catalog.tables import ItemRow
from ordersmith.inventory.tables import LocationRow, StockLevelRow, StockMovementRow
from ordersmith.purchasing.tables import VendorItemRow, VendorRow
from ordersmith.reporting.catalogue._base import QueryContext, Report
from ordersmith.reporting.catalogue._sql import day_start, lines, order_filters, orders, zero
from ordersmith.reporting.rules import (
    AS_OF,
    BACKORDER_AGES,
    CHANNEL,
    DIVISION,
    LOCATION,
    Chart,
    Column,
    Parameter,
    ReportSpec,
)


def _item_costs() -> Any:
    """One cost per item: its default vendor's, else the lowest listed (then by vendor code)."""
    vendor_items, vendors, items = VendorItemRow.__table__, VendorRow.__table__, ItemRow.__table__
    rank = (
        sa.func.row_number()
        .over(
            partition_by=vendor_items.c.item_id,
            order_by=[
                sa.case((vendor_items.c.vendor_id == items.c.default_vendor_id, 0), else_=1),
                vendor_items.c.cost_minor,
                vendors.c.code,
            ],
        )
        .label("rank")
    )
    ranked = (
        sa.select(
            vendor_items.c.item_id.label("item_id"),
            vendor_items.c.cost_minor.label("cost_minor"),
            vendors.c.currency.label("currency"),
            rank,
        )
        .select_from(
            vendor_items.join(vendors, vendors.c.id == vendor_items.c.vendor_id).join(
                items, items.c.id == vendor_items.c.item_id
            )
        )
        .subquery("ranked_costs")
    )
    return sa.select(ranked).where(ranked.c.rank == 1).subquery("item_costs")


BY = Parameter("by", "choice", "Group by", choices=("location", "division"), default="location")


def _valuation(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    levels, locations = StockLevelRow.__table__, LocationRow.__table__
    costs = _item_costs()
    group = (
        locations.c.code if params["by"] == "location" else sa.func.coalesce(locations.c.division, "(shared)")
    )
    where: list[sa.ColumnElement[bool]] = [levels.c.on_hand > 0]
    if params.get("location"):
        where.append(locations.c.code == params["location"])
    if params.get("division"):
        where.append(locations.c.division == params["division"])
    costed = costs.c.cost_minor.is_not(None)
    return (
        sa.select(
            group.label("group"),
            sa.func.count(sa.distinct(levels.c.item_id)).label("items"),
            sa.func.sum(levels.c.on_hand).label("on_hand"),
            sa.func.sum(levels.c.reserved).label("reserved"),
            zero(sa.func.sum(sa.case((costed, 0), else_=levels.c.on_hand))).label("uncosted_units"),
            costs.c.currency.label("currency"),
            zero(sa.func.sum(levels.c.on_hand * costs.c.cost_minor)).label("value"),
        )
        .select_from(
            levels.join(locations, locations.c.id == levels.c.location_id).outerjoin(
                costs, costs.c.item_id == levels.c.item_id
            )
        )
        .where(*where)
        .group_by(group, costs.c.currency)
        .order_by(group, costs.c.currency)
    )


INVENTORY_VALUATION = Report(
    ReportSpec(
        name="inventory_valuation",
        title="Inventory valuation at cost",
        description="Units on hand and their value at cost per location (or per the division a location is "
        "dedicated to). Cost is the default vendor's listed cost, else the lowest any vendor lists; units of "
        "items no vendor lists are counted as uncosted (their row has no currency).",
        parameters=(BY, LOCATION, DIVISION),
        columns=(
            Column("group", "Location or division", "text"),
            Column("items", "Items", "int"),
            Column("on_hand", "On hand", "int"),
            Column("reserved", "Reserved", "int"),
            Column("uncosted_units", "Uncosted units", "int"),
            Column("currency", "Currency", "text"),
            Column("value", "Value at cost", "money", currency_column="currency"),
        ),
        chart=Chart("bar", x="group", y="value"),
        behind="stock_levels x purchasing's vendor_items (cost) by location",
    ),
    _valuation,
)

_BACKORDERED = [lines.c.backordered > 0, orders.c.status != "cancelled"]


def _backorders_by_item(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    return (
        sa.select(
            lines.c.sku.label("sku"),
            sa.func.max(lines.c.name).label("name"),
            sa.func.sum(lines.c.backordered).label("units"),
            sa.func.count(sa.distinct(orders.c.id)).label("orders"),
            sa.func.min(orders.c.placed_at).label("oldest"),
            orders.c.currency.label("currency"),
            sa.func.sum(lines.c.backordered * lines.c.unit_price_minor).label("value"),
        )
        .select_from(orders.join(lines, lines.c.order_id == orders.c.id))
        .where(*_BACKORDERED, *order_filters(params))
        .group_by(lines.c.sku, orders.c.currency)
        .order_by(sa.desc("units"), lines.c.sku)
    )


BACKORDERS_BY_ITEM = Report(
    ReportSpec(
        name="backorders_by_item",
        title="Backorders by item",
        description="Units waiting for stock per item, on how many orders, since when, and their value at the "
        "ordered unit price.",
        parameters=(CHANNEL, DIVISION),
        columns=(
            Column("sku", "SKU", "text"),
            Column("name", "Name", "text"),
            Column("units", "Units backordered", "int"),
            Column("orders", "Orders", "int"),
            Column("oldest", "Oldest order placed", "date"),
            Column("currency", "Currency", "text"),
            Column("value", "Value", "money", currency_column="currency"),
        ),
        chart=Chart("bar", x="sku", y="units"),
        behind="order lines with backordered units (orders not cancelled)",
    ),
    _backorders_by_item,
)


def _backorders_by_age(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    today = ctx.now.replace(hour=0, minute=0, second=0, microsecond=0)
    whens = []
    for label, low, _high in reversed(BACKORDER_AGES):
        # placed on a day at least `low` days before today (UTC days)
        whens.append((orders.c.placed_at < today - timedelta(days=low - 1), label))
    age = sa.case(*whens[:-1], else_=whens[-1][1])
    order_key = sa.case(
        *[(age == label, n) for n, (label, _low, _high) in enumerate(BACKORDER_AGES)],
        else_=len(BACKORDER_AGES),
    )
    return (
        sa.select(
            age.label("age"),
            sa.func.sum(lines.c.backordered).label("units"),
            sa.func.count(sa.distinct(orders.c.id)).label("orders"),
            sa.func.count().label("lines"),
            orders.c.currency.label("currency"),
            sa.func.sum(lines.c.backordered * lines.c.unit_price_minor).label("value"),
        )
        .select_from(orders.join(lines, lines.c.order_id == orders.c.id))
        .where(*_BACKORDERED, *order_filters(params))
        .group_by(age, orders.c.currency)
        .order_by(sa.func.min(order_key), orders.c.currency)
    )


BACKORDERS_BY_AGE = Report(
    ReportSpec(
        name="backorders_by_age",
        title="Backorders by age",
        description="Backordered units by how long ago their order was placed (whole UTC days before today).",
        parameters=(CHANNEL, DIVISION),
        columns=(
            Column("age", "Age", "text"),
            Column("units", "Units backordered", "int"),
            Column("orders", "Orders", "int"),
            Column("lines", "Lines", "int"),
            Column("currency", "Currency", "text"),
            Column("value", "Value", "money", currency_column="currency"),
        ),
        chart=Chart("bar", x="age", y="units"),
        behind="order lines with backordered units (orders not cancelled), by orders.placed_at",
    ),
    _backorders_by_age,
)

DAYS = Parameter("days", "int", "Sales window (days)", default="90", minimum=1, maximum=3660)
TOP = Parameter("limit", "int", "How many", default="100", minimum=1, maximum=5000)


def _stock_aging(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    levels, locations, moves, items = (
        StockLevelRow.__table__,
        LocationRow.__table__,
        StockMovementRow.__table__,
        ItemRow.__table__,
    )
    end = day_start(params["as_of"] + timedelta(days=1))
    since = end - timedelta(days=params["days"])
    shipped = moves.c.reason == "shipment"
    history = (
        sa.select(
            moves.c.item_id,
            moves.c.location_id,
            sa.func.max(sa.case((moves.c.reason == "receipt", moves.c.at))).label("last_received"),
            sa.func.max(sa.case((shipped, moves.c.at))).label("last_shipped"),
            zero(
                sa.func.sum(sa.case((sa.and_(shipped, moves.c.at >= since), -moves.c.on_hand_delta), else_=0))
            ).label("shipped"),
        )
        .where(moves.c.at < end)
        .group_by(moves.c.item_id, moves.c.location_id)
        .subquery("history")
    )
    where: list[sa.ColumnElement[bool]] = [levels.c.on_hand > 0]
    if params.get("location"):
        where.append(locations.c.code == params["location"])
    shipped_units = zero(history.c.shipped)
    return (
        sa.select(
            items.c.sku.label("sku"),
            items.c.name.label("name"),
            locations.c.code.label("location"),
            levels.c.on_hand.label("on_hand"),
            history.c.last_received.label("last_received"),
            history.c.last_shipped.label("last_shipped"),
            shipped_units.label("shipped"),
        )
        .select_from(
            levels.join(items, items.c.id == levels.c.item_id)
            .join(locations, locations.c.id == levels.c.location_id)
            .outerjoin(
                history,
                sa.and_(history.c.item_id == levels.c.item_id, history.c.location_id == levels.c.location_id),
            )
        )
        .where(*where)
        .order_by(
            shipped_units,
            history.c.last_shipped.is_not(None),
            history.c.last_shipped,
            items.c.sku,
            locations.c.code,
        )
        .limit(params["limit"])
    )


def _day(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _ages(row: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    last = _day(row["last_shipped"]) or _day(row["last_received"])
    row["days_idle"] = None if last is None else (params["as_of"] - last).days
    row["days_of_stock"] = (
        None if not row["shipped"] else int(row["on_hand"]) * params["days"] // int(row["shipped"])
    )
    return row


STOCK_AGING = Report(
    ReportSpec(
        name="stock_aging",
        title="Stock aging and slow movers",
        description="Stock on hand per item and location with when it last arrived and last shipped, the units "
        "shipped in the sales window, the days since it last moved and how many days the stock lasts at that "
        "pace; slowest movers first (nothing shipped, then longest idle).",
        parameters=(AS_OF, DAYS, LOCATION, TOP),
        columns=(
            Column("sku", "SKU", "text"),
            Column("name", "Name", "text"),
            Column("location", "Location", "text"),
            Column("on_hand", "On hand", "int"),
            Column("last_received", "Last received", "date"),
            Column("last_shipped", "Last shipped", "date"),
            Column("shipped", "Shipped in window", "int"),
            Column("days_idle", "Days since it moved", "int"),
            Column("days_of_stock", "Days of stock", "int"),
        ),
        chart=Chart("bar", x="sku", y="on_hand", series="location"),
        behind="stock_levels and the stock_movements ledger (receipts and shipments)",
    ),
    _stock_aging,
    _ages,
)

REPORTS = (INVENTORY_VALUATION, STOCK_AGING, BACKORDERS_BY_ITEM, BACKORDERS_BY_AGE)

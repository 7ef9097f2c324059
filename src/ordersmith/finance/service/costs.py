"""Reading the inventory costing subledger: each item's moving-average cost, as receipts (`po.received`) set it."""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa

from ordersmith.finance.tables import ItemCostRow
from ordersmith.kernel.money import Money
from ordersmith.platform.db import UnitOfWork, use_case


@use_case(readonly=True)
def item_costs(uow: UnitOfWork, *, skus: Collection[str]) -> dict[str, Money]:
    """The moving-average unit cost of each of `skus` that has one, in one statement; an item never received at a
    cost is absent (its cost is unknown, not zero)."""
    if not skus:
        return {}
    rows = uow.session.execute(
        sa.select(ItemCostRow.sku, ItemCostRow.currency, ItemCostRow.average_cost_minor).where(
            ItemCostRow.sku.in_(sorted(set(skus)))
        )
    )
    return {r.sku: Money.from_minor(r.average_cost_minor, r.currency) for r in rows}

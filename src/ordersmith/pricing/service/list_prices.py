"""Setting one price of an existing price list (a row of a price file): the rules of `create_price_list` for each
entry — a known SKU, a break from 1 unit up, the list's currency, never negative — as an insert or an update.

Invariant: a list's prices change only with the pricing rules' version moved on, so every process's cached lists
are read again before the next quote.
"""

from __future__ import annotations

import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.pricing.service.setup import PriceEntry, _money, _rules_changed
from ordersmith.pricing.tables import PriceListPriceRow, PriceListRow


@use_case
def set_list_price(uow: UnitOfWork, *, code: str, entry: PriceEntry) -> str:
    """Set the price of `entry.sku` from `entry.min_quantity` units in price list `code`; audited.
    Returns created | updated | unchanged.

    Raises:
        NotFound: no such price list or SKU.
        ValidationFailed: a break below 1, another currency than the list's, a negative price.
    """
    found = uow.session.execute(
        sa.select(PriceListRow.id, PriceListRow.currency).where(PriceListRow.code == code.upper())
    ).first()
    if found is None:
        raise NotFound(f"no price list {code!r}")
    if entry.min_quantity < 1:
        raise ValidationFailed.on("min_quantity", "must be at least 1")
    minor = _money(entry.unit_price, found.currency, "unit_price")
    assert minor is not None
    item = catalog.get_item_ref(uow, sku=entry.sku)
    key = (
        PriceListPriceRow.price_list_id == found.id,
        PriceListPriceRow.item_id == item.id,
        PriceListPriceRow.min_quantity == entry.min_quantity,
    )
    before = uow.session.scalar(sa.select(PriceListPriceRow.unit_price_minor).where(*key).with_for_update())
    if before == minor:
        return "unchanged"
    if before is None:
        uow.execute_core(
            sa.insert(PriceListPriceRow),
            {
                "price_list_id": found.id,
                "item_id": item.id,
                "min_quantity": entry.min_quantity,
                "unit_price_minor": minor,
            },
        )
    else:
        uow.execute_core(sa.update(PriceListPriceRow).where(*key).values(unit_price_minor=minor))
    _rules_changed(uow)
    uow.audit(
        "price_list.price_set",
        object_type="price_list",
        object_id=code.upper(),
        before=None
        if before is None
        else {"sku": item.sku, "min_quantity": entry.min_quantity, "unit_price_minor": before},
        after={"sku": item.sku, "min_quantity": entry.min_quantity, "unit_price_minor": minor},
    )
    return "created" if before is None else "updated"

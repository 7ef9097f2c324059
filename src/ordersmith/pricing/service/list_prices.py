"""Changing an existing price list: one price set (a row of a price file: the rules of `create_price_list` for each
entry — a known SKU, a break from 1 unit up, the list's currency, never negative — as an insert or an update) or
removed; the list's name, priority, customer groups, channels and dates; and reading its prices a page at a time.

Invariant: a list's prices change only with the pricing rules' version moved on, so every process's cached lists
are read again before the next quote. A unit price set (the break from 1 unit) emits `price.changed`, which the
channels push to the platforms that take prices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.pricing.service.changing import MAX_PRIORITY, Dates, Keep
from ordersmith.pricing.service.listing import PriceListView, get_price_list
from ordersmith.pricing.service.setup import PriceEntry, _dates, _money, _rules_changed
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
    if (
        entry.min_quantity == 1
    ):  # the price a unit sells at: what connected channels are told (channels-prices.md)
        uow.emit(
            "price.changed",
            {
                "price_list": code.upper(),
                "sku": item.sku,
                "unit_price": str(Money.from_minor(minor, found.currency).amount),
                "currency": found.currency,
            },
        )
    return "created" if before is None else "updated"


@dataclass(frozen=True)
class ListPrice:
    sku: str
    min_quantity: int
    unit_price: Money


@use_case(readonly=True)
def list_prices(uow: UnitOfWork, *, code: str, sku: str | None = None, limit: int = 200) -> list[ListPrice]:
    """The first `limit` prices of price list `code` (by item, then quantity break), or only `sku`'s breaks; two
    statements whatever the list's size (its prices, then their SKUs).

    Raises:
        NotFound: no such price list or SKU.
    """
    found = uow.session.execute(
        sa.select(PriceListRow.id, PriceListRow.currency).where(PriceListRow.code == code.upper())
    ).first()
    if found is None:
        raise NotFound(f"no price list {code!r}")
    query = (
        sa.select(
            PriceListPriceRow.item_id, PriceListPriceRow.min_quantity, PriceListPriceRow.unit_price_minor
        )
        .where(PriceListPriceRow.price_list_id == found.id)
        .order_by(PriceListPriceRow.item_id, PriceListPriceRow.min_quantity)
        .limit(limit)
    )
    if sku:
        query = query.where(PriceListPriceRow.item_id == catalog.get_item_ref(uow, sku=sku).id)
    rows = uow.session.execute(query).all()
    refs = catalog.item_refs(uow, ids=sorted({r.item_id for r in rows}))
    return [
        ListPrice(refs[r.item_id].sku, r.min_quantity, Money.from_minor(r.unit_price_minor, found.currency))
        for r in rows
    ]


@use_case
def remove_list_price(uow: UnitOfWork, *, code: str, sku: str, min_quantity: int = 1) -> None:
    """Take `sku`'s price from `min_quantity` units out of price list `code` (the SKU is then priced by the next
    list that has it, or its catalogue price); audited with the price it had.

    Raises:
        NotFound: no such price list, SKU, or price of that SKU from that quantity in the list.
    """
    list_id = uow.session.scalar(sa.select(PriceListRow.id).where(PriceListRow.code == code.upper()))
    if list_id is None:
        raise NotFound(f"no price list {code!r}")
    item = catalog.get_item_ref(uow, sku=sku)
    key = (
        PriceListPriceRow.price_list_id == list_id,
        PriceListPriceRow.item_id == item.id,
        PriceListPriceRow.min_quantity == min_quantity,
    )
    before = uow.session.scalar(sa.select(PriceListPriceRow.unit_price_minor).where(*key).with_for_update())
    if before is None:
        raise NotFound(f"price list {code.upper()} has no price for {item.sku} from {min_quantity}")
    uow.execute_core(sa.delete(PriceListPriceRow).where(*key))
    _rules_changed(uow)
    uow.audit(
        "price_list.price_removed",
        object_type="price_list",
        object_id=code.upper(),
        before={"sku": item.sku, "min_quantity": min_quantity, "unit_price_minor": before},
    )


@use_case
def change_price_list(
    uow: UnitOfWork,
    *,
    code: str,
    name: str | None = None,
    priority: int | None = None,
    customer_groups: Sequence[str] | None = None,
    channels: Sequence[str] | None = None,
    dates: Dates | None = None,
) -> PriceListView:
    """Rename, reprioritise, retarget (customer groups, channels: empty means everyone) or re-date a price list;
    what is not given stays. Its currency and code stay (make a new list for another currency); audited.

    Raises:
        NotFound: no such price list.
        ValidationFailed: an empty name, a priority beyond ±1,000,000, or an end not after the start.
    """
    row = uow.session.scalar(
        sa.select(PriceListRow).where(PriceListRow.code == code.upper()).with_for_update()
    )
    if row is None:
        raise NotFound(f"no price list {code!r}")
    before = _list_facts(row)
    if name is not None:
        if not name.strip():
            raise ValidationFailed.on("name", "a price list needs a name")
        row.name = name.strip()[:200]
    if priority is not None:
        if not -MAX_PRIORITY <= priority <= MAX_PRIORITY:
            raise ValidationFailed.on("priority", f"from -{MAX_PRIORITY:,} to {MAX_PRIORITY:,}")
        row.priority = priority
    if customer_groups is not None:
        row.customer_groups = sorted({g.strip() for g in customer_groups if g.strip()})
    if channels is not None:
        row.channels = sorted({c.strip() for c in channels if c.strip()})
    if dates is not None:
        starts_at = row.starts_at if isinstance(dates.starts_at, Keep) else dates.starts_at
        ends_at = row.ends_at if isinstance(dates.ends_at, Keep) else dates.ends_at
        _dates(starts_at, ends_at)
        row.starts_at, row.ends_at = starts_at, ends_at
    after = _list_facts(row)
    if after != before:
        _rules_changed(uow)
        uow.audit(
            "price_list.changed", object_type="price_list", object_id=row.code, before=before, after=after
        )
    uow.session.flush()
    return get_price_list(uow, code=row.code)


def _list_facts(row: PriceListRow) -> dict[str, object]:
    return {
        "name": row.name,
        "priority": row.priority,
        "customer_groups": list(row.customer_groups),
        "channels": list(row.channels),
        "starts_at": row.starts_at.isoformat() if row.starts_at else None,
        "ends_at": row.ends_at.isoformat() if row.ends_at else None,
    }

"""The catalog slice a till keeps for selling offline: the items of its store's division (active, not
personalized), each with its barcodes, its price for one unit at this store (from the pipeline every order is
priced by, at the store's address, no customer or coupon), the tax rate that applies at the store to its tax class
(the same table rule pricing uses), and the units free at this store. One page at a time, in SKU order.

What the till works out offline from this is an estimate shown to the customer; the order is priced again when the
sale is synced (promotions, coupons, a price changed meanwhile). A cash tender pays what the other tenders leave,
so such a difference lands in the drawer's count, never in a refused sale.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ordersmith.catalog import service as catalog
from ordersmith.channels.pos.service._common import Loaded, load_register
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.kernel.pagination import Page
from ordersmith.orders import service as orders
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.pricing import rules as pricing_rules
from ordersmith.pricing import service as pricing


@dataclass(frozen=True)
class SliceItem:
    sku: str
    name: str
    kind: str
    barcodes: list[str]
    price: Money  # one unit, at this store, before promotions and coupons
    tax_rate: Decimal  # on the line's net amount (0 when none applies); rounded half up per line
    free: int | None  # units on hand and not reserved at this store (None: a kit, made of components)


def _exact(rate: Decimal) -> Decimal:
    """The rate without trailing zeros (`0.1`, not `0.100000` as a NUMERIC column hands it back)."""
    return Decimal(format(rate.normalize(), "f"))


@dataclass(frozen=True)
class CatalogSlice:
    register: str
    store: str
    currency: str
    items: list[SliceItem]
    next_cursor: str | None


def _rates(uow: UnitOfWork, loaded: Loaded) -> pricing_rules.TableTaxProvider:
    return pricing_rules.TableTaxProvider(
        tuple(
            pricing_rules.TaxRate(
                country=r.country,
                rate=r.rate,
                region=r.region,
                postal_prefix=r.postal_prefix,
                tax_class=r.tax_class,
                on_shipping=r.on_shipping,
                name=r.name,
            )
            for r in pricing.list_tax_rates(uow)
        )
    )


def _prices(uow: UnitOfWork, loaded: Loaded, items: list[catalog.Item]) -> dict[str, Money]:
    """One unit of each item priced by the pipeline at the store (an item no price list prices is left out)."""
    store = loaded.store
    ship_to = orders.ShipToRequest(
        ref="main",
        name=store.name,
        line1=store.line1,
        city=store.city,
        region=store.region,
        postal_code=store.postal_code,
        country=store.country,
        method=store.method,
    )
    wanted = list(items)
    while wanted:
        request = orders.OrderRequest(
            lines=[orders.LineRequest(sku=i.sku, quantity=1) for i in wanted],
            ship_tos=[ship_to],
            fulfillment="taken",
            store=store.location,
        )
        try:
            quote = orders.quote_order(uow, channel=loaded.channel, request=request)
        except ValidationFailed as refused:
            bad = {int(e.field.split(".")[1]) for e in refused.errors if e.field.startswith("lines.")}
            if not bad:
                raise
            wanted = [item for n, item in enumerate(wanted) if n not in bad]
            continue
        return {line.sku.upper(): line.unit_price for line in quote.lines}
    return {}


@use_case(readonly=True)
def catalog_slice(
    uow: UnitOfWork,
    *,
    principal: Principal | None,
    register: str,
    limit: int = 200,
    cursor: str | None = None,
) -> CatalogSlice:
    """One page of the register's catalog slice (see the module's docstring).

    Raises:
        NotFound: no such register (or another channel's).
        ValidationFailed: a limit out of range or a malformed cursor.
    """
    loaded = load_register(uow, code=register, principal=principal)
    page: Page[catalog.Item] = catalog.list_items(
        uow, division=loaded.channel.division, status="active", limit=limit, cursor=cursor
    )
    items = [i for i in page.items if not i.personalization_template]
    prices = _prices(uow, loaded, items) if items else {}
    location = inventory.get_location(uow, code=loaded.store.location)
    stocked = [i for i in items if i.keeps_stock]
    levels = inventory.stock_positions(uow, pairs=[(i.id, location.id) for i in stocked])
    taxes = _rates(uow, loaded)
    ship_to = pricing_rules.ShipTo(
        ref="main",
        country=loaded.store.country.upper(),
        method=loaded.store.method,
        region=loaded.store.region.upper(),
        postal_code=loaded.store.postal_code.upper(),
    )
    found = []
    for item in items:
        price = prices.get(item.sku.upper())
        if price is None:
            continue
        level = levels.get((item.id, location.id))
        rate = taxes.rate(ship_to, item.tax_class)
        found.append(
            SliceItem(
                sku=item.sku,
                name=item.name,
                kind=item.kind,
                barcodes=list(item.barcodes),
                price=price,
                tax_rate=_exact(rate.rate) if rate is not None else Decimal(0),
                free=(max(level.on_hand - level.reserved, 0) if level else 0) if item.keeps_stock else None,
            )
        )
    return CatalogSlice(
        register=register,
        store=loaded.store.location,
        currency=loaded.channel.currency,
        items=found,
        next_cursor=page.next_cursor,
    )


@use_case(readonly=True)
def lookup(uow: UnitOfWork, *, principal: Principal | None, register: str, code: str) -> SliceItem | None:
    """The slice item a scanned code (a GTIN barcode or a SKU, any case) names at this register; None when none."""
    loaded = load_register(uow, code=register, principal=principal)
    sku = catalog.sku_for_barcode(uow, code=code)
    if sku is None:
        return None
    item = catalog.get_item(uow, sku=sku)
    if (
        item.status != "active"
        or item.personalization_template
        or loaded.channel.division not in item.divisions
    ):
        return None
    price = _prices(uow, loaded, [item]).get(item.sku.upper())
    if price is None:
        return None
    location = inventory.get_location(uow, code=loaded.store.location)
    level = inventory.stock_positions(uow, pairs=[(item.id, location.id)]).get((item.id, location.id))
    rate = _rates(uow, loaded).rate(
        pricing_rules.ShipTo(
            ref="main",
            country=loaded.store.country.upper(),
            method=loaded.store.method,
            region=loaded.store.region.upper(),
            postal_code=loaded.store.postal_code.upper(),
        ),
        item.tax_class,
    )
    return SliceItem(
        sku=item.sku,
        name=item.name,
        kind=item.kind,
        barcodes=list(item.barcodes),
        price=price,
        tax_rate=_exact(rate.rate) if rate is not None else Decimal(0),
        free=(max(level.on_hand - level.reserved, 0) if level else 0) if item.keeps_stock else None,
    )


@dataclass(frozen=True)
class Stocked:
    location: str
    available: int


@dataclass(frozen=True)
class Elsewhere:
    """Endless aisle: an item's available units at this store and at every other location that holds some."""

    sku: str
    here: int
    elsewhere: list[Stocked]


@use_case(readonly=True)
def elsewhere(uow: UnitOfWork, *, principal: Principal | None, register: str, sku: str) -> Elsewhere:
    """What this register's store and every other location hold of `sku`, available to sell (for delivery).

    Raises:
        NotFound: no such register (or another channel's), or no such item.
    """
    loaded = load_register(uow, code=register, principal=principal)
    found = inventory.get_availability(uow, sku=sku)
    here = next((loc.available for loc in found.locations if loc.location == loaded.store.location), 0)
    others = [
        Stocked(loc.location, loc.available)
        for loc in found.locations
        if loc.location != loaded.store.location and loc.available > 0
    ]
    return Elsewhere(sku=found.sku, here=here, elsewhere=others)

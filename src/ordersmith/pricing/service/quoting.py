"""Quoting a cart (the pure pipeline fed from the database and the catalog) and redeeming coupons atomically."""

from __future__ import annotations

import dataclasses
import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa

from ordersmith.catalog import personalization
from ordersmith.catalog import rules as catalog_rules
from ordersmith.catalog import service as catalog
from ordersmith.customers import service as customers
from ordersmith.kernel.errors import Conflict, FieldError, NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.platform import config_cache, plugins
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.numbers import current_number
from ordersmith.pricing import rules
from ordersmith.pricing.service.setup import RULES_SERIES
from ordersmith.pricing.tables import (
    CouponRedemptionRow,
    CouponRow,
    PriceListPriceRow,
    PriceListRow,
    PromotionRow,
    ShippingMethodRow,
    TaxRateRow,
)

# The rule set's version is learned with a request's API key check (no read of its own on intake).
config_cache.watch(RULES_SERIES)


@dataclass(frozen=True)
class LineOffer:
    """The offer of a line that came from another source code than its order's (checked by the caller against
    marketing's master list). Pricing knows no source codes: `key` only tells lines of one offer from another's."""

    key: str
    price_list: str | None = None
    promotions: Sequence[str] = ()


@dataclass(frozen=True)
class QuoteLine:
    sku: str
    quantity: int
    ship_to: str = "main"
    personalization: dict[str, str] = field(default_factory=dict)
    offer: LineOffer | None = None  # None: the line is priced with the order's offer (`offer_price_list`, …)


@dataclass(frozen=True)
class QuoteRequest:
    currency: str
    channel: str
    division: str
    lines: Sequence[QuoteLine]
    ship_tos: Sequence[rules.ShipTo]
    customer: str | None = None  # id or number: its group, tax exemption and first order
    customer_group: str = "retail"  # for an anonymous cart
    coupons: Sequence[str] = ()
    # Already read by the caller (order capture): then the quote does not read them again.
    buyer: customers.BuyerFacts | None = None
    items: dict[str, catalog.SellingFacts] | None = None  # by upper-cased SKU
    redeemed: Sequence[str] = ()  # coupons this order already counted (re-pricing an order): never "used up"
    # The offer of the order's source code (checked against marketing's master list by the caller): its price list
    # prices first, and its promotions apply even where they otherwise need a coupon.
    offer_price_list: str | None = None
    offer_promotions: Sequence[str] = ()


def _money(minor: int | None, currency: str) -> Money | None:
    return None if minor is None else Money.from_minor(minor, currency)


OVERSIZE_MM = 1500  # any side longer than this ships as oversize


@dataclass(frozen=True)
class _CachedList:
    """A price list with every price it holds, keyed by item id (loaded with the rule set)."""

    meta: rules.PriceList  # without prices
    prices: dict[uuid.UUID, tuple[rules.PriceBreak, ...]]


def _load_price_lists(uow: UnitOfWork, currency: str) -> list[_CachedList]:
    lists = list(
        uow.session.scalars(
            sa.select(PriceListRow).where(PriceListRow.currency == currency, PriceListRow.active.is_(True))
        )
    )
    by_list: dict[uuid.UUID, dict[uuid.UUID, list[rules.PriceBreak]]] = {}
    for list_id, item_id, min_quantity, minor in uow.session.execute(
        sa.select(PriceListPriceRow.price_list_id, PriceListPriceRow.item_id, PriceListPriceRow.min_quantity,
                  PriceListPriceRow.unit_price_minor)
        .where(PriceListPriceRow.price_list_id.in_([pl.id for pl in lists]))
    ):  # fmt: skip
        by_list.setdefault(list_id, {}).setdefault(item_id, []).append(
            rules.PriceBreak(min_quantity, Money.from_minor(minor, currency))
        )
    return [
        _CachedList(
            meta=rules.PriceList(
                code=pl.code,
                currency=pl.currency,
                priority=pl.priority,
                prices={},
                customer_groups=frozenset(pl.customer_groups),
                channels=frozenset(pl.channels),
                starts_at=pl.starts_at,
                ends_at=pl.ends_at,
                offer_only=pl.offer_only,
            ),
            prices={item_id: tuple(b) for item_id, b in by_list.get(pl.id, {}).items()},
        )
        for pl in lists
    ]


def _price_lists(cached: list[_CachedList], skus: dict[uuid.UUID, str]) -> list[rules.PriceList]:
    """The cached lists, each with the prices of this cart's items only."""
    return [
        dataclasses.replace(
            c.meta, prices={sku: c.prices[item_id] for item_id, sku in skus.items() if item_id in c.prices}
        )
        for c in cached
    ]


def _promotion(row: PromotionRow, coupon: str | None) -> rules.Promotion:
    c = row.currency
    return rules.Promotion(
        code=row.code,
        kind=row.kind,
        priority=row.priority,
        percent=Decimal(row.percent),
        amount=_money(row.amount_minor, c),
        threshold=_money(row.threshold_minor, c),
        buy=row.buy,
        get=row.get,
        tiers=tuple((Money.from_minor(int(t[0]), c), Decimal(str(t[1]))) for t in row.tiers),
        gift_sku=row.gift_sku,
        exclusive=row.exclusive,
        stackable=row.stackable,
        coupon=coupon,
        skus=frozenset(row.targets.get("skus", [])),
        styles=frozenset(row.targets.get("styles", [])),
        customer_groups=frozenset(row.conditions.get("customer_groups", [])),
        channels=frozenset(row.conditions.get("channels", [])),
        divisions=frozenset(row.conditions.get("divisions", [])),
        first_order_only=bool(row.conditions.get("first_order_only")),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
    )


@dataclass(frozen=True)
class PluginTaxes:
    """The plugins' tax providers first (docs/guides/plugins.md), in load order, then the built-in table. A
    provider answering None leaves the ship-to to the next; one that raises or answers something other than a
    TaxRate is skipped for that call (logged and counted), so the table's rate applies."""

    providers: tuple[plugins.Contribution, ...]
    table: rules.TableTaxProvider

    def rate(self, ship_to: rules.ShipTo, tax_class: str) -> rules.TaxRate | None:
        for provider in self.providers:
            answer = plugins.guarded(
                provider, functools.partial(_provider_rate, provider, ship_to, tax_class), what="tax"
            )
            if answer is not None:
                return answer
        return self.table.rate(ship_to, tax_class)


def _provider_rate(
    provider: plugins.Contribution, ship_to: rules.ShipTo, tax_class: str
) -> rules.TaxRate | None:
    return _checked_rate(provider.value.rate(ship_to, tax_class))


def _checked_rate(answer: object) -> rules.TaxRate | None:
    if answer is None:
        return None
    if not isinstance(answer, rules.TaxRate) or not isinstance(answer.rate, Decimal):
        raise TypeError(f"a tax provider returns TaxRate (rate a Decimal) or None, not {answer!r}"[:200])
    if not (Decimal(0) <= answer.rate < Decimal(1)):
        raise ValueError(f"tax rate {answer.rate} is not between 0 and 1")
    return answer


def _taxes(rates: tuple[rules.TaxRate, ...], providers: tuple[plugins.Contribution, ...]) -> PluginTaxes:
    return PluginTaxes(providers, rules.TableTaxProvider(rates))


@dataclass(frozen=True)
class _RuleSet:
    """The price lists, promotions, shipping methods and tax rates of one currency, as of one version of the
    rules (every change to them bumps the version)."""

    version: int
    automatic: list[rules.Promotion]
    by_id: dict[uuid.UUID, rules.Promotion]  # every promotion, for the coupons that unlock them
    methods: list[rules.ShippingMethod]
    rates: tuple[rules.TaxRate, ...]
    price_lists: list[_CachedList]


_RULE_SETS: dict[
    tuple[str, str], _RuleSet
] = {}  # (database, currency): replaced whole, so readers need no lock


def _rule_set(uow: UnitOfWork, currency: str) -> _RuleSet:
    """The cached rules, reloaded when any process changed them (the version counter moved). The counter is read
    first: rules loaded after it can only be newer, so a stale set is never kept under a newer version."""
    # Learned with the request's API key check when it had one (config_cache.watch), else read here.
    version = uow.versions.get(RULES_SERIES)
    if version is None:
        version = current_number(uow, RULES_SERIES)
    rule_sets: dict[str, _RuleSet] = uow.db.caches.setdefault(
        "pricing.rule_sets", {}
    )  # replaced whole: no lock
    cached = rule_sets.get(currency)
    if cached is not None and cached.version == version:
        return cached
    rows = list(
        uow.session.scalars(
            sa.select(PromotionRow).where(PromotionRow.currency == currency, PromotionRow.active.is_(True))
        )
    )
    methods = [
        rules.ShippingMethod(
            code=m.code,
            kind=m.kind,
            flat=_money(m.flat_minor, m.currency),
            weight_bands=tuple((int(g), Money.from_minor(int(c), m.currency)) for g, c in m.weight_bands),
            value_bands=tuple(
                (Money.from_minor(int(v), m.currency), Money.from_minor(int(c), m.currency))
                for v, c in m.value_bands
            ),
            free_over=_money(m.free_over_minor, m.currency),
            oversize_surcharge=_money(m.oversize_surcharge_minor, m.currency),
        )
        for m in uow.session.scalars(
            sa.select(ShippingMethodRow).where(
                ShippingMethodRow.currency == currency, ShippingMethodRow.active.is_(True)
            )
        )
    ]
    rates = tuple(
        rules.TaxRate(
            country=r.country,
            rate=Decimal(r.rate),
            region=r.region,
            postal_prefix=r.postal_prefix,
            tax_class=r.tax_class,
            on_shipping=r.on_shipping,
            name=r.name,
        )
        for r in uow.session.scalars(sa.select(TaxRateRow))
    )
    fresh = _RuleSet(
        version=version,
        automatic=[_promotion(p, None) for p in rows if not p.coupon_required],
        by_id={p.id: _promotion(p, None) for p in rows},
        methods=methods,
        rates=rates,
        price_lists=_load_price_lists(uow, currency),
    )
    rule_sets[currency] = fresh
    return fresh


def _promotions(
    uow: UnitOfWork,
    rule_set: _RuleSet,
    codes: Sequence[str],
    customer_id: uuid.UUID | None,
    redeemed: Sequence[str] = (),
) -> tuple[list[rules.Promotion], frozenset[str]]:
    """Automatic promotions, and those the entered coupon codes unlock; plus the coupons already used up (coupons
    and their counts are always read fresh: they change with every order)."""
    wanted = sorted({code.upper() for code in codes})
    coupons = (
        list(
            uow.session.scalars(
                sa.select(CouponRow).where(CouponRow.code.in_(wanted), CouponRow.active.is_(True))
            )
        )
        if wanted
        else []
    )
    exhausted: set[str] = set()
    unlocked: list[rules.Promotion] = []
    for coupon in coupons:
        promotion = rule_set.by_id.get(coupon.promotion_id)
        if promotion is None:
            continue
        used_up = coupon.max_uses is not None and coupon.uses >= coupon.max_uses
        mine_used_up = (
            coupon.per_customer_limit is not None
            and customer_id is not None
            and _used_by(uow, coupon.code, customer_id) >= coupon.per_customer_limit
        )
        if (used_up or mine_used_up) and coupon.code not in redeemed:
            exhausted.add(coupon.code)
        unlocked.append(dataclasses.replace(promotion, coupon=coupon.code))
    return rule_set.automatic + unlocked, frozenset(exhausted)


def _offered(
    rule_set: _RuleSet, request: QuoteRequest, already: Sequence[rules.Promotion]
) -> list[rules.Promotion]:
    """The promotions the source codes' offers name, as automatic ones (no coupon needed), unless already in. When
    a line has an offer of its own, each reaches only the lines under the offers naming it (the order's own offer
    is ""); otherwise, as before line offers existed, every line."""
    reach: dict[str, set[str]] = {}
    for code in request.offer_promotions:
        reach.setdefault(code.upper(), set()).add("")
    for line in request.lines:
        if line.offer is not None:
            for code in line.offer.promotions:
                reach.setdefault(code.upper(), set()).add(line.offer.key)
    scoped = any(line.offer is not None for line in request.lines)
    wanted = set(reach) - {p.code for p in already if p.coupon is None}
    return sorted(
        (
            dataclasses.replace(p, offers=frozenset(reach[p.code])) if scoped else p
            for p in rule_set.by_id.values()
            if p.code in wanted
        ),
        key=lambda p: p.code,
    )


def _used_by(uow: UnitOfWork, code: str, customer_id: uuid.UUID) -> int:
    return int(
        uow.session.scalar(
            sa.select(sa.func.count())
            .select_from(CouponRedemptionRow)
            .where(CouponRedemptionRow.coupon_code == code, CouponRedemptionRow.customer_id == customer_id)
        )
        or 0
    )


@use_case(readonly=True)
def quote(uow: UnitOfWork, *, request: QuoteRequest) -> rules.Quote:
    """Price a cart through the one pipeline every channel uses. Prices come from our price lists, never from the
    caller; personalization values are checked against each item's template.

    Raises:
        NotFound: an unknown SKU or customer.
        ValidationFailed: no lines, a quantity below 1, an item that is not for sale, bad personalization, an
            unknown ship-to or shipping method, a SKU no price list prices (each naming `lines.N…`).
    """
    if not request.lines:
        raise ValidationFailed.on("lines", "a cart needs at least one line")
    group, exempt, first_order, customer_id = request.customer_group, False, True, None
    buyer = request.buyer
    if buyer is None and request.customer is not None:
        buyer = customers.buyer_facts(uow, ref=request.customer)
    if buyer is not None:
        group, customer_id, exempt = buyer.customer_group, buyer.id, buyer.tax_exempt
        first_order = buyer.status == "prospect"
    cart: list[rules.CartLine] = []
    facts = request.items or catalog.selling_facts(uow, skus=[line.sku for line in request.lines])
    items = [facts[catalog_rules.sku_key(line.sku)] for line in request.lines]
    templates: dict[str, catalog_rules.Template] = {}
    for n, (wanted, item) in enumerate(zip(request.lines, items, strict=True)):
        if wanted.quantity < 1:
            raise ValidationFailed.on(f"lines.{n}.quantity", "must be at least 1")
        if item.status != "active":
            raise ValidationFailed.on(f"lines.{n}.sku", f"{item.sku} is {item.status}")
        surcharge = None
        if item.personalization_template:
            code = item.personalization_template
            template = templates.setdefault(code, personalization.get_template(uow, code=code))
            try:
                surcharge = catalog_rules.personalize(template, wanted.personalization).surcharge
            except ValidationFailed as exc:
                fields = [
                    FieldError(f"lines.{n}.personalization.{e.field.removeprefix('values.')}", e.message)
                    for e in exc.errors
                ]
                raise ValidationFailed(exc.detail, errors=fields) from None
            if surcharge.currency != request.currency:
                raise ValidationFailed.on(f"lines.{n}.personalization", f"priced in {surcharge.currency}")
        elif wanted.personalization:
            raise ValidationFailed.on(f"lines.{n}.personalization", f"{item.sku} is not personalized")
        cart.append(
            rules.CartLine(
                ref=str(n),
                sku=item.sku,
                quantity=wanted.quantity,
                ship_to=wanted.ship_to,
                tax_class=item.tax_class,
                style=item.style.upper() if item.style else None,
                weight_g=item.weight_g,
                oversize=item.largest_dimension_mm > OVERSIZE_MM,
                surcharge=surcharge,
                offer=wanted.offer.key if wanted.offer else None,
                offer_price_list=wanted.offer.price_list.upper()
                if wanted.offer and wanted.offer.price_list
                else None,
            )
        )
    rule_set = _rule_set(uow, request.currency)
    promotions, exhausted = _promotions(uow, rule_set, request.coupons, customer_id, request.redeemed)
    promotions += _offered(rule_set, request, promotions)
    context = rules.Context(
        currency=request.currency,
        channel=request.channel,
        division=request.division,
        customer_group=group,
        at=uow.now(),
        tax_exempt=exempt,
        first_order=first_order,
        coupons=tuple(request.coupons),
        exhausted_coupons=exhausted,
        offer_price_list=request.offer_price_list.upper() if request.offer_price_list else None,
    )
    ship_tos = [
        rules.ShipTo(
            ref=s.ref,
            country=s.country.upper(),
            method=s.method.lower(),
            region=s.region.upper(),
            postal_code=s.postal_code.upper(),
        )
        for s in request.ship_tos
    ]
    try:
        return rules.price_cart(
            context,
            cart,
            ship_tos,
            _price_lists(rule_set.price_lists, {i.id: i.sku.upper() for i in items}),
            promotions,
            rule_set.methods,
            _taxes(rule_set.rates, found)
            if (found := plugins.contributions("tax_provider"))
            else rule_set.rates,
        )
    except rules.Unpriced as exc:
        n = next(i for i, line in enumerate(cart) if line.sku == exc.sku)
        raise ValidationFailed.on(f"lines.{n}.sku", f"{exc.sku} has no price in {request.currency}") from None
    except ValueError as exc:
        raise ValidationFailed.on("ship_tos", str(exc)) from None


@dataclass(frozen=True)
class Redemption:
    code: str
    key: str
    uses: int
    max_uses: int | None


@use_case
def redeem_coupon(uow: UnitOfWork, *, code: str, key: str, customer: str | None = None) -> Redemption:
    """Count one use of a coupon — at most its limits allow, however many redeem at once. Idempotent by `key` (the
    order's key): a repeat returns the first redemption.

    Raises:
        NotFound: no such coupon.
        Conflict: `coupon_exhausted` — the global or the customer's limit is reached (409); nothing is counted.
    """
    code = code.upper()
    coupon = uow.session.get(CouponRow, code)
    if coupon is None or not coupon.active:
        raise NotFound(f"no coupon {code!r}")
    existing = uow.session.scalar(sa.select(CouponRedemptionRow).where(CouponRedemptionRow.key == key))
    if existing is not None:
        if existing.coupon_code != code:
            raise Conflict(f"redemption key {key!r} was used for coupon {existing.coupon_code}")
        uow.session.refresh(coupon)
        return Redemption(code, key, coupon.uses, coupon.max_uses)
    customer_id = customers.buyer_facts(uow, ref=customer).id if customer else None
    table = CouponRow.__table__
    # One conditional UPDATE counts the use and checks the global limit; its row lock makes the per-customer count
    # below see every earlier redemption of this coupon.
    counted = uow.execute_core(
        sa.update(table)  # type: ignore[arg-type]
        .where(table.c.code == code, sa.or_(table.c.max_uses.is_(None), table.c.uses < table.c.max_uses))
        .values(uses=table.c.uses + 1)
        .returning(table.c.uses)
    ).first()
    if counted is None:
        raise CouponExhausted(f"coupon {code} has been used up", coupon=code)
    limit = coupon.per_customer_limit
    if limit is not None and customer_id is not None and _used_by(uow, code, customer_id) >= limit:
        raise CouponExhausted(f"coupon {code} was already used {limit} time(s) by this customer", coupon=code)
    uow.insert_unique(
        CouponRedemptionRow,
        CouponRedemptionRow(id=new_id(), key=key, coupon_code=code, customer_id=customer_id, at=uow.now()),
        f"redemption key {key!r} exists",
    )
    uow.audit("coupon.redeemed", object_type="coupon", object_id=code, after={"key": key, "uses": counted[0]})
    return Redemption(code, key, int(counted[0]), coupon.max_uses)


class CouponExhausted(Conflict):
    code = "coupon_exhausted"
    title = "Coupon used up"

"""The pricing pipeline, pure: the same cart, context and rules always give the same priced cart, whatever the
channel, unless a rule names the channel.

Steps: (1) base price per line from the highest-priority applicable price list (quantity breaks, dates, groups,
channels); (2) personalization surcharges; (3) promotions and coupons, with exclusivity and stacking by priority;
(4) shipping per ship-to; (5) tax per ship-to; (6) totals. Every amount the customer pays is an `Adjustment` with
its source, so an agent can explain it.

Invariants: total = merchandise + surcharges - discounts + shipping + tax; no line and no total is negative;
an order-level discount is split over lines by largest remainder and adds back to the whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol, runtime_checkable

from ordersmith.kernel.money import Money, currency_exponent

PROMOTION_KINDS = ("percent_off_items", "amount_off_items", "order_amount_off", "buy_x_get_y", "tiered_percent",
                   "free_shipping", "gift_with_purchase")  # fmt: skip
SHIPPING_KINDS = ("flat", "weight_bands", "value_bands")


class Unpriced(ValueError):
    """A line no applicable price list prices."""

    def __init__(self, sku: str) -> None:
        super().__init__(f"no price for {sku}")
        self.sku = sku


# --- inputs -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    currency: str
    channel: str
    division: str
    customer_group: str
    at: datetime
    tax_exempt: bool = False
    first_order: bool = False
    coupons: tuple[str, ...] = ()
    exhausted_coupons: frozenset[str] = frozenset()  # coupons past a usage limit (counted by the service)
    offer_price_list: str | None = None  # the order's source code offers this list: it prices first


@dataclass(frozen=True)
class CartLine:
    ref: str
    sku: str
    quantity: int
    ship_to: str
    tax_class: str = "standard"
    style: str | None = None
    category: str | None = None
    weight_g: int = 0
    oversize: bool = False
    surcharge: Money | None = None  # personalization, per unit
    # A line from another offer than the cart's (another source code): `offer` keys that offer (lines with the same
    # key share it), `offer_price_list` is the list it offers. None: the line is under the cart's own offer.
    offer: str | None = None
    offer_price_list: str | None = None

    def offered_list(self, context: Context) -> str | None:
        """The price list this line's offer names: its own offer's when it has one, else the cart's."""
        return self.offer_price_list if self.offer is not None else context.offer_price_list


@dataclass(frozen=True)
class ShipTo:
    ref: str
    country: str
    method: str
    region: str = ""
    postal_code: str = ""


@dataclass(frozen=True)
class PriceBreak:
    min_quantity: int
    unit_price: Money


@dataclass(frozen=True)
class PriceList:
    code: str
    currency: str
    priority: int  # higher wins
    prices: dict[str, tuple[PriceBreak, ...]]  # by upper-case SKU
    customer_groups: frozenset[str] = frozenset()  # empty: every group
    channels: frozenset[str] = frozenset()  # empty: every channel
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    offer_only: bool = False  # prices only a cart whose source code offers it

    def applies(self, context: Context, offered: str | None) -> bool:
        """Whether the list may price a line of this cart; `offered` is the list the line's offer names."""
        return (self.currency == context.currency
                and (not self.offer_only or self.code == offered)
                and (not self.customer_groups or context.customer_group in self.customer_groups)
                and (not self.channels or context.channel in self.channels)
                and in_range(context.at, self.starts_at, self.ends_at))  # fmt: skip


@dataclass(frozen=True)
class Promotion:
    code: str
    kind: str
    priority: int = 0  # higher applies first
    percent: Decimal = Decimal(0)  # percent_off_items
    amount: Money | None = None  # amount_off_items (per unit), order_amount_off
    threshold: Money | None = None  # order_amount_off, free_shipping, gift_with_purchase: minimum merchandise
    buy: int = 0  # buy_x_get_y
    get: int = 0
    tiers: tuple[tuple[Money, Decimal], ...] = ()  # tiered_percent: (spend at least, percent)
    gift_sku: str | None = None
    exclusive: bool = False  # applies alone
    stackable: bool = True  # several stackable promotions apply; of the others, only the first
    coupon: str | None = None  # code the customer must enter
    # Brought in by source codes' offers: it reaches only the lines under one of these offers ("" is the cart's
    # own, else a line's `offer` key), and its threshold counts their merchandise only. None: every line.
    offers: frozenset[str] | None = None
    skus: frozenset[str] = frozenset()  # targets (empty: every line)
    styles: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    customer_groups: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    divisions: frozenset[str] = frozenset()
    first_order_only: bool = False
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    def reaches(self, line: CartLine) -> bool:
        """Whether the line is under an offer that brought this promotion in (always, for any other promotion)."""
        return self.offers is None or (line.offer or "") in self.offers

    def targets(self, line: CartLine) -> bool:
        if not self.reaches(line):
            return False
        if not (self.skus or self.styles or self.categories):
            return True
        return (line.sku.upper() in self.skus or (line.style is not None and line.style in self.styles)
                or (line.category is not None and line.category in self.categories))  # fmt: skip


@dataclass(frozen=True)
class ShippingMethod:
    code: str
    kind: str  # flat | weight_bands | value_bands
    flat: Money | None = None
    weight_bands: tuple[tuple[int, Money], ...] = ()  # (up to grams, charge), ascending
    value_bands: tuple[tuple[Money, Money], ...] = ()  # (up to merchandise value, charge), ascending
    free_over: Money | None = None
    oversize_surcharge: Money | None = None  # per oversize unit


@dataclass(frozen=True)
class TaxRate:
    country: str
    rate: Decimal  # 0.0825 for 8.25 %
    region: str = ""  # "" = the whole country
    postal_prefix: str = ""
    tax_class: str = "*"  # "*" = every class
    on_shipping: bool = False
    name: str = ""

    def specificity(self) -> tuple[int, int, int]:
        return (len(self.postal_prefix), 1 if self.region else 0, 0 if self.tax_class == "*" else 1)


@runtime_checkable
class TaxProvider(Protocol):
    """Where tax rates come from: the built-in table (`TableTaxProvider`), or later an external service."""

    def rate(self, ship_to: ShipTo, tax_class: str) -> TaxRate | None:
        """The rate for goods of `tax_class` (or `shipping`) sent to `ship_to`; None when nothing is due."""
        ...


@dataclass(frozen=True)
class TableTaxProvider:
    """Rates from our own table: the most specific rate that fits wins (postal prefix, then region, then class)."""

    rates: tuple[TaxRate, ...]

    def rate(self, ship_to: ShipTo, tax_class: str) -> TaxRate | None:
        fitting = [r for r in self.rates if r.country == ship_to.country and r.region in ("", ship_to.region)
                   and ship_to.postal_code.replace(" ", "").startswith(r.postal_prefix)
                   and r.tax_class in ("*", tax_class)]  # fmt: skip
        return max(fitting, key=TaxRate.specificity, default=None)


# --- outputs ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Adjustment:
    kind: str  # price | surcharge | discount | shipping | tax | gift
    source: str  # price list, promotion, coupon, shipping method or tax rate
    amount: Money
    line: str | None = None
    ship_to: str | None = None
    note: str = ""


@dataclass
class PricedLine:
    ref: str
    sku: str
    quantity: int
    unit_price: Money
    price_list: str
    merchandise: Money
    surcharge: Money
    discount: Money
    tax: Money

    @property
    def net(self) -> Money:
        return self.merchandise + self.surcharge - self.discount

    @property
    def total(self) -> Money:
        return self.net + self.tax


@dataclass
class Quote:
    currency: str
    lines: list[PricedLine]
    shipping: dict[str, Money]
    shipping_tax: dict[str, Money]
    merchandise: Money
    surcharges: Money
    discounts: Money
    shipping_total: Money
    tax: Money
    total: Money
    adjustments: list[Adjustment] = field(default_factory=list)
    applied_promotions: list[str] = field(default_factory=list)
    rejected_coupons: dict[str, str] = field(
        default_factory=dict
    )  # code -> coupon_unknown | coupon_expired | …
    gifts: list[str] = field(default_factory=list)


# --- the pipeline -----------------------------------------------------------------------------------------------


def in_range(at: datetime, starts: datetime | None, ends: datetime | None) -> bool:
    return (starts is None or at >= starts) and (ends is None or at < ends)


def _round(amount: Decimal, currency: str) -> Money:
    quantum = Decimal(1).scaleb(-currency_exponent(currency))
    return Money(amount.quantize(quantum, rounding=ROUND_HALF_UP), currency)


def base_price(line: CartLine, lists: Sequence[PriceList], context: Context) -> tuple[Money, str]:
    """The unit price from the list the line's offer names (its own source code's, else the cart's), else the
    highest-priority applicable list that prices the SKU (then the list code), at the largest quantity break the
    line reaches."""
    offered = line.offered_list(context)
    candidates = sorted((pl for pl in lists if pl.applies(context, offered) and line.sku.upper() in pl.prices),
                        key=lambda pl: (pl.code != offered, -pl.priority, pl.code))  # fmt: skip
    for price_list in candidates:
        reached = [b for b in price_list.prices[line.sku.upper()] if b.min_quantity <= line.quantity]
        if reached:
            best = max(reached, key=lambda b: b.min_quantity)
            return best.unit_price, price_list.code
    raise Unpriced(line.sku)


def _eligible(promotion: Promotion, context: Context, merchandise: Money) -> str | None:
    """None when the promotion applies to this cart, else the reason it does not."""
    if not in_range(context.at, promotion.starts_at, promotion.ends_at):
        return "coupon_expired" if promotion.coupon else "not_running"
    if promotion.coupon is not None and promotion.coupon in context.exhausted_coupons:
        return "coupon_exhausted"
    if promotion.customer_groups and context.customer_group not in promotion.customer_groups:
        return "coupon_not_applicable"
    if promotion.channels and context.channel not in promotion.channels:
        return "coupon_not_applicable"
    if promotion.divisions and context.division not in promotion.divisions:
        return "coupon_not_applicable"
    if promotion.first_order_only and not context.first_order:
        return "coupon_not_applicable"
    if promotion.threshold is not None and merchandise < promotion.threshold:
        return "coupon_below_threshold"
    return None


def _take(lines: list[PricedLine], line: PricedLine, amount: Money) -> Money:
    """Discount `line` by at most what is left of it (a line never goes below zero)."""
    room = line.merchandise + line.surcharge - line.discount
    taken = amount if amount <= room else room
    line.discount = line.discount + taken
    return taken


def _apply(promotion: Promotion, lines: list[PricedLine], cart: dict[str, CartLine], currency: str,
           quote: Quote) -> bool:  # fmt: skip
    """Apply one promotion; True when it changed something."""
    targeted = [line for line in lines if promotion.targets(cart[line.ref])]
    zero = Money.zero(currency)
    given: list[tuple[PricedLine, Money]] = []
    if promotion.kind == "percent_off_items":
        for line in targeted:
            given.append((line, _round(line.net.amount * promotion.percent / 100, currency)))
    elif promotion.kind == "amount_off_items" and promotion.amount is not None:
        for line in targeted:
            given.append((line, promotion.amount * line.quantity))
    elif promotion.kind in ("order_amount_off", "tiered_percent"):
        base = sum((line.net for line in targeted), zero)
        if promotion.kind == "order_amount_off" and promotion.amount is not None:
            off = promotion.amount if promotion.amount <= base else base
        else:
            reached = [pct for spend, pct in promotion.tiers if base >= spend]
            off = _round(base.amount * max(reached) / 100, currency) if reached else zero
        if off.is_zero() or not targeted:
            return False
        given += zip(targeted, off.split([line.net.minor for line in targeted]), strict=True)
    elif promotion.kind == "buy_x_get_y" and promotion.buy > 0 and promotion.get > 0:
        units = sorted(((line.unit_price, line) for line in targeted for _ in range(line.quantity)),
                       key=lambda u: (u[0].amount, u[1].ref))  # fmt: skip
        free = (len(units) // (promotion.buy + promotion.get)) * promotion.get
        per_line: dict[str, Money] = {}
        for price, line in units[:free]:  # the cheapest units are the free ones
            per_line[line.ref] = per_line.get(line.ref, zero) + price
        given += [(line, per_line[line.ref]) for line in targeted if line.ref in per_line]
    elif promotion.kind == "free_shipping":
        quote.applied_promotions.append(promotion.code)
        return True
    elif promotion.kind == "gift_with_purchase" and promotion.gift_sku:
        quote.gifts.append(promotion.gift_sku)
        quote.adjustments.append(Adjustment("gift", promotion.code, zero, note=f"free {promotion.gift_sku}"))
        quote.applied_promotions.append(promotion.code)
        return True
    changed = False
    for line, amount in given:
        taken = _take(lines, line, amount)
        if not taken.is_zero():
            changed = True
            quote.adjustments.append(Adjustment("discount", promotion.code, -taken, line=line.ref))
    if changed:
        quote.applied_promotions.append(promotion.code)
    return changed


def _shipping(method: ShippingMethod, lines: list[PricedLine], cart: dict[str, CartLine], currency: str,
              free: bool) -> tuple[Money, str]:  # fmt: skip
    zero = Money.zero(currency)
    value = sum((line.net for line in lines), zero)
    weight = sum(cart[line.ref].weight_g * line.quantity for line in lines)
    if method.kind == "flat":
        charge = method.flat or zero
    elif method.kind == "weight_bands":
        charge = next((c for upto, c in method.weight_bands if weight <= upto), method.weight_bands[-1][1])
    else:
        charge = next((c for upto, c in method.value_bands if value <= upto), method.value_bands[-1][1])
    note = f"{method.code}"
    if free or (method.free_over is not None and value >= method.free_over):
        charge, note = zero, f"{method.code} (free)"
    oversize = sum(line.quantity for line in lines if cart[line.ref].oversize)
    if oversize and method.oversize_surcharge is not None:
        charge = charge + method.oversize_surcharge * oversize
        note += f" + {oversize} oversize"
    return charge, note


def price_cart(
    context: Context, lines: Sequence[CartLine], ship_tos: Sequence[ShipTo], price_lists: Sequence[PriceList],
    promotions: Sequence[Promotion], methods: Sequence[ShippingMethod], tax_rates: Sequence[TaxRate] | TaxProvider,
) -> Quote:  # fmt: skip
    """Price a cart; `tax_rates` are the table's rates, or any TaxProvider.

    Raises Unpriced for a line no price list prices, ValueError for a line naming an unknown ship-to or a ship-to
    naming an unknown shipping method."""
    currency = context.currency
    zero = Money.zero(currency)
    taxes = tax_rates if isinstance(tax_rates, TaxProvider) else TableTaxProvider(tuple(tax_rates))
    by_ref = {s.ref: s for s in ship_tos}
    by_method = {m.code: m for m in methods}
    cart = {line.ref: line for line in lines}
    quote = Quote(currency=currency, lines=[], shipping={}, shipping_tax={}, merchandise=zero, surcharges=zero,
                  discounts=zero, shipping_total=zero, tax=zero, total=zero)  # fmt: skip
    # (1) and (2): base prices and surcharges
    for line in lines:
        if line.quantity < 1:
            raise ValueError(f"line {line.ref} needs a quantity of at least 1")
        if line.ship_to not in by_ref:
            raise ValueError(f"line {line.ref} ships to unknown {line.ship_to!r}")
        unit, source = base_price(line, price_lists, context)
        surcharge = (line.surcharge or zero) * line.quantity
        priced = PricedLine(ref=line.ref, sku=line.sku, quantity=line.quantity, unit_price=unit, price_list=source,
                            merchandise=unit * line.quantity, surcharge=surcharge, discount=zero, tax=zero)  # fmt: skip
        quote.lines.append(priced)
        quote.adjustments.append(Adjustment("price", source, priced.merchandise, line=line.ref,
                                            note=f"{line.quantity} x {unit}"))  # fmt: skip
        if not surcharge.is_zero():
            quote.adjustments.append(Adjustment("surcharge", "personalization", surcharge, line=line.ref))
    merchandise = sum((line.merchandise for line in quote.lines), zero)
    # (3) promotions: coupon promotions only with their code; exclusivity and stacking by priority
    entered = {code.upper() for code in context.coupons}
    offered = [p for p in promotions if p.coupon is None or p.coupon.upper() in entered]
    for code in sorted(entered - {p.coupon.upper() for p in promotions if p.coupon}):
        quote.rejected_coupons[code] = "coupon_unknown"
    runnable: list[Promotion] = []
    for promotion in sorted(offered, key=lambda p: (-p.priority, p.code)):
        reached = (
            merchandise
            if promotion.offers is None
            else sum((line.merchandise for line in quote.lines if promotion.reaches(cart[line.ref])), zero)
        )
        if promotion.offers is not None and not any(promotion.reaches(line) for line in lines):
            continue  # its offers have no line in this cart: not even an order-level effect (free shipping)
        reason = _eligible(promotion, context, reached)
        if reason is None:
            runnable.append(promotion)
        elif promotion.coupon is not None:
            quote.rejected_coupons[promotion.coupon.upper()] = reason
    free_shipping = False
    applied_exclusive = applied_non_stackable = False
    for promotion in runnable:
        if applied_exclusive or (promotion.exclusive and quote.applied_promotions):
            continue
        if not promotion.stackable and applied_non_stackable:
            continue
        if _apply(promotion, quote.lines, cart, currency, quote):
            free_shipping = free_shipping or promotion.kind == "free_shipping"
            applied_exclusive = promotion.exclusive
            applied_non_stackable = applied_non_stackable or not promotion.stackable
    for promotion in runnable:
        if promotion.coupon is not None and promotion.code not in quote.applied_promotions:
            quote.rejected_coupons.setdefault(promotion.coupon.upper(), "coupon_not_combinable")
    # (4) and (5): shipping and tax per ship-to
    for ship_to in ship_tos:
        group = [line for line in quote.lines if cart[line.ref].ship_to == ship_to.ref]
        if not group:
            continue
        if ship_to.method not in by_method:
            raise ValueError(f"ship-to {ship_to.ref} uses unknown shipping method {ship_to.method!r}")
        charge, note = _shipping(by_method[ship_to.method], group, cart, currency, free_shipping)
        quote.shipping[ship_to.ref] = charge
        quote.adjustments.append(
            Adjustment("shipping", ship_to.method, charge, ship_to=ship_to.ref, note=note)
        )
        shipping_tax = zero
        for priced in group:
            rate = None if context.tax_exempt else taxes.rate(ship_to, cart[priced.ref].tax_class)
            if rate is not None:
                priced.tax = _round(priced.net.amount * rate.rate, currency)
                quote.adjustments.append(Adjustment("tax", rate.name or f"{rate.country} {rate.rate}", priced.tax,
                                                    line=priced.ref))  # fmt: skip
        standard = None if context.tax_exempt else taxes.rate(ship_to, "shipping")
        if standard is not None and standard.on_shipping and not charge.is_zero():
            shipping_tax = _round(charge.amount * standard.rate, currency)
            quote.adjustments.append(Adjustment("tax", standard.name or f"{standard.country} {standard.rate}",
                                                shipping_tax, ship_to=ship_to.ref, note="on shipping"))  # fmt: skip
        quote.shipping_tax[ship_to.ref] = shipping_tax
    # (6) totals
    quote.merchandise = merchandise
    quote.surcharges = sum((line.surcharge for line in quote.lines), zero)
    quote.discounts = sum((line.discount for line in quote.lines), zero)
    quote.shipping_total = sum(quote.shipping.values(), zero)
    quote.tax = sum((line.tax for line in quote.lines), zero) + sum(quote.shipping_tax.values(), zero)
    quote.total = quote.merchandise + quote.surcharges - quote.discounts + quote.shipping_total + quote.tax
    return quote

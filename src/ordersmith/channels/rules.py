"""Pure channel rules: the shape a connector turns a channel's order into, which of its lines lack a SKU mapping,
when a failed sync is tried again, and what available-to-sell figure a channel is told.

Invariant: a channel order is one order whatever the number and order of its deliveries: an older version of it
(by the channel's own `updated_at`) never replaces a newer one, and one already imported is never imported again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TypeVar

from ordersmith.kernel.cards import contains_card_number

T = TypeVar("T")

CONNECTOR_KINDS = ("generic", "shopify", "woocommerce", "amazon", "ebay", "csv_sftp")
HOLD_UNMAPPED = "unmapped_sku"
MAX_ATTEMPTS = 5
BACKOFF_BASE_S = 30
BACKOFF_CAP_S = 3600


@dataclass(frozen=True)
class ChannelAddress:
    name: str
    line1: str
    city: str
    country: str
    line2: str = ""
    region: str = ""
    postal_code: str = ""
    phone: str = ""
    company: str = ""


@dataclass(frozen=True)
class ChannelLine:
    channel_sku: str
    quantity: int
    title: str = ""
    unit_price: Decimal | None = None  # as the channel charged it (for finance; our pricing prices the order)
    tax: Decimal = Decimal(0)  # as the channel reports it
    line_id: str = ""  # the channel's own id of the line (a cancellation of it is sent with it); "" when none


@dataclass(frozen=True)
class ReportedTax:
    title: str
    rate: Decimal
    amount: Decimal


@dataclass(frozen=True)
class ChannelOrder:
    """An order as a channel reported it, in the channel's own terms (its SKUs, its totals)."""

    external_id: str
    updated_at: datetime
    lines: Sequence[ChannelLine]
    ship_to: ChannelAddress
    currency: str
    placed_at: datetime | None = None
    email: str = ""
    billing: ChannelAddress | None = None
    shipping_code: str = ""
    number: str = ""  # the channel's human order number (Shopify's `name`, e.g. #1001)
    subtotal: Decimal | None = None
    shipping: Decimal | None = None
    total_tax: Decimal | None = None
    total: Decimal | None = None
    taxes: Sequence[ReportedTax] = field(default_factory=tuple)
    taxes_included: bool = False
    tax_collected_by: str = (
        ""  # who collected the tax from the buyer when not us ("marketplace": Amazon's model)
    )
    ship_by: datetime | None = None  # the channel's latest ship date (Amazon's LatestShipDate)
    marketplace_fees: Decimal | None = (
        None  # what the marketplace keeps from the payout (eBay's totalMarketplaceFee)
    )
    # The channel's free-form attributes of the order (name -> text), mapped to our order custom fields by the
    # connector's `custom_fields` setting (`custom_values`).
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ChannelChange:
    """A channel's word that one of its orders was cancelled, (part) refunded or sent elsewhere after it was
    placed.

    `key` is the channel's own name for the change, unique per order and kind: `cancel` for a cancellation (an
    order is cancelled once), the refund's id for a refund (an order may be refunded in parts), the new address's
    fingerprint and the version's time for a ship-to edit (`address_change_key`)."""

    external_id: str
    kind: str  # cancel | refund | address_changed
    key: str
    at: datetime
    reason: str = ""
    amount: Decimal | None = None  # a refund's amount, in `currency`
    currency: str = ""


# The reasons a channel's own cancellation and its edit that cancels units are recorded with (changes.py): an
# order cancelled for one of them is never cancelled back on the channel (order_changes_out.py).
CANCELLED_ON_CHANNEL = "cancelled on the channel: "
REDUCED_ON_CHANNEL = "reduced on the channel: "
CHANNEL_ORIGINS = (CANCELLED_ON_CHANNEL, REDUCED_ON_CHANNEL)
OUR_MARK = (
    "[ordersmith:"  # what our refunds carry on the channel (order_changes_out.py): never read back as theirs
)


def ours(text: object) -> bool:
    """Whether a refund's note or reason on the channel carries our mark: one we made, reported back."""
    return isinstance(text, str) and OUR_MARK in text


ADDRESS_CHANGED = "address_changed"
QUANTITY_REDUCED = "quantity_reduced"
CHANGE_KINDS = ("cancel", "refund", ADDRESS_CHANGED, QUANTITY_REDUCED)
SHIPPED_STATES = ("shipped", "partially_shipped", "completed")
PACKED_SHIPMENT_STATES = ("packed", "shipped", "delivered")  # a shipment's address is on its label from here
_ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country", "phone")


def ship_to_fields(address: ChannelAddress) -> dict[str, str]:
    """The fields of an order's ship-to that a channel's address sets (the company is not one of them)."""
    return {name: str(getattr(address, name)).strip() for name in _ADDRESS_FIELDS} | {
        "country": address.country.strip().upper()
    }


def address_fingerprint(fields_set: Mapping[str, str]) -> str:
    """A short, stable fingerprint of a ship-to's address fields (case and outer blanks ignored)."""
    canonical = "\x1f".join(str(fields_set.get(name, "")).strip().casefold() for name in _ADDRESS_FIELDS)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def address_change_key(address: ChannelAddress, at: datetime) -> str:
    """The key of a ship-to edit: the new address's fingerprint and the channel's time of the version that
    carries it, so the same version delivered again is one change and a return to an earlier address is another."""
    stamp = at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return f"{address_fingerprint(ship_to_fields(address))}@{stamp}"


def address_outcome(
    *,
    key: str,
    latest: Mapping[str, str] | None,
    current: Mapping[str, str] | None,
    order_status: str | None,
    inbox_status: str | None,
    packed: bool,
) -> str:
    """What a reported ship-to edit does now: `wait` (the order is not imported yet), `done` (nothing to change:
    the order is cancelled, or already ships to the channel's latest address — the import took it), `superseded`
    (a later version of the order names another address: that version's change applies it), `flag` (a shipment is
    packed or shipped: its label carries the old address), or `edit`. `latest`: the ship-to of the channel's latest
    version of the order; `current`: the order's ship-to now."""
    if order_status is None:
        return "done" if inbox_status == "cancelled" else "wait"
    if order_status == "cancelled":
        return "done"
    if latest is None or key.split("@", 1)[0] != address_fingerprint(latest):
        return "superseded"
    if current is not None and address_fingerprint(current) == address_fingerprint(latest):
        return "done"
    if packed or order_status in SHIPPED_STATES:
        return "flag"
    return "edit"


def change_outcome(*, kind: str, order_status: str | None, inbox_status: str | None) -> str:
    """What a reported change does now, from where the channel's order stands: `wait` (not imported yet: applied
    once it is), `drop_import` (a cancellation of an order not yet imported: it never becomes one), `cancel`,
    `refund`, `done` (nothing left to do: cancelled already, or a refund of an order the cancellation refunded),
    or `flag` (a cancellation of an order that has shipped: never cancelled behind the warehouse's back)."""
    assert kind in ("cancel", "refund")
    if order_status is None:
        if inbox_status in ("received", "held", "dead"):
            return "drop_import" if kind == "cancel" else "wait"
        if inbox_status == "cancelled":
            return "done"
        return "wait"
    if order_status == "cancelled":
        return "done"
    if kind == "cancel":
        return "flag" if order_status in SHIPPED_STATES else "cancel"
    return "refund"


def custom_values(attributes: Mapping[str, str], mapping: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """The order custom fields a channel order's attributes fill (field -> (the channel's attribute, its value)), by
    the connector's map of attribute -> field; a blank value fills nothing; two attributes mapped to one field:
    the first the map names that the order carries."""
    found: dict[str, tuple[str, str]] = {}
    for attribute, field_name in mapping.items():
        value = attributes.get(attribute)
        if value is not None and value.strip() and field_name not in found:
            found[field_name] = (attribute, value)
    return found


def newer(incoming: datetime, stored: datetime) -> bool:
    """Whether a delivery stamped `incoming` by the channel replaces the version stamped `stored`."""
    return incoming > stored


def unmapped(lines: Iterable[ChannelLine], mapping: Mapping[str, str]) -> list[str]:
    """The channel SKUs of `lines` with no item mapped, each once, in order of appearance."""
    missing: list[str] = []
    for line in lines:
        if line.channel_sku not in mapping and line.channel_sku not in missing:
            missing.append(line.channel_sku)
    return missing


def retry_delay_s(attempts: int, *, permanent: bool, max_attempts: int = MAX_ATTEMPTS) -> int | None:
    """Seconds until a sync that has failed `attempts` times is tried again; None: dead-letter it now (the
    failure is the payload's own — a retry would fail the same way — or the attempts are spent)."""
    if permanent or attempts >= max_attempts:
        return None
    return int(min(BACKOFF_BASE_S * 2 ** (attempts - 1), BACKOFF_CAP_S))


def payment_reference(connector: str, external_id: str) -> str:
    """The reference of a marketplace's payment: the connector and the channel's order id. An order id that could
    pass for a card number (Amazon's `111-2223334-5556667` is 17 digits; about one in ten passes the Luhn check) would
    be refused — a card number never enters an order — so such an id is written with its digit groups joined by
    `_` and no run longer than twelve digits, which no card-number scan joins up."""
    reference = f"{connector}:{external_id}"
    if not contains_card_number(reference):
        return reference
    joined = re.sub(r"(?<=\d)[ -](?=\d)", "_", external_id)

    def split(run: re.Match[str]) -> str:
        digits = run.group(0)
        return "_".join(digits[n : n + 12] for n in range(0, len(digits), 12))

    return f"{connector}:" + re.sub(r"\d{13,}", split, joined)


def poll_delay_s(failures: int, *, interval_s: int) -> int:
    """Seconds until a connector whose last `failures` polls failed is polled again: its interval, stretched by
    back-off while it fails (capped at an hour)."""
    if failures <= 0:
        return interval_s
    return int(min(max(interval_s, BACKOFF_BASE_S * 2 ** (failures - 1)), BACKOFF_CAP_S))


def available_to_sell(available: int, *, buffer: int) -> int:
    """What a channel is told it may sell: our available units less the channel's buffer, never below zero."""
    return max(0, available - buffer)


def batches(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """`items` in consecutive batches of at most `size`."""
    assert size > 0
    return [items[n : n + size] for n in range(0, len(items), size)]


def reported_totals(order: ChannelOrder) -> dict[str, object]:
    """The channel's own money figures, kept beside the imported order for finance (strings, as reported)."""

    def text(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {
        "currency": order.currency,
        "subtotal": text(order.subtotal),
        "shipping": text(order.shipping),
        "total_tax": text(order.total_tax),
        "total": text(order.total),
        "taxes_included": order.taxes_included,
        "tax_collected_by": order.tax_collected_by,
        "ship_by": None if order.ship_by is None else order.ship_by.isoformat(),
        "marketplace_fees": text(order.marketplace_fees),
        "taxes": [{"title": t.title, "rate": str(t.rate), "amount": str(t.amount)} for t in order.taxes],
    }


def channel_quantities(lines: Iterable[ChannelLine]) -> dict[str, int]:
    """Units per channel SKU (a SKU on several lines counts once, summed)."""
    found: dict[str, int] = {}
    for line in lines:
        found[line.channel_sku] = found.get(line.channel_sku, 0) + line.quantity
    return found


def reductions(before: Iterable[ChannelLine], after: Iterable[ChannelLine]) -> dict[str, int]:
    """The channel SKUs whose units a later version lowers (a line removed: to 0), with their new units. Raised
    units and new SKUs are not reductions (an order is never grown from the channel)."""
    was, now = channel_quantities(before), channel_quantities(after)
    return {sku: now.get(sku, 0) for sku, units in was.items() if now.get(sku, 0) < units}


def sku_token(channel_sku: str) -> str:
    """A channel SKU as it stands in a change key: itself, or a fingerprint when it is too long for the key."""
    if len(channel_sku) <= 60 and "@" not in channel_sku:
        return channel_sku
    return "#" + hashlib.sha256(channel_sku.encode()).hexdigest()[:24]


def quantity_change_key(channel_sku: str, quantity: int, at: datetime) -> str:
    """The key of a quantity reduction: the SKU's units in the version that lowers them, and that version's time
    (a redelivery is one change; lowering again in a later version is another)."""
    stamp = at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return f"{sku_token(channel_sku)}@{quantity}@{stamp}"


def parse_quantity_key(key: str) -> tuple[str, int]:
    """The SKU token and units of a quantity reduction's key."""
    token, units, _ = key.rsplit("@", 2)
    return token, int(units)


def quantity_outcome(
    *,
    superseded: bool,
    target: int,
    ordered: int,
    open_units: int,
    order_status: str | None,
    inbox_status: str | None,
) -> str:
    """What a reported quantity reduction does now: `wait` (not imported yet), `done` (the order is cancelled, or
    has no more of the item than the channel's latest version: the import or an earlier change took it),
    `superseded` (a later version names other units of the SKU: that version decides), `flag` (units would have to
    come off what has shipped), or `cut`. `target`: the item's units in the channel's latest version;
    `ordered` / `open_units`: the order's units of the item not cancelled / not cancelled nor shipped."""
    if order_status is None:
        return "done" if inbox_status == "cancelled" else "wait"
    if order_status == "cancelled":
        return "done"
    if superseded:
        return "superseded"
    if ordered <= target:
        return "done"
    if ordered - target > open_units or order_status in ("shipped", "completed"):
        return "flag"
    return "cut"


def plan_cuts(lines: Sequence[tuple[int, int]], units: int) -> dict[int, int]:
    """Which lines give up `units`: (line number, open units) taken from the last line back."""
    cuts: dict[int, int] = {}
    left = units
    for line_no, open_units in sorted(lines, reverse=True):
        if left <= 0:
            break
        take = min(open_units, left)
        if take > 0:
            cuts[line_no] = take
            left -= take
    assert left == 0, "not enough open units to cut"
    return cuts

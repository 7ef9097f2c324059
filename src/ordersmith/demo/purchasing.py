"""Demo vendors with their catalogs and costs, replenishment rules, and purchase orders in every state."""

from __future__ import annotations

import zlib

from ordersmith.catalog import service as catalog
from ordersmith.demo._framework import DemoReport, loader
from ordersmith.demo.catalog import DEMO_ITEMS, DEMO_PERSONALIZED, DEMO_STYLES
from ordersmith.kernel.money import Money
from ordersmith.platform.db import Actor, Database, UnitOfWork, use_case
from ordersmith.platform.settings import Settings
from ordersmith.purchasing import service as purchasing

# (code, name, terms, lead time days, over-receipt %, contact, e-mail)
DEMO_VENDORS = [
    ("NORTHLOOM", "Northloom Apparel Co.", "NET45", 21, 5, "Maya Lindqvist", "orders@northloom.example"),
    ("HEARTH", "Hearth & Home Goods", "NET30", 10, 2, "Dev Patel", "purchasing@hearth.example"),
    ("STRIDE", "Stride Footwear", "NET60", 35, 0, "Ana Souza", "b2b@stride.example"),
    ("PAPERCRAFT", "Papercraft Stationers", "NET30", 7, 10, "Tom Becker", "sales@papercraft.example"),
]
_FOOTWEAR = {"SNEAKER", "CHELSEA"}
_PAPER = ("NOTEBOOK", "GIFT-BOX", "TEA-SAMPLER")


def _cost(sku: str, low: int, high: int) -> Money:
    """A plausible unit cost between `low` and `high` dollars, the same for a SKU every time."""
    cents = low * 100 + zlib.crc32(sku.encode()) % ((high - low) * 100)
    return Money.from_minor(cents, "USD")


def _offers() -> list[tuple[str, str, Money, int, int]]:
    """(vendor, sku, cost, minimum order, pack size) for every stocked demo SKU."""
    offers: list[tuple[str, str, Money, int, int]] = []
    for code, _, colours, sizes in DEMO_STYLES:
        vendor = "STRIDE" if code in _FOOTWEAR else "NORTHLOOM"
        for colour in colours:
            for size in sizes:
                sku = f"{code}-{colour}-{size}"
                offers.append((vendor, sku, _cost(code, 8, 40), 6 if vendor == "STRIDE" else 12, 6))
    for sku, *_ in [*DEMO_ITEMS, *DEMO_PERSONALIZED]:
        vendor = "PAPERCRAFT" if sku.startswith(_PAPER) else "HEARTH"
        offers.append((vendor, sku, _cost(sku, 2, 30), 12, 4 if vendor == "HEARTH" else 1))
    return offers


@use_case
def _list_offers(
    uow: UnitOfWork, *, offers: list[tuple[str, str, Money, int, int]], rules: list[str]
) -> None:
    """Vendor items and replenishment rules in one transaction: the vendor items being there means both are."""
    for vendor, sku, cost, moq, pack in offers:
        purchasing.set_vendor_item(uow, vendor=vendor, sku=sku, vendor_sku=f"{vendor[:3]}-{sku}", cost=cost,
                                   min_order_qty=moq, pack_size=pack, preferred=True)  # fmt: skip
    _rules(uow, skus=rules)


@use_case
def _rules(uow: UnitOfWork, *, skus: list[str]) -> None:
    for sku in skus:
        purchasing.set_rule(uow, sku=sku, location="DC-EAST", method="min_max", min_qty=25, max_qty=60)
    for sku in ("MUG-CERAMIC", "BOTTLE-STEEL", "TOWEL-WHITE", "CANDLE-LINEN"):
        purchasing.set_rule(uow, sku=sku, location="DC-WEST", method="reorder_point", reorder_qty=24)


@loader("purchasing: vendors, vendor catalogs and replenishment rules", stage=30)
def _vendors(db: Database, settings: Settings, report: DemoReport) -> None:
    uow = db.unit_of_work(Actor.system("demo"))
    known = {v.code for v in purchasing.list_vendors(uow)}
    for code, name, terms, lead, tolerance, contact, email in DEMO_VENDORS:
        if code in known:
            continue
        purchasing.create_vendor(uow, code=code, name=name, currency="USD", terms=terms, lead_time_days=lead,
                                 over_receipt_pct=tolerance, contact_name=contact, email=email)  # fmt: skip
        report.say(f"vendor {code} ({terms}, {lead} days)")
    if not purchasing.list_vendor_items(uow, vendor="HEARTH"):
        offers = _offers()
        # Min/max for the slow apparel variants at the east DC: the suggestions screen has work to show.
        low = [sku for _, sku, *_ in offers if sku.startswith(("WRAP-DRESS", "FLEECE"))]
        _list_offers(uow, offers=offers, rules=low)
        report.say(f"{len(offers)} vendor items with costs, minimums and packs")
        report.say(f"{len(low) + 4} replenishment rules")


@loader("purchasing: open purchase orders", stage=30)
def _purchase_orders(db: Database, settings: Settings, report: DemoReport) -> None:
    uow = db.unit_of_work(Actor.system("demo"))
    if purchasing.list_purchase_orders(uow, limit=1).items:
        return  # made in one transaction: all there or none
    for line in _open_purchase_orders(uow):
        report.say(line)


@use_case
def _open_purchase_orders(uow: UnitOfWork) -> list[str]:
    """Purchase orders in every state, in one transaction."""
    new = purchasing.NewLine
    received = purchasing.create_purchase_order(uow, vendor="HEARTH", location="DC-EAST", lines=[
        new("CANDLE-CEDAR", 48), new("CANDLE-FIG", 48), new("MUG-CERAMIC", 96)], notes="autumn candles")  # fmt: skip
    for step in (purchasing.approve, purchasing.send):
        step(uow, number=received.number)
    arrived = [purchasing.ReceivedLine("CANDLE-CEDAR", 48), purchasing.ReceivedLine("MUG-CERAMIC", 40)]
    purchasing.receive(uow, number=received.number, reference="ASN-HEARTH-1042", lines=arrived)
    sent = purchasing.create_purchase_order(uow, vendor="NORTHLOOM", location="DC-WEST", lines=[
        new(f"WOOL-SWTR-{colour}-{size}", 24) for colour in ("GREY", "NAVY") for size in ("M", "L")])  # fmt: skip
    for step in (purchasing.approve, purchasing.send):
        step(uow, number=sent.number)
    approved = purchasing.create_purchase_order(uow, vendor="STRIDE", location="DC-EAST", lines=[
        new(f"SNEAKER-WHITE-{size}", 12) for size in ("8", "9", "10", "11")])  # fmt: skip
    purchasing.approve(uow, number=approved.number)
    drafts = purchasing.order_suggestions(uow, location="DC-EAST")
    count = len(catalog.list_items(uow, limit=500).items)
    return [
        f"purchase orders {received.number} (partly received), {sent.number} (sent), "
        f"{approved.number} (approved) and {len(drafts)} drafts from replenishment suggestions",
        f"{count} items in the catalog",
    ]


# A furniture maker that ships its pieces straight to our customers: its items keep no stock with us.
DROP_SHIP_VENDOR = (
    "LOFTLINE",
    "Loftline Furniture (drop-ship)",
    "NET30",
    14,
    0,
    "Ines Moreau",
    "dropship@loftline.example",
)
# (sku, name, weight in grams, the vendor's cost in dollars)
DEMO_DROP_SHIP = [
    ("SOFA-LINEN-3", "Linen three-seat sofa", 52_000, 420),
    ("CHAIR-OAK", "Oak reading chair", 14_000, 180),
    ("RUG-WOOL-8X10", "Hand-tufted wool rug 8x10", 18_000, 150),
]


@loader("purchasing: a drop-ship vendor and the furniture it ships to our customers", stage=30)
def _drop_ship(db: Database, settings: Settings, report: DemoReport) -> None:
    uow = db.unit_of_work(Actor.system("demo"))
    if any(v.code == DROP_SHIP_VENDOR[0] for v in purchasing.list_vendors(uow)):
        return  # made in one transaction: all there or none
    _drop_ship_vendor(uow)
    report.say(
        f"drop-ship vendor {DROP_SHIP_VENDOR[0]} with {len(DEMO_DROP_SHIP)} items it ships to the customer"
    )


@use_case
def _drop_ship_vendor(uow: UnitOfWork) -> None:
    code, name, terms, lead, tolerance, contact, email = DROP_SHIP_VENDOR
    purchasing.create_vendor(
        uow,
        code=code,
        name=name,
        currency="USD",
        terms=terms,
        lead_time_days=lead,
        over_receipt_pct=tolerance,
        contact_name=contact,
        email=email,
    )
    for sku, item_name, weight, dollars in DEMO_DROP_SHIP:
        catalog.create_item(
            uow, sku=sku, name=item_name, kind="drop_ship", divisions=["web", "catalog"], weight_g=weight
        )
        purchasing.set_vendor_item(
            uow,
            vendor=code,
            sku=sku,
            vendor_sku=f"LFT-{sku}",
            cost=Money.from_minor(dollars * 100, "USD"),
            preferred=True,
        )

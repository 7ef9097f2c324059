"""A catalog retailer's demo catalog: apparel styles in size x colour, home goods, personalized items, kits,
five locations (three warehouses, two stores), opening stock and a few division pools — over 200 SKUs."""

from __future__ import annotations

import zlib

from ordersmith.catalog import personalization, styles
from ordersmith.catalog import service as catalog
from ordersmith.demo._framework import DemoReport, loader
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import NotFound
from ordersmith.platform.db import Actor, Database, UnitOfWork, use_case
from ordersmith.platform.settings import Settings

DEMO_LOCATIONS = [
    ("DC-EAST", "East distribution center", "warehouse", None, 10),
    ("DC-WEST", "West distribution center", "warehouse", None, 20),
    ("MKT-3PL", "Marketplace fulfilment warehouse", "warehouse", "marketplace", 30),
    ("STORE-NYC", "New York store", "store", "store", 50),
    ("STORE-SF", "San Francisco store", "store", "store", 60),
]
ALL_DIVISIONS = ["web", "catalog", "store", "marketplace"]

# (style code, name, colours, sizes): each combination is a variant SKU such as POLO-NAVY-M
DEMO_STYLES = [
    ("OXF-SHIRT", "Oxford shirt", ["WHITE", "BLUE", "PINK"], ["S", "M", "L", "XL", "XXL"]),
    ("CHINO", "Stretch chino", ["KHAKI", "NAVY", "OLIVE"], ["30", "32", "34", "36", "38"]),
    ("WOOL-SWTR", "Merino sweater", ["GREY", "NAVY", "CAMEL", "FOREST"], ["S", "M", "L", "XL"]),
    ("RAIN-JKT", "Packable rain jacket", ["YELLOW", "NAVY", "BLACK"], ["S", "M", "L", "XL"]),
    ("POLO", "Pique polo", ["WHITE", "NAVY", "RED", "GREEN"], ["S", "M", "L", "XL", "XXL"]),
    ("PIMA-TEE", "Pima cotton tee", ["WHITE", "BLACK", "GREY", "NAVY"], ["XS", "S", "M", "L", "XL"]),
    ("FLEECE", "Quarter-zip fleece", ["CHARCOAL", "RED", "NAVY"], ["S", "M", "L", "XL"]),
    ("WRAP-DRESS", "Jersey wrap dress", ["BLACK", "FLORAL", "NAVY"], ["XS", "S", "M", "L"]),
    ("LINEN-SHIRT", "Linen camp shirt", ["WHITE", "SKY", "OLIVE"], ["S", "M", "L", "XL", "XXL"]),
    ("SNEAKER", "Canvas sneaker", ["WHITE", "BLACK"], ["7", "8", "9", "10", "11", "12"]),
    ("CHELSEA", "Chelsea boot", ["BROWN", "BLACK"], ["7", "8", "9", "10", "11", "12"]),
]
APPAREL_OPENING = {"DC-EAST": 30, "DC-WEST": 20, "MKT-3PL": 8, "STORE-NYC": 3}

# (sku, name, weight in grams, divisions, opening stock per location)
_HOME = ["web", "catalog", "store"]
DEMO_ITEMS = [
    ("MUG-CERAMIC", "Ceramic mug", 400, ["web", "catalog"], {"DC-EAST": 120}),
    ("TOTE-CANVAS", "Canvas tote", 300, _HOME, {"DC-EAST": 60, "STORE-NYC": 12}),
    *[
        (f"CANDLE-{scent}", f"Soy candle, {scent.lower()}", 350, _HOME, {"DC-EAST": 48, "DC-WEST": 24})
        for scent in ("CEDAR", "FIG", "LINEN", "AMBER", "CITRUS", "PINE")
    ],
    *[
        (f"THROW-{colour}", f"Wool throw, {colour.lower()}", 1200, _HOME, {"DC-EAST": 20, "DC-WEST": 15})
        for colour in ("OATMEAL", "SLATE", "RUST", "SAGE")
    ],
    *[
        (f"TOWEL-{colour}", f"Bath towel, {colour.lower()}", 600, _HOME, {"DC-EAST": 80, "DC-WEST": 40})
        for colour in ("WHITE", "NAVY", "SAND", "MIST")
    ],
    *[
        (f"NAPKIN-{colour}-4", f"Linen napkins (4), {colour.lower()}", 250, _HOME, {"DC-EAST": 50})
        for colour in ("WHITE", "INDIGO", "TERRACOTTA")
    ],
    *[
        (f"BOARD-{wood}", f"Cutting board, {wood.lower()}", 1500, ["web", "catalog"], {"DC-EAST": 30})
        for wood in ("OAK", "WALNUT", "MAPLE")
    ],
    *[
        (
            f"NOTEBOOK-{colour}",
            f"Leather notebook, {colour.lower()}",
            350,
            _HOME,
            {"DC-EAST": 70, "STORE-SF": 10},
        )
        for colour in ("TAN", "BLACK", "OXBLOOD")
    ],
    *[
        (
            f"SCARF-{pattern}",
            f"Cashmere scarf, {pattern.lower()}",
            200,
            ALL_DIVISIONS,
            {"DC-EAST": 25, "MKT-3PL": 10},
        )
        for pattern in ("PLAID", "SOLID-GREY", "HERRINGBONE")
    ],
    *[
        (
            f"CAP-{colour}",
            f"Wool baseball cap, {colour.lower()}",
            150,
            ALL_DIVISIONS,
            {"DC-WEST": 40, "MKT-3PL": 15},
        )
        for colour in ("NAVY", "OLIVE", "BLACK")
    ],
    ("UMBRELLA-GOLF", "Golf umbrella", 800, ALL_DIVISIONS, {"DC-WEST": 35, "MKT-3PL": 12}),
    ("BOTTLE-STEEL", "Insulated steel bottle", 450, ALL_DIVISIONS, {"DC-EAST": 90, "MKT-3PL": 30}),
    ("TEA-SAMPLER", "Loose-leaf tea sampler", 300, ["web", "catalog"], {"DC-EAST": 60}),
    ("GIFT-BOX", "Kraft gift box", 200, _HOME, {"DC-EAST": 200}),
]
# Personalized items name a template: (sku, name, weight, template, opening stock at DC-EAST)
DEMO_PERSONALIZED = [
    ("TOTE-MONOGRAM", "Canvas tote, monogrammed", 300, "tote-monogram", 40),
    ("TOWEL-MONOGRAM", "Bath towel, monogrammed", 600, "tote-monogram", 40),
    ("BOARD-ENGRAVED", "Walnut cutting board, engraved", 1500, "engraving", 25),
    ("NOTEBOOK-ENGRAVED", "Leather notebook, engraved", 350, "engraving", 50),
]
# (sku, name, divisions, components)
DEMO_KITS = [
    ("GIFT-SET-MUG-TOTE", "Gift set: two mugs and a tote", ["web", "catalog"],
     [("MUG-CERAMIC", 2), ("TOTE-CANVAS", 1)]),
    ("GIFT-SET-CANDLES", "Candle trio", ["web", "catalog"],
     [("CANDLE-CEDAR", 1), ("CANDLE-FIG", 1), ("CANDLE-LINEN", 1)]),
    ("GIFT-SET-BATH", "Bath set: two towels and a candle", ["web", "catalog"],
     [("TOWEL-WHITE", 2), ("CANDLE-LINEN", 1)]),
    ("GIFT-SET-TEA", "Tea time: sampler and two mugs", ["web", "catalog", "store"],
     [("TEA-SAMPLER", 1), ("MUG-CERAMIC", 2)]),
    ("GIFT-SET-DESK", "Desk set: notebook and bottle", ["web", "catalog"],
     [("NOTEBOOK-TAN", 1), ("BOTTLE-STEEL", 1)]),
]  # fmt: skip
# (sku, location, safety stock, ring-fences {division: units}, buffers {division: units})
DEMO_POOLS = [
    ("MUG-CERAMIC", "DC-EAST", 4, {"catalog": 20}, {"marketplace": 10}),
    ("BOTTLE-STEEL", "DC-EAST", 5, {"catalog": 15}, {"marketplace": 10}),
    ("SCARF-PLAID", "DC-EAST", 0, {}, {"marketplace": 5}),
]

TEMPLATES = {
    "tote-monogram": dict(name="Monogram (embroidered)", fields=[
        {"name": "initials", "kind": "text", "label": "Initials", "required": True, "max_length": 3,
         "characters": "monogram", "options": [], "surcharge": None, "per_character": "2.50"},
        {"name": "thread", "kind": "thread_colour", "label": "Thread colour", "required": True, "max_length": None,
         "characters": None, "options": ["Navy", "Gold", "Red"], "surcharge": "1.00", "per_character": None},
    ]),
    "engraving": dict(name="Engraving", fields=[
        {"name": "line1", "kind": "text", "label": "First line", "required": True, "max_length": 20,
         "characters": "printable", "options": [], "surcharge": "5.00", "per_character": None},
        {"name": "line2", "kind": "text", "label": "Second line", "required": False, "max_length": 20,
         "characters": "printable", "options": [], "surcharge": "3.00", "per_character": None},
        {"name": "font", "kind": "font", "label": "Font", "required": True, "max_length": None,
         "characters": None, "options": ["Serif", "Script", "Block"], "surcharge": None, "per_character": None},
    ]),
}  # fmt: skip


def _spread(sku: str, base: int) -> int:
    """Opening stock that varies by SKU (deterministically), so the demo has scarce and plentiful items."""
    return max(base * (50 + zlib.crc32(sku.encode()) % 100) // 100, 1)


@use_case
def _receive_opening_stock(uow: UnitOfWork, *, lines: list[tuple[str, str, int]]) -> None:
    """All of one loader's opening stock in one transaction: receipt movements like any other delivery."""
    for sku, location, quantity in lines:
        inventory.adjust_stock(uow, sku=sku, location=location, quantity=quantity, reason="receipt",
                               reference="opening stock")  # fmt: skip


def _missing(uow: UnitOfWork, sku: str) -> bool:
    try:
        catalog.get_item_ref(uow, sku=sku)
        return False
    except NotFound:
        return True


@loader("inventory: locations", stage=20)
def _locations(db: Database, settings: Settings, report: DemoReport) -> None:
    uow = db.unit_of_work(Actor.system("demo"))
    known = {loc.code for loc in inventory.list_locations(uow)}
    for code, name, kind, division, priority in DEMO_LOCATIONS:
        if code not in known:
            inventory.create_location(
                uow, code=code, name=name, kind=kind, division=division, priority=priority
            )
            report.say(f"location {code}")


@loader("catalog: personalization templates", stage=20)
def _templates(db: Database, settings: Settings, report: DemoReport) -> None:
    uow = db.unit_of_work(Actor.system("demo"))
    for code, spec in TEMPLATES.items():
        try:
            personalization.get_template(uow, code=code)
        except NotFound:
            personalization.create_template(uow, code=code, name=str(spec["name"]), currency="USD",
                                            non_returnable=True, fields=spec["fields"])  # type: ignore[arg-type]  # fmt: skip
            report.say(f"personalization template {code}")


@loader("catalog: styles (size x colour) with opening stock", stage=20)
def _styles(db: Database, settings: Settings, report: DemoReport) -> None:
    uow = db.unit_of_work(Actor.system("demo"))
    for code, name, colours, sizes in DEMO_STYLES:
        try:
            styles.get_style(uow, code=code)
            continue
        except NotFound:
            style = _style_with_stock(uow, code=code, name=name, colours=colours, sizes=sizes)
        report.say(f"style {code}: {len(style.variants)} variants with opening stock")


@use_case
def _style_with_stock(
    uow: UnitOfWork, *, code: str, name: str, colours: list[str], sizes: list[str]
) -> styles.Style:
    """A style and its variants' opening stock in one transaction: a style that exists has its stock."""
    style = styles.create_style(uow, code=code, name=name, axes=[("colour", colours), ("size", sizes)],
                                divisions=ALL_DIVISIONS)  # fmt: skip
    _receive_opening_stock(uow, lines=[
        (v.sku, location, _spread(v.sku + location, base))
        for v in style.variants for location, base in APPAREL_OPENING.items()])  # fmt: skip
    return style


@loader("catalog: home goods, personalized items and kits with opening stock", stage=20)
def _items(db: Database, settings: Settings, report: DemoReport) -> None:
    created = _items_with_stock(db.unit_of_work(Actor.system("demo")))
    if created:
        report.say(f"{created} items (home goods, personalized items, kits) with opening stock")


@use_case
def _items_with_stock(uow: UnitOfWork) -> int:
    """The missing items and their opening stock in one transaction: an item that exists has its stock."""
    opening: list[tuple[str, str, int]] = []
    created = 0
    for sku, name, weight, divisions, stock in DEMO_ITEMS:
        if _missing(uow, sku):
            catalog.create_item(uow, sku=sku, name=name, divisions=divisions, weight_g=weight)
            opening += [(sku, location, _spread(sku, base)) for location, base in stock.items()]
            created += 1
    for sku, name, weight, template, base in DEMO_PERSONALIZED:
        if _missing(uow, sku):
            catalog.create_item(uow, sku=sku, name=name, divisions=["web", "catalog"], weight_g=weight,
                                personalization_template=template)  # fmt: skip
            opening.append((sku, "DC-EAST", _spread(sku, base)))
            created += 1
    if opening:
        _receive_opening_stock(uow, lines=opening)
    for sku, name, divisions, components in DEMO_KITS:
        if _missing(uow, sku):
            catalog.create_item(
                uow, sku=sku, name=name, kind="kit", divisions=divisions, components=components
            )
            created += 1
    return created


@loader("inventory: safety stock and division pools at DC-EAST", stage=20)
def _pools(db: Database, settings: Settings, report: DemoReport) -> None:
    uow = db.unit_of_work(Actor.system("demo"))
    for sku, location, safety, fences, buffers in DEMO_POOLS:
        here = next(x for x in inventory.get_availability(uow, sku=sku).locations if x.location == location)
        if here.pools or here.safety_stock:
            continue
        pools = [
            inventory.PoolSetting(d, fences.get(d, 0), buffers.get(d, 0)) for d in sorted({*fences, *buffers})
        ]
        inventory.configure_level(uow, sku=sku, location=location, safety_stock=safety, pools=pools)
        report.say(f"{sku} at {location}: safety {safety}, pools for {', '.join(p.division for p in pools)}")


# The merchandise tree: (code, name, parent)
DEMO_CATEGORIES = [
    ("APPAREL", "Apparel", None),
    ("TOPS", "Tops", "APPAREL"),
    ("BOTTOMS", "Bottoms", "APPAREL"),
    ("DRESSES", "Dresses", "APPAREL"),
    ("OUTERWEAR", "Outerwear", "APPAREL"),
    ("FOOTWEAR", "Footwear", "APPAREL"),
    ("ACCESSORIES", "Accessories", "APPAREL"),
    ("HOME", "Home", None),
    ("KITCHEN", "Kitchen", "HOME"),
    ("BATH", "Bath", "HOME"),
    ("LIVING", "Living", "HOME"),
    ("FURNITURE", "Furniture", "HOME"),
    ("STATIONERY", "Stationery", None),
    ("GIFTS", "Gifts", None),
]
DEMO_STYLE_CATEGORIES = {
    "OXF-SHIRT": "TOPS", "WOOL-SWTR": "TOPS", "POLO": "TOPS", "PIMA-TEE": "TOPS", "FLEECE": "TOPS",
    "LINEN-SHIRT": "TOPS", "CHINO": "BOTTOMS", "WRAP-DRESS": "DRESSES", "RAIN-JKT": "OUTERWEAR",
    "SNEAKER": "FOOTWEAR", "CHELSEA": "FOOTWEAR",
}  # fmt: skip
# An item of no style goes by the start of its SKU (the drop-ship furniture included)
DEMO_ITEM_CATEGORIES = {
    "MUG-": "KITCHEN", "BOARD-": "KITCHEN", "NAPKIN-": "KITCHEN", "TEA-": "KITCHEN", "BOTTLE-": "KITCHEN",
    "TOWEL-": "BATH", "CANDLE-": "LIVING", "THROW-": "LIVING", "SOFA-": "FURNITURE", "CHAIR-": "FURNITURE",
    "RUG-": "FURNITURE", "TOTE-": "ACCESSORIES", "SCARF-": "ACCESSORIES", "CAP-": "ACCESSORIES",
    "UMBRELLA-": "ACCESSORIES", "NOTEBOOK-": "STATIONERY", "GIFT-": "GIFTS",
}  # fmt: skip


def demo_category(sku: str) -> str | None:
    """The demo category of an item of no style, by the start of its SKU."""
    return next((code for prefix, code in DEMO_ITEM_CATEGORIES.items() if sku.startswith(prefix)), None)


@loader("catalog: the merchandise tree, every style and item in its category", stage=35)
def _categories(db: Database, settings: Settings, report: DemoReport) -> None:
    """After purchasing's drop-ship items (stage 30), so every item is there; only what is missing is written."""
    filed = _file_in_categories(db.unit_of_work(Actor.system("demo")))
    if filed:
        report.say(f"{len(DEMO_CATEGORIES)} categories; {filed} styles and items filed in them")


@use_case
def _file_in_categories(uow: UnitOfWork) -> int:
    have = {c.code for c in catalog.list_categories(uow)}
    for code, name, parent in DEMO_CATEGORIES:
        if code not in have:
            catalog.create_category(uow, code=code, name=name, parent=parent)
    filed = 0
    for style_code, category in DEMO_STYLE_CATEGORIES.items():
        if styles.get_style(uow, code=style_code).category != category:
            catalog.set_style_category(uow, code=style_code, category=category)
            filed += 1
    cursor = None
    while True:
        page = catalog.list_items(uow, limit=500, cursor=cursor)
        for item in page.items:
            wanted = demo_category(item.sku) if item.variant is None else None
            if wanted is not None and item.category != wanted:
                catalog.set_item_category(uow, sku=item.sku, category=wanted)
                filed += 1
        if page.next_cursor is None:
            return filed
        cursor = page.next_cursor

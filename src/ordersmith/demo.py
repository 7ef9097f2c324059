"""Demo data: a framework of ordered, idempotent loaders that each context extends.

`ordersmith demo load` runs every loader in order; each one adds only what is missing, so running it twice
changes nothing. It refuses to run in production.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ordersmith.catalog import personalization, styles
from ordersmith.catalog import service as catalog
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import Forbidden, NotFound
from ordersmith.platform import identity, sales_channels
from ordersmith.platform.access import ROLES, SCOPES, Principal
from ordersmith.platform.db import Actor, Database
from ordersmith.platform.settings import Settings

DEMO_DOMAIN = "demo.ordersmith.dev"


@dataclass
class DemoReport:
    """What a load created, to show the operator (passwords and keys are shown only when created)."""

    lines: list[str] = field(default_factory=list)
    credentials: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.lines.append(line)


Loader = Callable[[Database, Settings, DemoReport], None]
_loaders: list[tuple[str, Loader]] = []


def loader(name: str) -> Callable[[Loader], Loader]:
    """Register a demo loader; later contexts add theirs, which run after the ones before them."""

    def register(fn: Loader) -> Loader:
        _loaders.append((name, fn))
        return fn

    return register


DEMO_CHANNELS = [
    ("web", "Web shop", "web", "web"),
    ("call-center", "Call center", "call_center", "catalog"),
    ("catalog-mail", "Printed catalog (mail orders)", "catalog", "catalog"),
    ("amazon-us", "Amazon US marketplace", "marketplace", "marketplace"),
    ("store-pos", "Stores (POS)", "pos", "store"),
]

# What each demo channel's integration key may do (later issues add order scopes).
CHANNEL_KEY_SCOPES = [
    "sales_channels:read",
    "events:read",
    "catalog:read",
    "inventory:read",
    "reservations:write",
]


@loader("platform: users of each role")
def _users(db: Database, settings: Settings, report: DemoReport) -> None:
    uow = db.unit_of_work(Actor.system("demo"))
    for role in ROLES:
        email = f"{role}@{DEMO_DOMAIN}"
        if identity.find_user_by_email(uow, email=email) is not None:
            continue
        password = (
            settings.demo_admin_password.get_secret_value() if role == "admin" else f"{role}-demo-password"
        )
        identity.create_user(uow, email=email, name=f"Demo {role.title()}", role=role, password=password)
        report.say(f"user {email} ({role})")
        report.credentials.append(f"{email}\t{password}")


@loader("platform: sales channels and one API key per channel")
def _channels(db: Database, settings: Settings, report: DemoReport) -> None:
    uow = db.unit_of_work(Actor.system("demo"))
    existing = {c.code for c in sales_channels.list_sales_channels(uow, principal=_ADMIN, limit=500).items}
    for code, name, kind, division in DEMO_CHANNELS:
        if code in existing:
            continue
        sales_channels.create_sales_channel(
            uow, code=code, name=name, kind=kind, division=division, currency="USD"
        )
        new = identity.create_api_key(
            uow, name=f"{code} integration", scopes=CHANNEL_KEY_SCOPES, channel_code=code
        )
        report.say(f"sales channel {code} with API key {new.key.prefix}…")
        report.credentials.append(f"api key for {code}\t{new.secret}")


DEMO_LOCATIONS = [
    ("DC-EAST", "East distribution center", "warehouse", None, 10),
    ("DC-WEST", "West distribution center", "warehouse", None, 20),
    ("MKT-3PL", "Marketplace fulfilment warehouse", "warehouse", "marketplace", 30),
    ("STORE-NYC", "New York store", "store", "store", 50),
    ("STORE-SF", "San Francisco store", "store", "store", 60),
]

# (sku, name, divisions, opening stock per location code)
ALL_DIVISIONS = ["web", "catalog", "store", "marketplace"]
APPAREL_OPENING = {"DC-EAST": 40, "DC-WEST": 25, "MKT-3PL": 10, "STORE-NYC": 4, "STORE-SF": 3}
# (style code, name, sizes): each size is a variant SKU such as OXF-SHIRT-M
DEMO_STYLES = [
    ("OXF-SHIRT", "Oxford shirt", ["S", "M", "L", "XL"]),
    ("CHINO", "Stretch chino", ["S", "M", "L", "XL"]),
    ("WOOL-SWTR", "Merino sweater", ["S", "M", "L", "XL"]),
    ("RAIN-JKT", "Packable rain jacket", ["S", "M", "L", "XL"]),
]
# (sku, name, divisions, opening stock per location code)
DEMO_ITEMS = [
    ("MUG-CERAMIC", "Ceramic mug", ["web", "catalog"], {"DC-EAST": 120}),
    ("TOTE-CANVAS", "Canvas tote", ["web", "catalog", "store"], {"DC-EAST": 60, "STORE-NYC": 12}),
]


@loader("catalog and inventory: locations, items and opening stock")
def _stock(db: Database, settings: Settings, report: DemoReport) -> None:
    uow = db.unit_of_work(Actor.system("demo"))
    known_locations = {loc.code for loc in inventory.list_locations(uow)}
    for code, name, kind, division, priority in DEMO_LOCATIONS:
        if code not in known_locations:
            inventory.create_location(
                uow, code=code, name=name, kind=kind, division=division, priority=priority
            )
            report.say(f"location {code}")
    for code, name, sizes in DEMO_STYLES:
        try:
            styles.get_style(uow, code=code)
            continue
        except NotFound:
            style = styles.create_style(
                uow, code=code, name=name, axes=[("size", sizes)], divisions=ALL_DIVISIONS
            )
        for variant in style.variants:
            for location, quantity in APPAREL_OPENING.items():
                inventory.adjust_stock(uow, sku=variant.sku, location=location, quantity=quantity, reason="receipt",
                                       reference="opening stock")  # fmt: skip
        report.say(f"style {code} ({', '.join(sizes)}) with opening stock")
    for sku, name, divisions, opening in DEMO_ITEMS:
        try:
            catalog.get_item(uow, sku=sku)
            continue
        except NotFound:
            catalog.create_item(uow, sku=sku, name=name, divisions=divisions, weight_g=400)
        for location, quantity in opening.items():
            inventory.adjust_stock(uow, sku=sku, location=location, quantity=quantity, reason="receipt",
                                   reference="opening stock")  # fmt: skip
        report.say(f"item {sku} with opening stock")
    try:
        catalog.get_item(uow, sku="GIFT-SET-MUG-TOTE")
    except NotFound:
        catalog.create_item(
            uow,
            sku="GIFT-SET-MUG-TOTE",
            name="Gift set: two mugs and a tote",
            kind="kit",
            divisions=["web", "catalog"],
            components=[("MUG-CERAMIC", 2), ("TOTE-CANVAS", 1)],
        )
        report.say("kit GIFT-SET-MUG-TOTE (2 mugs + 1 tote)")
    try:
        personalization.get_template(uow, code="tote-monogram")
    except NotFound:
        personalization.create_template(
            uow, code="tote-monogram", name="Tote monogram", currency="USD", non_returnable=True,
            fields=[
                {"name": "initials", "kind": "text", "label": "Initials", "required": True, "max_length": 3,
                 "characters": "monogram", "options": [], "surcharge": None, "per_character": "2.50"},
                {"name": "thread", "kind": "thread_colour", "label": "Thread colour", "required": True,
                 "max_length": None, "characters": None, "options": ["Navy", "Gold", "Red"], "surcharge": "1.00",
                 "per_character": None},
            ],
        )  # fmt: skip
        report.say("personalization template tote-monogram")


_ADMIN = Principal(kind="user", id=None, label="demo", scopes=frozenset(SCOPES), role="admin")


def load(db: Database, settings: Settings, credentials_file: Path | None = None) -> DemoReport:
    """Run every demo loader in order; write any new credentials to `credentials_file` (mode 0600)."""
    if settings.is_production:
        raise Forbidden("demo data is never loaded in production")
    report = DemoReport()
    for name, fn in _loaders:
        before = len(report.lines)
        fn(db, settings, report)
        if len(report.lines) == before:
            report.say(f"{name}: already there")
    if credentials_file is not None and report.credentials:
        credentials_file.parent.mkdir(parents=True, exist_ok=True)
        with credentials_file.open("a") as handle:
            handle.write("\n".join(report.credentials) + "\n")
        credentials_file.chmod(0o600)
    return report

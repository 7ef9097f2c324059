"""Demo users of every role, sales channels and their integration keys."""

from __future__ import annotations

import uuid

from ordersmith.demo._framework import DEMO_DOMAIN, DemoReport, loader
from ordersmith.platform import identity, sales_channels
from ordersmith.platform.access import ROLES, SCOPES, Principal
from ordersmith.platform.db import Actor, Database, UnitOfWork, use_case
from ordersmith.platform.settings import Settings

_ADMIN = Principal(kind="user", id=None, label="demo", scopes=frozenset(SCOPES), role="admin")


DEMO_CHANNELS = [
    ("web", "Web shop", "web", "web"),
    ("call-center", "Call center", "call_center", "catalog"),
    ("catalog-mail", "Printed catalog (mail orders)", "catalog", "catalog"),
    ("amazon-us", "Amazon US marketplace", "marketplace", "marketplace"),
    ("store-pos", "Stores (POS)", "pos", "store"),
]

# What each demo channel's integration key may do: its own channel's orders, and what placing them needs.
CHANNEL_KEY_SCOPES = [
    "sales_channels:read",
    "events:read",
    "catalog:read",
    "inventory:read",
    "reservations:write",
    "customers:read",
    "customers:write",
    "pricing:quote",
    "pricing:redeem",
    "orders:read",
    "orders:write",
    "returns:write",
    "payments:read",
    "payments:write",
    "gift_cards:balance",
]


@loader("platform: users of each role", stage=10)
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
        report.credential(f"{email}\t{password}")


@loader("platform: sales channels and one API key per channel", stage=10)
def _channels(db: Database, settings: Settings, report: DemoReport) -> None:
    uow = db.unit_of_work(Actor.system("demo"))
    existing = {c.code: c for c in sales_channels.list_sales_channels(uow, principal=_ADMIN, limit=500).items}
    keyed = _keyed_channels(uow)
    for code, name, kind, division in DEMO_CHANNELS:
        if code in existing and existing[code].id in keyed:
            continue
        new = _channel_with_key(
            uow, code=code, name=name, kind=kind, division=division, exists=code in existing
        )
        report.say(f"sales channel {code} with API key {new.key.prefix}…")
        report.credential(f"api key for {code}\t{new.secret}")


def _keyed_channels(uow: UnitOfWork) -> set[uuid.UUID]:
    """Channels that already have a live demo integration key."""
    keyed: set[uuid.UUID] = set()
    cursor = None
    while True:
        page = identity.list_api_keys(uow, limit=200, cursor=cursor)
        keyed |= {k.channel_id for k in page.items if k.channel_id and k.revoked_at is None and
                  k.name.endswith(" integration")}  # fmt: skip
        cursor = page.next_cursor
        if cursor is None:
            return keyed


@use_case
def _channel_with_key(
    uow: UnitOfWork, *, code: str, name: str, kind: str, division: str, exists: bool
) -> identity.NewApiKey:
    """A channel and its key in one transaction (a load killed between the two leaves neither); a channel left
    without its key by an older load gets one."""
    if not exists:
        sales_channels.create_sales_channel(
            uow, code=code, name=name, kind=kind, division=division, currency="USD"
        )
    return identity.create_api_key(
        uow, name=f"{code} integration", scopes=CHANNEL_KEY_SCOPES, channel_code=code
    )


# After the history is loaded (its orders were released when they were placed): from now on the call center's and
# the mail room's orders wait 15 minutes, editable, before the warehouse sees them.
EDIT_WINDOWS = {"call-center": 900, "catalog-mail": 900}


@loader("platform: edit windows of the call center and the mail room", stage=60)
def _edit_windows(db: Database, settings: Settings, report: DemoReport) -> None:
    uow = db.unit_of_work(Actor.system("demo"))
    for channel in sales_channels.list_sales_channels(uow, principal=_ADMIN, limit=500).items:
        seconds = EDIT_WINDOWS.get(channel.code)
        if seconds is None or channel.release_after_s == seconds:
            continue
        sales_channels.update_sales_channel(
            uow, principal=_ADMIN, channel_id=channel.id, expected_version=None, release_after_s=seconds
        )
        report.say(
            f"sales channel {channel.code}: orders wait {seconds // 60} minutes, editable, before release"
        )

"""Builders for test data, going through the real services."""

from __future__ import annotations

from ordersmith.platform import identity, sales_channels
from ordersmith.platform.access import SCOPES
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.identity import NewApiKey, User
from ordersmith.platform.sales_channels import SalesChannel

DEFAULT_PASSWORD = "correct horse battery"


def make_user(
    uow: UnitOfWork, *, role: str = "agent", email: str | None = None, password: str = DEFAULT_PASSWORD
) -> User:
    return identity.create_user(
        uow, email=email or f"{role}@example.com", name=role.title(), role=role, password=password
    )


def make_api_key(
    uow: UnitOfWork, *, scopes: list[str] | None = None, channel: str | None = None, name: str = "test"
) -> NewApiKey:
    return identity.create_api_key(
        uow, name=name, scopes=scopes if scopes is not None else sorted(SCOPES), channel_code=channel
    )


def make_channel(
    uow: UnitOfWork, *, code: str = "web", kind: str = "web", division: str = "web"
) -> SalesChannel:
    return sales_channels.create_sales_channel(
        uow, code=code, name=code.title(), kind=kind, division=division, currency="USD"
    )


def make_item(
    uow: UnitOfWork, *, sku: str = "TEE-001", kind: str = "stocked", divisions: list[str] | None = None
):
    from ordersmith.catalog import service as catalog

    return catalog.create_item(uow, sku=sku, name=f"Item {sku}", kind=kind, divisions=divisions or ["web"])


def make_location(
    uow: UnitOfWork,
    *,
    code: str = "WH1",
    kind: str = "warehouse",
    division: str | None = None,
    priority: int = 100,
):
    from ordersmith.inventory import service as inventory

    return inventory.create_location(
        uow, code=code, name=code, kind=kind, division=division, priority=priority
    )


def stock(uow: UnitOfWork, *, sku: str, location: str, quantity: int) -> None:
    from ordersmith.inventory import service as inventory

    inventory.adjust_stock(uow, sku=sku, location=location, quantity=quantity, reason="receipt")

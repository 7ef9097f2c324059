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


def make_vendor(uow: UnitOfWork, *, code: str = "ACME", lead_time_days: int = 10, over_receipt_pct: int = 0):
    from ordersmith.purchasing import service as purchasing

    return purchasing.create_vendor(uow, code=code, name=f"{code} Ltd", currency="USD", terms="NET30",
                                    lead_time_days=lead_time_days, over_receipt_pct=over_receipt_pct)  # fmt: skip


def sent_purchase_order(uow: UnitOfWork, *, vendor: str, location: str, lines: list[tuple[str, int]]):
    """A PO to VENDOR for (sku, quantity) lines at the vendor's listed cost (or 1.00), approved and sent."""
    from decimal import Decimal

    from ordersmith.kernel.money import Money
    from ordersmith.purchasing import service as purchasing

    cost = Money(Decimal("1.00"), "USD")
    new_lines = [purchasing.NewLine(sku, quantity, unit_cost=cost) for sku, quantity in lines]
    po = purchasing.create_purchase_order(uow, vendor=vendor, location=location, lines=new_lines)
    purchasing.approve(uow, number=po.number)
    return purchasing.send(uow, number=po.number)

"""Shared pieces of the purchasing use cases: result types and the loaders that build them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import NotFound
from ordersmith.kernel.money import Money
from ordersmith.platform.db import UnitOfWork
from ordersmith.purchasing import rules
from ordersmith.purchasing.tables import PurchaseOrderLineRow, PurchaseOrderRow, VendorRow

PO_SERIES = "purchase_order"


@dataclass(frozen=True)
class Vendor:
    id: uuid.UUID
    code: str
    name: str
    currency: str
    terms: str
    lead_time_days: int
    over_receipt_pct: int
    contact_name: str
    email: str
    phone: str
    active: bool


@dataclass(frozen=True)
class VendorItem:
    vendor: str
    sku: str
    vendor_sku: str
    cost: Money
    min_order_qty: int
    pack_size: int
    preferred: bool  # the item's default vendor
    lead_time_days: int | None = None  # None: the vendor's own


@dataclass(frozen=True)
class PurchaseOrderLine:
    line: int
    sku: str
    vendor_sku: str
    ordered: int
    received: int
    cancelled: int
    open: int
    unit_cost: Money
    line_total: Money
    expected_on: date | None
    sales_line: int | None = None  # a drop-ship PO: the sales order's line these units are


@dataclass(frozen=True)
class PurchaseOrder:
    id: uuid.UUID
    number: str
    vendor: str
    location: str
    status: str
    currency: str
    notes: str
    total: Money
    created_by: str
    created_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    sent_at: datetime | None
    ended_at: datetime | None
    version: int
    lines: list[PurchaseOrderLine]
    kind: str = "stock"  # stock | drop_ship (the vendor ships to `ship_to`; nothing enters our stock)
    ship_to: dict[str, Any] | None = None
    sales_order: str | None = None
    source_reference: str | None = None  # its number in the system it was imported from


def _vendor(row: VendorRow) -> Vendor:
    return Vendor(id=row.id, code=row.code, name=row.name, currency=row.currency, terms=row.terms,
                  lead_time_days=row.lead_time_days, over_receipt_pct=row.over_receipt_pct,
                  contact_name=row.contact_name, email=row.email, phone=row.phone, active=row.active)  # fmt: skip


def _vendor_by_code(uow: UnitOfWork, code: str) -> VendorRow:
    row = uow.session.scalar(sa.select(VendorRow).where(VendorRow.code == code))
    if row is None:
        raise NotFound(f"no vendor {code!r}")
    return row


def _po_row(uow: UnitOfWork, number: str) -> PurchaseOrderRow:
    """The purchase order by number (any letter case) or by id, so a client may use either reference."""
    try:
        match = PurchaseOrderRow.id == uuid.UUID(number)
    except ValueError:
        match = PurchaseOrderRow.number == number.strip().upper()
    row = uow.session.scalar(sa.select(PurchaseOrderRow).where(match))
    if row is None:
        raise NotFound(f"no purchase order {number!r}")
    return row


def _line_rows(uow: UnitOfWork, po_id: uuid.UUID) -> list[PurchaseOrderLineRow]:
    return list(uow.session.scalars(
        sa.select(PurchaseOrderLineRow).where(PurchaseOrderLineRow.purchase_order_id == po_id)
        .order_by(PurchaseOrderLineRow.line_no)
    ))  # fmt: skip


def _figures(line: PurchaseOrderLineRow) -> rules.LineFigures:
    return rules.LineFigures(line.ordered, line.received, line.cancelled)


def _purchase_order(uow: UnitOfWork, row: PurchaseOrderRow) -> PurchaseOrder:
    uow.session.refresh(row)
    lines = _line_rows(uow, row.id)
    for line in lines:
        uow.session.refresh(line)  # conditional Core UPDATEs changed them behind the ORM's back
    skus = catalog.item_refs(uow, ids=[line.item_id for line in lines])
    vendor = uow.session.get(VendorRow, row.vendor_id)
    location = _location_codes(uow)[row.location_id]
    out = [
        PurchaseOrderLine(line=line.line_no, sku=skus[line.item_id].sku, vendor_sku=line.vendor_sku,
                          ordered=line.ordered, received=line.received, cancelled=line.cancelled,
                          open=_figures(line).open, unit_cost=Money.from_minor(line.unit_cost_minor, row.currency),
                          line_total=Money.from_minor(line.unit_cost_minor * line.ordered, row.currency),
                          expected_on=line.expected_on, sales_line=line.sales_line)
        for line in lines
    ]  # fmt: skip
    total = sum((line.line_total for line in out), Money.zero(row.currency))
    assert vendor is not None
    return PurchaseOrder(id=row.id, number=row.number, vendor=vendor.code, location=location, status=row.status,
                         currency=row.currency, notes=row.notes, total=total, created_by=row.created_by,
                         created_at=row.created_at, approved_by=row.approved_by, approved_at=row.approved_at,
                         sent_at=row.sent_at, ended_at=row.ended_at, version=row.version, lines=out,
                         kind=row.kind, ship_to=dict(row.ship_to) if row.ship_to else None,
                         sales_order=row.sales_order, source_reference=row.source_reference)  # fmt: skip


def _location_codes(uow: UnitOfWork) -> dict[uuid.UUID, str]:
    return {loc.id: loc.code for loc in inventory.list_locations(uow)}

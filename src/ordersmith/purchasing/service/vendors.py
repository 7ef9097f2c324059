"""Vendors and what each sells us: vendor SKU, cost, minimum order quantity and pack size."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money, currency_exponent
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.purchasing.service._common import Vendor, VendorItem, _vendor, _vendor_by_code
from ordersmith.purchasing.tables import VendorItemRow, VendorRow


@use_case
def create_vendor(
    uow: UnitOfWork, *, code: str, name: str, currency: str, terms: str = "NET30", lead_time_days: int = 14,
    over_receipt_pct: int = 0, contact_name: str = "", email: str = "", phone: str = "",
) -> Vendor:  # fmt: skip
    """Create a vendor with its payment terms, lead time and over-receipt tolerance (percent of each line).

    Raises:
        ValidationFailed: an unknown currency, a negative lead time, a tolerance outside 0-100.
        AlreadyExists: the code is taken.
    """
    try:
        currency_exponent(currency)
    except ValueError as exc:
        raise ValidationFailed.on("currency", str(exc)) from None
    if lead_time_days < 0:
        raise ValidationFailed.on("lead_time_days", "cannot be negative")
    if not 0 <= over_receipt_pct <= 100:
        raise ValidationFailed.on("over_receipt_pct", "must be between 0 and 100")
    row = VendorRow(id=new_id(), code=code.upper(), name=name, currency=currency, terms=terms,
                    lead_time_days=lead_time_days, over_receipt_pct=over_receipt_pct, contact_name=contact_name,
                    email=email, phone=phone, active=True, created_at=uow.now())  # fmt: skip
    uow.insert_unique(VendorRow, row, f"vendor {row.code!r} exists")
    uow.audit("vendor.created", object_type="vendor", object_id=str(row.id),
              after={"code": row.code, "name": name, "terms": terms, "lead_time_days": lead_time_days})  # fmt: skip
    return _vendor(row)


@use_case(readonly=True)
def get_vendor(uow: UnitOfWork, *, code: str) -> Vendor:
    return _vendor(_vendor_by_code(uow, code.upper()))


@use_case(readonly=True)
def list_vendors(uow: UnitOfWork) -> list[Vendor]:
    return [_vendor(r) for r in uow.session.scalars(sa.select(VendorRow).order_by(VendorRow.code))]


@use_case
def set_vendor_item(
    uow: UnitOfWork, *, vendor: str, sku: str, vendor_sku: str, cost: Money, min_order_qty: int = 1,
    pack_size: int = 1, preferred: bool = False, lead_time_days: int | None = None,
) -> VendorItem:  # fmt: skip
    """Record (or change) what a vendor charges for an item and how it sells it; `preferred` makes the vendor
    the item's default for replenishment; `lead_time_days` (None: the vendor's own) dates this item's PO lines.

    Raises:
        NotFound: unknown vendor or SKU.
        ValidationFailed: a cost in another currency than the vendor's, a negative cost, a MOQ or pack below 1,
            an item that keeps no stock.
    """
    row = _vendor_by_code(uow, vendor.upper())
    item = catalog.get_item_ref(uow, sku=sku)
    if not item.keeps_stock and item.kind != "drop_ship":
        raise ValidationFailed.on("sku", f"{item.sku} is a {item.kind} item: it is not bought from a vendor")
    if cost.currency != row.currency:
        raise ValidationFailed.on("cost.currency", f"{row.code} invoices in {row.currency}")
    if cost.amount < 0:
        raise ValidationFailed.on("cost.amount", "cannot be negative")
    if min_order_qty < 1:
        raise ValidationFailed.on("min_order_qty", "must be at least 1")
    if pack_size < 1:
        raise ValidationFailed.on("pack_size", "must be at least 1")
    if lead_time_days is not None and not 0 <= lead_time_days <= 365:
        raise ValidationFailed.on("lead_time_days", "must be between 0 and 365")
    existing = uow.session.get(VendorItemRow, (row.id, item.id))
    before = None
    if existing is None:
        existing = VendorItemRow(vendor_id=row.id, item_id=item.id)
        uow.session.add(existing)
    else:
        before = {"vendor_sku": existing.vendor_sku, "cost_minor": existing.cost_minor,
                  "min_order_qty": existing.min_order_qty, "pack_size": existing.pack_size,
                  "lead_time_days": existing.lead_time_days}  # fmt: skip
    existing.vendor_sku, existing.cost_minor, existing.lead_time_days = vendor_sku, cost.minor, lead_time_days
    existing.min_order_qty, existing.pack_size, existing.updated_at = min_order_qty, pack_size, uow.now()
    uow.flush_unique(f"{row.code} already uses vendor SKU {vendor_sku!r} for another item")
    if preferred:
        catalog.set_default_vendor(uow, sku=item.sku, vendor_id=row.id)
    uow.audit("vendor_item.set", object_type="vendor", object_id=str(row.id), before=before,
              after={"sku": item.sku, "vendor_sku": vendor_sku, "cost_minor": cost.minor,
                     "min_order_qty": min_order_qty, "pack_size": pack_size, "preferred": preferred,
                     "lead_time_days": lead_time_days})  # fmt: skip
    return _vendor_items(uow, row, item_ids=[item.id])[0]


@use_case
def import_vendor_item(
    uow: UnitOfWork, *, vendor: str, sku: str, vendor_sku: str, cost: Money, min_order_qty: int = 1,
    pack_size: int = 1, preferred: bool = False, lead_time_days: int | None = None,
) -> str:  # fmt: skip
    """`set_vendor_item` for a row of a vendor-item file: created | updated | unchanged (an unchanged row writes
    nothing and audits nothing). Refuses what `set_vendor_item` refuses."""
    seller = _vendor_by_code(uow, vendor.upper())
    item = catalog.get_item_ref(uow, sku=sku)
    found = _vendor_items(uow, seller, item_ids=[item.id])
    wanted = VendorItem(vendor=seller.code, sku=item.sku, vendor_sku=vendor_sku, cost=cost,
                        min_order_qty=min_order_qty, pack_size=pack_size,
                        preferred=preferred or bool(found and found[0].preferred),
                        lead_time_days=lead_time_days)  # fmt: skip
    if found and found[0] == wanted:
        return "unchanged"
    set_vendor_item(uow, vendor=vendor, sku=sku, vendor_sku=vendor_sku, cost=cost, min_order_qty=min_order_qty,
                    pack_size=pack_size, preferred=preferred, lead_time_days=lead_time_days)  # fmt: skip
    return "updated" if found else "created"


@use_case(readonly=True)
def list_vendor_items(uow: UnitOfWork, *, vendor: str) -> list[VendorItem]:
    return _vendor_items(uow, _vendor_by_code(uow, vendor.upper()))


def _vendor_items(
    uow: UnitOfWork, vendor: VendorRow, item_ids: list[uuid.UUID] | None = None
) -> list[VendorItem]:
    query = sa.select(VendorItemRow).where(VendorItemRow.vendor_id == vendor.id)
    if item_ids is not None:
        query = query.where(VendorItemRow.item_id.in_(item_ids))
    rows = list(uow.session.scalars(query))
    ids = [r.item_id for r in rows]
    refs, defaults = catalog.item_refs(uow, ids=ids), catalog.default_vendors(uow, ids=ids)
    found = [
        VendorItem(vendor=vendor.code, sku=refs[r.item_id].sku, vendor_sku=r.vendor_sku,
                   cost=Money.from_minor(r.cost_minor, vendor.currency), min_order_qty=r.min_order_qty,
                   pack_size=r.pack_size, preferred=defaults[r.item_id] == vendor.id,
                   lead_time_days=r.lead_time_days)
        for r in rows
    ]  # fmt: skip
    return sorted(found, key=lambda v: v.sku)

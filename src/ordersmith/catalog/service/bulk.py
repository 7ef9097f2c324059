"""Items by the thousand: the catalog's bulk import use case (reached through `catalog.service.import_items`).

The same rules as `create_item` (a valid SKU, known kind, status, divisions and personalization template, valid
GTINs that no other item holds, kit components that keep stock, customs codes), checked for a whole chunk of rows
in a handful of queries, then written with one multi-row statement per table. An existing SKU is updated in the
fields the file sets; its kind and a kit's components never change here. Custom field values (ADR 0051) are checked
by `platform.custom_fields.check_values`, as `create_item` and `PUT …/custom-fields` check them (definitions cached:
no statement per row), and the current values of a chunk's existing items are read in one query.

Invariant: a row is written only when every check passed for it; each item written is audited and emits the
event its single-record use case would (`item.created`) or `item.updated`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa

from ordersmith.catalog import rules
from ordersmith.catalog.service._common import _check_gtin
from ordersmith.catalog.service.bulk_reads import ItemImport, _Facts
from ordersmith.catalog.service.items import _customs
from ordersmith.catalog.tables import (
    ItemBarcodeRow,
    ItemDivisionRow,
    ItemRow,
    KitComponentRow,
)
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.platform import custom_fields as custom
from ordersmith.platform.db import UnitOfWork, use_case

# The fields an import may set on an existing item (kind and components are fixed once an item exists).
UPDATABLE = (
    "name",
    "description",
    "status",
    "tax_class",
    "weight_g",
    "length_mm",
    "width_mm",
    "height_mm",
    "personalization_template",
    "backorderable",
    "hs_code",
    "country_of_origin",
    "category",
)
DEFAULTS: dict[str, Any] = {
    "description": "",
    "kind": "stocked",
    "status": "active",
    "tax_class": "standard",
    "divisions": [],
    "barcodes": [],
    "weight_g": None,
    "length_mm": None,
    "width_mm": None,
    "height_mm": None,
    "components": [],
    "personalization_template": None,
    "backorderable": False,
    "hs_code": None,
    "country_of_origin": None,
    "category": None,
}


@dataclass
class RowOutcome:
    """What a row does (or would do, in a dry run): created | updated | unchanged | invalid, with its errors
    as (field, reason)."""

    action: str
    errors: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _Plan:
    row: ItemImport
    outcome: RowOutcome
    existing: dict[str, Any] | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    gtins: list[str] = field(default_factory=list)
    divisions: list[str] = field(default_factory=list)
    parts: list[tuple[uuid.UUID, int]] = field(default_factory=list)
    customs: tuple[str | None, str | None] = (None, None)  # hs_code, country_of_origin as stored
    category: str | None = None  # as stored (upper-cased), when the row sets it
    before: dict[str, Any] = field(default_factory=dict)
    custom: dict[str, custom.Stored] = field(default_factory=dict)  # the row's custom values, checked
    item_id: uuid.UUID | None = (
        None  # a new item's id, chosen when planned (a kit of the same chunk may name it)
    )


def _fail(plan: _Plan, field_name: str, reason: str) -> None:
    plan.outcome.action = "invalid"
    plan.outcome.errors.append((field_name, reason))


@use_case
def import_items(
    uow: UnitOfWork, *, rows: list[ItemImport], write: bool, pending: dict[str, str] | None = None
) -> list[RowOutcome]:
    """Check (and with `write`, apply) a chunk of item rows; one outcome per row, in order.

    Nothing is written for a row that fails a check; the caller decides whether the others stand (its
    transaction is this one). Rows of one call must name distinct SKUs. A new kit may name components that rows of
    the same chunk create (in any order: kits are planned after the other rows), or that `pending` holds: the SKUs
    (key → kind) earlier chunks of the same file create, which a dry run rolled back; a dry run adds its own new
    items there, so a kit in a later chunk finds its components as the apply will.
    """
    keys = [rules.sku_key(r.sku) for r in rows]
    assert len(set(keys)) == len(keys), "one chunk names each SKU once"
    facts = _Facts.read(uow, rows)
    if pending:
        # Components that earlier chunks create are not in the database (a dry run rolled them back): a stand-in
        # id, never written, for those this chunk's kits name (looked up by name: `pending` grows with the file).
        for key in {rules.sku_key(sku) for row in rows for sku, _ in row.values.get("components") or []}:
            if key in pending:
                facts.parts.setdefault(key, (uuid.uuid5(uuid.NAMESPACE_OID, key), pending[key]))
    plans: list[_Plan | None] = [None] * len(rows)
    kits = [n for n, row in enumerate(rows) if _kind_of(facts, row) == "kit"]
    for n, row in enumerate(rows):
        if n not in kits:
            plans[n] = _plan(uow, facts, row)
    others = [p for p in plans if p is not None]
    claimed = _check_barcodes(facts, others)
    for plan in others:  # the chunk's own new stock-keeping items can be its kits' components
        kind = _kind_of(facts, plan.row)
        if plan.outcome.action == "created" and kind in rules.STOCK_KEEPING_KINDS:
            assert plan.item_id is not None
            facts.parts.setdefault(rules.sku_key(plan.row.sku), (plan.item_id, kind))
            if pending is not None and not write:
                pending[rules.sku_key(plan.row.sku)] = kind
    for n in kits:
        plans[n] = _plan(uow, facts, rows[n])
    _check_barcodes(facts, [p for n, p in enumerate(plans) if n in kits and p is not None], claimed)
    done = [p for p in plans if p is not None]
    assert len(done) == len(rows)
    if write:
        _write(uow, [p for p in done if p.outcome.action != "invalid"])
    return [p.outcome for p in done]


def _kind_of(facts: _Facts, row: ItemImport) -> str:
    existing = facts.items.get(rules.sku_key(row.sku))
    return str(row.values.get("kind", existing["kind"] if existing else DEFAULTS["kind"]))


def _plan(uow: UnitOfWork, facts: _Facts, row: ItemImport) -> _Plan:
    """The checks of `create_item`, row by row, and what would change."""
    plan = _Plan(row=row, outcome=RowOutcome(action="created"))
    values = row.values
    if not rules.is_valid_sku(row.sku):
        _fail(plan, "sku", "1-64 letters, digits, '.', '_', '/' or '-', starting with a letter or digit")
        return plan
    existing = facts.items.get(rules.sku_key(row.sku))
    plan.existing = existing
    kind = values.get("kind", existing["kind"] if existing else DEFAULTS["kind"])
    if kind not in rules.ITEM_KINDS:
        _fail(plan, "kind", f"must be one of {', '.join(rules.ITEM_KINDS)}")
    elif existing is not None and kind != existing["kind"]:
        _fail(plan, "kind", f"{row.sku} is a {existing['kind']} item; an import cannot change an item's kind")
    if values.get("status", "active") not in rules.ITEM_STATUSES:
        _fail(plan, "status", f"must be one of {', '.join(rules.ITEM_STATUSES)}")
    if "divisions" in values:
        plan.divisions = sorted(set(values["divisions"]))
        if unknown := [d for d in plan.divisions if d not in facts.known_divisions]:
            _fail(plan, "divisions", f"unknown division(s): {', '.join(unknown)}")
    if "barcodes" in values:
        try:
            plan.gtins = sorted({_check_gtin(b) for b in values["barcodes"]})
        except ValidationFailed as exc:
            _fail(plan, "barcodes", exc.errors[0].message)
    template = values.get("personalization_template")
    if template is not None and template not in facts.templates:
        _fail(plan, "personalization_template", f"no template {template!r}")
    _check_category(facts, plan)
    try:
        plan.customs = _customs(values.get("hs_code"), values.get("country_of_origin"))
    except ValidationFailed as exc:
        _fail(plan, exc.errors[0].field, exc.errors[0].message)
    _check_parts(facts, plan, kind)
    try:  # the API's rules: required ones on a new item, each value's type, choices and length
        plan.custom = custom.check_values(
            uow, kind="item", values=row.custom_fields, creating=existing is None
        )
    except ValidationFailed as exc:
        for error in exc.errors:
            _fail(plan, error.field, error.message)
    if plan.outcome.action != "invalid" and existing is not None:
        _diff(uow, facts, plan)
    if existing is None:
        plan.item_id = new_id()
    return plan


def _check_category(facts: _Facts, plan: _Plan) -> None:
    """An active category (`create_item`'s rule; the code stored upper-cased) or the one the item has already (an
    export imports back even when a category was made inactive since), and none set on a style's variant other than
    the one it holds (its style's)."""
    if "category" not in plan.row.values:
        return
    wanted = plan.row.values["category"]
    existing = plan.existing
    if wanted is not None:
        wanted = plan.category = wanted.upper()
        kept = existing is not None and existing["category"] == wanted  # an inactive one it has stays
        if wanted not in facts.categories and not kept:
            _fail(plan, "category", f"no active category {wanted!r}")
            return
    if existing is not None and existing["style_id"] is not None and wanted != existing["category"]:
        _fail(plan, "category", f"{existing['sku']} is a variant of a style: it takes its style's category")


def _check_parts(facts: _Facts, plan: _Plan, kind: str) -> None:
    components = plan.row.values.get("components")
    existing = plan.existing
    if existing is not None:
        if components and kind == "kit":
            wanted = {facts.parts.get(rules.sku_key(s), (None, ""))[0]: q for s, q in components}
            if wanted != dict(facts.components_of.get(existing["id"], [])):
                _fail(plan, "components", "an import cannot change an existing kit's components")
        elif components:
            _fail(plan, "components", "only kits have components")
        return
    if kind != "kit":
        if components:
            _fail(plan, "components", "only kits have components")
        return
    if not components:
        _fail(plan, "components", "a kit needs at least one component")
        return
    parts: dict[uuid.UUID, int] = {}
    for sku, quantity in components:
        found = facts.parts.get(rules.sku_key(sku))
        if quantity <= 0:
            _fail(plan, "components", f"{sku}: quantity must be greater than zero")
        elif found is None:
            _fail(plan, "components", f"no item with SKU {sku!r}")
        elif found[1] not in rules.STOCK_KEEPING_KINDS:
            _fail(plan, "components", f"{sku} is a {found[1]} item; kit components must keep stock")
        elif found[0] in parts:
            _fail(plan, "components", f"{sku} is listed twice")
        else:
            parts[found[0]] = quantity
    plan.parts = list(parts.items())


def _check_barcodes(
    facts: _Facts, plans: list[_Plan], claimed: dict[str, int] | None = None
) -> dict[str, int]:
    """A GTIN held by another item, or by two rows of the chunk, is refused (as `create_item` refuses it). Returns
    the GTINs the valid rows claim (to check a second group of the chunk's rows against)."""
    claimed = dict(claimed or {})
    for n, plan in enumerate(plans):
        if plan.outcome.action == "invalid":
            continue
        own = plan.existing["id"] if plan.existing else None
        for gtin in plan.gtins:
            owner = facts.gtin_owner.get(gtin)
            if (owner is not None and owner != own) or gtin in claimed:
                _fail(plan, "barcodes", f"barcode {gtin} is taken")
                break
        else:
            claimed.update({gtin: n for gtin in plan.gtins})
    return claimed


def _diff(uow: UnitOfWork, facts: _Facts, plan: _Plan) -> None:
    existing = plan.existing
    assert existing is not None
    values = plan.row.values
    for name in UPDATABLE:
        if name in values:
            stored = {
                "hs_code": plan.customs[0],
                "country_of_origin": plan.customs[1],
                "category": plan.category,
            }
            value = stored.get(name, values[name])
            if existing[name] != value:
                plan.changes[name], plan.before[name] = value, existing[name]
    for name, wanted, current in (
        ("divisions", plan.divisions, sorted(facts.divisions_of.get(existing["id"], []))),
        ("barcodes", plan.gtins, sorted(facts.barcodes.get(existing["id"], []))),
    ):
        if name in values and wanted != current:
            plan.changes[name], plan.before[name] = wanted, current
    if plan.custom:
        before, after = custom.differences(
            uow, kind="item", current=facts.custom_values.get(existing["id"], {}), checked=plan.custom
        )
        if after:
            plan.changes["custom_fields"], plan.before["custom_fields"] = after, before
    plan.outcome.action = "updated" if plan.changes else "unchanged"


def _write(uow: UnitOfWork, plans: list[_Plan]) -> None:
    creates = [p for p in plans if p.outcome.action == "created"]
    updates = [p for p in plans if p.outcome.action == "updated"]
    if creates:
        _write_creates(uow, creates)
    for plan in updates:
        _write_update(uow, plan)
    changed = {p.existing["id"]: p.custom for p in updates if p.existing and "custom_fields" in p.changes}
    custom.write_values_many(uow, kind="item", checked=changed)


def _write_creates(uow: UnitOfWork, plans: list[_Plan]) -> None:
    now = uow.now()
    items, barcodes, divisions, parts = [], [], [], []
    for plan in plans:
        values = {**DEFAULTS, **plan.row.values}
        hs_code, country = plan.customs
        item_id = plan.item_id
        assert item_id is not None
        sku = plan.row.sku.strip()
        items.append(
            {
                "id": item_id,
                "sku": sku,
                "sku_key": rules.sku_key(sku),
                "name": values["name"].strip(),
                "description": values["description"],
                "kind": values["kind"],
                "status": values["status"],
                "tax_class": values["tax_class"],
                "weight_g": values["weight_g"],
                "length_mm": values["length_mm"],
                "width_mm": values["width_mm"],
                "height_mm": values["height_mm"],
                "default_vendor_id": None,
                "style_id": None,
                "variant": None,
                "personalization_template": values["personalization_template"],
                "category": plan.category,
                "backorderable": values["backorderable"],
                "hs_code": hs_code,
                "country_of_origin": country,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
        )
        barcodes += [{"gtin": gtin, "item_id": item_id} for gtin in plan.gtins]
        divisions += [{"item_id": item_id, "division": code} for code in plan.divisions]
        parts += [{"kit_id": item_id, "component_id": c, "quantity": q} for c, q in plan.parts]
        snapshot = {
            "sku": sku,
            "name": values["name"].strip(),
            "kind": values["kind"],
            "status": values["status"],
            "divisions": plan.divisions,
            "barcodes": plan.gtins,
            "backorderable": values["backorderable"],
            "category": plan.category,
        }
        after = dict(snapshot)
        if plan.custom:  # as create_item audits them
            after["custom_fields"] = custom.shown(uow, kind="item", checked=plan.custom)
        uow.audit("item.created", object_type="item", object_id=str(item_id), after=after)
        uow.emit("item.created", {"id": str(item_id), **snapshot})
    uow.insert_many(ItemRow, items)
    for table, batch in ((ItemBarcodeRow, barcodes), (ItemDivisionRow, divisions), (KitComponentRow, parts)):
        uow.insert_many(table, batch)
    custom.write_values_many(
        uow, kind="item", checked={p.item_id: p.custom for p in plans if p.item_id is not None}, new=True
    )


def _write_update(uow: UnitOfWork, plan: _Plan) -> None:
    existing = plan.existing
    assert existing is not None
    item_id = existing["id"]
    columns = {k: v for k, v in plan.changes.items() if k in UPDATABLE}
    table = cast(sa.Table, ItemRow.__table__)
    uow.execute_core(
        sa.update(table)
        .where(table.c.id == item_id)
        .values(**columns, version=table.c.version + 1, updated_at=uow.now())
    )
    if "divisions" in plan.changes:
        uow.execute_core(sa.delete(ItemDivisionRow).where(ItemDivisionRow.item_id == item_id))
        if plan.divisions:
            uow.execute_core(
                sa.insert(ItemDivisionRow.__table__),  # type: ignore[arg-type]
                [{"item_id": item_id, "division": code} for code in plan.divisions],
            )
    if "barcodes" in plan.changes:
        uow.execute_core(sa.delete(ItemBarcodeRow).where(ItemBarcodeRow.item_id == item_id))
        if plan.gtins:
            uow.execute_core(
                sa.insert(ItemBarcodeRow.__table__),  # type: ignore[arg-type]
                [{"gtin": gtin, "item_id": item_id} for gtin in plan.gtins],
            )
    uow.audit(
        "item.updated", object_type="item", object_id=str(item_id), before=plan.before, after=plan.changes
    )
    uow.emit("item.updated", {"id": str(item_id), "sku": existing["sku"], "changed": sorted(plan.changes)})

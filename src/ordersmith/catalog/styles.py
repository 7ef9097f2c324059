"""Styles: one product in a matrix of variants (size x colour …), each variant its own SKU.

Invariants: every combination of the style's axis values has exactly one item; adding an axis value adds the new
combinations' items; a variant is discontinued on its own (the item's status), never by changing the style.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ordersmith.catalog import rules, service
from ordersmith.catalog.tables import ItemRow, StyleRow
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.platform.db import UnitOfWork, use_case


@dataclass(frozen=True)
class Variant:
    sku: str
    values: dict[str, str]
    status: str


@dataclass(frozen=True)
class Style:
    id: uuid.UUID
    code: str
    name: str
    axes: list[tuple[str, list[str]]]
    divisions: list[str]
    category: str | None
    created_at: datetime
    variants: list[Variant]


def _axes(row: StyleRow) -> list[tuple[str, list[str]]]:
    return [(a["name"], list(a["values"])) for a in row.axes]


def _style(uow: UnitOfWork, row: StyleRow) -> Style:
    items = uow.session.execute(
        sa.select(ItemRow.sku, ItemRow.variant, ItemRow.status)
        .where(ItemRow.style_id == row.id)
        .order_by(ItemRow.sku)
    ).all()
    variants = [Variant(sku=r.sku, values=dict(r.variant or {}), status=r.status) for r in items]
    return Style(id=row.id, code=row.code, name=row.name, axes=_axes(row), divisions=list(row.divisions),
                 category=row.category, created_at=row.created_at, variants=variants)  # fmt: skip


def _add_variants(uow: UnitOfWork, row: StyleRow, combos: list[dict[str, str]]) -> None:
    order = [name for name, _ in _axes(row)]
    for combo in combos:
        label = " / ".join(combo[axis] for axis in order)
        service.create_item(uow, sku=rules.variant_sku(row.code, combo, order), name=f"{row.name} — {label}",
                            kind="stocked", tax_class=row.tax_class, divisions=list(row.divisions), style_id=row.id,
                            variant=combo, category=row.category)  # fmt: skip


@use_case
def create_style(
    uow: UnitOfWork, *, code: str, name: str, axes: list[tuple[str, list[str]]], divisions: list[str],
    tax_class: str = "standard", category: str | None = None,
) -> Style:  # fmt: skip
    """Create a style and one stocked item per combination of its axis values (SKU `CODE-VALUE-VALUE`), all in
    `category` when given.

    Raises:
        ValidationFailed: no axes, a repeated axis or value, a value that cannot be part of a SKU, or an unknown
            or inactive category.
        AlreadyExists: the style code, or a generated SKU, is taken.
    """
    try:
        rules.check_axes(axes)
    except ValueError as exc:
        raise ValidationFailed.on("axes", str(exc)) from exc
    row = StyleRow(id=new_id(), code=code.upper(), name=name.strip(),
                   axes=[{"name": n, "values": v} for n, v in axes], divisions=sorted(set(divisions)),
                   tax_class=tax_class, category=service.assignable_category(uow, category),
                   created_at=uow.now(), version=1)  # fmt: skip
    uow.insert_unique(StyleRow, row, f"style {code!r} exists")
    uow.audit(
        "style.created",
        object_type="style",
        object_id=str(row.id),
        after={"code": row.code, "axes": row.axes, "category": row.category},
    )
    _add_variants(uow, row, rules.variants(axes))
    return _style(uow, row)


def _row(uow: UnitOfWork, code: str) -> StyleRow:
    row = uow.session.scalar(sa.select(StyleRow).where(StyleRow.code == code.upper()).with_for_update())
    if row is None:
        raise NotFound(f"no style {code!r}")
    return row


@use_case
def add_axis_value(uow: UnitOfWork, *, code: str, axis: str, value: str) -> Style:
    """Add a value to one axis (a new size, a new colour) and create the variants it makes."""
    row = _row(uow, code)
    axes = _axes(row)
    if axis not in [name for name, _ in axes]:
        raise ValidationFailed.on("axis", f"style {row.code} has no axis {axis!r}")
    updated = [(name, [*values, value] if name == axis else values) for name, values in axes]
    try:
        rules.check_axes(updated)
    except ValueError as exc:
        raise ValidationFailed.on("value", str(exc)) from exc
    row.axes = [{"name": n, "values": v} for n, v in updated]
    row.version += 1
    new_combos = [combo for combo in rules.variants(updated) if combo[axis] == value]
    uow.audit("style.axis_value_added", object_type="style", object_id=str(row.id),
              after={"axis": axis, "value": value})  # fmt: skip
    _add_variants(uow, row, new_combos)
    return _style(uow, row)


@use_case(readonly=True)
def get_style(uow: UnitOfWork, *, code: str) -> Style:
    row = uow.session.scalar(sa.select(StyleRow).where(StyleRow.code == code.upper()))
    if row is None:
        raise NotFound(f"no style {code!r}")
    return _style(uow, row)

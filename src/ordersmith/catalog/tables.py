"""Catalog tables: divisions (a small reference table), items and their barcodes and division memberships."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ordersmith.platform.db import Base


class DivisionRow(Base):
    __tablename__ = "divisions"

    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)


class CategoryRow(Base):
    """A merchandise category (Kitchen, Apparel > Tops > Tees): a tree of codes that items and styles belong to.
    `path` is the codes from the root down, joined by '/' (`APPAREL/TOPS/TEES`), so "a category and everything
    under it" is one comparison of paths."""

    __tablename__ = "categories"
    __table_args__ = (sa.Index("ix_categories_parent", "parent_code"),)

    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)  # upper-cased
    name: Mapped[str] = mapped_column(sa.String(200))
    parent_code: Mapped[str | None] = mapped_column(sa.ForeignKey("categories.code"))
    path: Mapped[str] = mapped_column(sa.String(250), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)


class ItemRow(Base):
    __tablename__ = "items"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(sa.String(64))
    sku_key: Mapped[str] = mapped_column(sa.String(64), unique=True)  # upper-cased: SKUs are case-insensitive
    name: Mapped[str] = mapped_column(sa.String(300))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    kind: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(20))
    tax_class: Mapped[str] = mapped_column(sa.String(40))
    weight_g: Mapped[int | None]
    length_mm: Mapped[int | None]
    width_mm: Mapped[int | None]
    height_mm: Mapped[int | None]
    hs_code: Mapped[str | None] = mapped_column(sa.String(12))  # customs tariff number (Harmonized System)
    country_of_origin: Mapped[str | None] = mapped_column(sa.String(2))  # ISO 3166-1 alpha-2
    default_vendor_id: Mapped[uuid.UUID | None]  # purchasing's vendor; no foreign key across contexts
    style_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("styles.id"), index=True)
    variant: Mapped[dict[str, str] | None] = mapped_column(sa.JSON)  # e.g. {"size": "M", "colour": "Navy"}
    personalization_template: Mapped[str | None] = mapped_column(sa.String(60))  # a template's code
    # The merchandise category; a style's variants hold their style's (kept equal when the style's changes)
    category: Mapped[str | None] = mapped_column(sa.ForeignKey("categories.code"), index=True)
    # May an order take more than is in stock (the rest waits for a receipt)? Off: such an order is refused.
    backorderable: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)


class ItemBarcodeRow(Base):
    __tablename__ = "item_barcodes"

    gtin: Mapped[str] = mapped_column(sa.String(14), primary_key=True)
    item_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("items.id", ondelete="CASCADE"), index=True)


class ItemDivisionRow(Base):
    __tablename__ = "item_divisions"

    item_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    division: Mapped[str] = mapped_column(sa.ForeignKey("divisions.code"), primary_key=True)


class PersonalizationTemplateRow(Base):
    __tablename__ = "personalization_templates"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(60), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    currency: Mapped[str] = mapped_column(sa.String(3))
    non_returnable: Mapped[bool] = mapped_column(default=False)
    # Field definitions; surcharges in integer minor units of `currency`.
    fields: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)


class KitComponentRow(Base):
    __tablename__ = "kit_components"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="ck_kit_component_positive"),)

    kit_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    component_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("items.id"), primary_key=True)
    quantity: Mapped[int]


class StyleRow(Base):
    __tablename__ = "styles"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    # [{"name": "size", "values": ["S", "M"]}, {"name": "colour", "values": ["Navy"]}], in display order
    axes: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    divisions: Mapped[list[str]] = mapped_column(sa.JSON)
    category: Mapped[str | None] = mapped_column(sa.ForeignKey("categories.code"), index=True)
    tax_class: Mapped[str] = mapped_column(sa.String(40))
    created_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)

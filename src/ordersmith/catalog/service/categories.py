"""Merchandise categories: the tree (department > class > subclass …) items and styles belong to, and setting an
item's or a style's category.

Invariants: a category's `path` is its parent's path and its own code (`APPAREL/TOPS`), so moving a category moves
its whole subtree in one statement and no category is ever its own ancestor; a style's variants always hold the
style's category (an item of a style takes no category of its own); only an active category is given to an item or
a style, while one made inactive stays on the items that have it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast

import sqlalchemy as sa

from ordersmith.catalog import rules
from ordersmith.catalog.service._common import Item, _item, _row_by_sku
from ordersmith.catalog.tables import CategoryRow, ItemRow, StyleRow
from ordersmith.kernel.errors import NotFound, PreconditionFailed, ValidationFailed
from ordersmith.platform.db import UnitOfWork, use_case

_CATEGORIES = cast(sa.Table, CategoryRow.__table__)
_TREE_LOCK = {
    "space": 190_063,
    "key": 1,
}  # PostgreSQL advisory lock: one writer of the tree's shape (ADR 0063)
_ITEMS = cast(sa.Table, ItemRow.__table__)


class _Keep:
    """`update_category`'s "parent not given" (None moves the category to the top of the tree)."""


KEEP: Final = _Keep()


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    parent: str | None
    path: str
    active: bool
    created_at: datetime
    updated_at: datetime
    version: int

    @property
    def depth(self) -> int:
        """0 for a top-level category."""
        return self.path.count("/")


def _category(row: CategoryRow) -> Category:
    return Category(
        row.code, row.name, row.parent_code, row.path, row.active, row.created_at, row.updated_at, row.version
    )


def _code(text: str, field: str) -> str:
    try:
        return rules.category_code(text)
    except ValueError as exc:
        raise ValidationFailed.on(field, str(exc)) from exc


def _name(text: str) -> str:
    name = text.strip()
    if not 1 <= len(name) <= 200 or "\x00" in name:
        raise ValidationFailed.on("name", "1 to 200 characters")
    return name


def _hold_the_tree(uow: UnitOfWork) -> None:
    """Make this transaction the tree's only shaper until it ends, before any path is read. Paths are computed from
    other rows' paths (a child's from its parent's, a moved subtree's from its new parent's), so two moves, or a move
    and a child added under the subtree, would each write paths from what the other is changing — a cycle, or a
    path that is not its parent's. SQLite's writer lock already serializes them; on PostgreSQL a transaction-level
    advisory lock does (the tree is reference data: its writes are rare)."""
    if uow.dialect == "postgresql":
        uow.execute_core(sa.text("SELECT pg_advisory_xact_lock(:space, :key)"), _TREE_LOCK)


def _row(uow: UnitOfWork, code: str, *, lock: bool = False) -> CategoryRow:
    if not isinstance(code, str) or "\x00" in code or len(code) > 40:
        raise NotFound(f"no category {code!r}")
    query = sa.select(CategoryRow).where(CategoryRow.code == code.upper())
    row = uow.session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(f"no category {code!r}")
    return row


def assignable(uow: UnitOfWork, code: str | None, field: str = "category") -> str | None:
    """The stored code of a category an item or style may be given (it exists and is active), or None for none.
    Raises ValidationFailed naming `field`."""
    if code is None:
        return None
    wanted = _code(code, field)
    active = uow.session.scalar(sa.select(CategoryRow.active).where(CategoryRow.code == wanted))
    if active is None:
        raise ValidationFailed.on(field, f"no category {code!r}")
    if not active:
        raise ValidationFailed.on(field, f"category {wanted} is inactive")
    return wanted


def under(codes: list[str]) -> sa.Select[Any]:
    """The codes of the categories `codes` name and every category below them (a subquery: unknown codes match
    nothing)."""
    wanted = _CATEGORIES.alias("wanted")
    return (
        sa.select(_CATEGORIES.c.code)
        .select_from(_CATEGORIES.join(wanted, sa.true()))
        .where(
            wanted.c.code.in_([c.upper() for c in codes]),
            sa.or_(
                _CATEGORIES.c.path == wanted.c.path,
                sa.func.substr(_CATEGORIES.c.path, 1, sa.func.length(wanted.c.path) + 1)
                == wanted.c.path + "/",
            ),
        )
    )


@use_case(readonly=True)
def category_subtrees(uow: UnitOfWork, *, codes: Sequence[str]) -> dict[str, list[str]]:
    """For each code named (upper-cased) that is a category, the codes of it and of every category below it, in
    code order (one read of the small tree); an unknown code has no entry."""
    wanted = sorted({c.upper() for c in codes if isinstance(c, str) and "\x00" not in c})
    if not wanted:
        return {}
    rows = list(uow.execute_core(sa.select(_CATEGORIES.c.code, _CATEGORIES.c.path)).tuples())
    paths = {code: path for code, path in rows}
    return {
        code: sorted(other for other, path in rows if rules.is_under(path, paths[code]))
        for code in wanted
        if code in paths
    }


@use_case
def create_category(uow: UnitOfWork, *, code: str, name: str, parent: str | None = None) -> Category:
    """Add a category, at the top of the tree or under `parent`.

    Raises:
        ValidationFailed: a malformed code or name, an unknown parent, or one level too deep (an inactive parent
            may hold categories: inactive means given to no more items).
        AlreadyExists: the code is taken (in any letter case).
    """
    stored, name = _code(code, "code"), _name(name)
    parent_path = None
    _hold_the_tree(uow)
    if parent is not None:
        parent_row = uow.session.scalar(
            sa.select(CategoryRow).where(CategoryRow.code == _code(parent, "parent"))
        )
        if parent_row is None:
            raise ValidationFailed.on("parent", f"no category {parent!r}")
        parent_path = parent_row.path
    try:
        path = rules.category_path(parent_path, stored)
    except ValueError as exc:
        raise ValidationFailed.on("parent", str(exc)) from exc
    now = uow.now()
    parent_code = parent.upper() if parent else None
    row = CategoryRow(
        code=stored,
        name=name,
        parent_code=parent_code,
        path=path,
        active=True,
        created_at=now,
        updated_at=now,
    )
    row.version = 1
    uow.insert_unique(CategoryRow, row, f"category {stored!r} exists")
    after = {"name": name, "parent": parent_code}
    uow.audit("category.created", object_type="category", object_id=stored, after=after)
    return _category(row)


@use_case
def update_category(
    uow: UnitOfWork,
    *,
    code: str,
    version: int | None = None,
    name: str | None = None,
    parent: str | _Keep | None = KEEP,
    active: bool | None = None,
) -> Category:
    """Rename a category, move it (with everything below it) under another parent or to the top (`parent=None`),
    or make it inactive (no item or style is given it any more; those that have it keep it) or active again.

    Raises:
        NotFound: no such category. PreconditionFailed: `version` (If-Match) is not the current one.
        ValidationFailed: a malformed name, an unknown parent, a parent below the category itself, or a subtree
            that would nest too deep.
    """
    _hold_the_tree(
        uow
    )  # every change of the tree in one order: the tree, then the row (no deadlock with a move)
    row = _row(uow, code, lock=True)
    if version is not None and version != row.version:
        raise PreconditionFailed(f"category {row.code} is at version {row.version}", version=row.version)
    before = {"name": row.name, "parent": row.parent_code, "active": row.active}
    if name is not None:
        row.name = _name(name)
    if active is not None:
        row.active = active
    if not isinstance(parent, _Keep):
        _move(uow, row, parent)
    after = {"name": row.name, "parent": row.parent_code, "active": row.active}
    if after != before:
        row.version += 1
        row.updated_at = uow.now()
        uow.session.flush()
        uow.audit("category.updated", object_type="category", object_id=row.code, before=before, after=after)
    return _category(row)


def _move(uow: UnitOfWork, row: CategoryRow, parent: str | None) -> None:
    new_parent = None if parent is None else _code(parent, "parent")
    if new_parent == row.parent_code:
        return
    parent_path = None
    if new_parent is not None:
        parent_row = uow.session.scalar(sa.select(CategoryRow).where(CategoryRow.code == new_parent))
        if parent_row is None:
            raise ValidationFailed.on("parent", f"no category {parent!r}")
        if rules.is_under(parent_row.path, row.path):
            raise ValidationFailed.on("parent", f"{parent_row.code} is {row.code} itself or below it")
        parent_path = parent_row.path
    old_path = row.path
    uow.session.flush()  # the name and state set before go first
    subtree = sa.or_(
        _CATEGORIES.c.path == old_path,
        sa.func.substr(_CATEGORIES.c.path, 1, len(old_path) + 1) == old_path + "/",
    )
    paths = list(uow.execute_core(sa.select(_CATEGORIES.c.code, _CATEGORIES.c.path).where(subtree)).tuples())
    try:
        new_path = rules.category_path(parent_path, row.code)
        moved = {code: rules.moved_path(path, old_path, new_path) for code, path in paths}
    except ValueError as exc:
        raise ValidationFailed.on("parent", str(exc)) from exc
    # A path ends in its own code and codes are unique, so no new path is another category's old one: one pass.
    # The categories below change path (and depth) too: each gets a new version, as its ETag must say
    below = [{"c": code, "p": path} for code, path in moved.items() if code != row.code]
    if below:
        uow.execute_core(
            sa.update(_CATEGORIES)
            .where(_CATEGORIES.c.code == sa.bindparam("c"))
            .values(path=sa.bindparam("p"), version=_CATEGORIES.c.version + 1, updated_at=uow.now()),
            below,
        )
    row.path = moved[row.code]  # the row's own version moves with the use case's other changes
    row.parent_code = new_parent


@use_case(readonly=True)
def get_category(uow: UnitOfWork, *, code: str) -> Category:
    """One category. Raises NotFound."""
    return _category(_row(uow, code))


@use_case(readonly=True)
def list_categories(uow: UnitOfWork, *, active: bool | None = None) -> list[Category]:
    """The whole tree in path order (each category right after its parent): a small reference table."""
    query = sa.select(CategoryRow)
    if active is not None:
        query = query.where(CategoryRow.active.is_(active))
    # by the codes down the path, not the path's text ('-' sorts before '/'; a collation may skip both)
    return sorted((_category(row) for row in uow.session.scalars(query)), key=lambda c: c.path.split("/"))


@use_case
def set_item_category(uow: UnitOfWork, *, sku: str, category: str | None) -> Item:
    """Put an item in a category (None: in none). A style's variant takes its style's (`set_style_category`).

    Raises:
        NotFound: no such item. ValidationFailed: an unknown or inactive category, or the item is a variant.
    """
    row = _row_by_sku(uow, sku)
    if row.style_id is not None:
        style = uow.session.scalar(sa.select(StyleRow.code).where(StyleRow.id == row.style_id))
        raise ValidationFailed.on(
            "category", f"{row.sku} is a variant of style {style}: it takes its style's category"
        )
    unchanged = category is not None and category.upper() == row.category
    stored = row.category if unchanged else assignable(uow, category)  # an inactive one it has stays
    if stored != row.category:
        before = row.category
        row.category = stored
        row.version += 1
        row.updated_at = uow.now()
        change = ({"category": before}, {"category": stored})
        uow.audit(
            "item.category_changed",
            object_type="item",
            object_id=str(row.id),
            before=change[0],
            after=change[1],
        )
        uow.emit("item.updated", {"id": str(row.id), "sku": row.sku, "changed": ["category"]})
    return _item(uow, row)


@use_case
def set_style_category(uow: UnitOfWork, *, code: str, category: str | None) -> list[str]:
    """Put a style and every variant of it in a category (None: in none). Returns the variants' SKUs changed.

    Raises:
        NotFound: no such style. ValidationFailed: an unknown or inactive category.
    """
    query = sa.select(StyleRow).where(StyleRow.code == code.upper()).with_for_update()
    style = None if "\x00" in code else uow.session.scalar(query)
    if style is None:
        raise NotFound(f"no style {code!r}")
    unchanged = category is not None and category.upper() == style.category
    stored = style.category if unchanged else assignable(uow, category)  # an inactive one it has stays
    before = style.category
    style.category = stored
    if before != stored:
        style.version += 1
    variants = list(
        uow.execute_core(
            sa.select(_ITEMS.c.id, _ITEMS.c.sku).where(
                _ITEMS.c.style_id == style.id, _ITEMS.c.category.is_distinct_from(stored)
            )
        ).tuples()
    )
    if variants:
        uow.execute_core(
            sa.update(_ITEMS)
            .where(_ITEMS.c.id.in_([item_id for item_id, _ in variants]))
            .values(category=stored, version=_ITEMS.c.version + 1, updated_at=uow.now())
        )
        for item_id, sku in variants:
            uow.emit("item.updated", {"id": str(item_id), "sku": sku, "changed": ["category"]})
    if before != stored or variants:
        after = {"category": stored, "variants": len(variants)}
        uow.audit(
            "style.category_changed",
            object_type="style",
            object_id=str(style.id),
            before={"category": before},
            after=after,
        )
    return sorted(sku for _, sku in variants)

"""Merchandise categories on SQLite and PostgreSQL: the tree, moving a subtree, items and styles in categories."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.catalog import styles
from ordersmith.catalog.tables import CategoryRow, ItemRow, StyleRow
from ordersmith.kernel.errors import AlreadyExists, NotFound, PreconditionFailed, ValidationFailed
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.tables import AuditRow
from tests.builders import make_item


def _tree(uow: UnitOfWork) -> list[tuple[str, str | None, str, bool]]:
    return [(c.code, c.parent, c.path, c.active) for c in catalog.list_categories(uow)]


def _categories_of(db: Database) -> dict[str, str | None]:
    with db.session() as session:
        return dict(session.execute(sa.select(ItemRow.sku, ItemRow.category)).tuples().all())


def _apparel(uow: UnitOfWork) -> None:
    catalog.create_category(uow, code="apparel", name="Apparel")
    catalog.create_category(uow, code="TOPS", name="Tops", parent="APPAREL")
    catalog.create_category(uow, code="tees", name="Tees", parent="tops")
    catalog.create_category(uow, code="HOME", name="Home")
    catalog.create_category(uow, code="KITCHEN", name="Kitchen", parent="HOME")


def test_categories_form_a_tree_listed_each_after_its_parent(uow: UnitOfWork):
    # given
    _apparel(uow)
    catalog.create_category(uow, code="APPAREL-SALE", name="Apparel on sale")
    # when
    tree = _tree(uow)
    # then: codes upper-cased, paths from the top, each category right after its parent
    assert tree == [
        ("APPAREL", None, "APPAREL", True),
        ("TOPS", "APPAREL", "APPAREL/TOPS", True),
        ("TEES", "TOPS", "APPAREL/TOPS/TEES", True),
        ("APPAREL-SALE", None, "APPAREL-SALE", True),
        ("HOME", None, "HOME", True),
        ("KITCHEN", "HOME", "HOME/KITCHEN", True),
    ]
    assert catalog.get_category(uow, code="tees").depth == 2


def test_a_bad_category_is_refused_and_nothing_is_written(uow: UnitOfWork):
    # given
    _apparel(uow)
    before = _tree(uow)
    # when / then
    with pytest.raises(AlreadyExists):
        catalog.create_category(uow, code="Tops", name="Tops again")
    with pytest.raises(ValidationFailed) as unknown:
        catalog.create_category(uow, code="SHOES", name="Shoes", parent="FOOTWEAR")
    assert unknown.value.errors[0].field == "parent"
    with pytest.raises(ValidationFailed) as malformed:
        catalog.create_category(uow, code="A/B", name="Slash")
    assert malformed.value.errors[0].field == "code"
    with pytest.raises(ValidationFailed) as blank:
        catalog.create_category(uow, code="BLANK", name="   ")
    assert blank.value.errors[0].field == "name"
    parent = "TEES"
    for level in range(3):  # TEES is the third level: three more make six, the deepest allowed
        catalog.create_category(uow, code=f"L{level}", name=f"Level {level}", parent=parent)
        parent = f"L{level}"
    with pytest.raises(ValidationFailed, match="at most 6 levels"):
        catalog.create_category(uow, code="L3", name="Too deep", parent=parent)
    # then
    assert [c[0] for c in _tree(uow)] == [c[0] for c in before[:3]] + ["L0", "L1", "L2"] + [
        c[0] for c in before[3:]
    ]


def test_moving_a_category_moves_everything_under_it(uow: UnitOfWork, db: Database):
    # given
    _apparel(uow)
    catalog.create_category(uow, code="ACCESSORIES", name="Accessories")
    version = catalog.get_category(uow, code="TOPS").version
    # when
    moved = catalog.update_category(
        uow, code="TOPS", version=version, parent="ACCESSORIES", name="Tops & tanks"
    )
    # then
    assert (moved.path, moved.name, moved.version) == ("ACCESSORIES/TOPS", "Tops & tanks", version + 1)
    assert catalog.get_category(uow, code="TEES").path == "ACCESSORIES/TOPS/TEES"
    # and to the top level
    top = catalog.update_category(uow, code="TEES", parent=None)
    assert (top.parent, top.path) == (None, "TEES")
    with db.session() as session:
        audited = session.scalars(
            sa.select(AuditRow.after).where(
                AuditRow.action == "category.updated", AuditRow.object_id == "TOPS"
            )
        ).all()
    assert audited == [{"name": "Tops & tanks", "parent": "ACCESSORIES", "active": True}]


def test_a_category_cannot_move_under_itself_and_a_refused_move_changes_nothing(uow: UnitOfWork):
    # given
    _apparel(uow)
    for level in range(3):
        catalog.create_category(
            uow, code=f"D{level}", name=f"Deep {level}", parent="TEES" if level == 0 else f"D{level - 1}"
        )
    before = _tree(uow)
    # when / then
    with pytest.raises(ValidationFailed, match="itself or below it"):
        catalog.update_category(uow, code="APPAREL", parent="TEES", name="Renamed")
    with pytest.raises(ValidationFailed, match="itself or below it"):
        catalog.update_category(uow, code="TOPS", parent="TOPS")
    with pytest.raises(ValidationFailed, match="at most 6 levels"):  # APPAREL's subtree is six deep already
        catalog.update_category(uow, code="APPAREL", parent="KITCHEN")
    with pytest.raises(PreconditionFailed):
        catalog.update_category(uow, code="TOPS", version=99, name="Stale")
    with pytest.raises(NotFound):
        catalog.update_category(uow, code="NOPE\x00", name="Nul")
    # then
    assert _tree(uow) == before
    assert catalog.get_category(uow, code="APPAREL").name == "Apparel"


def test_an_item_goes_in_a_category_and_an_inactive_one_is_given_to_no_more_items(
    uow: UnitOfWork, db: Database
):
    # given
    _apparel(uow)
    catalog.create_item(uow, sku="MUG-1", name="Mug", category="kitchen")
    make_item(uow, sku="PLATE-1")
    # when
    catalog.set_item_category(uow, sku="plate-1", category="KITCHEN")
    catalog.update_category(uow, code="KITCHEN", active=False)
    # then: the items keep it; none is given it any more
    assert catalog.get_item(uow, sku="MUG-1").category == "KITCHEN"
    with pytest.raises(ValidationFailed, match="inactive") as refused:
        catalog.create_item(uow, sku="BOWL-1", name="Bowl", category="KITCHEN")
    assert refused.value.errors[0].field == "category"
    with pytest.raises(ValidationFailed, match="no category"):
        catalog.set_item_category(uow, sku="MUG-1", category="GARDEN")
    assert _categories_of(db) == {"MUG-1": "KITCHEN", "PLATE-1": "KITCHEN"}
    # and out of any category
    assert catalog.set_item_category(uow, sku="MUG-1", category=None).category is None


def test_a_styles_variants_take_its_category_and_follow_it(uow: UnitOfWork, db: Database):
    # given
    _apparel(uow)
    style = styles.create_style(
        uow, code="OXF", name="Oxford", axes=[("size", ["S", "M"])], divisions=["web"], category="tees"
    )
    assert style.category == "TEES"
    assert _categories_of(db) == {"OXF-S": "TEES", "OXF-M": "TEES"}
    # when: a new size, then the style moves to another category
    styles.add_axis_value(uow, code="OXF", axis="size", value="L")
    changed = catalog.set_style_category(uow, code="oxf", category="TOPS")
    # then
    assert changed == ["OXF-L", "OXF-M", "OXF-S"]
    assert _categories_of(db) == {"OXF-S": "TOPS", "OXF-M": "TOPS", "OXF-L": "TOPS"}
    assert styles.get_style(uow, code="OXF").category == "TOPS"
    # a variant takes no category of its own, and a refusal changes nothing
    with pytest.raises(ValidationFailed, match="variant of style OXF"):
        catalog.set_item_category(uow, sku="OXF-M", category="KITCHEN")
    assert catalog.set_style_category(uow, code="OXF", category="TOPS") == []
    with db.session() as session:
        assert session.scalar(sa.select(StyleRow.category)) == "TOPS"
        assert session.scalar(sa.select(ItemRow.version).where(ItemRow.sku == "OXF-M")) == 2


def test_items_of_a_category_include_those_of_the_categories_under_it(uow: UnitOfWork):
    # given
    _apparel(uow)
    catalog.create_item(uow, sku="TEE-1", name="Tee", category="TEES")
    catalog.create_item(uow, sku="TOP-1", name="Top", category="TOPS")
    catalog.create_item(uow, sku="MUG-1", name="Mug", category="KITCHEN")
    make_item(uow, sku="LOOSE-1")
    # when
    apparel = catalog.list_items(uow, category="apparel")
    tees = catalog.list_items(uow, category="TEES")
    unknown = catalog.list_items(uow, category="GARDEN")
    # then
    assert [i.sku for i in apparel.items] == ["TEE-1", "TOP-1"]
    assert [i.sku for i in tees.items] == ["TEE-1"]
    assert unknown.items == []


def test_the_category_table_keeps_paths_unique(db: Database, uow: UnitOfWork):
    # given
    _apparel(uow)
    row = {"code": "OTHER", "name": "x", "parent_code": None, "path": "HOME", "active": True,
           "created_at": uow.now(), "updated_at": uow.now(), "version": 1}  # fmt: skip
    # then: the database itself refuses a second row on a path (the invariant moves rely on)
    with db.session() as session, pytest.raises(sa.exc.IntegrityError):
        session.execute(sa.insert(CategoryRow.__table__).values(**row))


def test_an_inactive_category_stays_with_what_has_it_and_may_still_hold_categories(uow: UnitOfWork):
    # given a style and an item in a category then made inactive
    _apparel(uow)
    styles.create_style(
        uow, code="OXF", name="Oxford", axes=[("size", ["S"])], divisions=["web"], category="TEES"
    )
    catalog.create_item(uow, sku="TEE-1", name="Tee", category="TEES")
    catalog.update_category(uow, code="TEES", active=False)
    # when a size is added, the same category is set again, and a category is added under it
    grown = styles.add_axis_value(uow, code="OXF", axis="size", value="M")
    again = catalog.set_item_category(uow, sku="TEE-1", category="tees")
    catalog.set_style_category(uow, code="OXF", category="TEES")
    under = catalog.create_category(uow, code="VNECK", name="V-neck", parent="TEES")
    # then the new variant takes the style's category, nothing is refused, and the tree holds the new one
    assert [v.sku for v in grown.variants] == ["OXF-M", "OXF-S"]
    assert catalog.get_item(uow, sku="OXF-M").category == "TEES"
    assert (again.category, again.version) == ("TEES", 1)
    assert under.path == "APPAREL/TOPS/TEES/VNECK"


def test_a_moved_subtree_gives_every_category_in_it_a_new_version(uow: UnitOfWork):
    # given
    _apparel(uow)
    versions = {c.code: c.version for c in catalog.list_categories(uow)}
    # when TOPS moves under HOME
    catalog.update_category(uow, code="TOPS", parent="HOME")
    # then TOPS and TEES (whose paths changed) are a version on; the others are as they were
    after = {c.code: c.version for c in catalog.list_categories(uow)}
    assert {code for code in after if after[code] != versions[code]} == {"TOPS", "TEES"}
    assert after["TEES"] == versions["TEES"] + 1

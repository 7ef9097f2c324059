"""The import kinds beyond items, customers, stock and prices, on SQLite and PostgreSQL: styles, vendor items, new
price lists, open purchase orders and historical orders. Each: a dry run that writes nothing, row errors naming
row and column, an all-or-nothing import that leaves nothing on a bad row, and an apply through the use cases."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.catalog import styles
from ordersmith.data.exports import service as exports
from ordersmith.data.imports import service as imports
from ordersmith.data.imports import templates
from ordersmith.kernel.money import Money
from ordersmith.platform import jobs
from ordersmith.platform.db import Actor, Database
from ordersmith.pricing import service as pricing
from ordersmith.purchasing import service as purchasing
from tests.builders import make_channel, make_location, make_vendor

ACTOR = Actor.system("importer", origin="pytest")
MAX = 10_000_000


@pytest.fixture(autouse=True)
def _jobs() -> None:
    imports.register()


def run_jobs(db: Database) -> None:
    while jobs.run_due_jobs(db, worker="test"):
        pass


def upload(db: Database, kind: str, data: bytes | str, **options: object) -> imports.Import:
    raw = data.encode() if isinstance(data, str) else data
    return imports.upload(
        db, ACTOR, kind=kind, file_name=f"{kind}.csv", source=io.BytesIO(raw), max_bytes=MAX, **options
    )  # type: ignore[arg-type]


def count(db: Database, table: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def errors_of(db: Database, imported: imports.Import) -> list[tuple[int, str | None, str]]:
    return [(e.row_number, e.column, e.reason) for e in imports.all_row_errors(db, import_id=imported.id)]


def state(db: Database, imported: imports.Import) -> imports.Import:
    return imports.get_import(db.unit_of_work(ACTOR), import_id=imported.id)


def xlsx(rows: list[list[object]]) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


# --- styles ---------------------------------------------------------------------------------------------------


def test_a_styles_import_creates_each_variant_and_grows_an_existing_style_by_its_new_values(
    db: Database,
) -> None:
    # given a style with sizes S and M
    uow = db.unit_of_work(ACTOR)
    styles.create_style(uow, code="TEE", name="Tee", axes=[("size", ["S", "M"])], divisions=[])
    data = (
        "style,name,axis_1,values_1,axis_2,values_2\n"
        "OXF,Oxford shirt,size,S|M,colour,navy|white\nTEE,Tee,size,S|M|L,,\n"
    )
    # when dry-run
    imported = upload(db, "styles", data)
    run_jobs(db)
    # then the diff is counted and nothing is written
    found = state(db, imported)
    assert (found.status, found.to_create, found.to_update, found.invalid_rows) == ("validated", 1, 1, 0)
    assert count(db, "styles") == 1
    assert count(db, "items") == 2
    # when applied
    imports.request_apply(uow, import_id=imported.id)
    run_jobs(db)
    # then
    assert state(db, imported).status == "applied"
    oxford = styles.get_style(uow, code="OXF")
    assert sorted(v.sku for v in oxford.variants) == [
        "OXF-M-NAVY",
        "OXF-M-WHITE",
        "OXF-S-NAVY",
        "OXF-S-WHITE",
    ]
    assert sorted(v.sku for v in styles.get_style(uow, code="TEE").variants) == ["TEE-L", "TEE-M", "TEE-S"]


def test_a_styles_file_with_a_bad_row_applies_nothing_and_names_row_and_column(db: Database) -> None:
    uow = db.unit_of_work(ACTOR)
    styles.create_style(uow, code="TEE", name="Tee", axes=[("size", ["S", "M"])], divisions=[])
    data = xlsx(
        [
            ["Style", "Name", "Axis 1", "Values 1"],
            ["OXF", "Oxford shirt", "size", "S|M"],
            ["TEE", "Tee", "size", "M"],
            ["JKT", "Jacket", "Size", "S"],
        ]
    )
    imported = upload(db, "styles", data, apply=True)
    run_jobs(db)
    assert errors_of(db, imported) == [
        (3, "values_1", "an import cannot remove S from size"),
        (4, "axis_1", "String should match pattern '^[a-z][a-z0-9_]{0,29}$'"),
    ]
    assert state(db, imported).status == "validated"
    assert (count(db, "styles"), count(db, "items")) == (1, 2)


# --- categories on items and styles -----------------------------------------------------------------------------


def _categories_of(db: Database) -> dict[str, str | None]:
    with db.engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT sku, category FROM items")).tuples().all())


def test_items_and_styles_files_put_items_in_categories_and_a_style_carries_its_variants(
    db: Database, tmp_path: Path
) -> None:
    # given a tree, a plain item and a style in no category
    uow = db.unit_of_work(ACTOR)
    catalog.create_category(uow, code="HOME", name="Home")
    catalog.create_category(uow, code="KITCHEN", name="Kitchen", parent="HOME")
    catalog.create_category(uow, code="TOPS", name="Tops")
    catalog.create_item(uow, sku="MUG-1", name="Mug")
    styles.create_style(uow, code="TEE", name="Tee", axes=[("size", ["S", "M"])], divisions=[])
    # when an items file moves the mug and adds a plate (codes in any case), and a styles file files the tee
    items = upload(db, "items", "sku,name,category\nMUG-1,Mug,kitchen\nPLATE-1,Plate,HOME\n", apply=True)
    tees = upload(db, "styles", "style,name,axis_1,values_1,category\nTEE,Tee,size,S|M|L,tops\n", apply=True)
    run_jobs(db)
    # then
    assert (state(db, items).status, state(db, items).created_count, state(db, items).updated_count) == (
        "applied", 1, 1)  # fmt: skip
    assert state(db, tees).status == "applied"
    assert _categories_of(db) == {
        "MUG-1": "KITCHEN", "PLATE-1": "HOME", "TEE-S": "TOPS", "TEE-M": "TOPS", "TEE-L": "TOPS",
    }  # fmt: skip
    assert styles.get_style(uow, code="TEE").category == "TOPS"
    assert [i.sku for i in catalog.list_items(uow, category="HOME").items] == ["MUG-1", "PLATE-1"]
    # and the items export carries each item's category (what an items file reads back)
    exports.stream_to_file(db, kind="items", format="csv", filters={}, path=tmp_path / "items.csv")
    with (tmp_path / "items.csv").open(newline="", encoding="utf-8") as handle:
        exported = {row["sku"]: row["category"] for row in csv.DictReader(handle)}
    assert exported == {
        "MUG-1": "KITCHEN",
        "PLATE-1": "HOME",
        "TEE-L": "TOPS",
        "TEE-M": "TOPS",
        "TEE-S": "TOPS",
    }


def test_an_unknown_inactive_or_variant_category_in_a_file_names_row_and_column_and_applies_nothing(
    db: Database,
) -> None:
    # given
    uow = db.unit_of_work(ACTOR)
    catalog.create_category(uow, code="HOME", name="Home")
    catalog.create_category(uow, code="OLD", name="Old")
    catalog.update_category(uow, code="OLD", active=False)
    catalog.create_item(uow, sku="MUG-1", name="Mug", category="HOME")
    styles.create_style(uow, code="TEE", name="Tee", axes=[("size", ["S"])], divisions=[])
    before = _categories_of(db)
    data = (
        "sku,name,category\nMUG-1,Mug,GARDEN\nBOWL-1,Bowl,OLD\nTEE-S,Tee,HOME\nCUP-1,Cup,HOME\n"
        "SAUCER-1,Saucer,A/B\n"
    )
    # when applied all or nothing
    imported = upload(db, "items", data, apply=True)
    run_jobs(db)
    # then
    assert errors_of(db, imported) == [
        (2, "category", "no active category 'GARDEN'"),
        (3, "category", "no active category 'OLD'"),
        (4, "category", "TEE-S is a variant of a style: it takes its style's category"),
        (6, "category", "String should match pattern '^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$'"),
    ]
    assert state(db, imported).status == "validated"
    assert _categories_of(db) == before
    # and a styles file naming an unknown category creates no style
    refused = upload(
        db, "styles", "style,name,axis_1,values_1,category\nOXF,Oxford,size,S,NOPE\n", apply=True
    )
    run_jobs(db)
    assert errors_of(db, refused) == [(2, "category", "no category 'NOPE'")]
    assert (count(db, "styles"), _categories_of(db)) == (1, before)


def _tree(db: Database) -> list[tuple[str, str | None, str, bool]]:
    return [(c.code, c.parent, c.path, c.active) for c in catalog.list_categories(db.unit_of_work(ACTOR))]


def test_a_categories_file_builds_the_tree_in_file_order_and_moves_an_existing_category(db: Database) -> None:
    # given an old tree: GIFTS at the top, MUGS under it
    uow = db.unit_of_work(ACTOR)
    catalog.create_category(uow, code="GIFTS", name="Gifts")
    catalog.create_category(uow, code="MUGS", name="Mugs", parent="GIFTS")
    data = (
        "code,name,parent,active\nhome,Home,,\nKITCHEN,Kitchen,HOME,\nMUGS,Mugs & cups,kitchen,\n"
        "GIFTS,Gifts,,false\n"
    )
    # when dry-run with chunks of one row (a parent made by an earlier chunk was rolled back), then applied
    imported = upload(db, "categories", data, chunk_rows=1)
    run_jobs(db)
    found = state(db, imported)
    assert (found.status, found.to_create, found.to_update, found.invalid_rows) == ("validated", 2, 2, 0)
    assert [c[0] for c in _tree(db)] == ["GIFTS", "MUGS"]
    imports.request_apply(uow, import_id=imported.id)
    run_jobs(db)
    # then MUGS moved under the new KITCHEN, renamed, and GIFTS is inactive
    assert state(db, imported).status == "applied"
    assert _tree(db) == [
        ("GIFTS", None, "GIFTS", False),
        ("HOME", None, "HOME", True),
        ("KITCHEN", "HOME", "HOME/KITCHEN", True),
        ("MUGS", "KITCHEN", "HOME/KITCHEN/MUGS", True),
    ]
    assert catalog.get_category(uow, code="MUGS").name == "Mugs & cups"


def test_the_categories_export_imports_back_and_an_item_keeps_an_inactive_category(
    db: Database, tmp_path: Path
) -> None:
    # given an inactive category holding another, and an item filed in the inactive one
    uow = db.unit_of_work(ACTOR)
    catalog.create_category(uow, code="OLD", name="Old")
    catalog.create_category(uow, code="OLDER", name="Older", parent="OLD")
    catalog.create_item(uow, sku="MUG-1", name="Mug", category="OLD")
    catalog.update_category(uow, code="OLD", active=False)
    tree = _tree(db)
    exports.stream_to_file(db, kind="categories", format="csv", filters={}, path=tmp_path / "categories.csv")
    files = {
        "categories": (tmp_path / "categories.csv").read_text(),
        "items": "sku,name,category\nMUG-1,Mug,old\n",
    }
    # when the categories export and an items file naming the item's own category are imported
    again = [upload(db, kind, files[kind], apply=True) for kind in ("categories", "items")]
    run_jobs(db)
    # then both apply (unchanged), and the item keeps its inactive category
    assert [(state(db, i).status, state(db, i).unchanged_count, errors_of(db, i)) for i in again] == [
        ("applied", 2, []), ("applied", 1, [])]  # fmt: skip
    assert _tree(db) == tree
    assert catalog.get_item(uow, sku="MUG-1").category == "OLD"


def test_a_dry_run_in_chunks_refuses_a_tree_too_deep_under_categories_an_earlier_chunk_made(
    db: Database,
) -> None:
    # given an existing category with a child (SHELF/BOOKS), and a file nesting seven new levels, then
    # moving SHELF (with BOOKS below it) under the deepest new one
    uow = db.unit_of_work(ACTOR)
    catalog.create_category(uow, code="SHELF", name="Shelf")
    catalog.create_category(uow, code="BOOKS", name="Books", parent="SHELF")
    before = _tree(db)
    chain = ["L1", "L2", "L3", "L4", "L5", "L6", "L7"]
    rows = [f"{code},{code},{chain[n - 1] if n else ''}" for n, code in enumerate(chain)]
    data = "code,name,parent\n" + "\n".join(rows) + "\nSHELF,Shelf,L5\n"
    # when dry-run one row a chunk (each parent made by an earlier chunk, rolled back since: a stand-in)
    imported = upload(db, "categories", data, chunk_rows=1)
    run_jobs(db)
    # then the seventh level and the move that would put BOOKS at the seventh are refused, as the apply refuses
    # them, naming the parent; nothing is written
    assert errors_of(db, imported) == [
        (8, "parent", "categories nest at most 6 levels deep"),
        (9, "parent", "categories nest at most 6 levels deep"),
    ]
    assert state(db, imported).status == "validated"
    assert _tree(db) == before
    # and the same file in one chunk is refused the same way
    whole = upload(db, "categories", data)
    run_jobs(db)
    assert errors_of(db, whole) == errors_of(db, imported)


def test_a_categories_file_with_a_bad_row_names_row_and_column_and_applies_nothing(db: Database) -> None:
    # given
    uow = db.unit_of_work(ACTOR)
    catalog.create_category(uow, code="HOME", name="Home")
    catalog.create_category(uow, code="KITCHEN", name="Kitchen", parent="HOME")
    before = _tree(db)
    data = "code,name,parent\nBATH,Bath,HOME\nHOME,Home,KITCHEN\nTOYS,Toys,GAMES\nGAMES,Games,\nA B,Spaces,\n"
    # when applied all or nothing
    imported = upload(db, "categories", data, apply=True)
    run_jobs(db)
    # then: a move under its own child, a parent that comes later in the file, a bad code
    assert errors_of(db, imported) == [
        (3, "parent", "KITCHEN is HOME itself or below it"),
        (4, "parent", "no category 'GAMES'"),
        (6, "code", "String should match pattern '^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$'"),
    ]
    assert state(db, imported).status == "validated"
    assert _tree(db) == before


# --- vendor items ---------------------------------------------------------------------------------------------


def test_vendor_items_set_cost_vendor_sku_and_lead_time_and_the_lead_time_dates_a_po_line(
    db: Database,
) -> None:
    uow = db.unit_of_work(ACTOR)
    make_location(uow, code="WH1")
    make_vendor(uow, code="ACME", lead_time_days=10)
    for sku in ("MUG-1", "TEA-2"):
        catalog.create_item(uow, sku=sku, name=sku)
    purchasing.set_vendor_item(
        uow, vendor="ACME", sku="TEA-2", vendor_sku="T2", cost=Money(Decimal("1.00"), "USD")
    )
    data = (
        "vendor,sku,vendor_sku,cost,min_order_qty,lead_time_days,preferred\n"
        "ACME,MUG-1,AC-1,3.20,24,21,yes\nacme,TEA-2,T2,1.00,,,\nACME,NOPE,X,1.00,,,\nACME,TEA-2,T3,-1,,,\n"
    )
    imported = upload(db, "vendor_items", data, mode="apply_valid")
    run_jobs(db)
    found = state(db, imported)
    assert (found.to_create, found.to_update, found.to_leave, found.invalid_rows) == (1, 0, 1, 2)
    assert errors_of(db, imported) == [
        (4, "sku", "no item with SKU 'NOPE'"),
        (5, "sku", "ACME/TEA-2 appears again in the file (first on row 3)"),
    ]
    assert [v.sku for v in purchasing.list_vendor_items(uow, vendor="ACME")] == ["TEA-2"]
    imports.request_apply(uow, import_id=imported.id, mode="apply_valid")
    run_jobs(db)
    mug = next(v for v in purchasing.list_vendor_items(uow, vendor="ACME") if v.sku == "MUG-1")
    assert (mug.vendor_sku, str(mug.cost.amount), mug.min_order_qty, mug.lead_time_days, mug.preferred) == (
        "AC-1",
        "3.20",
        24,
        21,
        True,
    )
    po = purchasing.create_purchase_order(
        uow,
        vendor="ACME",
        location="WH1",
        lines=[purchasing.NewLine("MUG-1", 5), purchasing.NewLine("TEA-2", 5)],
    )
    today = uow.now().date()
    assert [(line.expected_on - today).days for line in po.lines] == [21, 10]  # type: ignore[operator]


def test_a_vendor_item_file_with_a_bad_row_applies_nothing_all_or_nothing(db: Database) -> None:
    uow = db.unit_of_work(ACTOR)
    make_vendor(uow, code="ACME")
    catalog.create_item(uow, sku="MUG-1", name="Mug")
    catalog.create_item(uow, sku="GIFT", name="Gift card", kind="gift_card")
    data = "vendor,sku,vendor_sku,cost,currency\nACME,MUG-1,AC-1,3.20,\nACME,GIFT,AC-2,1.00,\nACME,MUG-1,AC-1,1,EUR\n"
    imported = upload(db, "vendor_items", data, apply=True)
    run_jobs(db)
    assert errors_of(db, imported) == [
        (3, "sku", "GIFT is a gift_card item: it is not bought from a vendor"),
        (4, "sku", "ACME/MUG-1 appears again in the file (first on row 2)"),
    ]
    assert state(db, imported).status == "validated"
    assert purchasing.list_vendor_items(uow, vendor="ACME") == []


# --- new price lists ------------------------------------------------------------------------------------------


def test_new_price_lists_are_created_whole_from_their_consecutive_rows(db: Database) -> None:
    uow = db.unit_of_work(ACTOR)
    for sku in ("MUG-1", "TEA-2"):
        catalog.create_item(uow, sku=sku, name=sku)
    data = (
        "price_list,name,currency,priority,customer_groups,sku,unit_price,min_quantity\n"
        "SPRING,Spring trade,USD,10,trade,MUG-1,7.50,\nSPRING,,,,,MUG-1,6.90,12\nSPRING,,,,,TEA-2,3.00,\n"
        "BAD,Bad list,USD,,,MUG-1,5.00,\nBAD,,,,,NOPE-9,1.00,\n"
    )
    # when imported all or nothing: nothing is written, and the bad list's every row says why
    imported = upload(db, "price_lists", data, apply=True)
    run_jobs(db)
    found = state(db, imported)
    assert (found.status, found.to_create, found.invalid_rows) == ("validated", 3, 2)
    assert errors_of(db, imported) == [
        (5, "row", "price list BAD is refused: see row 6"),
        (6, "sku", "no item with SKU 'NOPE-9'"),
    ]
    assert count(db, "price_lists") == 0
    # when the valid rows are applied
    imports.request_apply(uow, import_id=imported.id, mode="apply_valid")
    run_jobs(db)
    assert state(db, imported).status == "applied"
    spring = pricing.get_price_list(uow, code="SPRING")
    assert (spring.name, spring.priority, spring.customer_groups, spring.prices) == (
        "Spring trade",
        10,
        ["trade"],
        3,
    )
    assert count(db, "price_lists") == 1
    # and a list that exists is refused by a later file, naming its code
    again = upload(db, "price_lists", "price_list,name,sku,unit_price\nspring,Again,MUG-1,1.00\n")
    run_jobs(db)
    assert errors_of(db, again) == [
        (2, "price_list", "price list 'SPRING' exists: change its prices with a prices import")
    ]


# --- open purchase orders -------------------------------------------------------------------------------------


def test_open_purchase_orders_are_created_one_per_reference_and_sent(db: Database) -> None:
    uow = db.unit_of_work(ACTOR)
    make_location(uow, code="WH1")
    make_vendor(uow, code="ACME")
    for sku in ("MUG-1", "TEA-2"):
        catalog.create_item(uow, sku=sku, name=sku)
    data = (
        "reference,vendor,location,sku,quantity,unit_cost,expected_on,status\n"
        "OLD-1,ACME,WH1,MUG-1,48,3.20,2027-01-15,sent\nOLD-1,ACME,WH1,TEA-2,10,1.00,,sent\n"
        "OLD-2,ACME,WH1,TEA-2,5,1.10,,draft\n"
    )
    # given a dry run: nothing is written
    imported = upload(db, "purchase_orders", data, chunk_rows=1)
    run_jobs(db)
    assert (state(db, imported).to_create, state(db, imported).invalid_rows) == (3, 0)
    assert count(db, "purchase_orders") == 0
    # when applied one row a chunk (a PO is never split across chunks)
    imports.request_apply(uow, import_id=imported.id)
    run_jobs(db)
    # then
    assert state(db, imported).status == "applied"
    orders = sorted(purchasing.list_purchase_orders(uow).items, key=lambda po: po.number)
    assert [(po.status, len(po.lines), po.notes) for po in orders] == [
        ("sent", 2, "imported from OLD-1"),
        ("draft", 1, "imported from OLD-2"),
    ]
    assert [(line.sku, line.ordered, str(line.unit_cost.amount)) for line in orders[0].lines] == [
        ("MUG-1", 48, "3.20"),
        ("TEA-2", 10, "1.00"),
    ]
    assert str(orders[0].lines[0].expected_on) == "2027-01-15"


def test_a_bad_line_refuses_its_whole_purchase_order_and_all_or_nothing_writes_none(db: Database) -> None:
    uow = db.unit_of_work(ACTOR)
    make_location(uow, code="WH1")
    make_vendor(uow, code="ACME")
    catalog.create_item(uow, sku="MUG-1", name="Mug")
    data = (
        "reference,vendor,location,sku,quantity,unit_cost\n"
        "OLD-1,ACME,WH1,MUG-1,4,1.00\nOLD-2,ACME,WH1,MUG-1,2,1.00\nOLD-2,ACME,WH1,NOPE,2,1.00\n"
        "OLD-3,ACME,WH1,MUG-1,0,1.00\nOLD-1,ACME,WH1,MUG-1,1,1.00\n"
    )
    imported = upload(db, "purchase_orders", data, apply=True)
    run_jobs(db)
    assert errors_of(db, imported) == [
        (3, "row", "purchase order OLD-2 is refused: see row 4"),
        (4, "sku", "no item with SKU 'NOPE'"),
        (5, "quantity", "Input should be greater than 0"),
        (6, "reference", "OLD-1 appears again in the file (first on row 2)"),
    ]
    assert state(db, imported).status == "validated"
    assert count(db, "purchase_orders") == 0


def test_a_reference_imported_before_is_refused_by_a_later_file_and_no_second_po_is_made(
    db: Database,
) -> None:
    uow = db.unit_of_work(ACTOR)
    make_location(uow, code="WH1")
    make_vendor(uow, code="ACME")
    catalog.create_item(uow, sku="MUG-1", name="Mug")
    first = upload(
        db, "purchase_orders", "reference,vendor,location,sku,quantity,unit_cost\nold-1,ACME,WH1,MUG-1,4,1\n"
    )
    imports.request_apply(uow, import_id=first.id)
    run_jobs(db)
    assert state(db, first).status == "applied"
    (po,) = purchasing.list_purchase_orders(uow).items
    assert po.source_reference == "OLD-1"
    # when another file names OLD-1 again (any letter case) beside a new OLD-2
    data = (
        "reference,vendor,location,sku,quantity,unit_cost\n"
        "Old-1,ACME,WH1,MUG-1,6,1\nOld-1,ACME,WH1,MUG-1,1,1\nOLD-2,ACME,WH1,MUG-1,2,1\n"
    )
    second = upload(db, "purchase_orders", data, apply=True)
    run_jobs(db)
    # then the dry run names the PO it already is, and all-or-nothing writes nothing
    assert errors_of(db, second) == [
        (
            2,
            "reference",
            f"OLD-1 was imported already as purchase order {po.number} (draft): change that PO in Ordersmith",
        ),
        (3, "row", "purchase order OLD-1 is refused: see row 2"),
    ]
    assert state(db, second).status == "validated"
    assert count(db, "purchase_orders") == 1
    assert count(db, "purchase_order_lines") == 1
    # when the valid rows are applied: only OLD-2 is created
    imports.request_apply(uow, import_id=second.id, mode="apply_valid")
    run_jobs(db)
    assert (state(db, second).status, state(db, second).created_count) == ("applied", 1)
    assert sorted(p.source_reference or "" for p in purchasing.list_purchase_orders(uow).items) == [
        "OLD-1",
        "OLD-2",
    ]
    # and the service itself refuses a second PO under a taken reference
    from ordersmith.kernel.errors import AlreadyExists

    with pytest.raises(AlreadyExists, match=f"OLD-1 is purchase order {po.number} already"):
        purchasing.create_purchase_order(
            uow,
            vendor="ACME",
            location="WH1",
            lines=[purchasing.NewLine("MUG-1", 1)],
            source_reference="old-1",
        )
    assert count(db, "purchase_orders") == 2


def test_approving_in_a_purchase_order_file_needs_the_approve_scope(db: Database) -> None:
    from ordersmith.kernel.errors import Forbidden

    data = "reference,vendor,location,sku,quantity,status\nOLD-1,ACME,WH1,MUG-1,4,sent\n"
    with pytest.raises(Forbidden, match="column status: importing it needs the scope 'purchasing:approve'"):
        upload(db, "purchase_orders", data, granted=frozenset({"data:import", "purchasing:write"}))
    assert count(db, "imports") == 0


@pytest.mark.parametrize(
    "kind", ["styles", "vendor_items", "price_lists", "purchase_orders", "orders", "categories"]
)
@pytest.mark.parametrize("format", ["csv", "xlsx"])
def test_a_filled_in_template_of_each_new_kind_imports(db: Database, kind: str, format: str) -> None:
    uow = db.unit_of_work(ACTOR)
    catalog.create_item(uow, sku="MUG-001", name="Mug")
    make_location(uow, code="WH1")
    make_vendor(uow, code="ACME")
    make_channel(uow, code="web")
    imported = imports.upload(
        db,
        ACTOR,
        kind=kind,
        file_name=f"t.{format}",
        apply=True,
        max_bytes=MAX,
        source=io.BytesIO(templates.template(imports.kind_of(kind).spec, format)),
    )
    run_jobs(db)
    found = state(db, imported)
    assert (found.status, found.created_count, found.invalid_rows) == ("applied", 1, 0), errors_of(
        db, imported
    )


# --- historical orders ----------------------------------------------------------------------------------------

ORDERS_CSV = (
    "order,channel,placed_at,status,email,ship_to_name,ship_to_line1,ship_to_city,ship_to_country,shipping,"
    "sku,quantity,unit_price,tax\n"
    "W-1,web,2024-11-29T14:05:00Z,,ann@example.com,Ann Lee,1 Main St,Portland,US,5.00,MUG-1,2,12.00,1.92\n"
    "W-1,web,,,,,,,,,TEA-2,1,4.00,\n"
    "W-2,web,2025-01-03T09:00:00+01:00,cancelled,bob@example.com,Bob Ray,2 Elm St,Bath,US,,TEA-2,3,4.00,\n"
)


def _orders_setup(db: Database) -> None:
    from tests.builders import stock

    uow = db.unit_of_work(ACTOR)
    make_channel(uow, code="web")
    make_location(uow, code="WH1")
    for sku in ("MUG-1", "TEA-2"):
        catalog.create_item(uow, sku=sku, name=sku, divisions=["web"])
        stock(uow, sku=sku, location="WH1", quantity=10)


def _stock_and_money(db: Database) -> tuple[int, int, int, int, int]:
    return (
        count(db, "stock_movements"),
        count(db, "inventory_reservations") if _has(db, "inventory_reservations") else 0,
        count(db, "payments") if _has(db, "payments") else 0,
        count(db, "orders"),
        count(db, "order_lines"),
    )


def _has(db: Database, table: str) -> bool:
    return sa.inspect(db.engine).has_table(table)


def test_historical_orders_are_written_as_sold_in_the_past_with_no_stock_or_payment_side_effects(
    db: Database,
) -> None:
    from ordersmith.orders import service as orders

    _orders_setup(db)
    before = _stock_and_money(db)
    # when dry-run: nothing is written
    imported = upload(db, "orders", ORDERS_CSV)
    run_jobs(db)
    found = state(db, imported)
    assert (found.status, found.to_create, found.invalid_rows) == ("validated", 3, 0), errors_of(db, imported)
    assert _stock_and_money(db) == before
    # when applied
    uow = db.unit_of_work(ACTOR)
    imports.request_apply(uow, import_id=imported.id)
    run_jobs(db)
    assert state(db, imported).status == "applied"
    # then two imported orders, at the prices sold, placed when they were, and no stock moved nor money taken
    first = orders.find_channel_order(uow, channel="web", external_id="W-1")
    assert first is not None
    assert (first.imported, first.status, first.payment_status, first.fulfillment_status) == (
        True,
        "completed",
        "captured",
        "shipped",
    )
    assert first.placed_at == datetime(2024, 11, 29, 14, 5, tzinfo=UTC)
    assert (str(first.merchandise.amount), str(first.tax.amount), str(first.total.amount)) == (
        "28.00",
        "1.92",
        "34.92",
    )
    assert [(line.sku, line.quantity, line.shipped) for line in first.lines] == [
        ("MUG-1", 2, 2),
        ("TEA-2", 1, 1),
    ]
    second = orders.find_channel_order(uow, channel="web", external_id="W-2")
    assert second is not None
    assert (second.status, second.placed_at, second.lines[0].cancelled) == (
        "cancelled",
        datetime(2025, 1, 3, 8, 0, tzinfo=UTC),
        3,
    )
    movements, reservations, payments, _, _ = _stock_and_money(db)
    assert (movements, reservations, payments) == before[:3]
    with db.engine.connect() as conn:
        events = conn.execute(sa.text("SELECT type FROM outbox")).scalars().all()
    assert events.count("order.imported") == 2
    assert "order.placed" not in events
    # and the same history in another file adds nothing
    again = upload(db, "orders", ORDERS_CSV.replace("1.92", "1.920"), apply=True)
    run_jobs(db)
    assert (state(db, again).status, state(db, again).unchanged_count) == ("applied", 3)
    assert _stock_and_money(db)[3:] == (2, 3)


def test_a_historical_order_with_a_bad_row_is_refused_whole_and_all_or_nothing_writes_none(
    db: Database,
) -> None:
    _orders_setup(db)
    data = (
        "order,channel,placed_at,ship_to_name,ship_to_line1,ship_to_city,ship_to_country,sku,quantity,unit_price\n"
        "W-1,web,2024-11-29T14:05:00Z,Ann,1 Main St,Portland,US,MUG-1,1,12.00\n"
        "W-2,web,2024-11-30T10:00:00Z,Bob,2 Elm St,Bath,US,MUG-1,1,12.00\n"
        "W-2,web,,,,,,NOPE-9,1,1.00\n"
        "W-3,web,2024-11-30T10:00:00,Cy,3 Oak St,Bath,US,MUG-1,1,12.00\n"
        "W-4,web,2999-01-01T00:00:00Z,Di,4 Ash St,Bath,US,MUG-1,1,abc\n"
    )
    imported = upload(db, "orders", data, apply=True)
    run_jobs(db)
    assert errors_of(db, imported) == [
        (3, "row", "order W-2 is refused: see row 4"),
        (4, "sku", "no item with SKU 'NOPE-9'"),
        (5, "placed_at", "Input should have timezone info"),
        (6, "unit_price", "must be an amount such as 12.50"),
    ]
    assert state(db, imported).status == "validated"
    assert count(db, "orders") == 0


def test_importing_historical_orders_needs_the_import_scope(db: Database) -> None:
    from ordersmith.kernel.errors import Forbidden

    with pytest.raises(Forbidden, match="importing orders needs the scope 'orders:import'"):
        upload(db, "orders", ORDERS_CSV, granted=frozenset({"data:import", "orders:write"}))
    assert count(db, "imports") == 0


# --- customers' source codes ----------------------------------------------------------------------------------


def test_a_customer_file_keys_customers_to_master_list_codes_and_names_an_unknown_one(db: Database) -> None:
    from tests.builders import make_source_code

    uow = db.unit_of_work(ACTOR)
    make_source_code(uow, "FALL26")
    header = "first_name,last_name,emails,source_code\n"
    refused = upload(db, "customers", header + "Ann,Lee,ann@example.com,fall26\nBo,Ng,bo@example.com,TYPO-NOPE\n",
                     apply=True)  # fmt: skip
    run_jobs(db)
    # a typo is a row error naming the column, and all or nothing writes no customer
    assert errors_of(db, refused) == [
        (3, "source_code", "source code 'TYPO-NOPE' is not a source code of any campaign")
    ]
    assert count(db, "customers") == 0
    # a file of known codes is applied, each kept as the master list spells it
    applied = upload(db, "customers", header + "Ann,Lee,ann@example.com,fall26\n", apply=True)
    run_jobs(db)
    assert state(db, applied).status == "applied"
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT source_code FROM customers")).scalars().all() == ["FALL26"]

"""Custom fields in bulk imports (ADR 0051), on SQLite and PostgreSQL: `custom.<name>` columns on items, customers
and historical orders are checked by the API's own rules (type, required, choices, length), imported, found by a
custom filter, refused row by row naming row and column with nothing written, and refused at upload when no such
field is defined; templates carry the fields; an export imports back with its custom values; and the checks cost no
statement per row."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.customers import service as customers
from ordersmith.data.exports import service as exports
from ordersmith.data.imports import service as imports
from ordersmith.data.imports import templates
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.orders import service as orders
from ordersmith.platform import custom_fields, jobs
from ordersmith.platform.db import Actor, Database
from tests.builders import make_channel

ACTOR = Actor.system("importer", origin="pytest")
MAX = 10_000_000


@pytest.fixture(autouse=True)
def _jobs() -> None:
    imports.register()


@pytest.fixture
def fields(db: Database) -> None:
    uow = db.unit_of_work(ACTOR)
    custom_fields.create_definition(uow, kind="item", name="season", label="Season", type="choice",
                                    choices=["spring", "autumn"])  # fmt: skip
    custom_fields.create_definition(uow, kind="item", name="fabric_gsm", label="Fabric weight", type="number")
    custom_fields.create_definition(uow, kind="item", name="launch_on", label="Launch", type="date")
    custom_fields.create_definition(uow, kind="customer", name="loyalty_id", label="Loyalty card", type="text",
                                    max_length=8)  # fmt: skip
    custom_fields.create_definition(uow, kind="customer", name="vip", label="VIP", type="boolean")
    custom_fields.create_definition(uow, kind="order", name="po_number", label="Buyer's PO", type="text")
    custom_fields.create_definition(uow, kind="order", name="deposit", label="Deposit", type="decimal")


def run_jobs(db: Database) -> None:
    while jobs.run_due_jobs(db, worker="test"):
        pass


def upload(db: Database, kind: str, data: bytes | str, **options: Any) -> imports.Import:
    raw = data.encode() if isinstance(data, str) else data
    return imports.upload(
        db, ACTOR, kind=kind, file_name=f"{kind}.csv", source=io.BytesIO(raw), max_bytes=MAX, **options
    )


def state(db: Database, imported: imports.Import) -> imports.Import:
    return imports.get_import(db.unit_of_work(ACTOR), import_id=imported.id)


def errors_of(db: Database, imported: imports.Import) -> list[tuple[int, str | None, str]]:
    return [(e.row_number, e.column, e.reason) for e in imports.all_row_errors(db, import_id=imported.id)]


def count(db: Database, table: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def item_values(db: Database, sku: str) -> dict[str, Any]:
    uow = db.unit_of_work(ACTOR)
    return custom_fields.read_values(uow, kind="item", record_id=catalog.get_item(uow, sku=sku).id)


def customer_values(db: Database, ref: str) -> dict[str, Any]:
    uow = db.unit_of_work(ACTOR)
    return custom_fields.read_values(uow, kind="customer", record_id=customers.get_customer(uow, ref=ref).id)


# --- items ------------------------------------------------------------------------------------------------------


def test_items_import_custom_values_that_read_back_and_are_found_by_a_custom_filter(
    db: Database, fields: None
) -> None:
    # given a file with custom columns (any letter case, one as an export names it)
    data = (
        "sku,name,Custom.Season,custom.fabric_gsm,custom_launch_on\n"
        "MUG-1,Enamel mug,spring,220,2026-03-01\nTEA-2,Green tea,autumn,,\nCUP-3,Cup,spring,,\n"
    )
    # when it is imported
    imported = upload(db, "items", data, apply=True)
    run_jobs(db)
    # then the values are stored as the API stores them, and a custom filter finds them
    found = state(db, imported)
    assert (found.status, found.created_count, found.invalid_rows) == ("applied", 3, 0), errors_of(
        db, imported
    )
    assert found.columns == ["sku", "name", "custom.season", "custom.fabric_gsm", "custom.launch_on"]
    assert item_values(db, "MUG-1") == {"season": "spring", "fabric_gsm": 220, "launch_on": "2026-03-01"}
    assert item_values(db, "TEA-2") == {"season": "autumn"}
    uow = db.unit_of_work(ACTOR)
    spring = catalog.list_items(uow, custom_filters={"season": "spring"}).items
    assert [i.sku for i in spring] == ["CUP-3", "MUG-1"]
    assert [i.sku for i in catalog.list_items(uow, custom_filters={"fabric_gsm": "220"}).items] == ["MUG-1"]
    with db.engine.connect() as conn:
        audited = conn.execute(
            sa.text("SELECT after FROM audit_log WHERE action = 'item.created' AND object_id = :id"),
            {"id": str(catalog.get_item(uow, sku="MUG-1").id)},
        ).scalar_one()
    assert "fabric_gsm" in str(audited)


def test_an_items_file_updates_custom_values_as_the_api_does_and_leaves_unchanged_rows(
    db: Database, fields: None
) -> None:
    # given items with custom values
    uow = db.unit_of_work(ACTOR)
    catalog.create_item(uow, sku="MUG-1", name="Mug", custom_fields={"season": "spring", "fabric_gsm": 220})
    catalog.create_item(uow, sku="TEA-2", name="Tea", custom_fields={"season": "autumn", "fabric_gsm": 10})
    version = catalog.get_item(uow, sku="MUG-1").version
    # when a file replaces one value, clears one with a blank cell, leaves a column it does not have, and repeats
    # the other item as it stands
    imported = upload(
        db, "items", "sku,name,custom.season,custom.launch_on\nMUG-1,Mug,autumn,\nTEA-2,Tea,autumn,\n"
    )
    run_jobs(db)
    found = state(db, imported)
    assert (found.to_create, found.to_update, found.to_leave) == (0, 1, 1)
    imports.request_apply(uow, import_id=imported.id)
    run_jobs(db)
    # then only the changed item changed, audited with before and after
    applied = state(db, imported)
    assert (applied.updated_count, applied.unchanged_count) == (1, 1)
    assert item_values(db, "MUG-1") == {"season": "autumn", "fabric_gsm": 220}
    assert item_values(db, "TEA-2") == {"season": "autumn", "fabric_gsm": 10}
    assert catalog.get_item(uow, sku="MUG-1").version == version + 1
    # and a blank cell clears a value
    cleared = upload(db, "items", "sku,name,custom.fabric_gsm\nMUG-1,Mug,\n", apply=True)
    run_jobs(db)
    assert state(db, cleared).updated_count == 1
    assert item_values(db, "MUG-1") == {"season": "autumn"}


@pytest.mark.parametrize(
    ("cell", "column", "reason"),
    [
        ("heavy", "custom.fabric_gsm", "must be a whole number"),
        ("99999999999999999999", "custom.fabric_gsm", "must be a whole number"),
    ],
)
def test_a_bad_typed_item_value_is_a_row_error_naming_row_and_column_and_nothing_is_written(
    db: Database, fields: None, cell: str, column: str, reason: str
) -> None:
    # given an item whose value a bad file would change
    uow = db.unit_of_work(ACTOR)
    catalog.create_item(uow, sku="OLD-1", name="Old", custom_fields={"fabric_gsm": 5})
    data = f"sku,name,custom.fabric_gsm,custom.season\nOLD-1,Old,7,spring\nNEW-2,New,{cell},spring\n"
    # when it is imported all or nothing
    imported = upload(db, "items", data, apply=True)
    run_jobs(db)
    # then the bad cell is named, and nothing was written
    found = state(db, imported)
    assert (found.status, found.invalid_rows) == ("validated", 1)
    assert errors_of(db, imported) == [(3, column, reason)]
    assert count(db, "items") == 1
    assert item_values(db, "OLD-1") == {"fabric_gsm": 5}


def test_choices_and_dates_are_checked_as_the_api_checks_them(db: Database, fields: None) -> None:
    data = "sku,name,custom.season,custom.launch_on\nA-1,Alpha,winter,2026-02-30\n"
    imported = upload(db, "items", data)
    run_jobs(db)
    assert errors_of(db, imported) == [
        (2, "custom.season", "must be one of spring, autumn"),
        (2, "custom.launch_on", "must be a date, YYYY-MM-DD"),
    ]
    assert count(db, "custom_field_values") == 0


def test_a_required_custom_field_is_required_of_new_items_only_as_in_the_api(
    db: Database, fields: None
) -> None:
    # given an item made before the field became required
    uow = db.unit_of_work(ACTOR)
    catalog.create_item(uow, sku="OLD-1", name="Old")
    custom_fields.create_definition(uow, kind="item", name="buyer", label="Buyer", type="text", required=True)
    # when a file creates one item without the column and updates the old one
    imported = upload(db, "items", "sku,name\nNEW-1,New\nOLD-1,Older\n", apply=True)
    run_jobs(db)
    # then the new item is refused, naming the column, and nothing is written
    assert errors_of(db, imported) == [(2, "custom.buyer", "is required")]
    assert count(db, "items") == 1
    # and a blank cell cannot clear it
    blank = upload(db, "items", "sku,name,custom.buyer\nNEW-1,New,Ann\nOLD-1,Older,\n")
    run_jobs(db)
    assert errors_of(db, blank) == [(3, "custom.buyer", "is required")]


def test_an_unknown_custom_column_is_refused_at_upload_naming_it_and_nothing_is_stored(
    db: Database, fields: None
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        upload(db, "items", "sku,name,custom.colour\nA-1,Alpha,red\n")
    assert refused.value.errors[0].field == "custom.colour"
    assert "no custom field 'colour' is defined for items" in refused.value.detail
    with pytest.raises(ValidationFailed) as stock:  # a kind without custom fields
        upload(db, "stock_counts", "location,sku,counted,custom.season\nWH1,A-1,1,spring\n")
    assert stock.value.errors[0].field == "custom.season"
    assert count(db, "imports") == 0


def test_a_field_deleted_between_upload_and_dry_run_is_a_row_error_naming_the_column(
    db: Database, fields: None
) -> None:
    imported = upload(db, "items", "sku,name,custom.season\nA-1,Alpha,spring\n")
    custom_fields.delete_definition(db.unit_of_work(ACTOR), kind="item", name="season")
    run_jobs(db)
    assert errors_of(db, imported) == [(2, "custom.season", "no such custom field")]


# --- customers --------------------------------------------------------------------------------------------------


def test_customers_import_sets_replaces_and_clears_custom_values_and_a_filter_finds_them(
    db: Database, fields: None
) -> None:
    # given a file creating two customers with custom values
    first = upload(
        db,
        "customers",
        "emails,last_name,custom.loyalty_id,custom.vip\nann@example.com,Lee,L-1,yes\nbob@example.com,Ray,,no\n",
        apply=True,
    )
    run_jobs(db)
    assert (state(db, first).created_count, errors_of(db, first)) == (2, [])
    uow = db.unit_of_work(ACTOR)
    ann = customers.search_customers(uow, q="ann@example.com")[0].number
    bob = customers.search_customers(uow, q="bob@example.com")[0].number
    assert customer_values(db, ann) == {"loyalty_id": "L-1", "vip": True}
    assert customer_values(db, bob) == {"vip": False}
    assert [h.number for h in customers.search_customers(uow, q="", custom_filters={"vip": "true"})] == [ann]
    # when a second file (by number) replaces Ann's card, clears her flag, and repeats Bob as he is
    second = upload(db, "customers", f"number,custom.loyalty_id,custom.vip\n{ann},L-2,\n{bob},,false\n")
    run_jobs(db)
    found = state(db, second)
    assert (found.to_update, found.to_leave, errors_of(db, second)) == (1, 1, [])
    imports.request_apply(uow, import_id=second.id)
    run_jobs(db)
    # then
    assert customer_values(db, ann) == {"loyalty_id": "L-2"}
    assert customer_values(db, bob) == {"vip": False}
    assert customers.search_customers(uow, q="", custom_filters={"loyalty_id": "L-2"})[0].number == ann


def test_a_bad_customer_value_is_a_row_error_and_nothing_is_written(db: Database, fields: None) -> None:
    uow = db.unit_of_work(ACTOR)
    ann = customers.create_customer(
        uow,
        details=customers.Details(last_name="Lee", emails=["ann@example.com"]),
        custom_fields={"vip": True},
    )
    data = (
        "number,emails,last_name,custom.loyalty_id,custom.vip\n"
        f"{ann.number},ann@example.com,Lee,L-1,false\n,cy@example.com,Cy,CARD-123456789,maybe\n"
    )
    imported = upload(db, "customers", data, apply=True)
    run_jobs(db)
    assert errors_of(db, imported) == [
        (3, "custom.loyalty_id", "at most 8 characters"),
        (3, "custom.vip", "must be true or false"),
    ]
    assert state(db, imported).status == "validated"
    assert count(db, "customers") == 1
    assert customer_values(db, ann.number) == {"vip": True}


# --- historical orders ------------------------------------------------------------------------------------------

ORDERS = (
    "order,channel,placed_at,email,ship_to_name,ship_to_line1,ship_to_city,ship_to_country,sku,quantity,"
    "unit_price,custom.po_number,custom.deposit\n"
    "W-1,web,2024-11-29T14:05:00Z,ann@example.com,Ann Lee,1 Main St,Portland,US,MUG-1,2,12.00,PO-77,12.50\n"
    "W-1,web,,,,,,,MUG-1,1,12.00,,\n"
    "W-2,web,2024-12-01T09:00:00Z,bob@example.com,Bob Ray,2 Elm St,Bath,US,MUG-1,1,12.00,,\n"
)


def test_historical_orders_carry_custom_values_from_their_first_row(db: Database, fields: None) -> None:
    uow = db.unit_of_work(ACTOR)
    make_channel(uow, code="web")
    catalog.create_item(uow, sku="MUG-1", name="Mug")
    imported = upload(db, "orders", ORDERS, apply=True)
    run_jobs(db)
    assert (state(db, imported).created_count, errors_of(db, imported)) == (3, [])
    found = orders.list_orders(uow, custom_filters={"po_number": "PO-77"}).items
    assert [o.external_id for o in found] == ["W-1"]
    assert orders.order_values(uow, order_id=found[0].id) == {"po_number": "PO-77", "deposit": "12.5"}
    assert count(db, "custom_field_values") == 2


def test_a_bad_order_value_refuses_the_whole_order_naming_the_cell(db: Database, fields: None) -> None:
    uow = db.unit_of_work(ACTOR)
    make_channel(uow, code="web")
    catalog.create_item(uow, sku="MUG-1", name="Mug")
    # a value of the wrong type
    imported = upload(db, "orders", ORDERS.replace("PO-77,12.50", "PO-77,lots"), apply=True)
    run_jobs(db)
    assert errors_of(db, imported) == [
        (2, "custom.deposit", 'must be a decimal number, e.g. "12.50"'),
        (3, "row", "order W-1 is refused: see row 2"),
    ]
    # another row of the order giving another value
    differing = upload(
        db, "orders", ORDERS.replace("MUG-1,1,12.00,,\n", "MUG-1,1,12.00,PO-78,\n", 1), apply=True
    )
    run_jobs(db)
    assert errors_of(db, differing) == [
        (2, "row", "order W-1 is refused: see row 3"),
        (3, "custom.po_number", "differs from the first row of order W-1: leave it blank or the same"),
    ]
    assert (count(db, "orders"), count(db, "custom_field_values")) == (0, 0)


# --- templates --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("format", ["csv", "xlsx"])
def test_templates_carry_the_defined_custom_fields_and_a_filled_in_one_imports(
    db: Database, fields: None, format: str
) -> None:
    uow = db.unit_of_work(ACTOR)
    custom_fields.create_definition(uow, kind="item", name="buyer", label="Buyer", type="text", required=True)
    spec = imports.import_spec(uow, kind="items")
    made = templates.template(spec, format)
    if format == "csv":
        header, example = list(csv.reader(io.StringIO(made.decode())))
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(made), read_only=True).worksheets[0]
        header, example = ([cell or "" for cell in row] for row in sheet.iter_rows(values_only=True))
    assert header[-4:] == ["custom.buyer", "custom.fabric_gsm", "custom.launch_on", "custom.season"]
    assert example[-4:] == ["Buyer", "1", "2026-01-31", "spring"]
    assert imports.import_spec(uow, kind="stock_counts") == imports.kind_of("stock_counts").spec
    imported = imports.upload(db, ACTOR, kind="items", file_name=f"t.{format}", source=io.BytesIO(made),
                              max_bytes=MAX, apply=True)  # fmt: skip
    run_jobs(db)
    assert (state(db, imported).created_count, errors_of(db, imported)) == (1, [])
    assert item_values(db, "MUG-001") == {"season": "spring", "fabric_gsm": 1, "launch_on": "2026-01-31",
                                          "buyer": "Buyer"}  # fmt: skip


# --- an export imported back ------------------------------------------------------------------------------------


def _export(db: Database, kind: str, tmp_path: Path, keep: list[str]) -> str:
    """The export's CSV with only the columns the import takes (`keep`, and every custom one)."""
    path = tmp_path / f"{kind}.csv"
    exports.stream_to_file(db, kind=kind, format="csv", filters={}, path=path)
    rows = list(csv.reader(io.StringIO(path.read_text())))
    wanted = [n for n, name in enumerate(rows[0]) if name in keep or name.startswith("custom_")]
    out = io.StringIO()
    csv.writer(out).writerows([[row[n] for n in wanted] for row in rows])
    return out.getvalue()


def test_an_items_export_imports_back_with_its_custom_values(
    db: Database, fields: None, tmp_path: Path
) -> None:
    # given items with every kind of custom value, exported
    uow = db.unit_of_work(ACTOR)
    catalog.create_item(uow, sku="MUG-1", name="Mug",
                        custom_fields={"season": "spring", "fabric_gsm": -3, "launch_on": "2026-03-01"})  # fmt: skip
    catalog.create_item(uow, sku="TEA-2", name="Tea", custom_fields={"season": "autumn"})
    before = {sku: item_values(db, sku) for sku in ("MUG-1", "TEA-2")}
    exported = _export(db, "items", tmp_path, keep=["sku", "name", "status", "tax_class", "backorderable"])
    assert exported.splitlines()[0].endswith("custom_fabric_gsm,custom_launch_on,custom_season")
    # when the values are changed, then the export is imported back
    catalog.set_custom_fields(uow, sku="MUG-1", values={"season": None, "fabric_gsm": 9, "launch_on": None})
    catalog.set_custom_fields(uow, sku="TEA-2", values={"fabric_gsm": 1})
    imported = upload(db, "items", exported, apply=True)
    run_jobs(db)
    # then the exported values are back
    assert (state(db, imported).updated_count, errors_of(db, imported)) == (2, [])
    assert {sku: item_values(db, sku) for sku in ("MUG-1", "TEA-2")} == before
    # and the same export imported again changes nothing
    again = upload(db, "items", exported + "\n")
    run_jobs(db)
    assert (state(db, again).to_leave, state(db, again).to_update) == (2, 0)


def test_a_customers_export_imports_back_with_its_custom_values(
    db: Database, fields: None, tmp_path: Path
) -> None:
    uow = db.unit_of_work(ACTOR)
    ann = customers.create_customer(uow, details=customers.Details(last_name="Lee", emails=["ann@example.com"]),
                                    custom_fields={"loyalty_id": "L-1", "vip": True})  # fmt: skip
    bob = customers.create_customer(uow, details=customers.Details(last_name="Ray", emails=["bob@example.com"]),
                                    custom_fields={"vip": False})  # fmt: skip
    before = {c.number: customer_values(db, c.number) for c in (ann, bob)}
    exported = _export(
        db, "customers", tmp_path, keep=["number", "kind", "first_name", "last_name", "do_not_mail"]
    )
    customers.set_custom_fields(uow, ref=ann.number, values={"loyalty_id": "L-9", "vip": None})
    customers.set_custom_fields(uow, ref=bob.number, values={"vip": True, "loyalty_id": "X"})
    imported = upload(db, "customers", exported, apply=True)
    run_jobs(db)
    assert (state(db, imported).updated_count, errors_of(db, imported)) == (2, [])
    assert {c.number: customer_values(db, c.number) for c in (ann, bob)} == before


# --- cost -------------------------------------------------------------------------------------------------------


def _statements(db: Database, run: Any) -> int:
    seen: list[str] = []

    def count_one(*args: Any) -> None:
        seen.append(args[2])

    sa.event.listen(db.engine, "before_cursor_execute", count_one)
    try:
        run()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count_one)
    return len(seen)


def _dry_run_and_apply(db: Database, kind: str, data: str) -> int:
    imported = upload(db, kind, data, apply=True)
    statements = _statements(db, lambda: run_jobs(db))
    assert (state(db, imported).status, errors_of(db, imported)) == ("applied", [])
    return statements


@pytest.mark.parametrize("kind", ["items", "customers"])
def test_custom_columns_add_no_statement_per_row(db: Database, fields: None, kind: str) -> None:
    # given files of 5 and of 25 new records, with and without custom columns (and existing records to update)
    def file(rows: int, custom: bool, start: int) -> str:
        if kind == "items":
            head = "sku,name" + (",custom.season,custom.fabric_gsm" if custom else "")
            body = [f"S-{start + n},Item {n}" + (",spring,12" if custom else "") for n in range(rows)]
        else:
            head = "emails,last_name" + (",custom.loyalty_id,custom.vip" if custom else "")
            body = [f"p{start + n}@example.com,Lee" + (",L-1,yes" if custom else "") for n in range(rows)]
        return "\n".join([head, *body]) + "\n"

    _dry_run_and_apply(db, kind, file(1, True, 900))  # the definitions cached, as in a running process
    # when each is imported (dry run and apply), then a custom column costs the same few statements per chunk
    # whatever the number of rows
    small = _dry_run_and_apply(db, kind, file(5, True, 0)) - _dry_run_and_apply(db, kind, file(5, False, 100))
    large = _dry_run_and_apply(db, kind, file(25, True, 200)) - _dry_run_and_apply(
        db, kind, file(25, False, 300)
    )
    assert small == large, (small, large)
    assert small <= 8


def test_custom_values_changed_on_existing_items_add_no_statement_per_row(db: Database, fields: None) -> None:
    # given 30 items with custom values
    uow = db.unit_of_work(ACTOR)
    for n in range(30):
        catalog.create_item(uow, sku=f"S-{n}", name=f"Item {n}", custom_fields={"season": "spring"})

    def file(skus: range, name: str, custom: bool) -> str:
        head = "sku,name" + (",custom.season,custom.fabric_gsm" if custom else "")
        return "\n".join([head, *(f"S-{n},{name}" + (",autumn,7" if custom else "") for n in skus)]) + "\n"

    _dry_run_and_apply(db, "items", file(range(29, 30), "Warm", True))
    # when 5, then 20 of them are renamed with and without their custom values changing
    small = _dry_run_and_apply(db, "items", file(range(5), "New", True)) - _dry_run_and_apply(
        db, "items", file(range(5, 10), "New", False)
    )
    large = _dry_run_and_apply(db, "items", file(range(10, 20), "New", True)) - _dry_run_and_apply(
        db, "items", file(range(20, 30), "New", False)
    )
    # then the custom values cost the same few statements whatever the number of items
    assert small == large, (small, large)
    assert small <= 8
    assert item_values(db, "S-3") == {"season": "autumn", "fabric_gsm": 7}
    assert item_values(db, "S-23") == {"season": "spring"}

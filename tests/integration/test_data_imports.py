"""Bulk imports on SQLite and PostgreSQL: the dry run's diff and row errors, all-or-nothing and valid-rows-only
applies, resuming, encodings and delimiters, XLSX, templates, limits, duplicates and scopes."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.customers import service as customers
from ordersmith.data.imports import service as imports
from ordersmith.data.imports import templates
from ordersmith.data.imports.reading import TooLarge
from ordersmith.kernel.errors import Conflict, Forbidden, ValidationFailed
from ordersmith.platform import jobs
from ordersmith.platform.db import Actor, Database

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


ITEMS_CSV = (
    "sku,name,weight_g,barcodes,backorderable\nMUG-1,Enamel mug,340,4006381333931,yes\nTEA-2,Green tea,,,no\n"
)


def test_a_dry_run_counts_creates_updates_and_unchanged_rows_and_writes_nothing(db: Database) -> None:
    # given one of the three SKUs exists as the file has it, one differs
    uow = db.unit_of_work(ACTOR)
    catalog.create_item(uow, sku="TEA-2", name="Green tea")
    catalog.create_item(uow, sku="CUP-3", name="Old name")
    # when
    imported = upload(db, "items", "sku,name\nMUG-1,Enamel mug\ntea-2,Green tea\nCUP-3,New name\n")
    run_jobs(db)
    # then
    found = imports.get_import(uow, import_id=imported.id)
    assert (found.status, found.total_rows, found.valid_rows, found.invalid_rows) == ("validated", 3, 3, 0)
    assert (found.to_create, found.to_update, found.to_leave) == (1, 1, 1)
    assert count(db, "items") == 2
    assert catalog.get_item(uow, sku="CUP-3").name == "Old name"


def test_applying_writes_every_row_with_its_audit_and_events(db: Database) -> None:
    imported = upload(db, "items", ITEMS_CSV, apply=True)
    run_jobs(db)
    uow = db.unit_of_work(ACTOR)
    found = imports.get_import(uow, import_id=imported.id)
    assert (found.status, found.created_count, found.rows_done) == ("applied", 2, 2)
    mug = catalog.get_item(uow, sku="MUG-1")
    assert (mug.weight_g, mug.barcodes, mug.backorderable) == (340, ["04006381333931"], True)
    with db.engine.connect() as conn:
        actions = conn.execute(sa.text("SELECT action FROM audit_log ORDER BY action")).scalars().all()
    assert actions.count("item.created") == 2
    assert "import.applied" in actions
    assert count(db, "import_file_chunks") == 0


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


def test_row_errors_name_row_and_column_and_an_all_or_nothing_import_applies_nothing(db: Database) -> None:
    # given a file whose rows 3 and 5 are bad
    data = (
        "sku,name,weight_g,divisions,barcodes\nA-1,Alpha,1,,\nB-2,Beta,heavy,,\nC-3,Gamma,3,,\n"
        "D-4,Delta,4,nowhere,4006381333932\nE-5,Epsilon,5,,\n"
    )
    # when it is imported all or nothing
    imported = upload(db, "items", data, apply=True)
    run_jobs(db)
    # then every problem is named and nothing was written
    uow = db.unit_of_work(ACTOR)
    found = imports.get_import(uow, import_id=imported.id)
    assert (found.status, found.valid_rows, found.invalid_rows) == ("validated", 3, 2)
    assert found.error_summary == "2 of 5 row(s) have errors: nothing was applied"
    assert errors_of(db, imported) == [
        (3, "weight_g", "Input should be a valid integer, unable to parse string as an integer"),
        (5, "divisions", "unknown division(s): nowhere"),
        (5, "barcodes", "'4006381333932' is not a valid GTIN-8, -12, -13 or -14"),
    ]
    assert count(db, "items") == 0
    with pytest.raises(Conflict):
        imports.request_apply(uow, import_id=imported.id)
    run_jobs(db)
    assert count(db, "items") == 0


def test_apply_valid_writes_the_valid_rows_and_the_error_file_holds_the_others(db: Database) -> None:
    imported = upload(db, "items", "sku,name,weight_g\nA-1,Alpha,1\nB-2,Beta,heavy\nC-3,Gamma,3\n")
    run_jobs(db)
    uow = db.unit_of_work(ACTOR)
    imports.request_apply(uow, import_id=imported.id, mode="apply_valid")
    run_jobs(db)
    found = imports.get_import(uow, import_id=imported.id)
    assert (found.status, found.created_count, found.invalid_rows) == ("applied", 2, 1)
    assert count(db, "items") == 2
    lines = b"".join(templates.error_file(found.columns, imports.error_lines(db, import_id=found.id), "csv"))
    assert lines.decode().splitlines() == [
        "row,sku,name,weight_g,error",
        '3,B-2,Beta,heavy,"weight_g: Input should be a valid integer, unable to parse string as an integer"',
    ]


def test_items_import_from_xlsx_with_kits_divisions_and_gtins(db: Database) -> None:
    uow = db.unit_of_work(ACTOR)
    catalog.create_division(uow, code="outlet", name="Outlet")
    catalog.create_item(uow, sku="MUG-1", name="Mug")
    catalog.create_item(uow, sku="TEA-2", name="Tea")
    data = xlsx(
        [
            ["SKU", "Name", "Kind", "Components", "Divisions", "Barcodes", "Weight g"],
            ["GIFT-1", "Gift set", "kit", "MUG-1:2|TEA-2", "outlet", "4006381333931", 800.0],
            ["MUG-1", "Mug, enamel", "", "", "outlet", "", ""],
        ]
    )
    imported = upload(db, "items", data, apply=True)
    run_jobs(db)
    found = imports.get_import(uow, import_id=imported.id)
    assert (found.format, found.status, found.created_count, found.updated_count) == ("xlsx", "applied", 1, 1)
    gift = catalog.get_item(uow, sku="GIFT-1")
    assert (gift.kind, gift.divisions, gift.barcodes, gift.weight_g) == (
        "kit",
        ["outlet"],
        ["04006381333931"],
        800,
    )
    assert sorted((part.sku, n) for part, n in catalog.kit_components(uow, kit_id=gift.id)) == [
        ("MUG-1", 2),
        ("TEA-2", 1),
    ]
    mug = catalog.get_item(uow, sku="MUG-1")
    assert (mug.name, mug.divisions, mug.version) == ("Mug, enamel", ["outlet"], 2)


@pytest.mark.parametrize("kind", ["items", "customers"])
@pytest.mark.parametrize("format", ["csv", "xlsx"])
def test_a_filled_in_template_imports(db: Database, kind: str, format: str) -> None:
    spec = imports.kind_of(kind).spec
    imported = imports.upload(
        db,
        ACTOR,
        kind=kind,
        file_name=f"t.{format}",
        apply=True,
        max_bytes=MAX,
        source=io.BytesIO(templates.template(spec, format)),
    )
    run_jobs(db)
    uow = db.unit_of_work(ACTOR)
    found = imports.get_import(uow, import_id=imported.id)
    assert (found.status, found.created_count, found.invalid_rows) == ("applied", 1, 0), errors_of(
        db, imported
    )
    if kind == "items":
        item = catalog.get_item(uow, sku="MUG-001")
        assert (item.name, item.weight_g, item.country_of_origin) == ("Enamel mug, 12 oz", 340, "PT")
    else:
        hit = customers.search_customers(uow, q="ada@example.com")[0]
        customer = customers.get_customer(uow, ref=hit.number)
        assert (customer.last_name, customer.status, customer.addresses[0].postal_code) == (
            "Lovelace",
            "buyer",
            "04101",
        )


@pytest.mark.parametrize(
    ("encoded", "encoding"),
    [
        ("sku;name\nA-1;Crème brûlée\n".encode("utf-8-sig"), "utf-8-sig"),
        ("sku;name\nA-1;Crème brûlée\n".encode("cp1252"), "cp1252"),
        ("sku\tname\r\nA-1\tCrème brûlée\r\n".encode("utf-16"), "utf-16"),
    ],
)
def test_encodings_and_delimiters_are_detected(db: Database, encoded: bytes, encoding: str) -> None:
    imported = upload(db, "items", encoded, apply=True)
    run_jobs(db)
    uow = db.unit_of_work(ACTOR)
    assert imports.get_import(uow, import_id=imported.id).encoding == encoding
    assert catalog.get_item(uow, sku="A-1").name == "Crème brûlée"


@pytest.mark.parametrize(
    ("data", "field", "detail"),
    [
        ("email,first_name\na@example.com,Ann\n", "email", "unknown column 'email' for a items import"),
        ("name,weight_g\nMug,3\n", "sku", "missing required column(s) sku for a items import"),
        ("sku,name,sku\nA,B,C\n", "sku", "column 'sku' appears twice"),
        ("", "file", "the file is empty"),
        (b"\xd0\xcf\x11\xe0rest", "file", "an old Excel .xls file"),
    ],
)
def test_a_file_of_the_wrong_kind_is_refused_before_anything_is_stored(
    db: Database, data: str | bytes, field: str, detail: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        upload(db, "items", data)
    assert refused.value.errors[0].field == field
    assert detail in refused.value.detail
    assert (count(db, "imports"), count(db, "jobs"), count(db, "items")) == (0, 0, 0)


def test_a_file_over_the_size_limit_is_refused_with_the_limit_named(db: Database) -> None:
    with pytest.raises(TooLarge) as refused:
        imports.upload(
            db,
            ACTOR,
            kind="items",
            file_name="big.csv",
            max_bytes=2048,
            source=io.BytesIO(b"sku,name\n" + b"A-1,x\n" * 1000),
        )
    assert "larger than the import limit of 2,048 bytes (ORDERSMITH_IMPORT_MAX_BYTES)" in refused.value.detail
    assert count(db, "imports") == 0


def test_uploading_an_applied_file_again_is_refused_and_adds_no_rows(db: Database) -> None:
    upload(db, "items", ITEMS_CSV, apply=True)
    run_jobs(db)
    with pytest.raises(Conflict, match="this file was imported already"):
        upload(db, "items", ITEMS_CSV, apply=True)
    run_jobs(db)
    assert (count(db, "items"), count(db, "imports")) == (2, 1)


def test_one_import_per_kind_at_a_time_and_a_cancelled_one_frees_the_kind(db: Database) -> None:
    first = upload(db, "items", "sku,name\nA-1,Alpha\n")
    with pytest.raises(Conflict, match="an import of items is under way"):
        upload(db, "items", "sku,name\nB-2,Beta\n")
    upload(db, "customers", "emails,last_name\nb@example.com,Bee\n")  # another kind may run meanwhile
    uow = db.unit_of_work(ACTOR)
    assert imports.cancel_import(uow, import_id=first.id).status == "cancelled"
    run_jobs(db)
    assert imports.get_import(uow, import_id=first.id).status == "cancelled"
    assert count(db, "items") == 0
    upload(db, "items", "sku,name\nB-2,Beta\n")


def test_a_repeated_key_in_one_file_is_an_error_on_its_second_row(db: Database) -> None:
    imported = upload(db, "items", "sku,name\nA-1,Alpha\nB-2,Beta\na-1,Alpha again\n")
    run_jobs(db)
    assert errors_of(db, imported) == [(4, "sku", "A-1 appears again in the file (first on row 2)")]


def test_customers_are_created_updated_or_left_by_number_or_email(db: Database) -> None:
    uow = db.unit_of_work(ACTOR)
    first = upload(
        db,
        "customers",
        "emails,first_name,last_name,bill_to_line1,bill_to_city,bill_to_postal_code\n"
        "ann@example.com,Ann,Lee,1 Main St,Portland,04101\nbob@example.com,Bob,Ray,,,\n",
        apply=True,
    )
    run_jobs(db)
    assert imports.get_import(uow, import_id=first.id).created_count == 2
    ann = customers.search_customers(uow, q="ann@example.com")[0].number
    # when a second file changes one, names the other by number unchanged, and adds one
    second = upload(
        db,
        "customers",
        f"number,emails,last_name,tags\n,ann@example.com,Leigh,vip\n"
        f"{ann},ann@example.com,Leigh,vip\n,cy@example.com,Cy,\n",
    )
    run_jobs(db)
    found = imports.get_import(uow, import_id=second.id)
    assert errors_of(db, second) == []
    # the dry run checks each row against the records as they stand: both rows would update Ann
    assert (found.to_create, found.to_update, found.to_leave) == (1, 2, 0)
    imports.request_apply(uow, import_id=second.id)
    run_jobs(db)
    # applied in order, the third row finds the change the second made
    applied = imports.get_import(uow, import_id=second.id)
    assert (applied.created_count, applied.updated_count, applied.unchanged_count) == (1, 1, 1)
    customer = customers.get_customer(uow, ref=ann)
    assert (customer.last_name, customer.tags, customer.first_name) == ("Leigh", ["vip"], "Ann")
    assert len(customers.search_customers(uow, q="cy@example.com")) == 1


def test_money_columns_need_their_scopes_and_a_refusal_stores_nothing(db: Database) -> None:
    data = "emails,last_name,credit_limit\nann@example.com,Lee,500.00\n"
    with pytest.raises(
        Forbidden, match="column credit_limit: importing it needs the scope 'customers:credit'"
    ):
        upload(db, "customers", data, granted=frozenset({"data:import", "customers:write"}))
    with pytest.raises(Forbidden, match="importing items needs the scope 'catalog:write'"):
        upload(db, "items", ITEMS_CSV, granted=frozenset({"data:import"}))
    assert (count(db, "imports"), count(db, "customers"), count(db, "items")) == (0, 0, 0)
    # with the scope, the money field is set
    upload(
        db,
        "customers",
        data,
        apply=True,
        granted=frozenset({"data:import", "customers:write", "customers:credit"}),
    )
    run_jobs(db)
    number = customers.search_customers(db.unit_of_work(ACTOR), q="ann@example.com")[0].number
    assert str(customers.get_customer(db.unit_of_work(ACTOR), ref=number).credit_limit.amount) == "500.00"


def test_an_apply_stopped_half_way_resumes_after_its_last_chunk_and_writes_no_row_twice(db: Database) -> None:
    # given an import of 25 rows applied 10 rows a transaction, stopped after its first chunk
    rows = "".join(f"S-{n},Item {n}\n" for n in range(25))
    imported = upload(db, "items", "sku,name\n" + rows, chunk_rows=10)
    run_jobs(db)
    uow = db.unit_of_work(ACTOR)
    imports.request_apply(uow, import_id=imported.id)

    def crash(state: imports.Import) -> None:
        raise KeyboardInterrupt  # the process dies after committing its first chunk

    with pytest.raises(KeyboardInterrupt):
        imports.apply(db, import_id=imported.id, progress=crash)
    # then the first chunk stands alone, and resuming finishes the rest
    assert (count(db, "items"), imports.get_import(uow, import_id=imported.id).rows_done) == (10, 10)
    run_jobs(db)
    found = imports.get_import(uow, import_id=imported.id)
    assert (found.status, found.rows_done, found.created_count) == ("applied", 25, 25)
    assert count(db, "items") == 25


def test_stock_counts_set_on_hand_and_name_unknown_skus_from_csv_and_xlsx(db: Database) -> None:
    from ordersmith.inventory import service as inventory
    from tests.builders import make_item, make_location, stock

    uow = db.unit_of_work(ACTOR)
    make_location(uow, code="WH1")
    for sku in ("MUG-1", "TEA-2"):
        make_item(uow, sku=sku)
        stock(uow, sku=sku, location="WH1", quantity=10)
    # given a count sheet: one line matches, one differs, one names an unknown SKU
    sheet = [["location", "sku", "counted"], ["WH1", "MUG-1", 10], ["WH1", "TEA-2", 7], ["WH1", "NOPE-9", 1]]
    imported = upload(db, "stock_counts", xlsx(sheet))
    run_jobs(db)
    found = imports.get_import(uow, import_id=imported.id)
    assert (found.to_update, found.to_leave, found.invalid_rows) == (1, 1, 1)
    assert errors_of(db, imported) == [(4, "sku", "no item with SKU 'NOPE-9'")]
    assert inventory.get_availability(uow, sku="TEA-2").on_hand == 10  # the dry run wrote nothing
    imports.request_apply(uow, import_id=imported.id, mode="apply_valid")
    run_jobs(db)
    assert inventory.get_availability(uow, sku="TEA-2").on_hand == 7
    # and an adjustment file adds and removes, refusing a removal below zero by row and column
    adjusted = upload(
        db,
        "stock_adjustments",
        "location;sku;quantity;reason\nWH1;MUG-1;5;receipt\nWH1;TEA-2;-9;damage\n",
        apply=True,
        mode="apply_valid",
    )
    run_jobs(db)
    assert [(n, column) for n, column, _ in errors_of(db, adjusted)] == [(3, "quantity")]
    assert inventory.get_availability(uow, sku="MUG-1").on_hand == 15
    assert inventory.get_availability(uow, sku="TEA-2").on_hand == 7


def test_prices_with_quantity_breaks_are_set_in_existing_price_lists(db: Database) -> None:
    from decimal import Decimal

    from ordersmith.kernel.money import Money
    from ordersmith.pricing import service as pricing

    uow = db.unit_of_work(ACTOR)
    catalog.create_item(uow, sku="MUG-1", name="Mug")
    catalog.create_item(uow, sku="TEA-2", name="Tea")
    pricing.create_price_list(
        uow,
        code="TRADE",
        name="Trade",
        currency="USD",
        prices=[
            pricing.PriceEntry(sku="MUG-1", unit_price=Money(Decimal("9.00"), "USD")),
            pricing.PriceEntry(sku="TEA-2", unit_price=Money(Decimal("4.00"), "USD")),
        ],
    )
    data = (
        "price_list,sku,min_quantity,unit_price,currency\nTRADE,MUG-1,,9.00,\nTRADE,MUG-1,12,7.50,\n"
        "trade,TEA-2,1,3.80,USD\nRETAIL,MUG-1,1,9.99,\nTRADE,TEA-2,6,3.00,EUR\n"
    )
    imported = upload(db, "prices", data, mode="apply_valid", apply=True)
    run_jobs(db)
    found = imports.get_import(uow, import_id=imported.id)
    assert (found.to_create, found.to_update, found.to_leave, found.invalid_rows) == (1, 1, 1, 2)
    assert errors_of(db, imported) == [
        (5, "price_list", "no price list 'RETAIL'"),
        (6, "currency", "must be USD"),
    ]
    assert (found.status, found.created_count, found.updated_count) == ("applied", 1, 1)
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT i.sku, p.min_quantity, p.unit_price_minor "
                "FROM price_list_prices p JOIN items i ON i.id = p.item_id"
            )
        ).all()
    prices = {(sku, n): minor for sku, n, minor in rows}
    assert prices == {("MUG-1", 1): 900, ("MUG-1", 12): 750, ("TEA-2", 1): 380}


def test_an_apply_that_cannot_finish_is_abandoned_by_staff_and_frees_its_kind(db: Database) -> None:
    # given an apply stopped after its first chunk of 10 rows, left applying (its job failing every attempt)
    rows = "".join(f"S-{n},Item {n}\n" for n in range(25))
    imported = upload(db, "items", "sku,name\n" + rows, chunk_rows=10)
    run_jobs(db)
    uow = db.unit_of_work(ACTOR)
    imports.request_apply(uow, import_id=imported.id)

    def crash(state: imports.Import) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        imports.apply(db, import_id=imported.id, progress=crash)
    with pytest.raises(Conflict, match="an import of items is under way"):
        upload(db, "items", "sku,name\nB-2,Beta\n")
    # when staff abandon it
    found = imports.abandon_import(uow, import_id=imported.id, reason="the job keeps failing")
    # then it failed, says what was applied, frees the kind, and its job writes nothing more
    assert (found.status, found.rows_done) == ("failed", 10)
    assert found.error_summary == (
        "abandoned by importer: the job keeps failing — 10 of 25 row(s) were applied before it stopped"
    )
    run_jobs(db)
    assert count(db, "items") == 10
    assert count(db, "import_file_chunks") == 0
    upload(db, "items", "sku,name\nB-2,Beta\n")
    with db.engine.connect() as conn:
        actions = conn.execute(sa.text("SELECT action FROM audit_log")).scalars().all()
    assert "import.abandoned" in actions


def test_only_an_apply_under_way_can_be_abandoned_and_a_refusal_changes_nothing(db: Database) -> None:
    imported = upload(db, "items", "sku,name\nA-1,Alpha\n")
    run_jobs(db)
    uow = db.unit_of_work(ACTOR)
    before = imports.get_import(uow, import_id=imported.id)
    with pytest.raises(Conflict, match="the import is validated: only an apply under way can be abandoned"):
        imports.abandon_import(uow, import_id=imported.id)
    assert imports.get_import(uow, import_id=imported.id) == before
    assert count(db, "import_file_chunks") == 1


def test_a_kit_and_its_new_components_import_from_one_file_in_any_order_and_across_chunks(
    db: Database,
) -> None:
    # given one file: a kit before its components, one in the same chunk and one in a later chunk, and a kit in a
    # later chunk naming components earlier chunks create (two rows a chunk)
    data = (
        "sku,name,kind,components\n"
        "GIFT-1,Gift set,kit,MUG-1:2|SPOON-3\nMUG-1,Mug,,\n"
        "TEA-2,Tea,,\nSPOON-3,Spoon,,\n"
        "GIFT-2,Tea set,kit,SPOON-3:4|MUG-1|TEA-2\nGIFT-3,Bad kit,kit,NOPE-9\n"
    )
    # when dry-run
    imported = upload(db, "items", data, chunk_rows=2)
    run_jobs(db)
    uow = db.unit_of_work(ACTOR)
    found = imports.get_import(uow, import_id=imported.id)
    # then only the kit naming an unknown component is an error, and nothing was written
    assert errors_of(db, imported) == [
        (7, "components", "no item with SKU 'NOPE-9' (neither in the catalog nor in this file)")
    ]
    assert (found.to_create, found.invalid_rows) == (5, 1)
    assert count(db, "items") == 0
    # when the valid rows are applied
    imports.request_apply(uow, import_id=imported.id, mode="apply_valid")
    run_jobs(db)
    # then both kits stand with their components
    assert imports.get_import(uow, import_id=imported.id).status == "applied"
    assert count(db, "items") == 5
    for kit, parts in (
        ("GIFT-1", [("MUG-1", 2), ("SPOON-3", 1)]),
        ("GIFT-2", [("MUG-1", 1), ("SPOON-3", 4), ("TEA-2", 1)]),
    ):
        kit_id = catalog.get_item(uow, sku=kit).id
        assert sorted((part.sku, n) for part, n in catalog.kit_components(uow, kit_id=kit_id)) == parts

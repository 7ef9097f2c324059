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
    return imports.upload(db, ACTOR, kind=kind, file_name=f"{kind}.csv", source=io.BytesIO(raw), max_bytes=MAX,
                          **options)  # type: ignore[arg-type]  # fmt: skip


def count(db: Database, table: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608


def errors_of(db: Database, imported: imports.Import) -> list[tuple[int, str | None, str]]:
    return [(e.row_number, e.column, e.reason) for e in imports.all_row_errors(db, import_id=imported.id)]


ITEMS_CSV = "sku,name,weight_g,barcodes,backorderable\nMUG-1,Enamel mug,340,4006381333931,yes\nTEA-2,Green tea,,,no\n"


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

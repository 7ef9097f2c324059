"""SIGKILL the server while it applies an import (5,000 rows, 250 a transaction; more with IMPORT_CRASH_ROWS): nothing
half-written, and after a restart the import finishes with every row once."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from ordersmith.data.imports import service as imports
from ordersmith.platform.db import Actor, Database
from tests.support.server import running_server, start_server

pytestmark = pytest.mark.slow
ROWS = int(os.environ.get("IMPORT_CRASH_ROWS", "5000"))
CHUNK = max(ROWS // 20, 1)
# a bigger file takes longer to check and apply (on a loaded machine, about 100 rows a second)
WAIT_S = max(90.0, ROWS / 100)


def count_items(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM items")).scalar_one())


def wait_for(db: Database, import_id: object, test: object, timeout_s: float = WAIT_S) -> imports.Import:
    uow = db.unit_of_work(Actor.system("test"))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = imports.get_import(uow, import_id=import_id)  # type: ignore[arg-type]
        if test(found):  # type: ignore[operator]
            return found
        time.sleep(0.005)
    raise AssertionError(f"import still {found.status} with {found.rows_done} rows done")


def test_a_server_killed_mid_apply_leaves_whole_chunks_and_finishes_after_restart(
    db_url: str, db: Database, tmp_path: Path
) -> None:
    # given a 20,000-row import the server's job runner applies, 500 rows a transaction
    imports.register()
    data = "sku,name,weight_g\n" + "".join(f"K-{n},Item {n},{n}\n" for n in range(ROWS))
    env = {"job_lease_s": "2", "import_chunk_rows": str(CHUNK)}
    server = start_server(db_url, tmp_path / "first.log", **env)
    try:
        imported = imports.upload(db, Actor.system("test"), kind="items", file_name="k.csv", apply=True,
                                  source=io.BytesIO(data.encode()), max_bytes=10**8, chunk_rows=CHUNK)  # fmt: skip
        # when it is killed part-way through the apply
        wait_for(db, imported.id, lambda i: i.status == "applying" and i.rows_done >= 2 * CHUNK)
    finally:
        server.kill()
    stopped = imports.get_import(db.unit_of_work(Actor.system("test")), import_id=imported.id)
    # then what is written is exactly the committed chunks: no partial chunk, no row beyond rows_done
    assert stopped.status == "applying" and 0 < stopped.rows_done < ROWS
    assert stopped.rows_done % CHUNK == 0
    assert count_items(db) == stopped.rows_done
    # and a restarted server resumes after the last committed chunk and ends with every row exactly once
    with running_server(db_url, tmp_path / "second.log", **env):
        done = wait_for(db, imported.id, lambda i: i.status != "applying")
    assert (done.status, done.rows_done, done.created_count) == ("applied", ROWS, ROWS)
    assert count_items(db) == ROWS

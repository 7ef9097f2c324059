"""The raw baseline for bench.platform_overhead: a bare FastAPI endpoint doing one INSERT with the raw driver.

No authentication, idempotency, audit or outbox: just what any endpoint that writes one row must pay.
Run by the benchmark as `uvicorn bench.baseline_app:app` with BENCH_DATABASE_URL set.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
from fastapi import FastAPI
from pydantic import BaseModel

URL = os.environ["BENCH_DATABASE_URL"]
_local = threading.local()


def _connection() -> Any:
    conn = getattr(_local, "conn", None)
    if conn is None:
        if URL.startswith("sqlite:///"):
            conn = sqlite3.connect(URL.removeprefix("sqlite:///"), isolation_level=None, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        else:
            conn = psycopg.connect(URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
        _local.conn = conn
    return conn


class Body(BaseModel):
    code: str
    name: str
    kind: str
    division: str


app = FastAPI()


@app.post("/rows", status_code=201)
def insert_row(body: Body) -> dict[str, str]:
    row_id = uuid.uuid4()
    conn = _connection()
    now = datetime.now(UTC)
    if isinstance(conn, sqlite3.Connection):
        conn.execute(
            "INSERT INTO bench_rows (id, code, name, created_at) VALUES (?, ?, ?, ?)",
            (row_id.hex, body.code, body.name, now.isoformat()),
        )
    else:
        conn.execute(
            "INSERT INTO bench_rows (id, code, name, created_at) VALUES (%s, %s, %s, %s)",
            (row_id, body.code, body.name, now),
        )
    return {"id": str(row_id), "code": body.code}

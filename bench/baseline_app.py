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


@app.post("/reserve/{item_id}", status_code=201)
def reserve_one(item_id: str) -> Any:
    """The raw hot-SKU baseline: one conditional UPDATE and one movement INSERT in a transaction."""
    from fastapi.responses import JSONResponse

    conn = _connection()
    now = datetime.now(UTC)
    if isinstance(conn, sqlite3.Connection):
        conn.execute("BEGIN IMMEDIATE")
        changed = conn.execute(
            "UPDATE bench_stock SET reserved = reserved + 1 WHERE item_id = ? AND on_hand - reserved >= 1",
            (item_id,),
        ).rowcount
        if changed:
            conn.execute(
                "INSERT INTO bench_movements (id, item_id, reserved_delta, at) VALUES (?, ?, 1, ?)",
                (uuid.uuid4().hex, item_id, now.isoformat()),
            )
        conn.execute("COMMIT")
    else:
        with conn.transaction():
            changed = conn.execute(
                "UPDATE bench_stock SET reserved = reserved + 1 WHERE item_id = %s AND on_hand - reserved >= 1",
                (item_id,),
            ).rowcount
            if changed:
                conn.execute(
                    "INSERT INTO bench_movements (id, item_id, reserved_delta, at) VALUES (%s, %s, 1, %s)",
                    (uuid.uuid4(), item_id, now),
                )
    if not changed:
        return JSONResponse({"code": "insufficient_stock"}, status_code=409)
    return {"item_id": item_id}


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


class LineBody(BaseModel):
    item_id: str
    quantity: int


class OrderBody(BaseModel):
    channel: str
    lines: list[LineBody]


_TAKE = "UPDATE bench_stock SET reserved = reserved + {q} WHERE item_id = {i} AND on_hand - reserved >= {q}"


@app.post("/orders", status_code=201)
def place_order(body: OrderBody) -> Any:
    """The raw order baseline: a conditional stock UPDATE per line, the order, its lines (one multi-row INSERT)
    and an outbox row, in one transaction; 409 (rolled back) when a line has no stock."""
    from fastapi.responses import JSONResponse

    conn = _connection()
    now = datetime.now(UTC)
    order_id = uuid.uuid4()
    lines = sorted(body.lines, key=lambda line: line.item_id)  # fixed lock order, as Ordersmith takes them
    payload = f'{{"type": "order.placed", "lines": {len(lines)}}}'
    if isinstance(conn, sqlite3.Connection):
        with _SQLITE_WRITER:  # one writer at a time, queued in process (as Ordersmith does)
            return _sqlite_order(conn, body, lines, order_id, payload, now)
    try:
        with conn.transaction():
            for line in lines:
                taken = conn.execute(
                    _TAKE.format(q="%s", i="%s"), (line.quantity, line.item_id, line.quantity)
                )
                if not taken.rowcount:
                    raise LookupError(line.item_id)
            conn.execute("INSERT INTO bench_orders (id, channel, placed_at) VALUES (%s, %s, %s)",
                         (order_id, body.channel, now))  # fmt: skip
            with conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO bench_order_lines (order_id, line_no, item_id, quantity) VALUES (%s, %s, %s, %s)",
                    [(order_id, n, line.item_id, line.quantity) for n, line in enumerate(lines, 1)])  # fmt: skip
            conn.execute("INSERT INTO bench_outbox (id, payload, occurred_at) VALUES (%s, %s, %s)",
                         (uuid.uuid4(), payload, now))  # fmt: skip
    except LookupError:
        return JSONResponse({"code": "insufficient_stock"}, status_code=409)
    return {"id": str(order_id), "lines": len(lines)}


_SQLITE_WRITER = threading.Lock()


def _sqlite_order(conn: Any, body: OrderBody, lines: list[LineBody], order_id: uuid.UUID, payload: str,
                  now: datetime) -> Any:  # fmt: skip
    from fastapi.responses import JSONResponse

    conn.execute("BEGIN IMMEDIATE")
    for line in lines:
        if not conn.execute(
            _TAKE.format(q="?", i="?"), (line.quantity, line.item_id, line.quantity)
        ).rowcount:
            conn.execute("ROLLBACK")
            return JSONResponse({"code": "insufficient_stock"}, status_code=409)
    conn.execute("INSERT INTO bench_orders (id, channel, placed_at) VALUES (?, ?, ?)",
                 (order_id.hex, body.channel, now.isoformat()))  # fmt: skip
    conn.executemany("INSERT INTO bench_order_lines (order_id, line_no, item_id, quantity) VALUES (?, ?, ?, ?)",
                     [(order_id.hex, n, line.item_id, line.quantity) for n, line in enumerate(lines, 1)])  # fmt: skip
    conn.execute("INSERT INTO bench_outbox (id, payload, occurred_at) VALUES (?, ?, ?)",
                 (uuid.uuid4().hex, payload, now.isoformat()))  # fmt: skip
    conn.execute("COMMIT")
    return {"id": str(order_id), "lines": len(lines)}

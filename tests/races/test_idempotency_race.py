"""Twenty identical creating POSTs at once, through a real server process: one execution, twenty same answers."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import sqlalchemy as sa

from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.tables import AuditRow, OutboxRow, SalesChannelRow
from tests.builders import make_api_key
from tests.support.server import running_server

BODY = {
    "code": "amazon-de",
    "name": "Amazon DE",
    "kind": "marketplace",
    "division": "marketplace",
    "currency": "EUR",
}


def _race(url: str, headers: dict[str, str], bodies: list[dict[str, str]]) -> list[httpx.Response]:
    barrier = threading.Barrier(len(bodies))
    responses: list[httpx.Response | None] = [None] * len(bodies)

    def send(i: int) -> None:
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            responses[i] = client.post(f"{url}/api/v1/sales-channels", json=bodies[i], headers=headers)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r is not None for r in responses)
    return [r for r in responses if r is not None]


def _counts(db: Database) -> tuple[int, int, int]:
    with db.session(readonly=True) as session:  # a read: never the writer lock
        return (
            int(session.scalar(sa.select(sa.func.count()).select_from(SalesChannelRow)) or 0),
            int(
                session.scalar(sa.select(sa.func.count()).where(AuditRow.action == "sales_channel.created"))
                or 0
            ),
            int(
                session.scalar(sa.select(sa.func.count()).where(OutboxRow.type == "sales_channel.created"))
                or 0
            ),
        )


def test_twenty_concurrent_identical_posts_execute_once_and_answer_alike(
    db_url: str, db: Database, uow: UnitOfWork, tmp_path: Path
):
    # given
    key = make_api_key(uow, scopes=["sales_channels:write"]).secret
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "3f1c-checkout-77"}
    with running_server(db_url, tmp_path / "server.log") as server:
        # when
        responses = _race(server.url, headers, [BODY] * 20)
        # then
        assert {r.status_code for r in responses} == {201}, [
            r.text for r in responses if r.status_code != 201
        ]
        assert len({r.text for r in responses}) == 1
        assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 19
        assert _counts(db) == (1, 1, 1)

        # and the same key with another body is refused while the first answer stands
        other = httpx.post(
            f"{server.url}/api/v1/sales-channels", json={**BODY, "code": "amazon-fr"}, headers=headers
        )
        assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
        assert _counts(db) == (1, 1, 1)


def test_concurrent_different_keys_for_the_same_code_create_it_once(
    db_url: str, db: Database, uow: UnitOfWork, tmp_path: Path
):
    key = make_api_key(uow, scopes=["sales_channels:write"]).secret
    with running_server(db_url, tmp_path / "server.log") as server:
        barrier_bodies = [BODY] * 10
        responses = []
        # each request has its own idempotency key: the unique code decides, exactly one wins
        threads_headers = [{"Authorization": f"Bearer {key}", "Idempotency-Key": f"k-{i}"} for i in range(10)]
        lock = threading.Lock()
        barrier = threading.Barrier(10)

        def send(h: dict[str, str]) -> None:
            with httpx.Client(timeout=60) as client:
                barrier.wait()
                r = client.post(f"{server.url}/api/v1/sales-channels", json=barrier_bodies[0], headers=h)
            with lock:
                responses.append(r)

        threads = [threading.Thread(target=send, args=(h,)) for h in threads_headers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1 and all(s == 409 for s in statuses if s != 201), [
        r.text for r in responses
    ]
    assert _counts(db) == (1, 1, 1)

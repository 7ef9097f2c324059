import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from ordersmith.kernel.errors import Conflict
from ordersmith.platform import bulk_insert
from ordersmith.platform.db import Actor, Database, UnitOfWork, use_case
from ordersmith.platform.tables import AuditRow, OutboxRow, SalesChannelRow
from tests.builders import make_channel


def test_audit_rows_and_events_are_written_in_the_same_transaction_as_the_change(
    uow: UnitOfWork, db: Database
):
    channel = make_channel(uow, code="web")
    with db.session() as session:
        audit = session.scalars(sa.select(AuditRow)).one()
        event = session.scalars(sa.select(OutboxRow)).one()
    assert (audit.action, audit.object_id, audit.actor_label, audit.origin) == (
        "sales_channel.created",
        str(channel.id),
        "test",
        "pytest",
    )
    assert audit.after is not None and audit.after["code"] == "web"
    assert (event.type, event.payload["code"], event.dispatched_at) == ("sales_channel.created", "web", None)
    assert event.occurred_at.tzinfo is not None


def test_a_failing_use_case_leaves_no_row_no_audit_and_no_event(uow: UnitOfWork, db: Database):
    @use_case
    def create_then_fail(uow: UnitOfWork) -> None:
        make_channel(uow, code="doomed")
        raise Conflict("changed my mind")

    with pytest.raises(Conflict):
        create_then_fail(uow)
    with db.session() as session:
        counts = [
            session.scalar(sa.select(sa.func.count()).select_from(t))
            for t in (SalesChannelRow, AuditRow, OutboxRow)
        ]
    assert counts == [0, 0, 0]


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET action = 'tampered'", "DELETE FROM audit_log"])
def test_the_database_refuses_to_change_or_delete_audit_rows(uow: UnitOfWork, db: Database, statement: str):
    make_channel(uow)
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
        conn.execute(sa.text(statement))
    with db.session() as session:
        assert session.scalars(sa.select(AuditRow.action)).all() == ["sales_channel.created"]


def test_a_nested_use_case_joins_the_outer_transaction(uow: UnitOfWork, db: Database):
    @use_case
    def two_channels_then_fail(uow: UnitOfWork) -> None:
        make_channel(uow, code="one")
        make_channel(uow, code="two")
        raise Conflict("roll both back")

    with pytest.raises(Conflict):
        two_channels_then_fail(uow)
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(SalesChannelRow)) == 0


def test_concurrent_writers_serialise_and_none_is_lost(db: Database):
    # given a version counter bumped by 8 threads x 10 use cases under a row lock
    uow = db.unit_of_work(Actor.system("test"))
    channel = make_channel(uow, code="counter")

    @use_case
    def bump(uow: UnitOfWork) -> None:
        row = uow.session.get(SalesChannelRow, channel.id, with_for_update=True)
        assert row is not None
        row.version += 1

    errors: list[BaseException] = []

    def worker() -> None:
        local = db.unit_of_work(Actor.system("thread"))
        for _ in range(10):
            try:
                bump(local)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.session() as session:
        assert session.get(SalesChannelRow, channel.id).version == 81  # type: ignore[union-attr]


def test_a_deadlock_is_retried_until_both_use_cases_commit(db: Database):
    if db.dialect != "postgresql":
        pytest.skip("SQLite has a single writer: two transactions cannot deadlock")
    # given two rows that two use cases lock in opposite orders, meeting at a barrier in between
    uow = db.unit_of_work(Actor.system("test"))
    first, second = make_channel(uow, code="first"), make_channel(uow, code="second")
    barrier = threading.Barrier(2, timeout=5)
    attempts: list[str] = []

    @use_case
    def lock_both(uow: UnitOfWork, *, order: tuple[object, object], name: str) -> None:
        attempts.append(name)
        for position, channel_id in enumerate(order):
            row = uow.session.get(SalesChannelRow, channel_id, with_for_update=True)
            assert row is not None
            row.version += 1
            if position == 0 and attempts.count(name) == 1:
                barrier.wait()  # only the first attempt waits, so the retry runs free

    errors: list[BaseException] = []

    def run(order: tuple[object, object], name: str) -> None:
        try:
            lock_both(db.unit_of_work(Actor.system(name)), order=order, name=name)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=((first.id, second.id), "a")),
        threading.Thread(target=run, args=((second.id, first.id), "b")),
    ]
    # when
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then PostgreSQL aborted one as a deadlock victim, the unit of work retried it, and both committed
    assert errors == []
    assert len(attempts) == 3
    with db.session() as session:
        versions = [session.get(SalesChannelRow, c.id).version for c in (first, second)]  # type: ignore[union-attr]
    assert versions == [3, 3]


def _audit_row(action: str, after: dict[str, object] | None) -> dict[str, object]:
    from datetime import UTC, datetime

    from ordersmith.kernel.ids import new_id

    return {
        "id": new_id(),
        "actor_kind": "system",
        "actor_id": None,
        "actor_label": "test",
        "action": action,
        "object_type": "thing",
        "object_id": "é-1",
        "before": None,
        "after": after,
        "at": datetime(2026, 12, 6, 10, 0, 0, 123456, tzinfo=UTC),
        "origin": "pytest",
    }


def test_insert_many_writes_exactly_what_a_core_insert_writes(
    uow: UnitOfWork, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the same rows, one set through a Core INSERT and one through insert_many (a COPY on PostgreSQL)
    monkeypatch.setattr(bulk_insert, "COPY_MIN_ROWS", 1)
    core = [_audit_row("core", {"n": 1, "name": "Zoë", "list": [1, "2"]}), _audit_row("core", None)]
    fast = [{**row, "id": _audit_row("x", None)["id"], "action": "fast"} for row in core]
    # when
    with uow:
        uow.execute_core(sa.insert(AuditRow.__table__), core)  # type: ignore[arg-type]
        uow.insert_many(AuditRow, fast)
    # then the stored values (read as raw text too) are the same
    with db.engine.connect() as conn:
        raw = conn.execute(
            sa.text(
                "SELECT action, actor_id, object_id, CAST(before AS TEXT), CAST(after AS TEXT), "
                "CAST(at AS TEXT), origin FROM audit_log ORDER BY action, id"
            )
        ).all()
    with db.session() as session:
        read = session.scalars(sa.select(AuditRow).order_by(AuditRow.action, AuditRow.id)).all()
    assert [tuple(r)[1:] for r in raw[:2]] == [tuple(r)[1:] for r in raw[2:]]
    assert [(r.after, r.at, r.before) for r in read[:2]] == [(r.after, r.at, r.before) for r in read[2:]]
    assert [r.id for r in read[2:]] == [row["id"] for row in fast]


def test_insert_many_raises_integrity_error_on_a_duplicate_and_writes_nothing(
    uow: UnitOfWork, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import IntegrityError

    monkeypatch.setattr(bulk_insert, "COPY_MIN_ROWS", 1)
    # given a row already stored
    row = _audit_row("first", None)
    with uow:
        uow.insert_many(AuditRow, [row])
    # when a batch repeats its id
    with pytest.raises(IntegrityError), uow:
        uow.insert_many(AuditRow, [_audit_row("second", None), row])
    # then only the first row is there
    with db.session() as session:
        assert session.scalars(sa.select(AuditRow.action)).all() == ["first"]

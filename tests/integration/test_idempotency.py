import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from ordersmith.kernel.clock import FixedClock
from ordersmith.kernel.errors import AlreadyExists, IdempotencyKeyReused, ValidationFailed
from ordersmith.platform import idempotency
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.platform.tables import IdempotencyRow, SalesChannelRow
from tests.builders import make_channel

TTL = timedelta(hours=24)


def _create(uow: UnitOfWork, key: str, code: str, caller: str = "user:1"):
    def execute(joined: UnitOfWork) -> tuple[int, str]:
        channel = make_channel(joined, code=code)
        return 201, json.dumps({"id": str(channel.id), "code": channel.code})

    return idempotency.run_idempotent(
        uow,
        caller=caller,
        key=key,
        method="POST",
        path="/api/v1/sales-channels",
        fingerprint=idempotency.request_fingerprint("POST", "/api/v1/sales-channels", {"code": code}),
        ttl=TTL,
        execute=execute,
    )


def _channels(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(SalesChannelRow)) or 0)


def test_the_same_key_and_body_replays_the_first_response_without_running_again(
    uow: UnitOfWork, db: Database
):
    first = _create(uow, "key-1", "web")
    second = _create(uow, "key-1", "web")
    assert not first.replayed and second.replayed
    assert (second.status, second.body) == (first.status, first.body)
    assert _channels(db) == 1


def test_the_same_key_with_another_body_is_a_conflict_that_changes_nothing(uow: UnitOfWork, db: Database):
    _create(uow, "key-1", "web")
    with pytest.raises(IdempotencyKeyReused):
        _create(uow, "key-1", "store")
    assert _channels(db) == 1


def test_keys_are_scoped_to_the_caller(uow: UnitOfWork, db: Database):
    _create(uow, "key-1", "web", caller="user:1")
    with pytest.raises(AlreadyExists):  # another caller's same key runs the request (and the code is taken)
        _create(uow, "key-1", "web", caller="user:2")
    assert _channels(db) == 1


def test_a_failed_request_stores_nothing_so_a_retry_runs_again(uow: UnitOfWork, db: Database):
    make_channel(uow, code="web")
    with pytest.raises(AlreadyExists):
        _create(uow, "key-1", "web")
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRow)) == 0
    assert not _create(uow, "key-1", "store").replayed


def test_an_expired_key_runs_the_request_again_and_purge_removes_old_keys(db: Database):
    clock = FixedClock(datetime(2026, 11, 1, tzinfo=UTC))
    uow = db.unit_of_work(Actor.system("test"), clock=clock)
    _create(uow, "key-1", "web")
    clock.advance(TTL + timedelta(seconds=1))
    assert idempotency.purge_expired(uow) == 1
    assert not _create(uow, "key-1", "store").replayed


def test_a_malformed_key_is_refused_naming_the_header(uow: UnitOfWork, db: Database):
    with pytest.raises(ValidationFailed) as caught:
        _create(uow, "x" * 300, "web")
    assert caught.value.errors[0].field == "Idempotency-Key"
    assert _channels(db) == 0

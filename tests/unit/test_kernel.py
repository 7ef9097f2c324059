import os
import pickle
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from ordersmith.kernel.clock import FixedClock, ensure_utc
from ordersmith.kernel.errors import (
    AlreadyExists,
    Conflict,
    InsufficientStock,
    NotFound,
    OrdersmithError,
    ValidationFailed,
    all_error_classes,
)
from ordersmith.kernel.events import Event, matches
from ordersmith.kernel.ids import id_floor, id_timestamp_ms, new_id
from ordersmith.kernel.pagination import check_limit, decode_cursor, encode_cursor


def test_new_ids_are_version_7_and_strictly_increasing():
    ids = [new_id() for _ in range(10_000)]
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_new_ids_are_ordinary_uuids():
    value = new_id()
    again = uuid.UUID(str(value))
    assert value == again and hash(value) == hash(again) and value.hex == again.hex
    assert value.is_safe is uuid.SafeUUID.unknown
    assert pickle.loads(pickle.dumps(value)) == value


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() only")
def test_a_forked_child_never_reuses_the_parents_pooled_entropy():
    new_id()  # the pool is filled and partly used
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child reports through the pipe)
        os.close(reader)
        os.write(writer, "".join(new_id().hex for _ in range(50)).encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        text = pipe.read()
    os.waitpid(child, 0)
    theirs = {text[n : n + 32][-16:] for n in range(0, len(text), 32)}  # the random half of each id
    ours = {new_id().hex[-16:] for _ in range(50)}
    assert len(theirs) == 50 and not theirs & ours


def test_id_embeds_its_creation_millisecond():
    before = int(datetime.now(UTC).timestamp() * 1000)
    value = new_id()
    after = int(datetime.now(UTC).timestamp() * 1000)
    assert before <= id_timestamp_ms(value) <= after + 1
    assert id_floor(id_timestamp_ms(value)) <= value


def test_every_error_has_a_unique_stable_code_and_an_http_status():
    classes = all_error_classes()
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes))
    assert NotFound.status == 404 and NotFound.code == "not_found"
    assert issubclass(InsufficientStock, Conflict) and InsufficientStock.status == 409
    assert issubclass(AlreadyExists, OrdersmithError)


def test_validation_failed_names_the_field():
    error = ValidationFailed.on("email", "not valid")
    assert error.errors[0].field == "email"
    assert error.status == 422


def test_clock_refuses_naive_datetimes_and_converts_to_utc():
    with pytest.raises(ValueError):
        ensure_utc(datetime(2026, 1, 1))
    paris = timezone(timedelta(hours=1))
    assert ensure_utc(datetime(2026, 1, 1, 12, tzinfo=paris)).hour == 11
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    clock.advance(timedelta(minutes=5))
    assert clock.now() == datetime(2026, 1, 1, 0, 5, tzinfo=UTC)


def test_event_types_are_dotted_and_times_aware():
    with pytest.raises(ValueError):
        Event(type="OrderPlaced", payload={}, occurred_at=datetime.now(UTC))
    event = Event(type="order.placed", payload={"n": 1}, occurred_at=datetime.now(UTC))
    assert event.id.version == 7


def test_event_filters_match_exact_prefix_and_everything():
    assert matches("order.placed", "order.placed")
    assert matches("order.placed", "order.*")
    assert not matches("orders.placed", "order.*")
    assert matches("stock.changed", "*")
    assert not matches("order.placed", "order.cancelled")


def test_cursors_round_trip_and_malformed_ones_are_refused_with_the_field():
    assert decode_cursor(encode_cursor("a", "b"), 2) == ["a", "b"]
    with pytest.raises(ValidationFailed) as caught:
        decode_cursor("!!!", 1)
    assert caught.value.errors[0].field == "cursor"
    with pytest.raises(ValidationFailed):
        decode_cursor(encode_cursor("a"), 2)
    with pytest.raises(ValidationFailed):
        check_limit(0)


def test_a_shifted_clock_runs_at_the_wall_clocks_pace_from_another_instant():
    from datetime import UTC, datetime, timedelta

    from ordersmith.kernel.clock import ShiftedClock, utcnow

    # given a clock set back to 2026-01-15 09:00
    clock = ShiftedClock(datetime(2026, 1, 15, 9, 0, tzinfo=UTC) - utcnow())
    # when it is read twice
    first, second = clock.now(), clock.now()
    # then it reads that morning, in UTC, and time passes
    assert first.tzinfo is UTC and first.date().isoformat() == "2026-01-15" and first.hour == 9
    assert timedelta(0) <= second - first < timedelta(seconds=1)

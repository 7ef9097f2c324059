"""Plugins' event subscribers: one that raises never holds an event back from the other subscribers; it gets the
event again on its own, with back-off, until it takes it or is dead-lettered. And `ordersmith plugins` lists what
loads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from ordersmith import plugin_host
from ordersmith.kernel.clock import FixedClock
from ordersmith.kernel.events import Event
from ordersmith.platform import outbox, plugin_deliveries, plugins
from ordersmith.platform.db import Actor, Database, UnitOfWork, use_case
from ordersmith.platform.settings import Settings
from ordersmith.platform.tables import OutboxRow, PluginDeliveryRow
from tests.support.cli import run

HERE = "tests.integration.test_plugin_subscribers"
seen: list[str] = []
failures_left = {"count": 0}


def flaky(event: Event) -> None:
    if failures_left["count"] > 0:
        failures_left["count"] -= 1
        raise ConnectionError("the plugin's backend is down")
    seen.append(str(event.id))


def register(registry: plugins.Registry) -> None:
    registry.subscribe("thing.*", flaky)


@use_case
def _emit(uow: UnitOfWork, number: int) -> None:
    uow.emit("thing.happened", {"number": number})


@pytest.fixture
def clock(db: Database, settings: Settings) -> Iterator[FixedClock]:
    clock = FixedClock(datetime(2026, 12, 6, 9, 0, tzinfo=UTC))
    db.set_clock(clock)
    seen.clear()
    plugin_host.start(settings.model_copy(update={"plugins": f"{HERE}", "plugins_entry_points": False}))
    yield clock
    plugin_host.start(Settings(plugins="", plugins_entry_points=False, _env_file=None))  # type: ignore[call-arg]


def _deliveries(db: Database) -> list[tuple[str, int, str | None]]:
    with db.session() as session:
        rows = session.scalars(sa.select(PluginDeliveryRow).order_by(PluginDeliveryRow.id)).all()
    return [(r.status, r.attempts, r.last_error) for r in rows]


def test_a_failing_plugin_subscriber_does_not_hold_the_event_back_and_gets_it_again_later(
    db: Database, clock: FixedClock
) -> None:
    others: list[str] = []

    def other(uow: UnitOfWork, event: Event) -> None:
        others.append(str(event.id))

    outbox.subscribe("thing.*", other)
    uow = db.unit_of_work(Actor.system("test"))
    try:
        # given the plugin's backend down once
        failures_left["count"] = 1
        # when an event is dispatched
        _emit(uow, number=1)
        assert outbox.dispatch_batch(uow) == 1
    finally:
        outbox.unsubscribe(other)
    # then the other subscriber has it and the event is dispatched; the plugin's delivery waits apart
    with db.session() as session:
        event = session.scalars(sa.select(OutboxRow)).one()
    assert others == [str(event.id)] and event.dispatched_at is not None and event.attempts == 0
    assert seen == []
    assert _deliveries(db) == [("pending", 1, "ConnectionError: the plugin's backend is down")]
    # when the retry job runs before the back-off has passed, nothing is tried
    assert plugin_deliveries.redeliver_due(uow) == 0
    # when it runs after it, the plugin gets the event
    clock.advance(timedelta(seconds=3))
    assert plugin_deliveries.redeliver_due(uow) == 1
    assert seen == [str(event.id)]
    assert [d[:2] for d in _deliveries(db)] == [("delivered", 2)]
    assert plugin_deliveries.redeliver_due(uow) == 0


def test_a_plugin_subscriber_that_keeps_failing_is_dead_lettered(db: Database, clock: FixedClock) -> None:
    uow = db.unit_of_work(Actor.system("test"))
    # given a plugin that always fails (the settings allow 3 attempts)
    failures_left["count"] = 10
    _emit(uow, number=2)
    assert outbox.dispatch_batch(uow) == 1
    # when the retry job runs each time the back-off has passed
    for wait_s in (3, 5):
        clock.advance(timedelta(seconds=wait_s))
        assert plugin_deliveries.redeliver_due(uow) == 1
    # then after the third attempt the delivery is dead, and listed as such
    assert [d[:2] for d in _deliveries(db)] == [("dead", 3)]
    clock.advance(timedelta(hours=1))
    assert plugin_deliveries.redeliver_due(uow) == 0
    dead = plugin_deliveries.list_deliveries(uow, status="dead").items
    assert [(d.plugin, d.subscriber, d.event_type, d.attempts) for d in dead] == [
        (HERE, "thing.*", "thing.happened", 3)
    ]
    assert seen == []


def test_the_plugins_command_lists_what_loads_and_strict_fails_on_a_broken_plugin(db_url: str) -> None:
    references = "tests.support.crashing_plugins,tests.support.plugin_failing_import"
    # when the plugins are listed as JSON
    listed = run(
        db_url, "plugins", "--json", ORDERSMITH_PLUGINS=references, ORDERSMITH_PLUGINS_ENTRY_POINTS="false"
    )
    # then each plugin is there with its status and contributions, and the command succeeds
    assert listed.returncode == 0, listed.stderr
    items = json.loads(listed.stdout)
    assert [(p["name"], p["status"]) for p in items] == [
        ("tests.support.crashing_plugins", "loaded"),
        ("tests.support.plugin_failing_import", "failed"),
    ]
    assert [c["name"] for c in items[0]["contributions"]] == [
        "raises",
        "slow",
        "nonsense",
        "raises",
        "order.placed",
    ]
    assert items[1]["error"] == "ImportError: this plugin needs a library that is not installed"
    # when --strict is asked for, a failed plugin is a non-zero exit
    strict = run(db_url, "plugins", "--strict", ORDERSMITH_PLUGINS=references,
                 ORDERSMITH_PLUGINS_ENTRY_POINTS="false")  # fmt: skip
    assert strict.returncode == 1 and "failed" in strict.stdout
    plugin_host.start(Settings(plugins="", plugins_entry_points=False, _env_file=None))  # type: ignore[call-arg]

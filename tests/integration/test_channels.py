"""The connector framework on SQLite and PostgreSQL: channel orders in exactly once through checkout, the
`unmapped_sku` hold and its release, retries with back-off, the dead-letter list and replay, sealed credentials,
a channel's own view, the health read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from ordersmith.channels import rules
from ordersmith.channels import service as channels
from ordersmith.channels.tables import ChannelOrderRow, ConnectorRow
from ordersmith.kernel.clock import FixedClock
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.orders import service as orders
from ordersmith.orders.tables import OrderRow
from ordersmith.payments import service as payments
from ordersmith.platform import jobs
from ordersmith.platform.access import Principal
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.platform.settings import Settings
from ordersmith.platform.tables import JobRow, OutboxRow
from tests.builders import make_order_shop, stock

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def shop(db: Database, settings: Settings, clock: FixedClock) -> Iterator[UnitOfWork]:
    """The order shop, a generic connector on the `amazon` marketplace channel with TEE mapped as M-TEE."""
    db.set_clock(clock)
    wired = payments.setup_payments(db, settings)
    channels.register()
    channels.setup_channels(db, settings)
    uow = db.unit_of_work(Actor.system("test"))
    make_order_shop(uow)
    channels.create_connector(uow, code="market", kind="generic", sales_channel="amazon", name="Market",
                              config={"shipping_method": "ground"}, credentials={})  # fmt: skip
    channels.map_sku(uow, connector="market", channel_sku="M-TEE", sku="TEE")
    yield uow
    wired.vault.dispose()


def payload(
    external_id: str = "A-1", *, updated: int = 0, lines: list[tuple[str, int]] | None = None
) -> dict[str, Any]:
    return {
        "id": external_id,
        "updated_at": (START - timedelta(hours=1) + timedelta(minutes=updated)).isoformat(),
        "placed_at": (START - timedelta(hours=1)).isoformat(),
        "currency": "USD",
        "email": "ann@example.com",
        "lines": [{"sku": sku, "quantity": q, "unit_price": "20.00"} for sku, q in (lines or [("M-TEE", 1)])],
        "ship_to": {"name": "Ann Buyer", "line1": "1 Market St", "city": "San Francisco", "region": "CA",
                    "postal_code": "94105", "country": "US"},
        "totals": {"subtotal": "20.00", "tax": "1.65", "total": "26.65"},
    }  # fmt: skip


def drain(db: Database) -> int:
    """Run every due job until none is left; returns how many runs of the connectors' own jobs there were (other
    contexts' periodic jobs and the channels' poll sweep, due as the test's clock moves on, run too but are not
    counted)."""

    def runs() -> int:
        with db.session() as session:
            counted = sa.select(sa.func.coalesce(sa.func.sum(JobRow.attempts), 0)).where(
                JobRow.kind.like("channels.%"), JobRow.kind != "channels.poll_due"
            )
            return int(session.scalar(counted) or 0)

    before = runs()
    while jobs.run_due_jobs(db, worker="test") > 0:
        pass
    return runs() - before


def channel_orders(uow: UnitOfWork, external_id: str) -> list[OrderRow]:
    with uow:
        return list(uow.session.scalars(sa.select(OrderRow).where(OrderRow.external_id == external_id)))


def events(uow: UnitOfWork, kind: str) -> list[dict[str, Any]]:
    with uow:
        return [r.payload for r in uow.session.scalars(sa.select(OutboxRow).where(OutboxRow.type == kind))]


def test_an_order_delivered_three_times_out_of_order_makes_one_order_of_its_newest_version(
    shop: UnitOfWork,
) -> None:
    # given: the newer version (two tees) arrives before the older one (one tee), then again
    first = channels.receive_order(shop, connector="market", payload=payload(updated=5, lines=[("M-TEE", 2)]))
    older = channels.receive_order(shop, connector="market", payload=payload(updated=0, lines=[("M-TEE", 1)]))
    again = channels.receive_order(shop, connector="market", payload=payload(updated=5, lines=[("M-TEE", 2)]))
    # when
    drain(shop.db)
    late = channels.receive_order(shop, connector="market", payload=payload(updated=9, lines=[("M-TEE", 3)]))
    drain(shop.db)
    # then
    assert (first.duplicate, older.duplicate, again.duplicate, late.duplicate) == (False, True, True, True)
    placed = channel_orders(shop, "A-1")
    assert len(placed) == 1
    order = orders.get_order(shop, ref=str(placed[0].id))
    assert [(line.sku, line.quantity) for line in order.lines] == [("TEE", 2)]
    assert order.channel == "amazon"
    kept = channels.get_channel_order(shop, connector="market", external_id="A-1")
    assert (kept.status, kept.deliveries, kept.order_number) == ("imported", 4, order.number)
    assert kept.reported["total"] == "26.65"
    imported = events(shop, "channel.order_imported")
    assert [(e["external_id"], e["number"], e["channel"]) for e in imported] == [
        ("A-1", order.number, "amazon")
    ]


def test_an_unknown_channel_sku_holds_the_order_until_it_is_mapped_then_releases_it(shop: UnitOfWork) -> None:
    # given
    channels.receive_order(
        shop, connector="market", payload=payload("A-2", lines=[("M-TEE", 1), ("M-MUG", 2)])
    )
    drain(shop.db)
    held = channels.get_channel_order(shop, connector="market", external_id="A-2")
    assert (held.status, held.hold_reason, held.unmapped_skus) == ("held", rules.HOLD_UNMAPPED, ["M-MUG"])
    assert channel_orders(shop, "A-2") == []
    assert channels.connector_health(shop, code="market").oldest_held_at == START
    assert [e["skus"] for e in events(shop, "channel.order_held")] == [["M-MUG"]]
    # when
    mapped = channels.map_sku(shop, connector="market", channel_sku="M-MUG", sku="MUG")
    drain(shop.db)
    # then
    assert mapped.released == 1
    placed = channel_orders(shop, "A-2")
    assert len(placed) == 1
    order = orders.get_order(shop, ref=str(placed[0].id))
    assert sorted((line.sku, line.quantity) for line in order.lines) == [("MUG", 2), ("TEE", 1)]
    assert channels.get_channel_order(shop, connector="market", external_id="A-2").status == "imported"
    assert channels.connector_health(shop, code="market").oldest_held_at is None


def test_a_failing_import_is_retried_with_back_off_then_dead_lettered_and_replayed_after_the_fix(
    shop: UnitOfWork, clock: FixedClock
) -> None:
    # given: 30 mugs, 20 in stock and mugs cannot be backordered
    channels.map_sku(shop, connector="market", channel_sku="M-MUG", sku="MUG")
    sent = payload("A-3", lines=[("M-MUG", 30)])
    channels.receive_order(shop, connector="market", payload=sent)
    # when: the first attempt fails and the next waits for its back-off
    assert drain(shop.db) == 1
    waiting = channels.get_channel_order(shop, connector="market", external_id="A-3")
    assert (waiting.status, waiting.attempts) == ("received", 1)
    assert drain(shop.db) == 0  # not due yet
    for attempt in range(2, rules.MAX_ATTEMPTS + 1):
        clock.advance(timedelta(seconds=rules.retry_delay_s(attempt - 1, permanent=False) or 0))
        assert drain(shop.db) == 1
    # then: dead-lettered with the channel's payload and the error
    dead = channels.get_channel_order(shop, connector="market", external_id="A-3")
    assert (dead.status, dead.attempts) == ("dead", rules.MAX_ATTEMPTS)
    letters = channels.list_dead_letters(shop, connector="market").items
    assert [(d.operation, d.reference, d.payload, d.attempts) for d in letters] == [
        ("import_order", "A-3", sent, rules.MAX_ATTEMPTS)
    ]
    assert "insufficient_stock" in letters[0].error
    health = channels.connector_health(shop, code="market")
    assert (health.dead_letters_open, health.last_failure_at) == (1, clock.now())
    assert [e["reference"] for e in events(shop, "channel.sync_failed")] == ["A-3"]
    assert channel_orders(shop, "A-3") == []
    # when: the stock arrives and the dead letter is replayed
    stock(shop, sku="MUG", location="WEST", quantity=10)
    channels.replay_dead_letter(shop, dead_letter_id=letters[0].id)
    drain(shop.db)
    # then
    assert len(channel_orders(shop, "A-3")) == 1
    assert channels.list_dead_letters(shop, connector="market").items == []
    assert channels.connector_health(shop, code="market").dead_letters_open == 0


def test_a_payload_that_is_not_an_order_is_refused_naming_the_field_and_records_nothing(
    shop: UnitOfWork,
) -> None:
    bad = payload("A-4")
    bad["lines"][0]["quantity"] = 0
    with pytest.raises(ValidationFailed) as refused:
        channels.receive_order(shop, connector="market", payload=bad)
    assert [e.field for e in refused.value.errors] == ["lines.0.quantity"]
    with shop:
        assert shop.session.scalar(sa.select(sa.func.count()).select_from(ChannelOrderRow)) == 0


def test_a_connectors_credentials_are_sealed_and_never_shown(shop: UnitOfWork) -> None:
    created = channels.create_connector(
        shop, code="shop", kind="shopify", sales_channel="web", name="Shop",
        config={"shipping_method": "ground", "shop_url": "https://acme.myshopify.com", "location_id": "gid://x/1"},
        credentials={"access_token": "shpat_secret_token", "webhook_secret": "whsec_value"},
    )  # fmt: skip
    assert created.credential_names == ["access_token", "webhook_secret"]
    with shop:
        stored = shop.session.scalar(sa.select(ConnectorRow.credentials).where(ConnectorRow.code == "shop"))
    assert stored is not None and "shpat_secret_token" not in stored and "whsec_value" not in stored
    with pytest.raises(ValidationFailed) as refused:
        channels.create_connector(shop, code="shop2", kind="shopify", sales_channel="web", name="Shop",
                                  config={"shipping_method": "ground", "shop_url": "https://a.myshopify.com"},
                                  credentials={"access_token": "x"})  # fmt: skip
    assert [e.field for e in refused.value.errors] == ["credentials.webhook_secret"]


def test_a_channel_bound_caller_sees_only_its_own_channels_connector(shop: UnitOfWork) -> None:
    with shop:
        web = shop.session.scalar(sa.text("SELECT id FROM sales_channels WHERE code = 'web'"))
        amazon = shop.session.scalar(sa.text("SELECT id FROM sales_channels WHERE code = 'amazon'"))
    import uuid

    def bound(channel_id: Any) -> Principal:
        return Principal(kind="api_key", id=None, label="key", channel_id=uuid.UUID(str(channel_id)))

    with pytest.raises(NotFound):
        channels.get_connector(shop, code="market", principal=bound(web))
    with pytest.raises(NotFound):
        channels.receive_order(shop, connector="market", payload=payload("A-5"), principal=bound(web))
    assert channels.list_connectors(shop, principal=bound(web)).items == []
    assert [c.code for c in channels.list_connectors(shop, principal=bound(amazon)).items] == ["market"]
    assert channels.get_connector(shop, code="market", principal=bound(amazon)).sales_channel == "amazon"
    with shop:
        assert shop.session.scalar(sa.select(sa.func.count()).select_from(ChannelOrderRow)) == 0


def test_the_cli_connects_a_channel_maps_a_sku_takes_an_order_and_refuses_bad_input_in_one_line(
    db_url: str, db: Database
) -> None:
    from tests.support.cli import run

    make_order_shop(db.unit_of_work(Actor.system("test")))
    # a bad setting: one line, exit 2, nothing written
    bad = run(
        db_url,
        "channels",
        "connect",
        "shop",
        "shopify",
        "web",
        "--set",
        "shipping_method=ground",
        "--set",
        "shop_url=not-a-url",
        "--credentials",
        "-",
        stdin='{"access_token": "t", "webhook_secret": "s"}',
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "shop_url" in bad.stderr
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ConnectorRow)) == 0
    # connect, map, receive
    ok = run(db_url, "channels", "connect", "market", "generic", "amazon", "--set", "shipping_method=ground")
    assert ok.returncode == 0, ok.stderr
    assert run(db_url, "channels", "map", "market", "M-TEE", "TEE").returncode == 0
    received = run(db_url, "channels", "receive", "market", "-", stdin=json.dumps(payload("C-1")))
    assert received.returncode == 0 and "C-1 received" in received.stdout
    listed = run(db_url, "channels", "orders", "market")
    assert "C-1" in listed.stdout and "received" in listed.stdout
    health = run(db_url, "channels", "health", "market")
    assert health.returncode == 0 and "dead letters   0" in health.stdout


def test_a_generic_channel_s_later_version_moves_the_ship_to_and_lowers_units_each_once(
    shop: UnitOfWork,
) -> None:
    # given an imported order of 3 tees
    channels.receive_order(shop, connector="market", payload=payload("A-9", lines=[("M-TEE", 3)]))
    drain(shop.db)
    (row,) = channel_orders(shop, "A-9")
    # when the channel sends a later version, twice: another street and 2 tees
    later = payload("A-9", updated=10, lines=[("M-TEE", 2)])
    later["ship_to"] |= {"line1": "77 Harbor Way", "city": "Sausalito", "postal_code": "94965"}
    for _ in range(2):
        channels.receive_order(shop, connector="market", payload=later)
    drain(shop.db)
    # then: the order ships there, one tee is cancelled, each change applied once
    order = orders.get_order(shop, ref=str(row.id))
    (ship_to,) = order.ship_tos
    assert (ship_to.line1, ship_to.city, ship_to.postal_code) == ("77 Harbor Way", "Sausalito", "94965")
    assert [(line.quantity, line.cancelled) for line in order.lines] == [(3, 1)]
    assert sorted(
        (c.kind, c.status) for c in channels.list_changes(shop, connector="market", external_id="A-9")
    ) == [("address_changed", "applied"), ("quantity_reduced", "applied")]

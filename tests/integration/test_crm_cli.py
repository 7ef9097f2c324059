"""`ordersmith crm …` as staff run it (through the Typer app, in this process), on SQLite and PostgreSQL, against the
loopback HubSpot stub: the connections with their health, a sync run now that HubSpot refuses in part (a dead
letter), the dead letters listed and one replayed, the sync run again; and `crm.sync_now` itself refusing a
connection that is switched off or that a worker is syncing, with nothing changed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from ordersmith.channels import service as channels
from ordersmith.channels.crm import service as crm
from ordersmith.channels.crm.tables import CrmConnectionRow, CrmDeadLetterRow, CrmLinkRow, CrmPendingRow
from ordersmith.customers import service as customers
from ordersmith.kernel.errors import Conflict
from ordersmith.orders import service as orders
from ordersmith.platform import outbox
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.platform.settings import Settings
from ordersmith.platform.tables import AuditRow
from tests.builders import channel, make_order_shop, order_request
from tests.support.cli import run
from tests.support.http_stub import serving
from tests.support.hubspot_stub import TOKEN, HubSpotStub


@pytest.fixture(scope="module")
def hubspot() -> Iterator[HubSpotStub]:
    stub = HubSpotStub()
    with serving(stub.api):
        yield stub


@pytest.fixture
def shop(db: Database, settings: Settings, hubspot: HubSpotStub) -> UnitOfWork:
    """A shop with a HubSpot connection (no wait between a change and its sync), Jane and her order waiting."""
    hubspot.reset()
    channels.setup_channels(db, settings)
    crm.register()
    uow = db.unit_of_work(Actor.system("test"))
    make_order_shop(uow)
    crm.create_connection(
        uow,
        code="hubspot",
        kind="hubspot",
        name="Acme on HubSpot",
        config={"base_url": hubspot.api.url(), "sync_window_s": 0},
        credentials={"access_token": TOKEN},
    )
    jane = customers.create_customer(
        uow, details=customers.Details(first_name="Jane", last_name="Doe", emails=["jane@example.com"])
    )
    orders.place_order(uow, channel=channel(uow), request=order_request(("TEE", 1), customer=jane.number))
    while outbox.dispatch_batch(uow):
        pass
    return uow


def _state(db: Database) -> tuple[Any, ...]:
    with db.session() as session:

        def count(table: Any) -> int:
            return int(session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)

        row = session.scalars(sa.select(CrmConnectionRow)).one()
        return (
            count(CrmPendingRow),
            count(CrmLinkRow),
            count(CrmDeadLetterRow),
            count(AuditRow),
            row.claimed_by,
            row.last_success_at,
            row.version,
        )


def _one_line(ran: Any) -> bool:
    return ran.returncode == 2 and len(ran.stderr.strip().splitlines()) == 1


def test_the_cli_shows_crm_health_syncs_now_lists_and_replays_a_dead_letter(
    shop: UnitOfWork, db_url: str, hubspot: HubSpotStub
) -> None:
    # given: Jane's contact and deal waiting; the stage deals start in deleted on HubSpot's side
    hubspot.stages.discard("contractsent")
    listed = run(db_url, "crm", "list")
    assert listed.returncode == 0, listed.stderr
    assert "hubspot" in listed.stdout and "active" in listed.stdout and "not yet" not in listed.stdout
    (row,) = [line.split() for line in listed.stdout.splitlines() if line.startswith("hubspot")]
    assert row[:4] == ["hubspot", "hubspot", "active", "-"] and "2" in row  # two records waiting
    # when: synced now
    synced = run(db_url, "crm", "sync", "hubspot")
    # then: the contact made, the deal refused for good: one line, exit 1, pointing at the dead letters
    assert synced.returncode == 1 and len(synced.stderr.strip().splitlines()) == 1
    assert "refused it for good" in synced.stderr and "VALIDATION_ERROR" in synced.stderr
    assert "crm dead-letters hubspot" in synced.stderr
    assert len(hubspot.contacts) == 1 and hubspot.deals == {}
    health = run(db_url, "crm", "list")
    assert "VALIDATION_ERROR" in health.stdout and "189 of 190 calls left per 10 s" in health.stdout
    (letter,) = crm.list_crm_dead_letters(shop, code="hubspot").items
    for shown in (run(db_url, "crm", "dead-letters"), run(db_url, "crm", "dead-letters", "hubspot")):
        assert shown.returncode == 0 and str(letter.id) in shown.stdout and "sync_deals" in shown.stdout
    # when: the stage is back, the letter replayed and synced
    hubspot.stages.add("contractsent")
    replayed = run(db_url, "crm", "replay", str(letter.id))
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.strip() == "hubspot: sync_deals of 1 record(s) queued again"
    again = run(db_url, "crm", "sync", "hubspot")
    # then
    assert again.returncode == 0 and again.stdout.strip() == "hubspot: synced in 1 run(s)", again.stderr
    assert len(hubspot.deals) == 1
    assert crm.get_connection(shop, code="hubspot").dead_letters_open == 0
    assert run(db_url, "crm", "sync", "hubspot").stdout.strip() == "hubspot: nothing waiting"
    assert run(db_url, "crm", "dead-letters", "hubspot").stdout.count("sync_deals") == 0
    # and mistakes are one line each, exit 2, nothing changed
    before = _state(shop.db)
    assert (
        _one_line(twice := run(db_url, "crm", "replay", str(letter.id)))
        and "replayed already" in twice.stderr
    )
    assert (
        _one_line(unknown := run(db_url, "crm", "sync", "nope"))
        and "no CRM connection nope" in unknown.stderr
    )
    assert _one_line(run(db_url, "crm", "dead-letters", "nope"))
    assert (
        _one_line(bad := run(db_url, "crm", "replay", "not-an-id")) and "not a dead letter id" in bad.stderr
    )
    assert _one_line(run(db_url, "crm", "replay", str(uuid.uuid4())))
    assert _state(shop.db) == before


def test_a_sync_now_is_refused_while_the_connection_is_off_or_a_worker_holds_it_and_changes_nothing(
    shop: UnitOfWork, db_url: str, hubspot: HubSpotStub
) -> None:
    # given: a worker syncing the connection
    with shop:
        shop.session.execute(
            sa.update(CrmConnectionRow).values(
                claimed_by="worker-1", claimed_until=shop.now() + timedelta(minutes=5)
            )
        )
    before = _state(shop.db)
    # when / then
    with pytest.raises(Conflict, match="a worker is syncing hubspot now"):
        crm.sync_now(shop, code="hubspot")
    busy = run(db_url, "crm", "sync", "hubspot")
    assert _one_line(busy) and "a worker is syncing hubspot now" in busy.stderr
    assert _state(shop.db) == before and hubspot.api.seen == []
    # given: the claim lapsed, the connection switched off
    with shop:
        shop.session.execute(sa.update(CrmConnectionRow).values(claimed_by=None, claimed_until=None))
    crm.change_connection(shop, code="hubspot", active=False)
    before = _state(shop.db)
    # when / then
    with pytest.raises(Conflict, match="switched off"):
        crm.sync_now(shop, code="hubspot")
    assert _state(shop.db) == before and hubspot.api.seen == []
    # when: switched on again, synced now by the service: everything in one run
    crm.change_connection(shop, code="hubspot", active=True)
    ran = crm.sync_now(shop, code="hubspot")
    # then
    assert (ran.result, ran.runs, ran.connection.waiting, ran.connection.dead_letters_open) == (
        "synced",
        1,
        0,
        0,
    )
    assert len(hubspot.contacts) == 1 and len(hubspot.deals) == 1
    with shop:
        audited = shop.session.scalars(
            sa.select(AuditRow.action).where(AuditRow.action == "crm_connection.sync_requested")
        ).all()
    assert audited == ["crm_connection.sync_requested"]


def test_a_sync_hubspot_throttles_says_so_in_one_line_and_leaves_the_records_to_the_sync_job(
    shop: UnitOfWork, db_url: str, hubspot: HubSpotStub
) -> None:
    # given: HubSpot answers the next call 429 (Retry-After: 3)
    hubspot.too_many = 1
    # when
    throttled = run(db_url, "crm", "sync", "hubspot")
    # then: exit 1, one line naming the wait; nothing lost: both records still waiting, the sync job due then
    assert throttled.returncode == 1 and len(throttled.stderr.strip().splitlines()) == 1
    assert "the CRM asked us to wait" in throttled.stderr and "throttled until" in throttled.stderr
    health = crm.get_connection(shop, code="hubspot")
    assert (health.waiting, health.dead_letters_open, health.last_failure_at) == (2, 0, None)
    assert health.sync_due_at is not None and health.rate_limit["remaining"] == 0

"""The console's CRM screen (/admin/crm) through the ASGI app, on SQLite and PostgreSQL, against the loopback HubSpot
stub: a manager sees each connection's health, syncs it now (HubSpot refuses the deal: the error shown, a dead
letter listed with its Replay button), and replays the letter; a form without the session's CSRF token is refused;
a role without `crm:read` has no CRM entry in its bar and may neither open the screen nor post to it, and nothing
changes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.channels import service as channels
from ordersmith.channels.crm import service as crm
from ordersmith.channels.crm.tables import CrmConnectionRow, CrmDeadLetterRow, CrmLinkRow, CrmPendingRow
from ordersmith.customers import service as customers
from ordersmith.orders import service as orders
from ordersmith.platform import outbox
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.settings import Settings
from ordersmith.platform.tables import AuditRow
from tests.api.conftest import login
from tests.builders import channel, make_order_shop, order_request
from tests.support.http_stub import serving
from tests.support.hubspot_stub import TOKEN, HubSpotStub


@pytest.fixture(scope="module")
def hubspot() -> Iterator[HubSpotStub]:
    stub = HubSpotStub()
    with serving(stub.api):
        yield stub


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
            row.last_failure_at,
            row.version,
        )


def _shop(admin_db: UnitOfWork, settings: Settings, hubspot: HubSpotStub) -> None:
    """A HubSpot connection whose sync job waits an hour (so only "Sync now" runs it here), and Jane's contact and
    deal waiting for it."""
    hubspot.reset()
    channels.setup_channels(admin_db.db, settings)
    make_order_shop(admin_db)
    crm.create_connection(
        admin_db,
        code="hubspot",
        kind="hubspot",
        name="Acme on HubSpot",
        config={"base_url": hubspot.api.url(), "sync_window_s": 3600},
        credentials={"access_token": TOKEN},
    )
    jane = customers.create_customer(
        admin_db, details=customers.Details(first_name="Jane", last_name="Doe", emails=["jane@example.com"])
    )
    orders.place_order(
        admin_db, channel=channel(admin_db), request=order_request(("TEE", 1), customer=jane.number)
    )
    deadline = time.monotonic() + 10  # the app's own relay may be handing the events on too
    while crm.get_connection(admin_db, code="hubspot").waiting < 2:
        outbox.dispatch_batch(admin_db)
        assert time.monotonic() < deadline, "the events never reached the CRM sync"
        time.sleep(0.02)


def test_a_manager_sees_crm_health_syncs_now_and_replays_a_dead_letter(
    client: TestClient, admin_db: UnitOfWork, db: Database, settings: Settings, hubspot: HubSpotStub
) -> None:
    # given: the stage deals start in deleted on HubSpot's side; a manager signed in
    _shop(admin_db, settings, hubspot)
    hubspot.stages.discard("contractsent")
    csrf = login(client, admin_db, role="manager")
    # when
    page = client.get("/admin/crm")
    # then: the connection with its health, and its Sync now button; the screen in the bar
    assert page.status_code == 200, page.text
    assert 'href="/admin/crm"' in page.text and 'data-connection="hubspot"' in page.text
    assert "Acme on HubSpot (hubspot, active)" in page.text and "never" in page.text
    assert '<td class="num">2</td>' in page.text and "not yet known" in page.text
    assert 'action="/admin/crm/hubspot/sync"' in page.text and "Sync now" in page.text
    assert 'class="dead-letters"' not in page.text
    # when: synced now without the session's CSRF token
    before = _state(db)
    assert client.post("/admin/crm/hubspot/sync", data={"csrf_token": "forged"}).status_code == 403
    assert _state(db) == before and hubspot.api.seen == []
    # when: synced now
    synced = client.post("/admin/crm/hubspot/sync", data={"csrf_token": csrf})
    # then: the contact made, the deal refused for good: said, and its dead letter listed with a Replay button
    assert synced.status_code == 200 and "refused it for good" in synced.text
    assert len(hubspot.contacts) == 1 and hubspot.deals == {}
    (letter,) = crm.list_crm_dead_letters(admin_db, code="hubspot").items
    assert f'data-dead-letter="{letter.id}"' in synced.text and "sync deals" in synced.text
    assert f'action="/admin/crm/dead-letters/{letter.id}/replay"' in synced.text
    assert "VALIDATION_ERROR" in synced.text and "189 of 190 calls left per 10 s" in synced.text
    assert '<a href="#dead-letters-hubspot">1</a>' in synced.text
    # when: the stage is back and the letter replayed
    hubspot.stages.add("contractsent")
    replayed = client.post(
        f"/admin/crm/dead-letters/{letter.id}/replay", data={"csrf_token": csrf}, follow_redirects=False
    )
    # then: back to the screen, the letter gone from it; replaying it again is refused there
    assert replayed.status_code == 303 and replayed.headers["location"] == "/admin/crm"
    assert f'data-dead-letter="{letter.id}"' not in client.get("/admin/crm").text
    assert crm.get_connection(admin_db, code="hubspot").dead_letters_open == 0
    twice = client.post(f"/admin/crm/dead-letters/{letter.id}/replay", data={"csrf_token": csrf})
    assert twice.status_code == 409 and "replayed already" in twice.text


def test_a_role_without_crm_read_has_no_crm_screen_and_may_not_post_to_it(
    client: TestClient, admin_db: UnitOfWork, db: Database, settings: Settings, hubspot: HubSpotStub
) -> None:
    # given
    _shop(admin_db, settings, hubspot)
    csrf = login(client, admin_db, role="agent")
    before = _state(db)
    # when / then
    assert 'href="/admin/crm"' not in client.get("/orders").text
    assert client.get("/admin/crm").status_code == 403
    assert client.post("/admin/crm/hubspot/sync", data={"csrf_token": csrf}).status_code == 403
    refused = client.post(f"/admin/crm/dead-letters/{uuid.uuid4()}/replay", data={"csrf_token": csrf})
    assert refused.status_code == 403
    assert _state(db) == before and hubspot.api.seen == []

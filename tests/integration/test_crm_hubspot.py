"""CRM sync to HubSpot on SQLite and PostgreSQL, against a loopback stub of HubSpot's documented CRM API
(tests/support/hubspot_stub.py): a customer and their order become one contact and one deal associated with it,
however often their events are delivered and however many workers sync at once; later changes update the same
objects, marketing consent included; anonymizing the customer GDPR-deletes the contact; a throttled sync waits as
HubSpot asked; a refused deal or a wrong token is dead-lettered with its records and replayed after the fix."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from ordersmith.channels import service as channels
from ordersmith.channels.crm import service as crm
from ordersmith.channels.crm.tables import CrmLinkRow, CrmPendingRow
from ordersmith.customers import service as customers
from ordersmith.kernel.clock import FixedClock
from ordersmith.kernel.errors import Conflict
from ordersmith.orders import service as orders
from ordersmith.payments import service as payments
from ordersmith.platform import jobs, outbox
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.platform.settings import Settings
from ordersmith.platform.tables import OutboxRow
from tests.builders import channel, make_order_shop, order_request, place_paid
from tests.support.http_stub import serving
from tests.support.hubspot_stub import TOKEN, HubSpotStub

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
UPSERT_CONTACTS = "/crm/v3/objects/contacts/batch/upsert"
UPDATE_CONTACTS = "/crm/v3/objects/contacts/batch/update"
UPSERT_DEALS = "/crm/v3/objects/deals/batch/upsert"
UPDATE_DEALS = "/crm/v3/objects/deals/batch/update"
ASSOCIATE = "/crm/v4/associations/deals/contacts/batch/associate/default"
GDPR_DELETE = "/crm/v3/objects/contacts/gdpr-delete"


@pytest.fixture(scope="module")
def hubspot() -> Iterator[HubSpotStub]:
    stub = HubSpotStub()
    with serving(stub.api):
        yield stub


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


def _drain(db: Database) -> int:
    total = 0
    while (ran := jobs.run_due_jobs(db, worker="test")) > 0:
        total += ran
    return total


def _relay(uow: UnitOfWork) -> None:
    while outbox.dispatch_batch(uow):
        pass


def _redeliver(uow: UnitOfWork) -> None:
    """Every event delivered again (at-least-once delivery: a relay that crashed before marking them dispatched)."""
    with uow:
        uow.session.execute(sa.update(OutboxRow).values(dispatched_at=None, next_attempt_at=None))
    _relay(uow)


@pytest.fixture
def shop(db: Database, settings: Settings, clock: FixedClock, hubspot: HubSpotStub) -> Iterator[UnitOfWork]:
    hubspot.reset()
    db.set_clock(clock)
    wired = payments.setup_payments(db, settings)
    channels.register()
    channels.setup_channels(db, settings)
    crm.register()
    uow = db.unit_of_work(Actor.system("test"))
    make_order_shop(uow)
    _relay(uow)
    _drain(db)
    yield uow
    wired.vault.dispose()


def _connect(uow: UnitOfWork, hubspot: HubSpotStub, token: str = TOKEN) -> crm.CrmConnection:
    return crm.create_connection(
        uow,
        code="hubspot",
        kind="hubspot",
        name="Acme on HubSpot",
        config={"base_url": hubspot.api.url(), "sync_window_s": 0},
        credentials={"access_token": token},
    )


def _jane(uow: UnitOfWork) -> customers.Customer:
    return customers.create_customer(
        uow,
        details=customers.Details(
            first_name="Jane",
            last_name="Doe",
            emails=["Jane.Doe@Example.com"],
            phones=[customers.Phone("(415) 555-0132", "mobile")],
        ),
    )


def _order_for(uow: UnitOfWork, customer: customers.Customer) -> orders.Order:
    placed = place_paid(
        uow, channel=channel(uow), request=order_request(("TEE", 2), customer=customer.number)
    )
    return placed.order


def _links(uow: UnitOfWork) -> dict[tuple[str, uuid.UUID], str]:
    with uow:
        return {(r.kind, r.record_id): r.remote_id for r in uow.session.scalars(sa.select(CrmLinkRow))}


def _pending(uow: UnitOfWork) -> int:
    with uow:
        return int(uow.session.scalar(sa.select(sa.func.count()).select_from(CrmPendingRow)) or 0)


def _synced(shop: UnitOfWork, hubspot: HubSpotStub) -> tuple[customers.Customer, orders.Order, str, str]:
    """Jane and her order, synced once: her contact id and her deal id."""
    _connect(shop, hubspot)
    jane = _jane(shop)
    order = _order_for(shop, jane)
    _relay(shop)
    _drain(shop.db)
    links = _links(shop)
    return jane, order, links[("contact", jane.id)], links[("deal", order.id)]


def test_a_customer_and_their_order_become_one_contact_and_one_associated_deal_however_often_delivered(
    shop: UnitOfWork, hubspot: HubSpotStub
) -> None:
    # given: a HubSpot connection, Jane and her order; every event delivered twice before the sync runs
    _connect(shop, hubspot)
    jane = _jane(shop)
    order = _order_for(shop, jane)
    _relay(shop)
    _redeliver(shop)
    # when
    _drain(shop.db)
    # then: one contact by e-mail, one deal by our order id, associated; the token as a Bearer
    assert len(hubspot.calls(UPSERT_CONTACTS)) == 1 and len(hubspot.calls(UPSERT_DEALS)) == 1
    ((contact_id, contact),) = hubspot.contacts.items()
    ((deal_id, deal),) = hubspot.deals.items()
    assert contact == {
        "email": "jane.doe@example.com",
        "firstname": "Jane",
        "lastname": "Doe",
        "company": "",
        "phone": "+14155550132",
        "ordersmith_marketing_consent": "true",
    }
    assert deal == {
        "ordersmith_order_id": str(order.id),
        "dealname": order.number,
        "amount": str(order.total.amount),
        "deal_currency_code": "USD",
        "pipeline": "default",
        "dealstage": "contractsent",
        "closedate": order.placed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }
    assert "." in deal["amount"] and deal["amount"] == f"{order.total.amount:.2f}"
    assert hubspot.associations == {(deal_id, contact_id)}
    assert {s.headers["authorization"] for s in hubspot.api.seen} == {f"Bearer {TOKEN}"}
    assert _links(shop) == {("contact", jane.id): contact_id, ("deal", order.id): deal_id}
    assert _pending(shop) == 0
    # when: the events are delivered yet again after the sync
    hubspot.api.seen.clear()
    _redeliver(shop)
    _drain(shop.db)
    # then: the same objects updated by id, nothing created
    assert hubspot.calls(UPSERT_CONTACTS) == [] and hubspot.calls(UPSERT_DEALS) == []
    assert [i["id"] for s in hubspot.calls(UPDATE_CONTACTS) for i in s.json["inputs"]] == [contact_id]
    assert [i["id"] for s in hubspot.calls(UPDATE_DEALS) for i in s.json["inputs"]] == [deal_id]
    assert list(hubspot.contacts) == [contact_id] and list(hubspot.deals) == [deal_id]
    health = crm.get_connection(shop, code="hubspot")
    assert (health.last_success_at, health.waiting, health.dead_letters_open) == (START, 0, 0)
    assert health.rate_limit["remaining"] == 189


def test_changes_to_the_customer_and_the_order_update_the_same_contact_and_deal_and_consent_follows(
    shop: UnitOfWork, hubspot: HubSpotStub
) -> None:
    # given
    jane, order, contact_id, deal_id = _synced(shop, hubspot)
    hubspot.api.seen.clear()
    # when: Jane opts out of marketing e-mail and changes her name; her order is cancelled
    customers.update_customer(
        shop,
        ref=jane.number,
        changes={"do_not_email": True, "last_name": "Roe"},
        # as read now: the order's events may have moved her record on (its ship-to joins her address book)
        expected_version=customers.get_customer(shop, ref=jane.number).version,
    )
    orders.cancel_order(shop, ref=str(order.id), reason="customer asked")
    _relay(shop)
    _drain(shop.db)
    # then
    assert list(hubspot.contacts) == [contact_id] and list(hubspot.deals) == [deal_id]
    assert hubspot.contacts[contact_id]["ordersmith_marketing_consent"] == "false"
    assert hubspot.contacts[contact_id]["lastname"] == "Roe"
    assert hubspot.deals[deal_id]["dealstage"] == "closedlost"
    assert hubspot.calls(UPSERT_CONTACTS) == [] and hubspot.calls(UPSERT_DEALS) == []


def test_anonymizing_a_customer_gdpr_deletes_their_contact_and_drops_the_link(
    shop: UnitOfWork, hubspot: HubSpotStub
) -> None:
    # given
    jane, order, contact_id, deal_id = _synced(shop, hubspot)
    # when
    customers.anonymize_customer(shop, ref=jane.number, reason="erasure request")
    _relay(shop)
    _drain(shop.db)
    # then: HubSpot's GDPR delete by the contact's id; the deal (an order number and an amount) stays
    assert [s.json for s in hubspot.calls(GDPR_DELETE)] == [{"objectId": contact_id}]
    assert hubspot.contacts == {} and hubspot.erased == [contact_id]
    assert _links(shop) == {("deal", order.id): deal_id}
    # when: the customer's events come again: the anonymized customer is never sent back
    hubspot.api.seen.clear()
    _redeliver(shop)
    _drain(shop.db)
    assert hubspot.calls(UPSERT_CONTACTS) == [] and hubspot.calls(UPDATE_CONTACTS) == []
    assert hubspot.contacts == {} and _pending(shop) == 0


def test_a_throttled_sync_waits_as_hubspot_asked_and_then_goes_through(
    shop: UnitOfWork, hubspot: HubSpotStub, clock: FixedClock
) -> None:
    # given
    _connect(shop, hubspot)
    jane = _jane(shop)
    _relay(shop)
    hubspot.too_many = 1
    # when: HubSpot answers 429 with Retry-After: 3
    _drain(shop.db)
    # then: nothing linked, the sync queued for three seconds on
    health = crm.get_connection(shop, code="hubspot")
    assert health.sync_due_at == START + timedelta(seconds=3)
    assert health.rate_limit["waiting_until"] == (START + timedelta(seconds=3)).isoformat()
    assert (_links(shop), _pending(shop), health.dead_letters_open) == ({}, 1, 0)
    # when the wait is over
    clock.advance(timedelta(seconds=3))
    _drain(shop.db)
    # then
    ((contact_id, _),) = hubspot.contacts.items()
    assert _links(shop) == {("contact", jane.id): contact_id}
    assert len(hubspot.calls(UPSERT_CONTACTS)) == 2  # the throttled one, then the one that went through


def test_a_deal_hubspot_refuses_is_dead_lettered_with_its_payload_and_replayed_after_the_fix(
    shop: UnitOfWork, hubspot: HubSpotStub
) -> None:
    # given: the stage orders start in was deleted from the pipeline on HubSpot's side
    hubspot.stages.discard("contractsent")
    _connect(shop, hubspot)
    jane = _jane(shop)
    order = _order_for(shop, jane)
    _relay(shop)
    # when
    _drain(shop.db)
    # then: the contact made; the deal dead at once (a 400 is not retried), with what was sent and the error
    (letter,) = crm.list_crm_dead_letters(shop, code="hubspot").items
    assert (letter.operation, letter.attempts, letter.status) == ("sync_deals", 1, "open")
    assert letter.payload["records"] == [{"kind": "deal", "record_id": str(order.id)}]
    assert letter.payload["sent"][str(order.id)]["dealstage"] == "contractsent"
    assert "VALIDATION_ERROR" in letter.error and "(400)" in letter.error
    assert hubspot.deals == {} and set(_links(shop)) == {("contact", jane.id)}
    assert crm.get_connection(shop, code="hubspot").dead_letters_open == 1
    assert _pending(shop) == 0
    with shop:
        (failed,) = shop.session.scalars(
            sa.select(OutboxRow).where(OutboxRow.type == "crm.sync_failed")
        ).all()
    assert failed.channel is None
    assert failed.payload == {
        "connection": "hubspot",
        "operation": "sync_deals",
        "records": 1,
        "dead_letter_id": str(letter.id),
        "error": letter.error[:500],
    }
    # when: the stage is back and the letter replayed
    hubspot.stages.add("contractsent")
    crm.replay_crm_dead_letter(shop, dead_letter_id=letter.id)
    _drain(shop.db)
    # then
    ((deal_id, deal),) = hubspot.deals.items()
    assert deal["dealname"] == order.number
    assert hubspot.associations == {(deal_id, _links(shop)[("contact", jane.id)])}
    assert crm.get_connection(shop, code="hubspot").dead_letters_open == 0
    with pytest.raises(Conflict):
        crm.replay_crm_dead_letter(shop, dead_letter_id=letter.id)


def test_a_wrong_token_is_refused_for_good_and_replayed_once_the_token_is_replaced(
    shop: UnitOfWork, hubspot: HubSpotStub
) -> None:
    # given: a token HubSpot does not know
    _connect(shop, hubspot, token="pat-na1-revoked")
    jane = _jane(shop)
    _relay(shop)
    # when
    _drain(shop.db)
    # then: 401 is not retried: dead-lettered, nothing linked
    (letter,) = crm.list_crm_dead_letters(shop, code="hubspot").items
    assert letter.operation == "sync_contacts" and "(401)" in letter.error
    assert letter.payload == {"records": [{"kind": "contact", "record_id": str(jane.id)}], "sent": {}}
    assert hubspot.contacts == {} and _links(shop) == {}
    # when: the token is rotated and the letter replayed
    crm.change_connection(shop, code="hubspot", credentials={"access_token": TOKEN})
    crm.replay_crm_dead_letter(shop, dead_letter_id=letter.id)
    _drain(shop.db)
    # then
    assert set(_links(shop)) == {("contact", jane.id)} and len(hubspot.contacts) == 1


def test_two_workers_syncing_at_once_make_one_contact_and_one_deal(
    shop: UnitOfWork, hubspot: HubSpotStub
) -> None:
    # given: a customer and her order waiting, and HubSpot slow to answer
    connection = _connect(shop, hubspot)
    jane = _jane(shop)
    order = _order_for(shop, jane)
    _relay(shop)
    hubspot.upsert_delay_s = 0.4
    results: list[str] = []
    barrier = threading.Barrier(2)

    def work(name: str) -> None:
        barrier.wait()
        results.append(
            crm.sync_connection(
                shop.db.unit_of_work(Actor.system(name)), connection_id=connection.id, worker=name
            )
        )

    # when: two workers sync the connection at the same moment
    threads = [threading.Thread(target=work, args=(name,)) for name in ("worker-a", "worker-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then: one did the work, the other stood aside
    assert sorted(results) == ["busy", "synced"]
    assert len(hubspot.contacts) == 1 and len(hubspot.deals) == 1
    assert len(hubspot.calls(UPSERT_CONTACTS)) == 1 and len(hubspot.calls(UPSERT_DEALS)) == 1
    assert set(_links(shop)) == {("contact", jane.id), ("deal", order.id)}


def test_changes_made_while_the_connection_is_off_wait_and_go_when_it_is_switched_on(
    shop: UnitOfWork, hubspot: HubSpotStub
) -> None:
    # given: a connection switched off
    _connect(shop, hubspot)
    crm.change_connection(shop, code="hubspot", active=False)
    jane = _jane(shop)
    _relay(shop)
    # when
    _drain(shop.db)
    # then: nothing sent, the change kept
    assert hubspot.api.seen == [] and _pending(shop) == 1
    # when switched on
    crm.change_connection(shop, code="hubspot", active=True)
    _drain(shop.db)
    # then
    ((contact_id, _),) = hubspot.contacts.items()
    assert _links(shop) == {("contact", jane.id): contact_id} and _pending(shop) == 0


def test_two_customers_sharing_an_email_are_one_contact_sent_once_in_the_batch(
    shop: UnitOfWork, hubspot: HubSpotStub
) -> None:
    # given: two customer records of one person (a duplicate not merged yet)
    _connect(shop, hubspot)
    first, second = _jane(shop), _jane(shop)
    _relay(shop)
    # when
    _drain(shop.db)
    # then: one input for the e-mail, one contact, both records linked to it
    (upsert,) = hubspot.calls(UPSERT_CONTACTS)
    assert [i["id"] for i in upsert.json["inputs"]] == ["jane.doe@example.com"]
    ((contact_id, _),) = hubspot.contacts.items()
    assert _links(shop) == {("contact", first.id): contact_id, ("contact", second.id): contact_id}


def test_a_backfill_sends_the_orders_placed_before_the_connection_and_their_customers_once(
    shop: UnitOfWork, hubspot: HubSpotStub
) -> None:
    # given: two orders of Jane's placed before HubSpot was connected (their events long delivered)
    jane = _jane(shop)
    first, second = _order_for(shop, jane), _order_for(shop, jane)
    _relay(shop)
    _drain(shop.db)
    _connect(shop, hubspot)
    assert hubspot.api.seen == []
    # when: back-filled, twice over
    crm.backfill(shop, code="hubspot")
    crm.backfill(shop, code="hubspot")
    _drain(shop.db)
    # then: two deals and one contact, each made once, the deals associated with it
    ((contact_id, _),) = hubspot.contacts.items()
    links = _links(shop)
    assert set(links) == {("contact", jane.id), ("deal", first.id), ("deal", second.id)}
    assert {d["dealname"] for d in hubspot.deals.values()} == {first.number, second.number}
    assert hubspot.associations == {
        (links[("deal", first.id)], contact_id),
        (links[("deal", second.id)], contact_id),
    }
    assert len(hubspot.calls(UPSERT_CONTACTS)) == 1 and _pending(shop) == 0

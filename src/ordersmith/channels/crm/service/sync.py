"""Out to the CRM: customers as contacts, orders as deals, anonymized customers erased.

Every watched event (a customer created, changed or merged; an order placed, changed, held, released, shipped or
cancelled; a customer anonymized) records its record as one pending row per active connection — a burst of
changes to one record collapses into one sync of the record as it is then — and makes sure one sync job is queued
for the connection, no sooner than its window after the last.

A sync runs in three steps: claim the connection and read what to send (one transaction: a conditional UPDATE on
`claimed_until`, so two workers never sync one connection at once), call the CRM with no transaction open, then
record the outcome (another transaction): the links to the objects made, the pending rows handled, and — when the CRM
refused — a dead letter, or a retry after the wait the CRM asked for or a back-off.

Invariants: one CRM object per record: a linked record is updated by its object's id; an unlinked one is upserted
by a unique property (a contact by e-mail, a deal by our order id), so a sync repeated after a crash, or an event
delivered twice, finds the object the first made. A record changed while its sync was on the wire stays pending.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ordersmith.channels.connectors.base import Access, CallFailed, CallReport, RateLimited
from ordersmith.channels.crm import hubspot, rules
from ordersmith.channels.crm.service._common import access_for, load
from ordersmith.channels.crm.tables import CrmConnectionRow, CrmDeadLetterRow, CrmLinkRow, CrmPendingRow
from ordersmith.customers import service as customers
from ordersmith.kernel.errors import NotFound
from ordersmith.kernel.events import Event
from ordersmith.kernel.ids import new_id
from ordersmith.orders import service as orders
from ordersmith.platform import jobs
from ordersmith.platform.db import UnitOfWork, use_case

SYNC_JOB = "channels.crm_sync"
LEASE_S = 300
CONTACT_EVENTS = frozenset({"customer.created", "customer.updated", "customer.merged"})
ERASE_EVENTS = frozenset({"customer.anonymized"})
DEAL_EVENTS = frozenset(
    {
        "order.placed",
        "order.changed",
        "order.held",
        "order.released",
        "order.shipped",
        "order.shipped_in_part",
        "order.cancelled",
        "order.lines_cancelled",
    }
)
WATCHED = CONTACT_EVENTS | ERASE_EVENTS | DEAL_EVENTS
STEPS = ("erase_contacts", "sync_contacts", "sync_deals")
_STEP_OF = {"erase": "erase_contacts", "contact": "sync_contacts", "deal": "sync_deals"}

Key = tuple[str, uuid.UUID]  # (kind, record id) of a pending row


def watched(event: Event) -> bool:
    return event.type in WATCHED


def _key(event: Event) -> Key | None:
    payload = event.payload
    raw: Any
    if event.type in ERASE_EVENTS:
        kind, raw = "erase", payload.get("id")
    elif event.type == "customer.merged":
        kind, raw = "contact", payload.get("survivor_id")
    elif event.type in CONTACT_EVENTS:
        kind, raw = "contact", payload.get("id")
    elif event.type in DEAL_EVENTS:
        kind, raw = "deal", payload.get("order_id")
    else:
        return None
    try:
        return (kind, uuid.UUID(str(raw)))
    except ValueError:
        return None


def _upsert_pending(uow: UnitOfWork, rows: list[dict[str, Any]]) -> None:
    insert = postgresql_insert(CrmPendingRow) if uow.dialect == "postgresql" else sqlite_insert(CrmPendingRow)
    uow.session.execute(
        insert.on_conflict_do_update(
            index_elements=["connection_id", "kind", "record_id"],
            set_={"changed_at": insert.excluded.changed_at},
        ),
        rows,
    )


def _schedule(uow: UnitOfWork, row: CrmConnectionRow, *, at: datetime) -> None:
    """Queue the connection's sync for `at` unless one is queued (the caller holds the connection's lock)."""
    if row.sync_due_at is None:
        row.sync_due_at = at
        jobs.enqueue(uow, SYNC_JOB, {"connection_id": str(row.id), "attempt": 0}, run_at=at)


def on_events(uow: UnitOfWork, events: list[Event]) -> None:
    """Record the customers and orders the events name as pending for every connection, and schedule the sync of
    each active one (an anonymized customer's contact is erased, and not synced again)."""
    wanted = list(dict.fromkeys(k for k in map(_key, events) if k is not None))
    if not wanted:
        return
    connections = uow.session.scalars(
        sa.select(CrmConnectionRow).order_by(CrmConnectionRow.id).with_for_update()
    ).all()
    now = uow.now()
    for row in connections:  # a connection switched off keeps its changes waiting, unsent
        _upsert_pending(
            uow, [{"connection_id": row.id, "kind": k, "record_id": r, "changed_at": now} for k, r in wanted]
        )
        if not row.active:
            continue
        window = int(row.config.get("sync_window_s", rules.DEFAULT_WINDOW_S))
        _schedule(uow, row, at=now + timedelta(seconds=window))


def requeue(uow: UnitOfWork, row: CrmConnectionRow, keys: list[Key]) -> None:
    """Put records back as pending (a dead letter replayed) and schedule a sync now."""
    if keys:
        _upsert_pending(
            uow,
            [{"connection_id": row.id, "kind": k, "record_id": r, "changed_at": uow.now()} for k, r in keys],
        )
    _schedule(uow, row, at=uow.now())


# --- the plan: what one run sends -----------------------------------------------------------------------------


@dataclass
class _Plan:
    connection_id: uuid.UUID
    access: Access
    config: Mapping[str, Any]
    stamps: dict[Key, datetime] = field(default_factory=dict)  # each pending row read, as it was read
    skipped: list[Key] = field(default_factory=list)  # nothing to send (gone, anonymized, no e-mail)
    erase: list[tuple[uuid.UUID, str]] = field(default_factory=list)  # customer, contact id
    contacts_new: dict[uuid.UUID, hubspot.Upsert] = field(default_factory=dict)  # by e-mail
    contacts_known: dict[uuid.UUID, hubspot.Update] = field(default_factory=dict)
    deals_new: dict[uuid.UUID, hubspot.Upsert] = field(default_factory=dict)  # by our order id
    deals_known: dict[uuid.UUID, hubspot.Update] = field(default_factory=dict)
    buyers: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # a new deal's customer
    contact_ids: dict[uuid.UUID, str] = field(default_factory=dict)  # customers linked already

    def keys(self, step: str) -> list[Key]:
        return [k for k in self.stamps if _STEP_OF[k[0]] == step and k not in self.skipped]


def _link(uow: UnitOfWork, connection_id: uuid.UUID, kind: str, record_id: uuid.UUID) -> str | None:
    found = uow.session.get(CrmLinkRow, (connection_id, kind, record_id))
    return found.remote_id if found is not None else None


def _person(customer: customers.Customer) -> rules.Person:
    return rules.Person(
        number=customer.number,
        email=customer.emails[0] if customer.emails else "",
        first_name=customer.first_name,
        last_name=customer.last_name,
        company=customer.company,
        phone=customer.phones[0].number if customer.phones else "",
        marketing_consent=not customer.do_not_email,
    )


def _plan_contact(uow: UnitOfWork, plan: _Plan, customer_id: uuid.UUID) -> bool:
    """Plan the customer's contact; False: nothing to send (gone, anonymized, or no e-mail and no contact yet)."""
    try:
        customer = customers.get_customer(uow, ref=str(customer_id))
    except NotFound:
        return False
    if customer.anonymized_at is not None or customer.id != customer_id:  # erased, or merged into another
        return False
    properties = rules.contact_properties(
        _person(customer),
        consent_property=str(plan.config.get("consent_property", rules.DEFAULT_CONSENT_PROPERTY)),
    )
    remote = _link(uow, plan.connection_id, "contact", customer_id)
    if remote is not None:
        plan.contacts_known[customer_id] = hubspot.Update(remote, properties)
    elif properties.get("email"):
        plan.contacts_new[customer_id] = hubspot.Upsert(properties["email"], properties)
    else:
        return False
    return True


def _plan_deal(uow: UnitOfWork, plan: _Plan, order_id: uuid.UUID) -> bool:
    try:
        order = orders.get_order(uow, ref=str(order_id))
    except NotFound:
        return False
    id_property = str(plan.config.get("order_id_property", rules.DEFAULT_ORDER_ID_PROPERTY))
    properties = rules.deal_properties(
        rules.Sale(
            order_id=str(order.id),
            number=order.number,
            status=order.status,
            fulfillment_status=order.fulfillment_status,
            total=order.total.amount,
            currency=order.currency,
            placed_at=order.placed_at,
        ),
        pipeline=str(plan.config.get("pipeline", rules.DEFAULT_PIPELINE)),
        stages={**rules.DEFAULT_STAGES, **dict(plan.config.get("deal_stages", {}))},
        order_id_property=id_property,
    )
    remote = _link(uow, plan.connection_id, "deal", order_id)
    if remote is not None:
        plan.deals_known[order_id] = hubspot.Update(remote, properties)
        return True
    plan.deals_new[order_id] = hubspot.Upsert(str(order.id), properties)
    buyer = order.customer_id
    if buyer is not None and ("erase", buyer) not in plan.stamps:  # a contact being erased gets no new deal
        contact = _link(uow, plan.connection_id, "contact", buyer)
        if contact is not None:
            plan.contact_ids[buyer] = contact
            plan.buyers[order_id] = buyer
        elif buyer in plan.contacts_new or _plan_contact(uow, plan, buyer):
            plan.buyers[order_id] = buyer  # its contact is made first, in this run
    return True


@use_case
def _claim(uow: UnitOfWork, *, connection_id: uuid.UUID, worker: str) -> _Plan | str:
    """Claim the connection and plan one run; answers `busy` (another worker has it), `off` or `idle`."""
    now = uow.now()
    claimed = uow.session.execute(
        sa.update(CrmConnectionRow)
        .where(
            CrmConnectionRow.id == connection_id,
            CrmConnectionRow.active.is_(True),
            sa.or_(CrmConnectionRow.claimed_until.is_(None), CrmConnectionRow.claimed_until < now),
        )
        .values(claimed_by=worker, claimed_until=now + timedelta(seconds=LEASE_S))
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        try:
            row = load(uow, connection_id=connection_id)
        except NotFound:
            return "off"
        if not row.active:
            row.sync_due_at = None
            return "off"
        if row.claimed_until is not None:  # look again when its claim lapses (it reschedules when done)
            jobs.enqueue(
                uow, SYNC_JOB, {"connection_id": str(row.id), "attempt": 0}, run_at=row.claimed_until
            )
        return "busy"
    row = load(uow, connection_id=connection_id)
    plan = _Plan(connection_id, access_for(uow, row), dict(row.config))
    size = int(row.config.get("batch_size", rules.DEFAULT_BATCH_SIZE))
    for kind in ("erase", "contact", "deal"):
        pending = uow.session.scalars(
            sa.select(CrmPendingRow)
            .where(CrmPendingRow.connection_id == connection_id, CrmPendingRow.kind == kind)
            .order_by(CrmPendingRow.changed_at, CrmPendingRow.record_id)
            .limit(size)
        ).all()
        for p in pending:
            plan.stamps[(kind, p.record_id)] = p.changed_at
    for (kind, record_id), _ in list(plan.stamps.items()):
        if kind == "erase":
            remote = _link(uow, connection_id, "contact", record_id)
            if remote is None:
                plan.skipped.append((kind, record_id))
            else:
                plan.erase.append((record_id, remote))
        elif (kind == "contact" and not _plan_contact(uow, plan, record_id)) or (
            kind == "deal" and not _plan_deal(uow, plan, record_id)
        ):
            plan.skipped.append((kind, record_id))
    if not plan.stamps:
        row.claimed_by, row.claimed_until, row.sync_due_at = None, None, None
        return "idle"
    return plan


# --- the calls (no transaction open) --------------------------------------------------------------------------


@dataclass
class _Outcome:
    report: CallReport = field(default_factory=CallReport)
    links: list[tuple[str, uuid.UUID, str]] = field(default_factory=list)
    erased: list[uuid.UUID] = field(default_factory=list)
    done: list[str] = field(default_factory=list)  # steps completed
    failed_step: str | None = None
    error: str = ""
    permanent: bool = False
    wait_s: float | None = None  # throttled: the CRM's wait


def _call(plan: _Plan) -> _Outcome:
    outcome = _Outcome()
    access, report = plan.access, outcome.report
    step = STEPS[0]
    try:
        for customer_id, contact_id in plan.erase:
            hubspot.gdpr_delete(access, contact_id, report)
            outcome.erased.append(customer_id)
        outcome.done.append(step)
        step = "sync_contacts"
        made = hubspot.upsert_contacts(access, list(plan.contacts_new.values()), report)
        hubspot.update_contacts(access, list(plan.contacts_known.values()), report)
        contact_ids = dict(plan.contact_ids)
        for customer_id, upsert in plan.contacts_new.items():
            contact_ids[customer_id] = made[upsert.key]
            outcome.links.append(("contact", customer_id, made[upsert.key]))
        outcome.done.append(step)
        step = "sync_deals"
        id_property = str(plan.config.get("order_id_property", rules.DEFAULT_ORDER_ID_PROPERTY))
        deals = hubspot.upsert_deals(access, list(plan.deals_new.values()), report, id_property=id_property)
        hubspot.update_deals(access, list(plan.deals_known.values()), report)
        pairs = [
            (deals[str(order_id)], contact_ids[buyer])
            for order_id, buyer in plan.buyers.items()
            if buyer in contact_ids
        ]
        hubspot.associate_deals(access, pairs, report)
        outcome.links.extend(("deal", order_id, deals[str(order_id)]) for order_id in plan.deals_new)
        outcome.done.append(step)
    except RateLimited as exc:
        outcome.failed_step, outcome.error, outcome.wait_s = step, str(exc), exc.retry_after_s
    except CallFailed as exc:
        outcome.failed_step, outcome.error, outcome.permanent = step, str(exc), exc.permanent
    return outcome


# --- the outcome ----------------------------------------------------------------------------------------------


def _upsert_links(uow: UnitOfWork, connection_id: uuid.UUID, links: list[tuple[str, uuid.UUID, str]]) -> None:
    if not links:
        return
    insert = postgresql_insert(CrmLinkRow) if uow.dialect == "postgresql" else sqlite_insert(CrmLinkRow)
    uow.session.execute(
        insert.on_conflict_do_update(
            index_elements=["connection_id", "kind", "record_id"],
            set_={"remote_id": insert.excluded.remote_id, "synced_at": insert.excluded.synced_at},
        ),
        [
            {
                "connection_id": connection_id,
                "kind": k,
                "record_id": r,
                "remote_id": remote,
                "synced_at": uow.now(),
            }
            for k, r, remote in links
        ],
    )


def _clear(uow: UnitOfWork, plan: _Plan, keys: list[Key]) -> None:
    """Drop the pending rows handled; one changed meanwhile (a later `changed_at`) stays for the next run."""
    for kind, record_id in keys:
        uow.session.execute(
            sa.delete(CrmPendingRow).where(
                CrmPendingRow.connection_id == plan.connection_id,
                CrmPendingRow.kind == kind,
                CrmPendingRow.record_id == record_id,
                CrmPendingRow.changed_at <= plan.stamps[(kind, record_id)],
            )
        )


def _dead_letter(
    uow: UnitOfWork, row: CrmConnectionRow, plan: _Plan, outcome: _Outcome, attempts: int
) -> None:
    step = outcome.failed_step
    assert step is not None
    keys = [k for k in plan.keys(step) if not (k[0] == "erase" and k[1] in outcome.erased)]
    sent: dict[str, Any] = {}
    if step == "sync_deals":  # the deals as sent (a contact's properties are personal: named by record only)
        sent = {str(o): dict(u.properties) for o, u in plan.deals_new.items()}
        sent |= {str(o): dict(u.properties) for o, u in plan.deals_known.items()}
    letter_id = new_id()
    uow.session.add(
        CrmDeadLetterRow(
            id=letter_id,
            connection_id=row.id,
            operation=step,
            reference=f"{len(keys)} record(s)",
            payload={"records": [{"kind": k, "record_id": str(r)} for k, r in keys], "sent": sent},
            error=outcome.error[:4000],
            attempts=attempts,
            status="open",
            created_at=uow.now(),
        )
    )
    row.dead_letters_open += 1
    _clear(uow, plan, keys)
    # Staff only: no channel, so no channel-bound key's stream or webhook carries it.
    uow.emit(
        "crm.sync_failed",
        {
            "connection": row.code,
            "operation": step,
            "records": len(keys),
            "dead_letter_id": str(letter_id),
            "error": outcome.error[:500],
        },
    )


@use_case
def _record(uow: UnitOfWork, *, plan: _Plan, outcome: _Outcome, attempt: int) -> str:
    row = load(uow, connection_id=plan.connection_id, lock=True)
    now = uow.now()
    _upsert_links(uow, row.id, outcome.links)
    for customer_id in outcome.erased:  # the contact is gone: so is the link (and no deal points at it here)
        uow.session.execute(
            sa.delete(CrmLinkRow).where(
                CrmLinkRow.connection_id == row.id,
                CrmLinkRow.kind == "contact",
                CrmLinkRow.record_id == customer_id,
            )
        )
    done = [k for step in outcome.done for k in plan.keys(step)] + plan.skipped
    done += [("erase", c) for c in outcome.erased if ("erase", c) not in done]
    _clear(uow, plan, done)
    row.claimed_by, row.claimed_until, row.sync_due_at = None, None, None
    if outcome.report.rate_limit:
        row.rate_limit = dict(outcome.report.rate_limit)
    if outcome.failed_step is None:
        row.last_success_at = now
        result = "synced"
    elif outcome.wait_s is not None:  # throttled: wait as asked, the attempt not spent
        at = now + timedelta(seconds=outcome.wait_s)
        row.rate_limit = dict(row.rate_limit or {}, waiting_until=at.isoformat())
        row.sync_due_at = at
        jobs.enqueue(uow, SYNC_JOB, {"connection_id": str(row.id), "attempt": attempt}, run_at=at)
        return "later"
    else:
        row.last_failure_at, row.last_error = now, outcome.error[:2000]
        delay = rules.retry_delay_s(attempt + 1, permanent=outcome.permanent)
        if delay is not None:
            row.sync_due_at = now + timedelta(seconds=delay)
            jobs.enqueue(
                uow, SYNC_JOB, {"connection_id": str(row.id), "attempt": attempt + 1}, run_at=row.sync_due_at
            )
            return "later"
        _dead_letter(uow, row, plan, outcome, attempts=attempt + 1)
        result = "dead"
    more = uow.session.scalar(
        sa.select(CrmPendingRow.record_id).where(CrmPendingRow.connection_id == row.id).limit(1)
    )
    if more is not None:
        _schedule(uow, row, at=now)
    return result


def sync_connection(
    uow: UnitOfWork, *, connection_id: uuid.UUID, attempt: int = 0, worker: str | None = None
) -> str:
    """One sync run of a connection: `synced`, `later` (a retry queued), `dead` (dead-lettered), `busy` (another
    worker is syncing it), `idle` (nothing waiting) or `off`."""
    assert not uow.active, "the CRM is called with no transaction open"
    plan = _claim(uow, connection_id=connection_id, worker=worker or jobs.worker_name())
    if isinstance(plan, str):
        return plan
    outcome = _call(plan)
    return _record(uow, plan=plan, outcome=outcome, attempt=attempt)


def _sync_job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    sync_connection(
        uow, connection_id=uuid.UUID(str(payload["connection_id"])), attempt=int(payload.get("attempt", 0))
    )

"""CRM use cases: connections (HubSpot first) set up by staff, customers and orders synced out as contacts and
deals driven by the outbox, anonymized customers erased in the CRM, the links between them, and the dead-letter
list with replay.

Invariants: no call to the CRM inside a transaction; one CRM object per record (see `sync`); a channel-bound
caller sees no CRM connection at all (404)."""

from ordersmith.channels.crm.service._common import CrmConnection
from ordersmith.channels.crm.service.backfilling import backfill
from ordersmith.channels.crm.service.dead_letters import (
    CrmDeadLetter,
    list_crm_dead_letters,
    replay_crm_dead_letter,
)
from ordersmith.channels.crm.service.managing import (
    Link,
    change_connection,
    create_connection,
    delete_connection,
    get_connection,
    list_connections,
    list_links,
)
from ordersmith.channels.crm.service.on_demand import SyncRun, sync_now
from ordersmith.channels.crm.service.sync import SYNC_JOB, on_events, sync_connection


def register() -> None:
    """The sync job and the outbox subscribers (idempotent: safe to call at every start)."""
    from ordersmith.channels.crm.service import backfilling
    from ordersmith.channels.crm.service import sync as syncing
    from ordersmith.platform import jobs, outbox

    jobs.register(syncing.SYNC_JOB, syncing._sync_job)
    jobs.register(backfilling.BACKFILL_JOB, backfilling._backfill_job)
    outbox.unsubscribe(syncing.on_events)
    outbox.subscribe_batch("customer.*", syncing.on_events, when=syncing.watched)
    outbox.subscribe_batch("order.*", syncing.on_events, when=syncing.watched)


__all__ = [
    "SYNC_JOB",
    "CrmConnection",
    "CrmDeadLetter",
    "Link",
    "SyncRun",
    "backfill",
    "change_connection",
    "create_connection",
    "delete_connection",
    "get_connection",
    "list_connections",
    "list_crm_dead_letters",
    "list_links",
    "on_events",
    "register",
    "replay_crm_dead_letter",
    "sync_connection",
    "sync_now",
]

"""A sync run by hand (staff at the console or the CLI): the connection's waiting records sent now, in this process,
through the same run as the sync job (`sync.sync_connection`: claimed, called with no transaction open, recorded).

Invariant: a refused request (no such connection, switched off, another worker syncing it) changes nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from ordersmith.channels.crm.service import sync
from ordersmith.channels.crm.service._common import CrmConnection, load, to_connection
from ordersmith.kernel.errors import Conflict
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork, use_case

MAX_RUNS = 1000  # a bound on one request's runs (each sends at most a batch of records per kind)


@dataclass(frozen=True)
class SyncRun:
    """What a sync by hand did: `result` is its last run's (`synced`, `later`: failed and a retry is queued, `dead`:
    dead-lettered, `idle`: nothing was waiting), `runs` how many runs sent something, and the connection after."""

    result: str
    runs: int
    connection: CrmConnection


@use_case
def _requested(uow: UnitOfWork, *, code: str, principal: Principal | None) -> uuid.UUID:
    row = load(uow, code=code, principal=principal)
    if not row.active:
        raise Conflict(f"the CRM connection {code} is switched off: switch it on to sync", state="off")
    if row.claimed_until is not None and row.claimed_until > uow.now():
        raise Conflict(f"a worker is syncing {code} now: try again in a moment", state="busy")
    uow.audit("crm_connection.sync_requested", object_type="crm_connection", object_id=str(row.id))
    return row.id


@use_case(readonly=True)
def _after(uow: UnitOfWork, *, connection_id: uuid.UUID) -> CrmConnection:
    return to_connection(uow, load(uow, connection_id=connection_id))


def sync_now(uow: UnitOfWork, *, code: str, principal: Principal | None = None, max_runs: int = 1) -> SyncRun:
    """Sync the connection's waiting records now: run after run (a batch each) while records wait and each run
    succeeds, at most `max_runs`. A failed run is handled as the job handles it (a retry queued, or a dead letter);
    records left waiting go with the sync job, which `sync_connection` queues when it leaves any.

    Raises:
        NotFound: no such connection (a channel-bound caller: none at all).
        Conflict: the connection is switched off, or a worker is syncing it now.
    """
    assert not uow.active, "the CRM is called with no transaction open"
    connection_id = _requested(uow, code=code, principal=principal)
    runs, result = 0, "idle"
    while runs < min(max_runs, MAX_RUNS):
        result = sync.sync_connection(uow, connection_id=connection_id)
        if result == "off":  # switched off since it was asked
            raise Conflict(f"the CRM connection {code} is switched off: switch it on to sync", state="off")
        if result == "busy":  # a worker claimed it since
            raise Conflict(f"a worker is syncing {code} now: try again in a moment", state="busy")
        if result == "idle":
            break
        runs += 1
        if result != "synced" or _after(uow, connection_id=connection_id).waiting == 0:
            break
    return SyncRun(result, runs, _after(uow, connection_id=connection_id))

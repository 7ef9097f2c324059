"""Pushing an API export (`qbo`: QuickBooks Online, `bc`: Business Central) to its package, entry by entry.

An API export is recorded like any other (`create_export` claims its entries once per package); pushing it sends
the entries no push has delivered yet, in entry order, through the package's adapter (`finance.ledgers`), and
records each result — the package's id and when, or why it refused — in a short transaction of its own. No
transaction is open during an HTTP call, and nothing read grows with history: the entries are read in keyset
batches over the export's own claims.

**Exactly once.** A crash between the package taking an entry and the record of it leaves the item unpushed, so
the next push sends it again — and the package does not take it twice: QuickBooks answers a repeated `requestid`
(the entry's id and its attempt number) with its first answer; for Business Central the adapter looks for the
entry's lines by external document number before writing. An entry the package refused keeps the refusal and is
sent again by the next push (to QuickBooks under a new `requestid`, since Intuit would replay the refusal).

**One push at a time.** A push takes the export's lease (a conditional UPDATE of `push_lease_until`) and renews it
with every result; a second push of the same export is refused (`push_in_progress`) until the first ends or its
lease lapses (a crashed worker). `POST …/push` queues the push as a job for `ordersmith worker`; the CLI's
`finance push` runs it inline.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import httpx
import sqlalchemy as sa

from ordersmith.customers import service as customers
from ordersmith.finance import formats, ledgers
from ordersmith.finance.dispute_tables import LedgerCustomerRow
from ordersmith.finance.service import unsettled
from ordersmith.finance.service._common import insert_ignoring_duplicates
from ordersmith.finance.service.exports import AccountingExport, _entries, get_export
from ordersmith.finance.tables import AccountingExportItemRow, AccountingExportRow, LedgerTokenRow
from ordersmith.kernel.errors import Conflict
from ordersmith.payments import service as payments
from ordersmith.platform import jobs, secrets, tls
from ordersmith.platform.db import Database, UnitOfWork, use_case
from ordersmith.platform.settings import Settings

_EXPORTS = cast(sa.Table, AccountingExportRow.__table__)
_ITEMS = cast(sa.Table, AccountingExportItemRow.__table__)
_TOKENS = cast(sa.Table, LedgerTokenRow.__table__)
_CUSTOMERS = cast(sa.Table, LedgerCustomerRow.__table__)

PUSH_JOB = "finance.push_accounting_export"
SEAL_PURPOSE = "ledger-token"
BATCH = 100
LEASE = timedelta(minutes=5)
_WIRING = "finance.ledgers"


class NotAnApiExport(Conflict):
    code = "not_an_api_export"
    title = "Not an API export"


class PushInProgress(Conflict):
    code = "push_in_progress"
    title = "A push of this export is under way"


@dataclass(frozen=True)
class LedgerWiring:
    secret_key: str
    qbo: ledgers.QboConfig
    bc: ledgers.BcConfig
    timeout_s: float
    backoff_s: float
    transport: httpx.BaseTransport | None = None  # None: the network


def setup_ledgers(db: Database, settings: Settings, *, transport: httpx.BaseTransport | None = None) -> None:
    """Wire the accounting packages' adapters for `db` (the API, the worker and the CLI call it at start), and
    register the push job."""
    tenant, environment = settings.bc_tenant_id, settings.bc_environment
    db.caches[_WIRING] = LedgerWiring(
        secret_key=settings.secret_key.get_secret_value(),
        qbo=ledgers.QboConfig(
            client_id=settings.qbo_client_id,
            client_secret=settings.qbo_client_secret.get_secret_value(),
            refresh_token=settings.qbo_refresh_token.get_secret_value(),
            realm_id=settings.qbo_realm_id,
            base_url=settings.qbo_base_url.rstrip("/"),
            token_url=settings.qbo_token_url,
            minor_version=settings.qbo_minor_version,
            customer=settings.qbo_customer,
            vendor=settings.qbo_vendor,
        ),
        bc=ledgers.BcConfig(
            token_url=settings.bc_token_url
            or f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
            client_id=settings.bc_client_id,
            client_secret=settings.bc_client_secret.get_secret_value(),
            scope=settings.bc_scope,
            base_url=(
                settings.bc_base_url
                or f"https://api.businesscentral.dynamics.com/v2.0/{tenant}/{environment}"
            ).rstrip("/"),
            company_id=settings.bc_company_id,
            journal_id=settings.bc_journal_id,
        ),
        timeout_s=settings.ledger_timeout_s,
        backoff_s=settings.ledger_backoff_s,
        transport=transport,
    )
    jobs.register(PUSH_JOB, _push_job)
    unsettled.configure(db, settings.unsettled_after_days)  # the settlement watch's days (ADR 0040)


def _wiring(uow: UnitOfWork) -> LedgerWiring:
    wired: LedgerWiring | None = uow.db.caches.get(_WIRING)
    if wired is None:
        raise RuntimeError(
            "accounting packages are not set up for this database: call setup_ledgers at start"
        )
    return wired


# --- the rotating refresh token ----------------------------------------------------------------------------------


@use_case(readonly=True)
def _load_token(uow: UnitOfWork, *, target: str) -> str | None:
    sealed = uow.execute_core(sa.select(_TOKENS.c.sealed).where(_TOKENS.c.target == target)).scalar()
    return None if sealed is None else secrets.unseal(_wiring(uow).secret_key, SEAL_PURPOSE, sealed)


@use_case
def _save_token(uow: UnitOfWork, *, target: str, token: str) -> None:
    sealed = secrets.seal(_wiring(uow).secret_key, SEAL_PURPOSE, token)
    updated = uow.execute_core(
        _TOKENS.update().where(_TOKENS.c.target == target).values(sealed=sealed, updated_at=uow.now())
    )
    if not updated.rowcount:
        uow.execute_core(_TOKENS.insert().values(target=target, sealed=sealed, updated_at=uow.now()))


@dataclass
class _StoredToken:
    uow: UnitOfWork
    target: str

    def load(self) -> str | None:
        return _load_token(self.uow, target=self.target)

    def save(self, token: str) -> None:
        _save_token(self.uow, target=self.target, token=token)


# --- the push ----------------------------------------------------------------------------------------------------


@use_case
def queue_push(uow: UnitOfWork, *, export_id: uuid.UUID) -> AccountingExport:
    """Queue a push of the export's undelivered entries for `ordersmith worker`.

    Raises:
        NotFound: no such export.
        NotAnApiExport: the export is a file to import (only `qbo` and `bc` are pushed).
    """
    export = get_export(uow, export_id=export_id)
    _check_pushable(export)
    jobs.enqueue(uow, PUSH_JOB, {"export_id": str(export_id)})
    uow.audit("accounting_export.push_queued", object_type="accounting_export", object_id=str(export_id))
    return export


def _check_pushable(export: AccountingExport) -> None:
    if export.format not in formats.API_FORMATS:
        raise NotAnApiExport(
            f"a {export.format} export is a file to import: only {', '.join(formats.API_FORMATS)} are pushed"
        )


@use_case
def _take_lease(uow: UnitOfWork, *, export_id: uuid.UUID) -> None:
    now = uow.now()
    taken = uow.execute_core(
        _EXPORTS.update()
        .where(
            _EXPORTS.c.id == export_id,
            sa.or_(_EXPORTS.c.push_lease_until.is_(None), _EXPORTS.c.push_lease_until < now),
        )
        .values(push_lease_until=now + LEASE)
    )
    if not taken.rowcount:
        raise PushInProgress(f"export {export_id} is being pushed: wait for that push to end")


@use_case
def _release_lease(uow: UnitOfWork, *, export_id: uuid.UUID, outcome: dict[str, Any]) -> None:
    uow.execute_core(_EXPORTS.update().where(_EXPORTS.c.id == export_id).values(push_lease_until=None))
    uow.audit(
        "accounting_export.pushed", object_type="accounting_export", object_id=str(export_id), after=outcome
    )


@use_case(readonly=True)
def _attempts(uow: UnitOfWork, *, target: str, entry_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    rows = uow.execute_core(
        sa.select(_ITEMS.c.entry_id, _ITEMS.c.attempt).where(
            _ITEMS.c.target == target, _ITEMS.c.entry_id.in_(entry_ids)
        )
    )
    return {r.entry_id: r.attempt for r in rows}


@use_case
def _record(
    uow: UnitOfWork,
    *,
    export_id: uuid.UUID,
    target: str,
    entry_id: uuid.UUID,
    remote_id: str | None,
    error: str | None,
    new_attempt: bool = False,
) -> None:
    """One entry's result, with the export's counts and a renewed lease, in one short transaction."""
    item = (_ITEMS.c.target == target) & (_ITEMS.c.entry_id == entry_id)
    had_error = uow.execute_core(
        sa.select(_ITEMS.c.last_error).where(item, _ITEMS.c.pushed_at.is_(None))
    ).first()
    if had_error is None:
        return  # delivered already (by this push's earlier record): nothing to count
    was_failed = had_error.last_error is not None
    now = uow.now()
    if error is None:
        uow.execute_core(
            _ITEMS.update().where(item).values(remote_id=remote_id, pushed_at=now, last_error=None)
        )
        counts = {"pushed": _EXPORTS.c.pushed + 1, "failed": _EXPORTS.c.failed - int(was_failed)}
    else:
        uow.execute_core(
            _ITEMS.update()
            .where(item)
            .values(last_error=error[:500], attempt=_ITEMS.c.attempt + int(new_attempt))
        )
        counts = {"failed": _EXPORTS.c.failed + int(not was_failed)}
    uow.execute_core(
        _EXPORTS.update().where(_EXPORTS.c.id == export_id).values(**counts, push_lease_until=now + LEASE)
    )


def push_export(uow: UnitOfWork, *, export_id: uuid.UUID) -> AccountingExport:
    """Push the export's undelivered entries to its package now, recording each result as it comes; answers the
    export with its counts. Entries the package refuses are counted as failed (each keeps why) and the push goes
    on; when the package cannot be reached (after retries) the push stops with LedgerUnavailable, everything
    delivered so far recorded.

    Raises:
        NotFound: no such export.
        NotAnApiExport: the export is a file to import.
        PushInProgress: another push of it holds its lease.
        LedgerUnavailable: the package cannot be reached, or refuses our credentials.
    """
    export = get_export(uow, export_id=export_id)
    _check_pushable(export)
    wired = _wiring(uow)
    _take_lease(uow, export_id=export_id)
    outcome: dict[str, Any] = {"pushed": 0, "failed": 0}
    try:
        with httpx.Client(
            verify=tls.client_context(), timeout=wired.timeout_s, transport=wired.transport
        ) as client:
            http = ledgers._Http(client, wired.backoff_s)
            qbo = ledgers.QuickBooksOnline(wired.qbo, _StoredToken(uow, export.target), http)
            qbo.remember = functools.partial(_remember_customer, uow, export.target)
            bc = ledgers.BusinessCentral(wired.bc, http)
            after: uuid.UUID | None = None
            while batch := _entries(uow, export_id=export_id, after=after, limit=BATCH, unpushed=True):
                attempts = _attempts(uow, target=export.target, entry_ids=[uuid.UUID(e.key) for e in batch])
                parties: dict[str, ledgers.QboCustomer] = {}
                if export.format == "qbo":
                    parties, known = _entry_customers(
                        uow, target=export.target, references=[e.reference for e in batch]
                    )
                    qbo.customers.update(known)
                for entry in batch:
                    entry_id = uuid.UUID(entry.key)
                    record = functools.partial(_record, uow, export_id=export_id, target=export.target,
                                               entry_id=entry_id)  # fmt: skip
                    try:
                        if export.format == "qbo":
                            remote = qbo.push(entry, request_id=f"{entry_id.hex}-{attempts.get(entry_id, 0)}",
                                              customer=parties.get(entry.reference))  # fmt: skip
                        else:
                            remote = bc.push(entry)
                    except ledgers.EntryRefused as exc:
                        record(remote_id=None, error=str(exc), new_attempt=True)
                        outcome["failed"] += 1
                        continue
                    except ledgers.LedgerUnavailable as exc:
                        record(remote_id=None, error=str(exc))
                        outcome["failed"] += 1
                        outcome["stopped"] = str(exc)[:200]
                        raise
                    record(remote_id=remote, error=None)
                    outcome["pushed"] += 1
                after = uuid.UUID(batch[-1].key)
    finally:
        _release_lease(uow, export_id=export_id, outcome=outcome)
    return get_export(uow, export_id=export_id)


@use_case(readonly=True)
def _entry_customers(
    uow: UnitOfWork, *, target: str, references: list[str]
) -> tuple[dict[str, ledgers.QboCustomer], dict[str, str]]:
    """For a batch of entries: the customer of each entry whose reference is an invoice (its receivable lines name
    that customer), and the package's ids of those customers already known (ADR 0040). Two indexed reads."""
    invoices = payments.invoice_customers(uow, numbers=references)
    names = customers.display_names(uow, numbers=list(set(invoices.values())))
    parties = {
        ref: ledgers.QboCustomer(number, names.get(number, number)) for ref, number in invoices.items()
    }
    rows = uow.execute_core(
        sa.select(_CUSTOMERS.c.customer_number, _CUSTOMERS.c.remote_id).where(
            _CUSTOMERS.c.target == target, _CUSTOMERS.c.customer_number.in_(sorted(set(invoices.values())))
        )
    )
    return parties, {r.customer_number: r.remote_id for r in rows}


@use_case
def _remember_customer(uow: UnitOfWork, target: str, customer: ledgers.QboCustomer, remote_id: str) -> None:
    """Keep which package customer stands for one of ours (after the package answered: its own short transaction)."""
    values = {"remote_id": remote_id, "display_name": customer.display_name, "updated_at": uow.now()}
    updated = uow.execute_core(
        _CUSTOMERS.update()
        .where(_CUSTOMERS.c.target == target, _CUSTOMERS.c.customer_number == customer.number)
        .values(**values)
    )
    if not updated.rowcount:
        insert = insert_ignoring_duplicates(uow, _CUSTOMERS).values(
            target=target, customer_number=customer.number, **values
        )
        uow.execute_core(insert.on_conflict_do_nothing(index_elements=["target", "customer_number"]))


@use_case(readonly=True)
def push_failures(uow: UnitOfWork, *, export_id: uuid.UUID, limit: int = 20) -> list[tuple[uuid.UUID, str]]:
    """Up to `limit` of the export's undelivered entries that a push failed for, with why (entry order)."""
    rows = uow.execute_core(
        sa.select(_ITEMS.c.entry_id, _ITEMS.c.last_error)
        .where(
            _ITEMS.c.export_id == export_id, _ITEMS.c.pushed_at.is_(None), _ITEMS.c.last_error.is_not(None)
        )
        .order_by(_ITEMS.c.entry_id)
        .limit(limit)
    )
    return [(r.entry_id, r.last_error) for r in rows]


def _push_job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    try:
        push_export(uow, export_id=uuid.UUID(payload["export_id"]))
    except PushInProgress:
        return  # the push under way delivers every entry of the export

"""Database engines, column types and the unit of work.

One unit of work per use case: `@use_case` opens a transaction (SQLite: `BEGIN IMMEDIATE` for writes), runs the
function, writes its audit rows and outbox events in the same transaction, commits, and retries the whole use
case on a serialization failure, deadlock or busy database. Nested use cases join the outer transaction.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar, cast, overload

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached, sessionmaker

from ordersmith.kernel.clock import Clock, system_clock
from ordersmith.kernel.errors import AlreadyExists
from ordersmith.kernel.events import Event
from ordersmith.kernel.ids import new_id
from ordersmith.platform import bulk_insert, pending_rows
from ordersmith.platform.engine import Base, UTCDateTime, _retryable, _unique_violation, make_engine
from ordersmith.platform.writer_lock import WriterLock

log = logging.getLogger(__name__)

# Engines and column types live in platform.engine; every context imports them from here with the unit of work.
__all__ = [
    "Actor",
    "Base",
    "Database",
    "OrderChannelLookup",
    "UTCDateTime",
    "UnitOfWork",
    "UseCase",
    "make_engine",
    "tag_order_events_with",
    "use_case",
]

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Actor:
    """Who is doing something: a user, an API key, the system, or nobody yet."""

    kind: str  # "user" | "api_key" | "system" | "anonymous"
    id: uuid.UUID | None
    label: str
    origin: str = ""

    @classmethod
    def system(cls, label: str = "system", origin: str = "") -> Actor:
        return cls(kind="system", id=None, label=label, origin=origin)


# Events about an order that do not name its channel in their payload (payments, invoices, gift cards sold on it)
# are tagged with the order's channel as they are written, by the lookup the orders context registers (platform
# cannot read orders' table): order id (as in the payload) → channel, for the ids asked.
OrderChannelLookup = Callable[[Session, set[str]], dict[str, str]]
_order_channels: list[OrderChannelLookup] = []


def tag_order_events_with(lookup: OrderChannelLookup) -> None:
    """Register how to find an order's channel (idempotent: the last registration wins)."""
    _order_channels[:] = [lookup]


class Database:
    """An engine plus the session factory and the after-commit signal the outbox relay listens to."""

    def __init__(self, url: str, *, pool_size: int = 10, busy_timeout_ms: int = 30_000) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size, busy_timeout_ms=busy_timeout_ms)
        self.dialect = self.engine.dialect.name
        self._write_sessions = sessionmaker(bind=self.engine, expire_on_commit=False)
        # Reads begin DEFERRED on SQLite: they never take the writer lock.
        self.read_engine = self.engine.execution_options(sqlite_begin="DEFERRED")
        self._read_sessions = sessionmaker(bind=self.read_engine, expire_on_commit=False)
        sa_event.listen(self._write_sessions, "after_flush_postexec", _adopt_after_flush)
        self._listeners: list[Callable[[list[Event]], None]] = []
        self._lock = threading.Lock()
        # SQLite has one writer at a time. Queueing writers on a lock (this process's threads) and a file lock
        # (other Ordersmith processes), instead of letting them spin in SQLite's busy handler (which sleeps in
        # growing steps), keeps write latency flat under load. Other programs still meet `busy_timeout`.
        self.write_lock: WriterLock | None = (
            WriterLock(url, timeout_s=busy_timeout_ms / 1000) if self.dialect == "sqlite" else None
        )
        # Per-database caches of slow-changing reference data, each validated by its owner (e.g. pricing checks a
        # version counter before every use). Tied to this object, so a new database never sees another's entries.
        self.caches: dict[str, Any] = {}
        # Where reports and exports read (ORDERSMITH_REPORTS_DATABASE_URL: a streaming replica), else here.
        self.replica: Database | None = None
        self.is_replica = False
        self.clock: Clock = system_clock

    def use_replica(self, url: str | None, *, pool_size: int = 5) -> None:
        """Send reports and exports to the database at `url` (a read replica of this one); None: read here."""
        if self.replica is not None:
            self.replica.dispose()
        self.replica = None
        if url:
            self.replica = Database(url, pool_size=pool_size)
            self.replica.is_replica = True
            self.replica.clock = self.clock

    @property
    def for_reports(self) -> Database:
        """The database reports and exports read: the replica when one is set, else this one."""
        return self.replica or self

    def session(self, *, readonly: bool = False) -> Session:
        return (self._read_sessions if readonly else self._write_sessions)()

    def on_commit(self, listener: Callable[[list[Event]], None]) -> None:
        """Call `listener(events)` after every commit that wrote outbox events (used to wake the relay)."""
        with self._lock:
            self._listeners.append(listener)

    def remove_on_commit(self, listener: Callable[[list[Event]], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def committed(self, events: list[Event]) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(events)
            except Exception:  # a listener must never undo a commit
                log.exception("after-commit listener failed")

    def unit_of_work(self, actor: Actor, *, clock: Clock | None = None) -> UnitOfWork:
        """A unit of work on this database; its clock is `clock`, else the database's (`set_clock`)."""
        return UnitOfWork(self, actor, clock or self.clock)

    def set_clock(self, clock: Clock) -> None:
        """The clock every unit of work here (and on the replica) reads unless given another."""
        self.clock = clock
        if self.replica is not None:
            self.replica.set_clock(clock)

    def dispose(self) -> None:
        self.engine.dispose()
        if self.write_lock is not None:
            self.write_lock.close()
        if self.replica is not None:
            self.replica.dispose()


@dataclass
class UnitOfWork:
    """The transaction of one use case, with who acts, the clock, and the events and audit rows it records."""

    db: Database
    actor: Actor
    clock: Clock = system_clock
    readonly: bool = False
    _session: Session | None = None
    _depth: int = 0
    _locked: bool = False
    _events: list[Event] = field(default_factory=list)
    # Outbox and audit rows wait here and are written at commit, one multi-row INSERT each: a use case that emits
    # five events and three audit entries costs two statements, not eight. Nothing reads them back before commit.
    _outbox_rows: list[dict[str, Any]] = field(default_factory=list)
    _audit_rows: list[dict[str, Any]] = field(default_factory=list)
    # Rows of other tables that nothing reads back in this transaction (`insert_at_commit`, `add_at_commit`):
    # written with the outbox and audit rows, or before the next statement that may read them (pending_rows).
    _pending: list[tuple[sa.Table, dict[str, Any] | Base]] = field(default_factory=list)
    _armed: dict[Any, Any] | None = None  # the info of the connection whose statements write them first
    # Run first inside the first transaction this unit of work opens (e.g. an API key's revocation check, made in
    # the request's own transaction rather than one of its own); kept until it passes, so every later transaction
    # runs it again after a failure.
    guard: Callable[[UnitOfWork], None] | None = None
    # Versions of cached configuration this request has seen (`platform.config_cache`), learned inside a statement
    # it runs anyway (the API key's revocation check) so that checking a cache costs no read of its own.
    # A request's units of work share the versions it saw at its start (`platform.http.unit_of_work`); any other
    # forgets them when its transaction ends, so a long-lived unit of work (a job's, the CLI's) reads them anew.
    versions: dict[str, int] = field(default_factory=dict)
    versions_per_request: bool = False

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("no open transaction: call the use case, not its body")
        return self._session

    @property
    def active(self) -> bool:
        return self._depth > 0

    @property
    def dialect(self) -> str:
        return self.db.dialect

    def now(self) -> datetime:
        return self.clock.now()

    def __enter__(self) -> UnitOfWork:
        if self._depth == 0:
            self._locked = not self.readonly and self.db.write_lock is not None
            if self._locked:
                assert self.db.write_lock is not None
                self.db.write_lock.acquire()
            try:
                self._session = self.db.session(readonly=self.readonly)
                self._session.begin()
            except BaseException:
                self._release()
                raise
            self._events, self._outbox_rows, self._audit_rows = [], [], []
        self._depth += 1
        if self._depth == 1 and self.guard is not None:
            try:
                self.guard(self)
            except BaseException as exc:
                self.__exit__(type(exc), exc, exc.__traceback__)
                raise
            self.guard = None
        return self

    def _release(self) -> None:
        if self._locked and self.db.write_lock is not None:
            self._locked = False
            self.db.write_lock.release()

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._depth -= 1
        if self._depth > 0:
            return
        session = self._session
        assert session is not None
        events, self._events = self._events, []
        try:
            if exc_type is None:
                events = self._write_records(session, events)
                session.commit()
            else:
                session.rollback()
        except BaseException:
            session.rollback()
            raise
        finally:
            try:
                self._disarm()
                self._outbox_rows, self._audit_rows, self._pending, self._session = [], [], [], None
                if not self.versions_per_request:
                    self.versions = {}
                session.close()
            finally:
                self._release()  # whatever happened above: the writer lock is never left held
        if exc_type is None and events:
            self.db.committed(events)

    def checkpoint(self) -> tuple[int, int, int]:
        """Where the pending events and audit rows stand: with `rewind`, undo those recorded inside a savepoint
        that was rolled back. Rows waiting for the commit are written first, so none recorded before the savepoint
        is lost with it."""
        if self._pending:
            self._write_pending(self.session.connection())
        return len(self._events), len(self._outbox_rows), len(self._audit_rows)

    def rewind(self, mark: tuple[int, int, int]) -> None:
        del self._events[mark[0] :], self._outbox_rows[mark[1] :], self._audit_rows[mark[2] :]
        self._pending.clear()  # added inside the rolled-back savepoint (checkpoint wrote every earlier one)
        self._disarm()

    def insert_at_commit(self, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        """INSERT `rows` into `table` with this transaction's other waiting rows, at the latest at commit — one
        statement for all of them on PostgreSQL (pending_rows). For rows nothing reads back before the commit; a
        statement that might is preceded by the write anyway. Every row of one call has the same keys."""
        if rows:
            self._wait(table, rows)

    def add_at_commit(self, row: Base) -> None:
        """Like `insert_at_commit` for a new ORM object: its values are read when it is written, so changes made
        to it until then are saved; once written it joins the session, which saves later changes as UPDATEs."""
        self._wait(row.__table__, [row])  # type: ignore[arg-type]

    def _wait(self, table: sa.Table, rows: list[dict[str, Any]] | list[Base]) -> None:
        session = self.session
        session.flush()  # ORM objects added before are written before these (program order)
        self._pending.extend((table, row) for row in rows)
        if self._armed is None:
            self._armed = session.connection().info
            self._armed[pending_rows.WRITER] = self._write_pending

    def _disarm(self) -> None:
        if self._armed is not None:
            self._armed.pop(pending_rows.WRITER, None)
            self._armed = None

    def _write_pending(self, conn: sa.Connection, *, also: tuple[pending_rows.Group, ...] = ()) -> None:
        """Write the waiting rows (and `also`: the outbox and audit rows at commit), in foreign-key order."""
        waiting, self._pending = self._pending, []
        self._disarm()
        adopted: list[Base] = []
        by_shape: dict[tuple[sa.Table, tuple[str, ...]], list[dict[str, Any]]] = {}
        for table, row in waiting:
            if isinstance(row, Base):
                adopted.append(row)
                row = pending_rows.values_of(table, row)
            by_shape.setdefault((table, tuple(row)), []).append(row)
        order = pending_rows.table_order(Base.metadata)
        groups = [
            (table, rows)
            for (table, _), rows in sorted(
                by_shape.items(), key=lambda g: order.get(g[0][0].name, len(order))
            )
        ]
        pending_rows.write(conn, self.dialect, [*groups, *also])
        for row in adopted:  # written: from now on the session tracks their changes
            make_transient_to_detached(row)
        session = self.session
        if session._flushing:  # written before an ORM flush's statement: joined once that flush is done
            session.info.setdefault(_ADOPT, []).extend(adopted)
        else:
            session.add_all(adopted)

    def _write_records(self, session: Session, events: list[Event]) -> list[Event]:
        """Write the pending outbox and audit rows; returns the events as written (with their channel tags)."""
        from ordersmith.platform.tables import AuditRow, OutboxRow

        events = self._tag_channels(session, events)
        session.flush()  # ORM objects (writing the rows that wait before them)
        also = ((OutboxRow.__table__, self._outbox_rows), (AuditRow.__table__, self._audit_rows))
        if self._pending:
            self._write_pending(session.connection(), also=also)  # type: ignore[arg-type]
        else:
            pending_rows.write(session.connection(), self.dialect, also)  # type: ignore[arg-type]
        return events

    def _tag_channels(self, session: Session, events: list[Event]) -> list[Event]:
        """Tag each untagged event that names an order with that order's channel (at most one query per commit;
        none when the transaction's own events name the order's channel)."""
        # An order's channel named by another event of this transaction (`order.placed` carries both) needs no query.
        found: dict[str, str] = {
            str(row["payload"]["order_id"]): row["channel"]
            for row in self._outbox_rows
            if row["channel"] is not None and isinstance(row["payload"].get("order_id"), str)
        }
        wanted = {
            str(row["payload"]["order_id"])
            for row in self._outbox_rows
            if row["channel"] is None and isinstance(row["payload"].get("order_id"), str)
        } - found.keys()
        if wanted and _order_channels:
            session.flush()
            found |= _order_channels[0](session, wanted)
        tagged = list(events)
        for n, row in enumerate(self._outbox_rows):  # parallel to the events: both are appended by `emit`
            channel = found.get(str(row["payload"].get("order_id"))) if row["channel"] is None else None
            if channel is not None:
                row["channel"] = channel
                tagged[n] = dataclasses.replace(tagged[n], channel=channel)
        return tagged

    def execute_core(
        self, statement: sa.Executable, params: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> sa.CursorResult[Any]:
        """Run a Core statement on this transaction's connection, skipping the ORM's execution machinery.

        For hot-path writes (audit, outbox, idempotency) that never need ORM objects back.
        """
        return self.session.connection().execute(statement, params)

    def insert_many(self, table: type[Base] | sa.Table, rows: list[dict[str, Any]]) -> None:
        """INSERT many rows (all with the same keys) in one driver-level statement (platform.bulk_insert): a bulk
        import's hot path. A unique violation raises IntegrityError as usual."""
        core = table if isinstance(table, sa.Table) else cast(sa.Table, table.__table__)
        bulk_insert.insert_many(self.session.connection(), core, rows)

    def insert_unique(self, table: type[Base], row: Base, detail: str) -> None:
        """INSERT one new row with a Core statement (no ORM flush); a unique violation becomes AlreadyExists."""
        values = {c.key: getattr(row, c.key) for c in sa.inspect(table).column_attrs}
        try:
            self.execute_core(sa.insert(table.__table__), values)  # type: ignore[arg-type]
        except IntegrityError as exc:
            if _unique_violation(exc):
                raise AlreadyExists(detail) from exc
            raise

    def flush_unique(self, detail: str) -> None:
        """Flush, turning a unique-constraint violation (a concurrent duplicate) into AlreadyExists (409)."""
        try:
            self.session.flush()
        except IntegrityError as exc:
            if _unique_violation(exc):
                raise AlreadyExists(detail) from exc
            raise

    def emit(self, event_type: str, payload: dict[str, Any]) -> Event:
        """Record an event in the outbox, in this transaction (written at commit); it is delivered after commit.

        Its channel is the payload's `channel`, else (at commit) that of the order named by its `order_id`."""
        channel = payload.get("channel")
        event = Event(type=event_type, payload=payload, occurred_at=self.now(), id=new_id(),
                      channel=channel if isinstance(channel, str) and channel else None)  # fmt: skip
        self._outbox_rows.append(
            {
                "id": event.id,
                "type": event.type,
                "payload": payload,
                "channel": event.channel,
                "occurred_at": event.occurred_at,
                "attempts": 0,
            },
        )
        self._events.append(event)
        return event

    def audit(
        self,
        action: str,
        *,
        object_type: str,
        object_id: str,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        """Append an audit row (actor, action, object, before/after, time, origin) in this transaction (written at
        commit, with the rest)."""
        self._audit_rows.append(
            {
                "id": new_id(),
                "actor_kind": self.actor.kind,
                "actor_id": str(self.actor.id) if self.actor.id else None,
                "actor_label": self.actor.label,
                "action": action,
                "object_type": object_type,
                "object_id": object_id,
                "before": before,
                "after": after,
                "at": self.now(),
                "origin": self.actor.origin,
            },
        )


_ADOPT = "ordersmith.adopt"


def _adopt_after_flush(session: Session, _context: Any) -> None:
    """Objects written while a flush ran (pending_rows) join the session once it is done."""
    adopted = session.info.pop(_ADOPT, None)
    if adopted:
        session.add_all(adopted)


UseCase = Callable[Concatenate[UnitOfWork, P], R]


@overload
def use_case(fn: UseCase[P, R], /) -> UseCase[P, R]: ...


@overload
def use_case(*, readonly: bool = False, attempts: int = 8) -> Callable[[UseCase[P, R]], UseCase[P, R]]: ...


def use_case(
    fn: UseCase[P, R] | None = None, /, *, readonly: bool = False, attempts: int = 8
) -> UseCase[P, R] | Callable[[UseCase[P, R]], UseCase[P, R]]:
    """Run a service function in its own unit of work, retrying serialization failures and deadlocks.

    A use case called from inside another joins the caller's transaction instead of opening one.
    """

    def decorate(func: UseCase[P, R]) -> UseCase[P, R]:
        @functools.wraps(func)
        def wrapper(uow: UnitOfWork, /, *args: P.args, **kwargs: P.kwargs) -> R:
            if uow.active:
                return func(uow, *args, **kwargs)
            for attempt in range(1, attempts + 1):
                uow.readonly = readonly
                try:
                    with uow:
                        return func(uow, *args, **kwargs)
                except IntegrityError as exc:
                    if _unique_violation(exc):
                        # A concurrent duplicate slipped past the service's own check: answer 409, not 500.
                        raise AlreadyExists("a record with the same unique value already exists") from exc
                    raise
                except DBAPIError as exc:
                    if not _retryable(exc) or attempt == attempts:
                        raise
                    delay = min(0.5, 0.005 * 2**attempt) * random.uniform(0.5, 1.5)
                    log.info(
                        "retrying %s after %s (attempt %d)", func.__name__, type(exc.orig).__name__, attempt
                    )
                    time.sleep(delay)
            raise AssertionError("unreachable")

        return wrapper

    if fn is not None:
        return decorate(fn)
    return decorate

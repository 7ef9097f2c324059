"""List pulls (extractions): the customers of a segment with a mailing address, less every suppression, one per
household, dealt into key-coded cells at random (a seed makes it repeatable), counted at each step (the funnel),
then stored as the mail file's names and exported as CSV or XLSX with the key code on every row.

Invariants: a pull never holds an anonymized or merged-away customer, a customer who said no to mail, one flagged
deceased or undeliverable, or one matching the suppression file; a pull that asked to keep do-not-mail customers
while its selection has some is refused and stores nothing.
"""

from __future__ import annotations

import csv
import gc
import io
import tempfile
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import xlsxwriter

from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.pagination import Page
from ordersmith.marketing import lists
from ordersmith.marketing.list_tables import ExtractionNameRow, ExtractionRow, MailFlagRow, SegmentRow
from ordersmith.marketing.service._reads import addresses, customers, emails
from ordersmith.marketing.service.facts import PURCHASES
from ordersmith.marketing.service.segments import category_subtrees_of, member_condition
from ordersmith.marketing.tables import SourceCodeRow
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page

# The mail file's columns, in order (docs/guides/marketing.md shows the layout).
LAYOUT = (
    "key_code",
    "customer_number",
    "name",
    "line1",
    "line2",
    "city",
    "region",
    "postal_code",
    "country",
    "email",
)
MAX_SUPPRESSIONS = 100_000
_CHUNK = 1000
_sweeps_paused = 0  # pulls running that hold the collector's cycle sweeps off (`_no_cycle_sweeps`)
_sweeps_lock = threading.Lock()
_sweeps_were_on = True


@contextmanager
def _no_cycle_sweeps() -> Iterator[None]:
    """Hold the garbage collector's cycle sweeps off while a pull builds its rows, names and cells: hundreds of
    thousands of tuples and records, none in a reference cycle, made in a burst that otherwise sets off full sweeps
    over everything alive again and again (a third of a 480,000-name pull's time at 1,000,000 customers).
    Reference counting frees everything as usual; sweeps resume when the last pull running ends."""
    global _sweeps_paused, _sweeps_were_on
    with _sweeps_lock:
        if _sweeps_paused == 0:
            _sweeps_were_on = gc.isenabled()
            gc.disable()
        _sweeps_paused += 1
    try:
        yield
    finally:
        with _sweeps_lock:
            _sweeps_paused -= 1
            if _sweeps_paused == 0 and _sweeps_were_on:
                gc.enable()


@dataclass(frozen=True)
class Suppressions:
    do_not_mail: bool = True  # False asks to keep customers who said no to mail: refused when there are any
    recent_buyers_days: int | None = None  # leave out customers who ordered within this many days
    file: Sequence[lists.SuppressionEntry] = ()


@dataclass(frozen=True)
class Step:
    step: str
    removed: int
    remaining: int


@dataclass(frozen=True)
class CellCount:
    key_code: str
    percent: str
    count: int


@dataclass(frozen=True)
class Extraction:
    id: uuid.UUID | None  # None for a preview (nothing stored)
    segment: str
    funnel: list[Step]
    cells: list[CellCount]
    names: int
    created_at: datetime


def _to_extraction(row: ExtractionRow) -> Extraction:
    return Extraction(
        id=row.id,
        segment=row.segment,
        funnel=[Step(**s) for s in row.funnel],
        cells=[CellCount(**c) for c in row.cells],
        names=row.names,
        created_at=row.created_at,
    )


def _mailing_address_id() -> Any:
    """The customer's default address, the bill-to before the ship-to."""
    mailing = addresses.alias("mailing")
    return (
        sa.select(mailing.c.id)
        .where(mailing.c.customer_id == customers.c.id, mailing.c.is_default.is_(True))
        .order_by(mailing.c.kind, mailing.c.id)
        .limit(1)
        .correlate(customers)
        .scalar_subquery()
    )


def _selection(uow: UnitOfWork, segment: SegmentRow, recent_since: datetime | None) -> Sequence[Any]:
    """The segment's customers, each with what the funnel tests and the mail file needs, in one statement: the
    mailing address (on PostgreSQL a lateral look-up per customer — one index probe fetching the whole address; a
    join on a correlated id was probed twice per row), the last order from the stored purchases by a join (its day
    in UTC, and whether it is since `recent_since`, worked out in SQL: no timezone conversion per row in Python),
    the first e-mail, the mail flags."""
    email = (
        sa.select(emails.c.email)
        .where(emails.c.customer_id == customers.c.id)
        .order_by(emails.c.is_primary.desc(), emails.c.email)
        .limit(1)
        .scalar_subquery()
    )
    flags = MailFlagRow.__table__
    last = PURCHASES.c.last_order_at
    if uow.dialect == "postgresql":
        last_day: Any = sa.cast(sa.func.timezone("UTC", last), sa.Date)
        mailing: Any = (
            sa.select(addresses)
            .where(addresses.c.customer_id == customers.c.id, addresses.c.is_default.is_(True))
            .order_by(addresses.c.kind, addresses.c.id)
            .limit(1)
            .lateral("mailing")
        )
        source = customers.outerjoin(mailing, sa.true())
    else:
        last_day = sa.type_coerce(sa.func.date(last), sa.Date())
        mailing = addresses
        source = customers.outerjoin(addresses, addresses.c.id == _mailing_address_id())
    recent = sa.func.coalesce(last >= recent_since, sa.false()) if recent_since is not None else sa.false()
    query = (
        sa.select(
            customers.c.id,
            customers.c.number,
            customers.c.display_name,
            customers.c.do_not_mail,
            sa.func.coalesce(flags.c.deceased, False).label("deceased"),
            sa.func.coalesce(flags.c.undeliverable, False).label("undeliverable"),
            last_day.label("last_order_on"),
            recent.label("recent"),
            email.label("email"),
            mailing.c.name,
            mailing.c.line1,
            mailing.c.line2,
            mailing.c.city,
            mailing.c.region,
            mailing.c.postal_code,
            mailing.c.country,
        )
        .select_from(
            source.outerjoin(flags, flags.c.customer_id == customers.c.id).outerjoin(
                PURCHASES, PURCHASES.c.customer_id == customers.c.id
            )
        )
        .where(
            member_condition(
                segment.rules,
                currency=segment.currency,
                now=uow.now(),
                dialect=uow.dialect,
                subtrees=category_subtrees_of(uow, segment.rules),
            )
        )
    )
    if uow.dialect == "postgresql":  # a pull runs once: compiling it to machine code (JIT) only adds time
        uow.execute_core(sa.text("SET LOCAL jit = off"))
    # rows as they come (read by attribute): no dict per row, a pull reads hundreds of thousands
    return uow.session.execute(query).all()


def _check(uow: UnitOfWork, cells: Sequence[lists.Cell], suppress: Suppressions) -> lists.SuppressionKeys:
    lists.check_cells(cells)
    known = set(
        uow.session.scalars(
            sa.select(SourceCodeRow.code).where(SourceCodeRow.code.in_([c.key_code.upper() for c in cells]))
        )
    )
    for n, cell in enumerate(cells):
        if cell.key_code.upper() not in known:
            raise ValidationFailed.on(f"cells.{n}.key_code", f"{cell.key_code!r} is not a source code")
    days = suppress.recent_buyers_days
    if days is not None and not 0 < days <= lists.MAX_DAYS:
        raise ValidationFailed.on("suppress.recent_buyers_days", f"must be 1 to {lists.MAX_DAYS} days")
    if len(suppress.file) > MAX_SUPPRESSIONS:
        raise ValidationFailed.on("suppress.file", f"at most {MAX_SUPPRESSIONS} rows")
    return lists.suppression_keys(suppress.file, "suppress.file")


def _funnel(
    uow: UnitOfWork,
    selected: Sequence[Any],
    suppress: Suppressions,
    keys: lists.SuppressionKeys,
    households: bool,
) -> tuple[list[Step], list[lists.Candidate]]:
    # One pass over the selection (hundreds of thousands of rows), each row unpacked once in `_selection`'s column
    # order: the steps' tests in the funnel's order, the survivors made candidates
    recent_counts = suppress.recent_buyers_days is not None
    tested = [
        "do_not_mail",
        "deceased",
        "undeliverable",
        *(["recent_buyers"] if recent_counts else []),
        "no_address",
    ]
    removed = dict.fromkeys(tested, 0)
    candidates = []
    candidate = lists.Candidate
    for (customer_id, number, display_name, do_not_mail, deceased, undeliverable, last_order_on, recent, email,
         name, line1, line2, city, region, postal_code, country) in selected:  # fmt: skip
        if do_not_mail:
            removed["do_not_mail"] += 1
        elif deceased:
            removed["deceased"] += 1
        elif undeliverable:
            removed["undeliverable"] += 1
        elif recent_counts and recent:
            removed["recent_buyers"] += 1
        elif not line1:
            removed["no_address"] += 1
        else:
            candidates.append(candidate(customer_id, number, name or display_name, line1, line2 or "", city or "",
                                        region or "", postal_code or "", country, email or "",
                                        last_order_on))  # fmt: skip
    said_no = removed["do_not_mail"]
    if said_no and not suppress.do_not_mail:
        raise ValidationFailed.on(
            "suppress.do_not_mail",
            f"{said_no} customers of the selection said no to mail: a pull always leaves them out",
        )
    steps = [Step("selected", 0, len(selected))]
    for step in tested:
        steps.append(Step(step, removed[step], steps[-1].remaining - removed[step]))
    if suppress.file:
        kept = [c for c in candidates if not keys.matches(c)]
        steps.append(Step("suppression_file", len(candidates) - len(kept), len(kept)))
        candidates = kept
    if households:
        kept = lists.one_per_household(candidates)
        steps.append(Step("household", len(candidates) - len(kept), len(kept)))
        candidates = kept
    return steps, candidates


_NAME_COLUMNS = (
    "extraction_id",
    "seq",
    "key_code",
    "customer_id",
    "customer_number",
    "name",
    "line1",
    "line2",
    "city",
    "region",
    "postal_code",
    "country",
    "email",
)


def _store_names(uow: UnitOfWork, names: list[tuple[Any, ...]]) -> None:
    """Write a pull's names in the unit of work's transaction: by COPY on PostgreSQL (a pull stores hundreds of
    thousands of rows; COPY streams them without a statement per row), by executemany in chunks on SQLite."""
    table = ExtractionNameRow.__table__
    if uow.dialect == "postgresql":
        cursor = uow.session.connection().connection.cursor()
        try:
            with cursor.copy(f"COPY {table.name} ({', '.join(_NAME_COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for name in names:
                    copy.write_row(name)
        finally:
            cursor.close()
        return
    for start in range(0, len(names), _CHUNK):
        chunk = [dict(zip(_NAME_COLUMNS, name, strict=True)) for name in names[start : start + _CHUNK]]
        uow.execute_core(sa.insert(table), chunk)  # type: ignore[arg-type]


@use_case
def extract(
    uow: UnitOfWork,
    *,
    segment: str,
    cells: Sequence[lists.Cell],
    seed: int = 0,
    suppress: Suppressions = Suppressions(),
    households: bool = True,
    preview: bool = False,
) -> Extraction:
    """Pull a segment's names for a mailing: select, suppress, de-duplicate by household, split into key-coded
    cells; with `preview`, only count (the funnel) and store nothing.

    Raises:
        NotFound: no such segment.
        ValidationFailed: a key code not in the master list, cells not adding to 100 %, a suppression row without
            an e-mail or address, or `suppress.do_not_mail` false while the selection holds customers who said no.
    """
    keys = _check(uow, cells, suppress)
    row = None if "\x00" in segment else uow.session.get(SegmentRow, segment.upper())
    if row is None:
        raise NotFound(f"no segment {segment!r}")
    with _no_cycle_sweeps():
        return _pull(uow, row, cells, seed, suppress, keys, households, preview)


def _pull(
    uow: UnitOfWork,
    row: SegmentRow,
    cells: Sequence[lists.Cell],
    seed: int,
    suppress: Suppressions,
    keys: lists.SuppressionKeys,
    households: bool,
    preview: bool,
) -> Extraction:
    days = suppress.recent_buyers_days
    since = uow.now() - timedelta(days=days) if days is not None else None
    steps, candidates = _funnel(uow, _selection(uow, row, since), suppress, keys, households)
    dealt = lists.split(candidates, cells, seed)
    counted = {c.key_code.upper(): 0 for c in cells}
    for key_code, _ in dealt:
        counted[key_code.upper()] += 1
    cell_counts = [CellCount(c.key_code.upper(), str(c.percent), counted[c.key_code.upper()]) for c in cells]
    now = uow.now()
    if preview:
        return Extraction(None, row.code, steps, cell_counts, len(dealt), now)
    extraction = ExtractionRow(
        id=new_id(),
        segment=row.code,
        request={
            "cells": [{"key_code": c.key_code.upper(), "percent": str(c.percent)} for c in cells],
            "seed": seed,
            "households": households,
            "recent_buyers_days": suppress.recent_buyers_days,
            "suppression_file_rows": len(suppress.file),
        },
        funnel=[s.__dict__ for s in steps],
        cells=[c.__dict__ for c in cell_counts],
        names=len(dealt),
        created_by=uow.actor.label,
        created_at=now,
    )
    uow.session.add(extraction)
    uow.session.flush()
    _store_names(
        uow,
        [
            (
                extraction.id,
                n,
                key_code.upper(),
                c.customer_id,
                c.number,
                c.name,
                c.line1,
                c.line2,
                c.city,
                c.region,
                c.postal_code,
                c.country,
                c.email,
            )
            for n, (key_code, c) in enumerate(dealt, start=1)
        ],
    )
    uow.audit(
        "extraction.made",
        object_type="extraction",
        object_id=str(extraction.id),
        after={"segment": row.code, "names": len(dealt), "cells": extraction.cells},
    )
    return _to_extraction(extraction)


@use_case(readonly=True)
def get_extraction(uow: UnitOfWork, *, extraction_id: uuid.UUID) -> Extraction:
    """One pull with its funnel and cells. Raises NotFound."""
    row = uow.session.get(ExtractionRow, extraction_id)
    if row is None:
        raise NotFound(f"no extraction {extraction_id}")
    return _to_extraction(row)


@use_case(readonly=True)
def list_extractions(uow: UnitOfWork, *, cursor: str | None = None, limit: int = 50) -> Page[Extraction]:
    """Pulls, the newest first."""
    return keyset_page(
        uow,
        sa.select(ExtractionRow),
        keys=[ExtractionRow.created_at, ExtractionRow.id],
        to_item=_to_extraction,
        cursor=cursor,
        limit=limit,
        descending=True,
    )


def mail_file_rows(uow: UnitOfWork, extraction_id: uuid.UUID) -> Iterator[tuple[str, ...]]:
    """The pull's rows in the mail file's layout, by key code then customer number. A customer anonymized since the
    pull is left out. Runs inside the caller's unit of work (the rows stream from one query)."""
    names = ExtractionNameRow.__table__
    query = (
        sa.select(*(names.c[c] for c in LAYOUT))
        .select_from(names.join(customers, customers.c.id == names.c.customer_id))
        .where(names.c.extraction_id == extraction_id, customers.c.anonymized_at.is_(None))
        .order_by(names.c.key_code, names.c.customer_number)
        .execution_options(yield_per=_CHUNK)
    )
    for row in uow.session.execute(query):
        yield tuple(str(v) for v in row)


@use_case(readonly=True)
def export_extraction(uow: UnitOfWork, *, extraction_id: uuid.UUID, file_format: str) -> bytes:
    """The pull as a mail file: CSV (UTF-8, a header row) or XLSX (one sheet `names`), columns `LAYOUT`.

    Raises:
        NotFound: no such pull.
        ValidationFailed: a format other than csv or xlsx.
    """
    if file_format not in ("csv", "xlsx"):
        raise ValidationFailed.on("format", "must be csv or xlsx")
    if uow.session.get(ExtractionRow, extraction_id) is None:
        raise NotFound(f"no extraction {extraction_id}")
    rows = mail_file_rows(uow, extraction_id)
    if file_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(LAYOUT)
        writer.writerows(rows)
        return buffer.getvalue().encode()
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as handle:
        workbook = xlsxwriter.Workbook(handle.name, {"constant_memory": True})
        sheet = workbook.add_worksheet("names")
        bold = workbook.add_format({"bold": True})
        sheet.write_row(0, 0, LAYOUT, bold)
        for r, values in enumerate(rows, start=1):
            for n, value in enumerate(values):
                sheet.write_string(r, n, value)
        workbook.close()
        handle.seek(0)
        return handle.read()


@use_case
def set_mail_flags(
    uow: UnitOfWork, *, customer_number: str, deceased: bool | None = None, undeliverable: bool | None = None
) -> dict[str, bool]:
    """Flag a customer deceased or undeliverable (or clear a flag): every later pull leaves them out.

    Raises:
        NotFound: no customer of that number (or one anonymized).
    """
    if "\x00" in customer_number:
        raise NotFound(f"no customer {customer_number!r}")
    found = uow.session.execute(
        sa.select(customers.c.id).where(
            customers.c.number == customer_number, customers.c.anonymized_at.is_(None)
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no customer {customer_number!r}")
    row = uow.session.get(MailFlagRow, found, with_for_update=True)
    if row is None:
        row = MailFlagRow(customer_id=found, deceased=False, undeliverable=False, updated_at=uow.now())
        uow.session.add(row)
    before = {"deceased": row.deceased, "undeliverable": row.undeliverable}
    row.deceased = row.deceased if deceased is None else deceased
    row.undeliverable = row.undeliverable if undeliverable is None else undeliverable
    row.updated_at = uow.now()
    uow.session.flush()
    after = {"deceased": row.deceased, "undeliverable": row.undeliverable}
    uow.audit(
        "customer.mail_flags_set",
        object_type="customer",
        object_id=customer_number,
        before=before,
        after=after,
    )
    return after

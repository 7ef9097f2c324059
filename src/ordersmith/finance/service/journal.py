"""The journal: balanced, immutable entries; manual entries and reversals (periods: `periods`; the trial balance:
`balances`).

Invariant: an entry is written as its lines (one multi-row INSERT) and then its header; the database checks the
balance (ADR 0024), and nothing here ever updates or deletes a journal row. A posting dated into a closed period
goes to the next open one, with a note; a manual entry into a closed period is refused. Lines carry their division
and channel (ADR 0039), summed per period beside the period balances.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ordersmith.finance import closing, rules
from ordersmith.finance.service import bulk
from ordersmith.finance.service._common import (
    JournalEntry,
    JournalLine,
)
from ordersmith.finance.service.dimensions import NONE, Dimensions, check_dimensions
from ordersmith.finance.tables import (
    AccountRow,
    DimensionBalanceRow,
    JournalEntryRow,
    JournalLineRow,
    PeriodBalanceRow,
    PeriodRow,
)
from ordersmith.kernel.errors import Conflict, FieldError, NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.kernel.pagination import Page, check_limit, decode_cursor, encode_cursor
from ordersmith.platform.db import UnitOfWork, use_case

_ENTRIES = cast(sa.Table, JournalEntryRow.__table__)
_LINES = cast(sa.Table, JournalLineRow.__table__)
_ACCOUNTS = cast(sa.Table, AccountRow.__table__)
_PERIODS = cast(sa.Table, PeriodRow.__table__)
_BALANCES = cast(sa.Table, PeriodBalanceRow.__table__)
_DIMENSIONS = cast(sa.Table, DimensionBalanceRow.__table__)


class PeriodClosed(Conflict):
    code = "period_closed"
    title = "Accounting period closed"


@dataclass(frozen=True)
class ManualLine:
    account_code: str
    debit: Money | None = None
    credit: Money | None = None
    memo: str = ""


def _periods_from(uow: UnitOfWork, period: str) -> dict[str, str]:
    """Status of every period from `period` on (a handful of rows: one per month)."""
    query = sa.select(_PERIODS.c.code, _PERIODS.c.status).where(_PERIODS.c.code >= period)
    return {r.code: r.status for r in uow.execute_core(query)}


# Plain SQL, the same on SQLite and PostgreSQL: compiled once (an upsert construct is compiled on every call).
_ENSURE_PERIOD = sa.text(
    "INSERT INTO finance_periods (code, starts_on, ends_on, status) VALUES (:code, :starts_on, :ends_on, 'open') "
    "ON CONFLICT (code) DO NOTHING"
).bindparams(sa.bindparam("starts_on", type_=sa.Date()), sa.bindparam("ends_on", type_=sa.Date()))


def _ensure_period(uow: UnitOfWork, code: str) -> None:
    starts_on, ends_on = rules.period_bounds(code)
    uow.execute_core(_ENSURE_PERIOD, {"code": code, "starts_on": starts_on, "ends_on": ends_on})


_LINE_COLUMNS = (
    "entry_id",
    "line_no",
    "account_code",
    "debit_minor",
    "credit_minor",
    "memo",
    "division",
    "channel",
)
_ENTRY_COLUMNS = (
    "id",
    "posted_on",
    "period",
    "currency",
    "rule",
    "source_event_id",
    "source_type",
    "reference",
    "memo",
    "note",
    "reverses_id",
    "line_count",
    "created_by",
    "created_at",
)
_SUMS = ("debit_minor", "credit_minor")


def _add_to_balances(uow: UnitOfWork, totals: dict[tuple[str, str, str], list[int]]) -> None:
    """Add entries' sums to their periods' balances, keyed (period, account, currency): one upsert for them all,
    in key order (a fixed lock order, so two postings touching the same accounts never deadlock)."""
    key = ("period", "account_code", "currency")
    rows = [(*k, debit, credit) for k, (debit, credit) in sorted(totals.items())]
    bulk.write_rows(uow, _BALANCES, (*key, *_SUMS), rows, conflict=key, add=_SUMS)


def _add_to_dimensions(uow: UnitOfWork, totals: dict[tuple[str, str, str, str, str], list[int]]) -> None:
    """The same for the lines that carry a dimension, keyed (period, account, currency, division, channel), in key
    order."""
    key = ("period", "account_code", "currency", "division", "channel")
    rows = [(*k, debit, credit) for k, (debit, credit) in sorted(totals.items())]
    bulk.write_rows(uow, _DIMENSIONS, (*key, *_SUMS), rows, conflict=key, add=_SUMS)


class NewEntry(NamedTuple):
    """An entry to write: balanced lines and where they come from; its period is decided when written."""

    lines: Sequence[rules.Line]
    currency: str
    posted_on: date
    rule: str
    memo: str
    reference: str = ""
    source_event_id: uuid.UUID | None = None
    source_type: str = ""
    reverses_id: uuid.UUID | None = None
    period: str | None = None  # a year's closing period (`YYYY-13`): the entry goes there whatever is closed


def write_entries(
    uow: UnitOfWork, entries: Sequence[NewEntry], *, refuse_closed: bool = False
) -> list[uuid.UUID]:
    """Write balanced entries inside the caller's transaction — all their lines in one multi-row INSERT, then all
    their headers, then their period balances in one upsert — and return their ids, in order.

    Raises:
        rules.Unbalanced: an entry's lines do not balance (a bug in a rule; manual entries are checked before).
        PeriodClosed: `refuse_closed` and an entry's day falls in a closed period.
    """
    if not entries:
        return []
    for entry in entries:
        rules.check_balanced(entry.lines)
    days = {e.posted_on for e in entries if e.period is None}  # a batch's entries share a few days
    wanted = {rules.period_of(day) for day in days}
    known = _periods_from(uow, min(wanted)) if wanted else {}
    closed = {code for code, status in known.items() if status == "closed"}
    if refuse_closed and wanted & closed:
        period = min(wanted & closed)
        raise PeriodClosed(
            f"period {period} is closed",
            errors=[FieldError("posted_on", f"period {period} is closed")],
            period=period,
        )
    placed_on = {day: rules.open_period_for(day, closed) for day in days}
    placed = [(e.period, "") if e.period is not None else placed_on[e.posted_on] for e in entries]
    months = {period for (period, _note), e in zip(placed, entries, strict=True) if e.period is None}
    for period in sorted(months - set(known)):
        _ensure_period(uow, period)
    ids = [new_id() for _ in entries]
    bulk.write_rows(
        uow,
        _LINES,
        _LINE_COLUMNS,
        [
            (
                entry_id,
                n,
                line.account,
                line.debit_minor,
                line.credit_minor,
                line.memo[:200],
                line.division,
                line.channel,
            )
            for entry_id, entry in zip(ids, entries, strict=True)
            for n, line in enumerate(entry.lines, start=1)
        ],
    )
    now, by = uow.now(), uow.actor.label
    bulk.write_rows(
        uow,
        _ENTRIES,
        _ENTRY_COLUMNS,
        [
            (
                entry_id,
                entry.posted_on,
                period,
                entry.currency,
                entry.rule,
                entry.source_event_id,
                entry.source_type,
                entry.reference[:80],
                entry.memo[:500],
                note,
                entry.reverses_id,
                len(entry.lines),
                by,
                now,
            )
            for entry_id, entry, (period, note) in zip(ids, entries, placed, strict=True)
        ],
    )
    totals: dict[tuple[str, str, str], list[int]] = {}
    dimensioned: dict[tuple[str, str, str, str, str], list[int]] = {}
    for entry, (period, _note) in zip(entries, placed, strict=True):
        for line in entry.lines:
            sums = totals.setdefault((period, line.account, entry.currency), [0, 0])
            sums[0] += line.debit_minor
            sums[1] += line.credit_minor
            if line.division or line.channel:
                key = (period, line.account, entry.currency, line.division, line.channel)
                sums = dimensioned.setdefault(key, [0, 0])
                sums[0] += line.debit_minor
                sums[1] += line.credit_minor
    _add_to_balances(uow, totals)
    _add_to_dimensions(uow, dimensioned)
    return ids


def write_entry(uow: UnitOfWork, *, refuse_closed: bool = False, **entry: Any) -> uuid.UUID:
    """Write one balanced entry (`NewEntry`'s fields) inside the caller's transaction; returns its id.

    Raises:
        rules.Unbalanced: the lines do not balance.
        PeriodClosed: `refuse_closed` and the day falls in a closed period.
    """
    return write_entries(uow, [NewEntry(**entry)], refuse_closed=refuse_closed)[0]


def _manual_lines(
    uow: UnitOfWork, lines: Sequence[ManualLine], currency: str, tagged: Dimensions = NONE
) -> list[rules.Line]:
    """The lines of a manual entry (each carrying the entry's dimensions), each checked with the field that is
    wrong named."""
    codes = {line.account_code for line in lines}
    active: dict[str, bool] = {
        r.code: r.active
        for r in uow.execute_core(
            sa.select(_ACCOUNTS.c.code, _ACCOUNTS.c.active).where(_ACCOUNTS.c.code.in_(codes))
        )
    }
    errors: list[FieldError] = []
    out: list[rules.Line] = []
    for n, line in enumerate(lines):
        if line.account_code not in active:
            errors.append(FieldError(f"lines.{n}.account_code", f"no account {line.account_code}"))
        elif not active[line.account_code]:
            errors.append(FieldError(f"lines.{n}.account_code", f"account {line.account_code} is inactive"))
        amounts = [m for m in (line.debit, line.credit) if m is not None and not m.is_zero()]
        if len(amounts) != 1:
            errors.append(FieldError(f"lines.{n}", "give exactly one of debit and credit, above zero"))
            continue
        if amounts[0].currency != currency:
            errors.append(FieldError(f"lines.{n}", f"amounts are in {currency}"))
            continue
        if amounts[0].minor < 0:
            errors.append(FieldError(f"lines.{n}", "amounts are never negative"))
            continue
        debit = line.debit is not None and not line.debit.is_zero()
        out.append(
            rules.Line(
                line.account_code,
                amounts[0].minor if debit else 0,
                0 if debit else amounts[0].minor,
                line.memo,
                tagged.division,
                tagged.channel,
            )
        )
    if len(lines) < 2:
        errors.append(FieldError("lines", "an entry needs at least two lines"))
    if not errors:
        try:
            rules.check_balanced(out)
        except rules.Unbalanced as exc:
            errors.append(FieldError("lines", str(exc)))
    if errors:
        raise ValidationFailed(
            "the entry cannot be posted: " + "; ".join(e.message for e in errors), errors=errors
        )
    return out


@use_case
def post_manual_entry(
    uow: UnitOfWork,
    *,
    posted_on: date,
    currency: str,
    lines: Sequence[ManualLine],
    memo: str,
    reference: str = "",
    division: str | None = None,
    channel: str | None = None,
) -> JournalEntry:
    """Post a journal entry by hand (an accountant's adjustment), optionally for a division and/or a sales channel
    (every line carries them, so the entry shows in the statements filtered by them).

    Raises:
        ValidationFailed: an unknown or inactive account, a line with both or neither side, unbalanced lines, an
            empty memo, an unknown division or channel (each naming its field); nothing is written.
        PeriodClosed: `posted_on` falls in a closed period (409 naming `posted_on`).
    """
    if not memo.strip():
        raise ValidationFailed.on("memo", "say why the entry is made")
    tagged = check_dimensions(uow, division=division, channel=channel)
    checked = _manual_lines(uow, lines, currency, tagged)
    entry_id = write_entry(
        uow,
        lines=checked,
        currency=currency,
        posted_on=posted_on,
        rule="manual",
        memo=memo.strip(),
        reference=reference,
        refuse_closed=True,
    )
    uow.audit(
        "finance.entry_posted",
        object_type="journal_entry",
        object_id=str(entry_id),
        after={"rule": "manual", "lines": len(checked)},
    )
    return _get_entry(uow, entry_id)


@use_case
def reverse_entry(uow: UnitOfWork, *, entry_id: uuid.UUID, posted_on: date, memo: str = "") -> JournalEntry:
    """Correct an entry the only way the journal allows: a new entry with every debit and credit swapped. Dated
    into a closed period, the reversal goes to the next open one (with a note).

    Raises:
        NotFound: no such entry.
        Conflict: the entry is itself a reversal, or was reversed already (`reversed_by` names that entry).
    """
    original = _get_entry(uow, entry_id)
    if original.rule == closing.CLOSING_RULE:
        raise Conflict(f"entry {entry_id} closes a fiscal year: reopen the year to reverse it")
    if original.reverses_id is not None:
        raise Conflict(f"entry {entry_id} is a reversal; post a new entry instead")
    already = uow.execute_core(sa.select(_ENTRIES.c.id).where(_ENTRIES.c.reverses_id == entry_id)).scalar()
    if already is not None:
        raise Conflict(f"entry {entry_id} was reversed already", reversed_by=str(already))
    lines = rules.reversal(as_rule_lines(original))
    try:
        with uow.session.begin_nested():
            new = write_entry(
                uow,
                lines=lines,
                currency=original.currency,
                posted_on=posted_on,
                rule="reversal",
                memo=memo or f"reversal of {entry_id}",
                reference=original.reference,
                source_type=original.source_type,
                reverses_id=entry_id,
            )
    except IntegrityError:
        raise Conflict(f"entry {entry_id} was reversed already") from None
    uow.audit(
        "finance.entry_reversed",
        object_type="journal_entry",
        object_id=str(entry_id),
        after={"reversal": str(new)},
    )
    return _get_entry(uow, new)


def as_rule_lines(entry: JournalEntry) -> list[rules.Line]:
    """An entry's lines as the rules write them (to reverse them)."""
    return [
        rules.Line(
            line.account_code, line.debit.minor, line.credit.minor, line.memo, line.division, line.channel
        )
        for line in entry.lines
    ]


def _lines_of(
    uow: UnitOfWork, ids: list[uuid.UUID], currency_of: dict[uuid.UUID, str]
) -> dict[uuid.UUID, list[JournalLine]]:
    found: dict[uuid.UUID, list[JournalLine]] = {i: [] for i in ids}
    if not ids:
        return found
    query = sa.select(_LINES).where(_LINES.c.entry_id.in_(ids)).order_by(_LINES.c.entry_id, _LINES.c.line_no)
    for r in uow.execute_core(query):
        currency = currency_of[r.entry_id]
        found[r.entry_id].append(
            JournalLine(
                line_no=r.line_no,
                account_code=r.account_code,
                debit=Money.from_minor(r.debit_minor, currency),
                credit=Money.from_minor(r.credit_minor, currency),
                memo=r.memo,
                division=r.division,
                channel=r.channel,
            )
        )
    return found


def _entries(uow: UnitOfWork, rows: Sequence[sa.Row[tuple[object, ...]]]) -> list[JournalEntry]:
    currency_of = {r.id: r.currency for r in rows}
    lines = _lines_of(uow, [r.id for r in rows], currency_of)
    return [
        JournalEntry(
            id=r.id,
            posted_on=r.posted_on,
            period=r.period,
            currency=r.currency,
            rule=r.rule,
            source_event_id=r.source_event_id,
            source_type=r.source_type,
            reference=r.reference,
            memo=r.memo,
            note=r.note,
            reverses_id=r.reverses_id,
            created_by=r.created_by,
            created_at=r.created_at,
            lines=lines[r.id],
        )
        for r in rows
    ]


def _get_entry(uow: UnitOfWork, entry_id: uuid.UUID) -> JournalEntry:
    rows = uow.execute_core(sa.select(_ENTRIES).where(_ENTRIES.c.id == entry_id)).all()
    if not rows:
        raise NotFound(f"no journal entry {entry_id}")
    return _entries(uow, rows)[0]


@use_case(readonly=True)
def get_entry(uow: UnitOfWork, *, entry_id: uuid.UUID) -> JournalEntry:
    return _get_entry(uow, entry_id)


@use_case(readonly=True)
def find_entry_for_event(uow: UnitOfWork, *, event_id: uuid.UUID) -> JournalEntry | None:
    """The entry an event posted (None: it posted nothing, or has not been posted yet)."""
    rows = uow.execute_core(sa.select(_ENTRIES).where(_ENTRIES.c.source_event_id == event_id)).all()
    return _entries(uow, rows)[0] if rows else None


@use_case(readonly=True)
def find_reversal(uow: UnitOfWork, *, entry_id: uuid.UUID) -> uuid.UUID | None:
    """The entry that reversed this one, or None (`reverses_id` is unique: at most one)."""
    query = sa.select(_ENTRIES.c.id).where(_ENTRIES.c.reverses_id == entry_id)
    found: uuid.UUID | None = uow.execute_core(query).scalar()
    return found


@use_case(readonly=True)
def list_journal(
    uow: UnitOfWork,
    *,
    account: str | None = None,
    period: str | None = None,
    source_event_id: uuid.UUID | None = None,
    rule: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[JournalEntry]:
    """Entries, newest first (by id, which is time-ordered), filtered by account (entries with a line on it),
    period, source event or posting rule.

    Raises:
        ValidationFailed: a malformed cursor or period, or a limit out of range (naming the field).
    """
    check_limit(limit)
    query = sa.select(_ENTRIES)
    if period is not None:
        _check_period(period, closing_allowed=True)
        query = query.where(_ENTRIES.c.period == period)
    if account is not None:
        query = query.where(
            _ENTRIES.c.id.in_(sa.select(_LINES.c.entry_id).where(_LINES.c.account_code == account))
        )
    if source_event_id is not None:
        query = query.where(_ENTRIES.c.source_event_id == source_event_id)
    if rule is not None:
        query = query.where(_ENTRIES.c.rule == rule)
    if cursor:
        try:
            after = uuid.UUID(decode_cursor(cursor, 1)[0])
        except ValueError:
            raise ValidationFailed.on("cursor", "malformed cursor") from None
        query = query.where(_ENTRIES.c.id < after)
    rows = uow.execute_core(query.order_by(_ENTRIES.c.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(_entries(uow, rows), encode_cursor(str(rows[-1].id)) if more else None)


def _check_period(code: str, field: str = "period", *, closing_allowed: bool = False) -> tuple[date, date]:
    """A month's first and last day; with `closing_allowed`, a year's closing period (`YYYY-13`: its last day)."""
    year = closing.closing_year(code) if closing_allowed else None
    if year is not None:
        try:
            closing.check_year(year)
        except ValueError as exc:
            raise ValidationFailed.on(field, str(exc)) from None
        return closing.closing_day(year), closing.closing_day(year)
    try:
        return rules.period_bounds(code)
    except ValueError as exc:
        raise ValidationFailed.on(field, str(exc)) from None

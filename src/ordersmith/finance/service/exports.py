"""Accounting exports: a period's journal streamed as a generic GL CSV, a QuickBooks Desktop IIF file or a Xero
manual-journal CSV (`finance.formats`), in detail or summarised per day and account.

The journal is read in keyset batches (`ix_journal_entries_period`: period, id), each batch in its own short
read-only transaction, so an export of any size holds no transaction open while the client reads and never loads
more than one batch; entries are append-only, so batches never see a half-written entry.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from typing import cast

import sqlalchemy as sa

from ordersmith.finance import formats, rules
from ordersmith.finance.tables import AccountRow, JournalEntryRow, JournalLineRow
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.platform.db import UnitOfWork, use_case

_ENTRIES = cast(sa.Table, JournalEntryRow.__table__)
_LINES = cast(sa.Table, JournalLineRow.__table__)
_ACCOUNTS = cast(sa.Table, AccountRow.__table__)

BATCH = 500


@use_case(readonly=True)
def _entries(
    uow: UnitOfWork, *, period: str, currency: str | None, after: uuid.UUID | None, limit: int
) -> list[formats.ExportEntry]:
    query = sa.select(_ENTRIES).where(_ENTRIES.c.period == period)
    if currency is not None:
        query = query.where(_ENTRIES.c.currency == currency)
    if after is not None:
        query = query.where(_ENTRIES.c.id > after)
    headers = uow.execute_core(query.order_by(_ENTRIES.c.id).limit(limit)).all()
    if not headers:
        return []
    lines: dict[uuid.UUID, list[formats.ExportLine]] = {h.id: [] for h in headers}
    line_query = (
        sa.select(_LINES, _ACCOUNTS.c.name)
        .join(_ACCOUNTS, _ACCOUNTS.c.code == _LINES.c.account_code)
        .where(_LINES.c.entry_id.in_(list(lines)))
        .order_by(_LINES.c.entry_id, _LINES.c.line_no)
    )
    for r in uow.execute_core(line_query):
        lines[r.entry_id].append(
            formats.ExportLine(r.account_code, r.name, r.debit_minor, r.credit_minor, r.memo)
        )
    return [
        formats.ExportEntry(
            str(h.id), h.posted_on, h.period, h.currency, h.rule, h.reference, h.memo, tuple(lines[h.id])
        )
        for h in headers
    ]


@use_case(readonly=True)
def _day_totals(
    uow: UnitOfWork, *, period: str, currency: str | None, after: tuple[date, str] | None, limit: int
) -> list[tuple[date, str, str, str, int]]:
    """(day, currency, account, name, debits - credits) for up to `limit` days of the period, after `after`."""
    days = sa.select(_ENTRIES.c.posted_on, _ENTRIES.c.currency).where(_ENTRIES.c.period == period).distinct()
    if currency is not None:
        days = days.where(_ENTRIES.c.currency == currency)
    if after is not None:
        day, code = after
        days = days.where(
            sa.or_(
                _ENTRIES.c.posted_on > day,
                sa.and_(_ENTRIES.c.posted_on == day, _ENTRIES.c.currency > code),
            )
        )
    wanted = days.order_by(_ENTRIES.c.posted_on, _ENTRIES.c.currency).limit(limit).subquery()
    net = sa.func.sum(_LINES.c.debit_minor - _LINES.c.credit_minor)
    query = (
        sa.select(_ENTRIES.c.posted_on, _ENTRIES.c.currency, _LINES.c.account_code, _ACCOUNTS.c.name, net)
        .select_from(
            _ENTRIES.join(
                wanted,
                sa.and_(wanted.c.posted_on == _ENTRIES.c.posted_on, wanted.c.currency == _ENTRIES.c.currency),
            )
            .join(_LINES, _LINES.c.entry_id == _ENTRIES.c.id)
            .join(_ACCOUNTS, _ACCOUNTS.c.code == _LINES.c.account_code)
        )
        .where(_ENTRIES.c.period == period)
        .group_by(_ENTRIES.c.posted_on, _ENTRIES.c.currency, _LINES.c.account_code, _ACCOUNTS.c.name)
        .order_by(_ENTRIES.c.posted_on, _ENTRIES.c.currency, _LINES.c.account_code)
    )
    return [(r[0], r[1], r[2], r[3], int(r[4])) for r in uow.execute_core(query)]


def _detail(uow: UnitOfWork, period: str, currency: str | None) -> Iterator[formats.ExportEntry]:
    after: uuid.UUID | None = None
    while batch := _entries(uow, period=period, currency=currency, after=after, limit=BATCH):
        yield from batch
        after = uuid.UUID(batch[-1].key)


def _summary(uow: UnitOfWork, period: str, currency: str | None) -> Iterator[formats.ExportEntry]:
    after: tuple[date, str] | None = None
    while rows := _day_totals(uow, period=period, currency=currency, after=after, limit=31):
        groups: dict[tuple[date, str], list[tuple[str, str, int]]] = {}
        for day, code, account, name, net in rows:
            groups.setdefault((day, code), []).append((account, name, net))
        for (day, code), totals in groups.items():
            entry = formats.summarise_day(day, period, code, totals)
            if entry is not None:
                yield entry
        after = max(groups)


def export_journal(
    uow: UnitOfWork,
    *,
    period: str,
    format: str,
    currency: str | None = None,
    summary: bool = False,
    tax_rate: str = "Tax Exempt",
) -> Iterator[str]:
    """The file of `period`'s journal in `format` (`gl`, `iif`, `xero`), as text chunks to stream; in detail (one
    transaction per journal entry) or `summary` (one per day and currency, netted per account). The arguments are
    checked before anything is read, so a refusal comes before the first byte.

    Raises:
        ValidationFailed: a malformed period, an unknown format, a malformed currency, or no currency for `iif` /
            `xero` (which import one currency), an empty tax rate for `xero` (each naming its field).
    """
    try:
        rules.period_bounds(period)
    except ValueError as exc:
        raise ValidationFailed.on("period", str(exc)) from None
    if format not in formats.FORMATS:
        raise ValidationFailed.on("format", f"one of {', '.join(formats.FORMATS)}")
    if currency is not None and (len(currency) != 3 or not currency.isascii() or not currency.isupper()):
        raise ValidationFailed.on("currency", "an ISO 4217 code, e.g. USD")
    if format in ("iif", "xero") and currency is None:
        raise ValidationFailed.on("currency", f"{format} files hold one currency: name it")
    if format == "xero" and not tax_rate.strip():
        raise ValidationFailed.on("tax_rate", "the name of a tax rate in the Xero organisation")
    entries = (_summary if summary else _detail)(uow, period, currency)
    if format == "iif":
        return formats.write_iif(entries)
    if format == "xero":
        return formats.write_xero(entries, tax_rate=tax_rate)
    return formats.write_gl(entries)

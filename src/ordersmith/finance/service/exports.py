"""Accounting exports: a period's journal written as a file an accounting package imports (`finance.formats`: a
generic GL CSV, QuickBooks Desktop IIF, Xero, Sage 50 general and sales journals, Dynamics GP Integration Manager
and eConnect), in detail or summarised per day and account — and recorded, so that nothing reaches a package twice.

**Exactly once per package.** Creating an export claims the period's journal entries that no earlier export to
the same package (`formats.TARGETS`: the two Sage files share one, as do the two GP files) carried: one INSERT …
SELECT into `accounting_export_items`, whose key is (package, entry). A later export of the same period carries
only what was posted since; an export that would carry nothing is refused (`nothing_to_export`) and records
nothing. Concurrent exports take the export-number counter's row lock first, so the second reads the first's
claims once it commits (and the key refuses a double claim in any case). The file of an export can be downloaded
again at any time: it is the same entries, not a new export.

**Streaming.** An export's entries are read in keyset batches over its own claims (`ix_accounting_export_items_export`),
each batch in its own short read-only transaction, so a file of any size holds no transaction open while the client
reads and never loads more than one batch; entries are append-only, so a batch never sees a half-written entry.

Sage 50 takes an invoice on account in its Sales Journal (the customer's receivable) and everything else in its
General Journal: `sage50-sales` claims the invoice entries (an invoice's capture: a debit on a receivable account),
`sage50` every other entry, so the two files together carry the period once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

import sqlalchemy as sa

from ordersmith.finance import formats, rules
from ordersmith.finance.service._common import mappings
from ordersmith.finance.tables import (
    AccountingExportItemRow,
    AccountingExportRow,
    AccountRow,
    JournalEntryRow,
    JournalLineRow,
)
from ordersmith.kernel.errors import Conflict, NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.pagination import Page
from ordersmith.payments import service as payments
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.numbers import next_number
from ordersmith.platform.paging import keyset_page

_ENTRIES = cast(sa.Table, JournalEntryRow.__table__)
_LINES = cast(sa.Table, JournalLineRow.__table__)
_ACCOUNTS = cast(sa.Table, AccountRow.__table__)
_EXPORTS = cast(sa.Table, AccountingExportRow.__table__)
_ITEMS = cast(sa.Table, AccountingExportItemRow.__table__)

BATCH = 500
SERIES = "accounting_export"
INVOICE_RULE = "payment.captured"


class NothingToExport(Conflict):
    code = "nothing_to_export"
    title = "Nothing to export"


@dataclass(frozen=True)
class AccountingExport:
    id: uuid.UUID
    number: int
    format: str
    target: str
    period: str
    currency: str | None
    summary: bool
    options: dict[str, str]
    entries: int
    lines: int
    debit_minor: int
    created_by: str
    created_at: datetime
    pushed: int = 0  # API exports (`qbo`, `bc`): entries the package took
    failed: int = 0  # … and entries it refused (each item keeps why; a later push retries them)

    @property
    def file_name(self) -> str:
        summary = "-summary" if self.summary else ""
        return f"journal-{self.period}{summary}-{self.format}-{self.number}.{formats.EXTENSIONS[self.format]}"


def _export(row: sa.Row[tuple[object, ...]] | AccountingExportRow) -> AccountingExport:
    return AccountingExport(
        id=row.id,
        number=row.number,
        format=row.format,
        target=row.target,
        period=row.period,
        currency=row.currency or None,
        summary=row.summary,
        options=dict(row.options),
        entries=row.entries,
        lines=row.lines,
        debit_minor=row.debit_minor,
        created_by=row.created_by,
        created_at=row.created_at,
        pushed=row.pushed,
        failed=row.failed,
    )


def _options(
    *, period: str, format: str, currency: str | None, tax_rate: str, batch: str | None, first: int
) -> dict[str, str]:
    """The format's options after checking every argument (each refusal names its field)."""
    try:
        rules.period_bounds(period)
    except ValueError as exc:
        raise ValidationFailed.on("period", str(exc)) from None
    if format not in formats.FORMATS:
        raise ValidationFailed.on("format", f"one of {', '.join(formats.FORMATS)}")
    if currency is not None and (len(currency) != 3 or not currency.isascii() or not currency.isupper()):
        raise ValidationFailed.on("currency", "an ISO 4217 code, e.g. USD")
    if format != "gl" and currency is None:
        raise ValidationFailed.on("currency", f"{format} files hold one currency: name it")
    if format == "xero":
        if not tax_rate.strip():
            raise ValidationFailed.on("tax_rate", "the name of a tax rate in the Xero organisation")
        return {"tax_rate": tax_rate.strip()}
    if format in ("gp-im", "gp-econnect"):
        chosen = (batch or f"OS{period.replace('-', '')}").strip()
        if (
            not chosen
            or len(chosen) > formats.GP_BATCH_LENGTH
            or not chosen.isascii()
            or not chosen.isprintable()
        ):
            raise ValidationFailed.on(
                "batch", f"a GP batch id of 1 to {formats.GP_BATCH_LENGTH} plain characters"
            )
        if not 1 <= first <= 2_000_000_000:
            raise ValidationFailed.on("first", "GP's next journal entry number, 1 to 2,000,000,000")
        return {"batch": chosen.upper(), "first": str(first)}
    return {}


def _invoice_entries(uow: UnitOfWork) -> sa.ColumnElement[bool]:
    """Entries that are an invoice's capture: Sage 50 takes them in its Sales Journal."""
    mapped = mappings(uow)
    receivable = sorted(
        {rules.resolve(mapped, "role", "receivable"), rules.resolve(mapped, "tender", "on_account")}
    )
    debits_receivable = (
        sa.select(sa.literal(1))
        .where(
            _LINES.c.entry_id == _ENTRIES.c.id,
            _LINES.c.account_code.in_(receivable),
            _LINES.c.debit_minor > 0,
        )
        .exists()
    )
    return sa.and_(_ENTRIES.c.rule == INVOICE_RULE, debits_receivable)


@use_case(readonly=True)
def _receivable_accounts(uow: UnitOfWork) -> frozenset[str]:
    mapped = mappings(uow)
    return frozenset(
        {rules.resolve(mapped, "role", "receivable"), rules.resolve(mapped, "tender", "on_account")}
    )


@use_case
def create_export(
    uow: UnitOfWork,
    *,
    period: str,
    format: str,
    currency: str | None = None,
    summary: bool = False,
    tax_rate: str = "Tax Exempt",
    batch: str | None = None,
    first: int = 1,
) -> AccountingExport:
    """Record an export of `period`'s journal in `format`: it claims every entry of the period (in `currency`)
    that no earlier export to the same package carried. The file is then read with `export_file`.

    Raises:
        ValidationFailed: a malformed period, format, currency (or none where the format needs one), tax rate,
            GP batch or first number, an account code longer than Sage 50 takes, an invoice whose customer is
            unknown (each naming its field).
        NothingToExport: every entry of the period already went to that package (nothing is recorded).
    """
    options = _options(
        period=period, format=format, currency=currency, tax_rate=tax_rate, batch=batch, first=first
    )
    if summary and format in formats.API_FORMATS:
        raise ValidationFailed.on("summary", f"{format} takes each journal entry as it is: no summary")
    target = formats.TARGETS[format]
    number = next_number(uow, SERIES)  # a row lock until commit: concurrent exports claim one after the other
    export_id = new_id()
    now = uow.now()
    uow.execute_core(
        _EXPORTS.insert().values(
            id=export_id, number=number, format=format, target=target, period=period, currency=currency or "",
            summary=summary, options=options, entries=0, lines=0, debit_minor=0,
            created_by=uow.actor.label, created_at=now,
        )
    )  # fmt: skip
    claimed_before = (
        sa.select(sa.literal(1)).where(_ITEMS.c.target == target, _ITEMS.c.entry_id == _ENTRIES.c.id).exists()
    )
    wanted = sa.select(sa.literal(target), _ENTRIES.c.id, sa.literal(export_id, sa.Uuid)).where(
        _ENTRIES.c.period == period, ~claimed_before
    )
    if currency is not None:
        wanted = wanted.where(_ENTRIES.c.currency == currency)
    if format == "sage50-sales":
        wanted = wanted.where(_invoice_entries(uow))
    elif format == "sage50":
        wanted = wanted.where(~_invoice_entries(uow))
    uow.execute_core(_ITEMS.insert().from_select(["target", "entry_id", "export_id"], wanted))
    mine = sa.select(_ITEMS.c.entry_id).where(_ITEMS.c.export_id == export_id).scalar_subquery()
    entries = int(
        uow.execute_core(
            sa.select(sa.func.count()).select_from(_ITEMS).where(_ITEMS.c.export_id == export_id)
        ).scalar_one()
    )
    if entries == 0:
        raise NothingToExport(f"every entry of {period} this export would carry already went to {target}")
    lines, debits = uow.execute_core(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(_LINES.c.debit_minor), 0)).where(
            _LINES.c.entry_id.in_(mine)
        )
    ).one()
    if format in ("sage50", "sage50-sales"):
        too_long = uow.execute_core(
            sa.select(_LINES.c.account_code)
            .where(
                _LINES.c.entry_id.in_(mine),
                sa.func.length(_LINES.c.account_code) > formats.SAGE_ACCOUNT_LENGTH,
            )
            .limit(1)
        ).scalar()
        if too_long is not None:
            raise ValidationFailed.on(
                "format",
                f"account {too_long} is longer than the {formats.SAGE_ACCOUNT_LENGTH} characters Sage 50 takes",
            )
    if format == "sage50-sales":
        references = (
            uow.execute_core(sa.select(_ENTRIES.c.reference).where(_ENTRIES.c.id.in_(mine))).scalars().all()
        )
        known = payments.invoice_customers(uow, numbers=list(references))
        unknown = next((r for r in references if r not in known), None)
        if unknown is not None:
            raise ValidationFailed.on("format", f"an invoice entry names no known invoice ({unknown!r})")
    uow.execute_core(
        _EXPORTS.update()
        .where(_EXPORTS.c.id == export_id)
        .values(entries=entries, lines=lines, debit_minor=debits)
    )
    uow.audit(
        "accounting_export.created",
        object_type="accounting_export",
        object_id=str(export_id),
        after={
            "number": number,
            "format": format,
            "period": period,
            "currency": currency or "",
            "entries": entries,
        },
    )
    return get_export(uow, export_id=export_id)


@use_case(readonly=True)
def get_export(uow: UnitOfWork, *, export_id: uuid.UUID) -> AccountingExport:
    row = uow.execute_core(sa.select(_EXPORTS).where(_EXPORTS.c.id == export_id)).first()
    if row is None:
        raise NotFound(f"no accounting export {export_id}")
    return _export(row)


@use_case(readonly=True)
def list_exports(uow: UnitOfWork, *, limit: int = 50, cursor: str | None = None) -> Page[AccountingExport]:
    """Newest first."""
    return keyset_page(
        uow,
        sa.select(AccountingExportRow),
        keys=[AccountingExportRow.created_at, AccountingExportRow.id],
        to_item=_export,
        cursor=cursor,
        limit=limit,
        descending=True,
    )


@use_case(readonly=True)
def _entries(
    uow: UnitOfWork, *, export_id: uuid.UUID, after: uuid.UUID | None, limit: int, unpushed: bool = False
) -> list[formats.ExportEntry]:
    """Up to `limit` of the export's entries after `after`, in entry order (`unpushed`: only those no push has
    delivered yet)."""
    query = (
        sa.select(_ENTRIES)
        .join(_ITEMS, _ITEMS.c.entry_id == _ENTRIES.c.id)
        .where(_ITEMS.c.export_id == export_id)
    )
    if unpushed:
        query = query.where(_ITEMS.c.pushed_at.is_(None))
    if after is not None:
        query = query.where(_ITEMS.c.entry_id > after)
    headers = uow.execute_core(query.order_by(_ITEMS.c.entry_id).limit(limit)).all()
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
    uow: UnitOfWork, *, export_id: uuid.UUID, after: tuple[date, str] | None, limit: int
) -> list[tuple[date, str, str, str, int]]:
    """(day, currency, account, name, debits - credits) over the export's entries, for up to `limit` days after
    `after`."""
    mine = _ENTRIES.join(_ITEMS, sa.and_(_ITEMS.c.entry_id == _ENTRIES.c.id, _ITEMS.c.export_id == export_id))
    days = sa.select(_ENTRIES.c.posted_on, _ENTRIES.c.currency).select_from(mine).distinct()
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
            mine.join(
                wanted,
                sa.and_(wanted.c.posted_on == _ENTRIES.c.posted_on, wanted.c.currency == _ENTRIES.c.currency),
            )
            .join(_LINES, _LINES.c.entry_id == _ENTRIES.c.id)
            .join(_ACCOUNTS, _ACCOUNTS.c.code == _LINES.c.account_code)
        )
        .group_by(_ENTRIES.c.posted_on, _ENTRIES.c.currency, _LINES.c.account_code, _ACCOUNTS.c.name)
        .order_by(_ENTRIES.c.posted_on, _ENTRIES.c.currency, _LINES.c.account_code)
    )
    return [(r[0], r[1], r[2], r[3], int(r[4])) for r in uow.execute_core(query)]


def _detail(uow: UnitOfWork, export: AccountingExport) -> Iterator[formats.ExportEntry]:
    after: uuid.UUID | None = None
    while batch := _entries(uow, export_id=export.id, after=after, limit=BATCH):
        if export.format == "sage50-sales":
            parties = payments.invoice_customers(uow, numbers=[e.reference for e in batch])
            batch = [_with_party(e, parties) for e in batch]
        yield from batch
        after = uuid.UUID(batch[-1].key)


def _with_party(entry: formats.ExportEntry, parties: dict[str, str]) -> formats.ExportEntry:
    party = parties.get(entry.reference, "")  # checked when the export was made
    return formats.ExportEntry(
        entry.key, entry.posted_on, entry.period, entry.currency, entry.rule, entry.reference, entry.memo,
        entry.lines, party,
    )  # fmt: skip


def _summary(uow: UnitOfWork, export: AccountingExport) -> Iterator[formats.ExportEntry]:
    after: tuple[date, str] | None = None
    while rows := _day_totals(uow, export_id=export.id, after=after, limit=31):
        groups: dict[tuple[date, str], list[tuple[str, str, int]]] = {}
        for day, code, account, name, net in rows:
            groups.setdefault((day, code), []).append((account, name, net))
        for (day, code), totals in groups.items():
            entry = formats.summarise_day(day, export.period, code, totals)
            if entry is not None:
                yield entry
        after = max(groups)


def export_file(uow: UnitOfWork, *, export_id: uuid.UUID) -> Iterator[str]:
    """The file of a recorded export, as text chunks to stream (the same entries however often it is read). A
    sales journal is never summarised (each invoice is its own transaction in Sage).

    Raises:
        NotFound: no such export (before the first byte).
    """
    export = get_export(uow, export_id=export_id)
    summary = export.summary and export.format != "sage50-sales"
    entries = _summary(uow, export) if summary else _detail(uow, export)
    match export.format:
        case "iif":
            return formats.write_iif(entries)
        case "xero":
            return formats.write_xero(entries, tax_rate=export.options["tax_rate"])
        case "sage50":
            return formats.write_sage50(entries)
        case "sage50-sales":
            return formats.write_sage50_sales(entries, receivable=_receivable_accounts(uow))
        case "gp-im":
            return formats.write_gp_im(
                entries, batch=export.options["batch"], first=int(export.options["first"])
            )
        case "gp-econnect":
            return formats.write_gp_econnect(
                entries, batch=export.options["batch"], first=int(export.options["first"])
            )
        case _:
            return formats.write_gl(entries)


def export_journal(
    uow: UnitOfWork,
    *,
    period: str,
    format: str,
    currency: str | None = None,
    summary: bool = False,
    tax_rate: str = "Tax Exempt",
    batch: str | None = None,
    first: int = 1,
) -> Iterator[str]:
    """Record an export (`create_export`) and return its file's chunks: the refusals come before the first byte."""
    export = create_export(
        uow, period=period, format=format, currency=currency, summary=summary, tax_rate=tax_rate, batch=batch,
        first=first,
    )  # fmt: skip
    return export_file(uow, export_id=export.id)

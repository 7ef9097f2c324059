"""Accounting export formats (pure): journal entries written as the files an accounting package imports.

- `gl`: a generic general-journal CSV, one row per line, every field Ordersmith has.
- `iif`: QuickBooks Desktop's Intuit Interchange Format — tab-separated; `!TRNS` / `!SPL` / `!ENDTRNS` header
  lines name the columns; each entry is a `TRNS` line (its first line) and one `SPL` line per further line, closed
  by `ENDTRNS`; `TRNSTYPE` is `GENERAL JOURNAL`; `DATE` is MM/DD/YY; `ACCNT` is the account's *name* as in
  QuickBooks' chart; `AMOUNT` is positive for a debit and negative for a credit, and a transaction's amounts sum to
  zero.
- `xero`: Xero's manual-journal import CSV — columns `*Narration`, `*Date` (dd/mm/yyyy), `Description`,
  `*AccountCode`, `*TaxRate` (the tax rate's full name in the organisation), `*Amount` (positive debit, negative
  credit); rows with the same narration and date become one journal, so each entry's narration carries its id.
  Xero takes at most 300 lines per file: export a period summarised per day, or split the file.

Invariant: every entry written balances (its amounts sum to zero), as every entry read from the journal does.
Text fields are cleaned of tabs and line breaks; in the CSV formats a text cell that a spreadsheet would read as a
formula (leading `=`, `+`, `-`, `@`) is prefixed with `'`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from ordersmith.kernel.money import Money

FORMATS = ("gl", "iif", "xero")
MEDIA_TYPES = {
    "gl": "text/csv; charset=utf-8",
    "iif": "text/plain; charset=utf-8",
    "xero": "text/csv; charset=utf-8",
}
EXTENSIONS = {"gl": "csv", "iif": "iif", "xero": "csv"}
XERO_LINES_PER_FILE = 300


@dataclass(frozen=True)
class ExportLine:
    account_code: str
    account_name: str
    debit_minor: int
    credit_minor: int
    memo: str = ""


@dataclass(frozen=True)
class ExportEntry:
    """One balanced entry to write: a journal entry, or one day's entries netted per account (`summary`)."""

    key: str  # the journal entry's id, or `YYYY-MM-DD` for a day's summary
    posted_on: date
    period: str
    currency: str
    rule: str
    reference: str
    memo: str
    lines: tuple[ExportLine, ...]


def _amount(minor: int, currency: str) -> str:
    return str(Money.from_minor(minor, currency).amount)


def _text(value: str) -> str:
    return " ".join(value.replace("\t", " ").split())


def _cell(value: str) -> str:
    cleaned = _text(value)
    return "'" + cleaned if cleaned[:1] in ("=", "+", "-", "@") else cleaned


def _csv_rows(header: Sequence[str], rows: Iterable[Sequence[str]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row)
        yield buffer.getvalue()


GL_HEADER = (
    "entry",
    "posted_on",
    "period",
    "currency",
    "rule",
    "reference",
    "entry_memo",
    "line",
    "account_code",
    "account_name",
    "debit",
    "credit",
    "memo",
)


def write_gl(entries: Iterable[ExportEntry]) -> Iterator[str]:
    """The generic general-journal CSV: one row per line."""

    def rows() -> Iterator[Sequence[str]]:
        for e in entries:
            for n, line in enumerate(e.lines, start=1):
                yield (
                    e.key,
                    e.posted_on.isoformat(),
                    e.period,
                    e.currency,
                    e.rule,
                    _cell(e.reference),
                    _cell(e.memo),
                    str(n),
                    line.account_code,
                    _cell(line.account_name),
                    _amount(line.debit_minor, e.currency),
                    _amount(line.credit_minor, e.currency),
                    _cell(line.memo),
                )

    return _csv_rows(GL_HEADER, rows())


IIF_COLUMNS = ("TRNSTYPE", "DATE", "ACCNT", "AMOUNT", "DOCNUM", "MEMO")


def write_iif(entries: Iterable[ExportEntry]) -> Iterator[str]:
    """QuickBooks Desktop IIF general journal transactions (tab-separated, CRLF line ends)."""
    yield "\t".join(("!TRNS", *IIF_COLUMNS)) + "\r\n"
    yield "\t".join(("!SPL", *IIF_COLUMNS)) + "\r\n"
    yield "!ENDTRNS\r\n"
    for e in entries:
        day = e.posted_on.strftime("%m/%d/%y")
        docnum = _text(e.reference)[:20]
        for n, line in enumerate(e.lines):
            amount = _amount(line.debit_minor - line.credit_minor, e.currency)
            memo = _text(line.memo or e.memo)
            keyword = "TRNS" if n == 0 else "SPL"
            yield "\t".join((keyword, "GENERAL JOURNAL", day, _text(line.account_name), amount, docnum, memo))
            yield "\r\n"
        yield "ENDTRNS\r\n"


XERO_HEADER = ("*Narration", "*Date", "Description", "*AccountCode", "*TaxRate", "*Amount")


def write_xero(entries: Iterable[ExportEntry], *, tax_rate: str) -> Iterator[str]:
    """Xero manual journals import CSV; `tax_rate` is the name of a tax rate in the Xero organisation (e.g.
    "Tax Exempt") applied to every line."""

    def rows() -> Iterator[Sequence[str]]:
        for e in entries:
            narration = _cell(f"{e.memo} [{e.key}]")
            day = e.posted_on.strftime("%d/%m/%Y")
            for line in e.lines:
                amount = _amount(line.debit_minor - line.credit_minor, e.currency)
                yield (narration, day, _cell(line.memo), line.account_code, _cell(tax_rate), amount)

    return _csv_rows(XERO_HEADER, rows())


def summarise_day(
    day: date, period: str, currency: str, totals: Sequence[tuple[str, str, int]]
) -> ExportEntry | None:
    """One day's entries as a single entry: per account (code, name, debits minus credits), netted; None when
    everything nets to zero."""
    lines = tuple(ExportLine(code, name, max(net, 0), max(-net, 0), "") for code, name, net in totals if net)
    assert sum(line.debit_minor - line.credit_minor for line in lines) == 0, "a day's entries do not balance"
    if not lines:
        return None
    return ExportEntry(day.isoformat(), day, period, currency, "summary", "", f"journal summary {day}", lines)

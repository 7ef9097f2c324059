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
- `sage50`: Sage 50 US (Peachtree) General Journal import CSV (Sage 50 help, "General Journal Fields
  (Import/Export)"): one row per distribution — `Date` (MM/DD/YY), `Reference` (≤ 20), `Number of Distributions`
  (2 to 560, on every row of the transaction: Sage reads that many rows as one transaction), `G/L Account` (≤ 15),
  `Description` (≤ 160), `Amount` (positive debit, negative credit).
- `sage50-sales`: Sage 50 US Sales Journal import CSV ("Sales Journal Fields (Import/Export)"): one row per
  distribution of an invoice — `Customer ID` (≤ 20), `Invoice/CM #` (≤ 20), `Date`, `Accounts Receivable Account`,
  `Number of Distributions`, `Invoice/CM Distribution` (1, 2, …), `Quantity`, `Description` (≤ 160),
  `G/L Account`, `Amount` (a sale is a credit: negative). The receivable line is not a distribution: Sage posts the
  receivable as the negated sum of the distributions.
- `gp-im`: Microsoft Dynamics GP Integration Manager source file for a General Ledger Transaction integration:
  one CSV row per distribution — `Batch ID` (≤ 15), `Journal Entry` (groups the rows of one transaction),
  `Reference` (≤ 30), `Transaction Date` (MM/DD/YYYY), `Transaction Type` (0 standard), `Currency ID`,
  `Account Number` (the account string), `Debit Amount`, `Credit Amount`, `Distribution Reference` (≤ 30). The
  integration maps the header fields from the first row of each journal entry and the distributions from every
  row (the guide shows the mapping).
- `gp-econnect`: Dynamics GP eConnect XML: one `<GLTransactionType>` per entry inside `<eConnect>`, holding
  `<taGLTransactionLineInsert_Items>` (one `<taGLTransactionLineInsert>` per line: `BACHNUMB`, `JRNENTRY`,
  `SQNCLINE`, `CRDTAMNT`, `DEBITAMT`, `ACTNUMST`, `DSCRIPTN` ≤ 30, in the schema's order) and then
  `<taGLTransactionHeaderInsert>` (`BACHNUMB`, `JRNENTRY`, `REFRENCE` ≤ 30, `TRXDATE`, `TRXTYPE` 0, `CURNCYID`).
  Journal entry numbers are GP's own: the export numbers its entries from a first number the user gives (GP's
  next journal entry number), one per entry.
- `qbo`, `bc`: QuickBooks Online and Dynamics 365 Business Central take the entries through their APIs
  (`finance.ledgers`, pushed by `finance.service.pushes`); the export's file is the `gl` CSV of what it carries.

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
from xml.sax.saxutils import escape

from ordersmith.kernel.money import Money

FORMATS = ("gl", "iif", "xero", "sage50", "sage50-sales", "gp-im", "gp-econnect", "qbo", "bc")
# Formats pushed through the package's API (`finance.ledgers`) rather than imported from a file: their file is the
# generic CSV of what the push carries.
API_FORMATS = ("qbo", "bc")
# The package each format imports into: a journal entry is exported to each package once.
TARGETS = {"gl": "gl", "iif": "quickbooks", "xero": "xero", "sage50": "sage50", "sage50-sales": "sage50",
           "gp-im": "dynamics_gp", "gp-econnect": "dynamics_gp", "qbo": "quickbooks_online",
           "bc": "business_central"}  # fmt: skip
MEDIA_TYPES = {
    "gl": "text/csv; charset=utf-8",
    "iif": "text/plain; charset=utf-8",
    "xero": "text/csv; charset=utf-8",
    "sage50": "text/csv; charset=utf-8",
    "sage50-sales": "text/csv; charset=utf-8",
    "gp-im": "text/csv; charset=utf-8",
    "gp-econnect": "application/xml; charset=utf-8",
    "qbo": "text/csv; charset=utf-8",
    "bc": "text/csv; charset=utf-8",
}
EXTENSIONS = {"gl": "csv", "iif": "iif", "xero": "csv", "sage50": "csv", "sage50-sales": "csv", "gp-im": "csv",
              "gp-econnect": "xml", "qbo": "csv", "bc": "csv"}  # fmt: skip
XERO_LINES_PER_FILE = 300
SAGE_ACCOUNT_LENGTH = 15
SAGE_DISTRIBUTIONS = (2, 560)
GP_BATCH_LENGTH = 15


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
    party: str = ""  # the customer's number, for a sales journal


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


def _sage_date(day: date) -> str:
    return day.strftime("%m/%d/%y")


SAGE_GJ_HEADER = ("Date", "Reference", "Number of Distributions", "G/L Account", "Description", "Amount")


def write_sage50(entries: Iterable[ExportEntry]) -> Iterator[str]:
    """Sage 50 US General Journal import CSV: every row of a transaction carries its date, reference and number of
    distributions."""

    def rows() -> Iterator[Sequence[str]]:
        for e in entries:
            reference = _cell(e.reference or e.key)[:20]
            for line in e.lines:
                yield (
                    _sage_date(e.posted_on),
                    reference,
                    str(len(e.lines)),
                    line.account_code,
                    _cell(line.memo or e.memo)[:160],
                    _amount(line.debit_minor - line.credit_minor, e.currency),
                )

    return _csv_rows(SAGE_GJ_HEADER, rows())


SAGE_SALES_HEADER = ("Customer ID", "Invoice/CM #", "Date", "Accounts Receivable Account", "Number of Distributions",
                     "Invoice/CM Distribution", "Quantity", "Description", "G/L Account", "Amount")  # fmt: skip


def write_sage50_sales(entries: Iterable[ExportEntry], *, receivable: frozenset[str]) -> Iterator[str]:
    """Sage 50 US Sales Journal import CSV: one invoice per entry; its debit on a `receivable` account is the
    header's Accounts Receivable Account and every other line a distribution (credits negative)."""

    def rows() -> Iterator[Sequence[str]]:
        for e in entries:
            ar = next(
                line.account_code for line in e.lines if line.account_code in receivable and line.debit_minor
            )
            distributions = [line for line in e.lines if not (line.account_code == ar and line.debit_minor)]
            for n, line in enumerate(distributions, start=1):
                yield (
                    _cell(e.party)[:20],
                    _cell(e.reference or e.key)[:20],
                    _sage_date(e.posted_on),
                    ar,
                    str(len(distributions)),
                    str(n),
                    "0",
                    _cell(line.memo or e.memo)[:160],
                    line.account_code,
                    _amount(line.debit_minor - line.credit_minor, e.currency),
                )

    return _csv_rows(SAGE_SALES_HEADER, rows())


GP_IM_HEADER = ("Batch ID", "Journal Entry", "Reference", "Transaction Date", "Transaction Type", "Currency ID",
                "Account Number", "Debit Amount", "Credit Amount", "Distribution Reference")  # fmt: skip


def write_gp_im(entries: Iterable[ExportEntry], *, batch: str, first: int) -> Iterator[str]:
    """Dynamics GP Integration Manager General Ledger Transaction source: one row per distribution, the entries
    numbered from `first` in batch `batch`."""

    def rows() -> Iterator[Sequence[str]]:
        for number, e in enumerate(entries, start=first):
            reference = _cell(e.memo or e.reference)[:30]
            for line in e.lines:
                yield (
                    batch,
                    str(number),
                    reference,
                    e.posted_on.strftime("%m/%d/%Y"),
                    "0",
                    e.currency,
                    line.account_code,
                    _amount(line.debit_minor, e.currency),
                    _amount(line.credit_minor, e.currency),
                    _cell(line.memo or e.reference)[:30],
                )

    return _csv_rows(GP_IM_HEADER, rows())


def _xml(tag: str, value: str) -> str:
    """An element with `value` as text: escaped, and without the control characters XML 1.0 cannot carry."""
    return f"<{tag}>{escape(''.join(ch for ch in value if ch >= ' '))}</{tag}>"


def write_gp_econnect(entries: Iterable[ExportEntry], *, batch: str, first: int) -> Iterator[str]:
    """Dynamics GP eConnect XML: one GLTransactionType per entry, its lines before its header (the schema's order),
    the entries numbered from `first` in batch `batch`."""
    yield '<?xml version="1.0" encoding="utf-8"?>\r\n<eConnect xmlns:dt="urn:schemas-microsoft-com:datatypes">\r\n'
    for number, e in enumerate(entries, start=first):
        parts = ["<GLTransactionType><taGLTransactionLineInsert_Items>"]
        for n, line in enumerate(e.lines, start=1):
            parts.append(
                "<taGLTransactionLineInsert>"
                + _xml("BACHNUMB", batch)
                + _xml("JRNENTRY", str(number))
                + _xml("SQNCLINE", str(n * 16384))
                + _xml("CRDTAMNT", _amount(line.credit_minor, e.currency))
                + _xml("DEBITAMT", _amount(line.debit_minor, e.currency))
                + _xml("ACTNUMST", line.account_code)
                + _xml("DSCRIPTN", _text(line.memo or e.memo)[:30])
                + "</taGLTransactionLineInsert>"
            )
        parts.append(
            "</taGLTransactionLineInsert_Items><taGLTransactionHeaderInsert>"
            + _xml("BACHNUMB", batch)
            + _xml("JRNENTRY", str(number))
            + _xml("REFRENCE", _text(e.memo or e.reference)[:30])
            + _xml("TRXDATE", e.posted_on.isoformat())
            + _xml("TRXTYPE", "0")
            + _xml("CURNCYID", e.currency)
            + "</taGLTransactionHeaderInsert></GLTransactionType>\r\n"
        )
        yield "".join(parts)
    yield "</eConnect>\r\n"

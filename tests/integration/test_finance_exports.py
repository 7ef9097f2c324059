"""Accounting exports against real SQLite and PostgreSQL: a period's journal written as a generic GL CSV, a
QuickBooks Desktop IIF file and a Xero manual-journal CSV, each read back by a reader written from the format's
documentation (IIF: `!TRNS`/`!SPL`/`!ENDTRNS` headers, TRNS + SPL lines per transaction closed by ENDTRNS, MM/DD/YY
dates, debits positive and credits negative summing to zero; Xero: rows grouped into journals by narration and
date, dd/mm/yyyy, positive debit / negative credit), in detail and summarised per day; refusals before any byte."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

import pytest

from ordersmith.finance import service as finance
from ordersmith.finance.service import exports
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.platform.db import UnitOfWork
from tests.integration.test_cli import run

# (day, currency, [(account, debit, credit)], memo)
ENTRIES = [
    (date(2026, 11, 3), "USD", [("1000", "500.00", ""), ("3000", "", "500.00")], "opening cash"),
    (
        date(2026, 11, 9),
        "USD",
        [("1010", "107.50", ""), ("4020", "", "100.00"), ("2100", "", "7.50")],
        "till\tsale",
    ),
    (date(2026, 11, 9), "USD", [("5000", "40.00", ""), ("1300", "", "40.00")], "=cost of the till sale"),
    (date(2026, 11, 20), "USD", [("6100", "3.10", ""), ("1100", "", "3.10")], "fees"),
    (date(2026, 11, 21), "EUR", [("1000", "20.00", ""), ("3000", "", "20.00")], "euro float"),
    (date(2026, 12, 1), "USD", [("1000", "1.00", ""), ("3000", "", "1.00")], "next month"),
]
NAMES = {"1000": "Cash in bank", "1010": "Cash in tills", "1100": "Card processor clearing", "1300": "Inventory",
         "2100": "Sales tax payable", "3000": "Owner's equity", "4020": "Sales revenue — stores",
         "5000": "Cost of goods sold", "6100": "Payment processor fees"}  # fmt: skip


def post_november(uow: UnitOfWork) -> None:
    for day, currency, lines, memo in ENTRIES:
        finance.post_manual_entry(
            uow,
            posted_on=day,
            currency=currency,
            memo=memo,
            lines=[
                finance.ManualLine(
                    account,
                    debit=Money(Decimal(debit), currency) if debit else None,
                    credit=Money(Decimal(credit), currency) if credit else None,
                )
                for account, debit, credit in lines
            ],
        )


def expected(currency: str) -> list[tuple[date, list[tuple[str, Decimal]]]]:
    """November's entries in `currency`, as (day, [(account, debit - credit)]) in posting order."""
    return [
        (day, [(account, Decimal(debit or 0) - Decimal(credit or 0)) for account, debit, credit in lines])
        for day, code, lines, _memo in ENTRIES
        if code == currency and day.month == 11
    ]


def read_iif(text: str) -> list[tuple[date, list[tuple[str, Decimal]], list[str]]]:
    """QuickBooks IIF, read as its reference describes: tab-separated; header lines start with `!` and name the
    columns of TRNS and SPL lines; a transaction is a TRNS line, SPL lines, then ENDTRNS."""
    lines = text.split("\r\n")
    assert lines[-1] == ""
    columns: dict[str, list[str]] = {}
    transactions: list[tuple[date, list[tuple[str, Decimal]], list[str]]] = []
    current: list[dict[str, str]] | None = None
    for line in lines[:-1]:
        fields = line.split("\t")
        keyword = fields[0]
        if keyword.startswith("!"):
            columns[keyword[1:]] = fields[1:]
        elif keyword == "TRNS":
            assert current is None, "a TRNS before the last one ended"
            current = [dict(zip(columns["TRNS"], fields[1:], strict=True))]
        elif keyword == "SPL":
            assert current is not None, "a SPL outside a transaction"
            current.append(dict(zip(columns["SPL"], fields[1:], strict=True)))
        elif keyword == "ENDTRNS":
            assert current is not None and len(current) >= 2
            assert {row["TRNSTYPE"] for row in current} == {"GENERAL JOURNAL"}
            (day,) = {datetime.strptime(row["DATE"], "%m/%d/%y").date() for row in current}
            amounts = [(row["ACCNT"], Decimal(row["AMOUNT"])) for row in current]
            assert sum(amount for _account, amount in amounts) == 0, "a transaction that does not balance"
            transactions.append((day, amounts, [row["MEMO"] for row in current]))
            current = None
        else:
            raise AssertionError(f"unexpected line {line!r}")
    assert current is None and set(columns) == {"TRNS", "SPL", "ENDTRNS"}
    return transactions


def read_xero(text: str) -> list[tuple[date, list[tuple[str, Decimal]], str]]:
    """Xero manual journals CSV, read as its import help describes: rows with the same narration and date are the
    lines of one journal; dates dd/mm/yyyy; a positive amount is a debit, a negative one a credit."""
    rows = list(csv.DictReader(io.StringIO(text)))
    journals: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        assert row["*Narration"] and row["*AccountCode"] and row["*TaxRate"]
        journals[(row["*Narration"], row["*Date"])].append(row)
    found = []
    for (narration, day), lines in journals.items():
        amounts = [(row["*AccountCode"], Decimal(row["*Amount"])) for row in lines]
        assert sum(amount for _account, amount in amounts) == 0, "a journal that does not balance"
        found.append((datetime.strptime(day, "%d/%m/%Y").date(), amounts, narration))
    return found


def text_of(chunks) -> str:
    return "".join(chunks)


def test_the_iif_file_is_november_s_usd_journal_by_account_name(uow: UnitOfWork, monkeypatch):
    # given November and December posted, and batches of two entries (so the keyset walks several)
    post_november(uow)
    monkeypatch.setattr(exports, "BATCH", 2)
    # when November is exported for QuickBooks in dollars
    transactions = read_iif(
        text_of(finance.export_journal(uow, period="2026-11", format="iif", currency="USD"))
    )
    # then each USD entry of November is one balanced transaction, by account name, memo cleaned of its tab
    assert [(day, amounts) for day, amounts, _memos in transactions] == [
        (day, [(NAMES[account], amount) for account, amount in amounts]) for day, amounts in expected("USD")
    ]
    assert transactions[1][2][0] == "till sale"


def test_the_xero_file_groups_each_entry_into_one_journal_and_neutralises_formulas(uow: UnitOfWork):
    # given November posted
    post_november(uow)
    # when it is exported for Xero in dollars with a named tax rate
    text = text_of(
        finance.export_journal(uow, period="2026-11", format="xero", currency="USD", tax_rate="No Tax")
    )
    journals = read_xero(text)
    # then each entry is one journal of account codes and signed amounts, and no cell starts a formula
    assert [(day, amounts) for day, amounts, _n in journals] == expected("USD")
    assert journals[2][2].startswith("'=cost of the till sale [")
    assert {row["*TaxRate"] for row in csv.DictReader(io.StringIO(text))} == {"No Tax"}


def test_the_gl_file_has_every_line_of_every_currency_and_a_daily_summary_nets_each_account(uow: UnitOfWork):
    # given November posted
    post_november(uow)
    # when the generic GL file is exported, in detail and summarised per day
    detail = list(
        csv.DictReader(io.StringIO(text_of(finance.export_journal(uow, period="2026-11", format="gl"))))
    )
    summary = read_xero(
        text_of(finance.export_journal(uow, period="2026-11", format="xero", currency="USD", summary=True))
    )
    # then the detail holds all 11 lines of November (both currencies) and its debits equal its credits
    assert len(detail) == 11 and {row["currency"] for row in detail} == {"USD", "EUR"}
    assert (
        sum(Decimal(r["debit"]) for r in detail)
        == sum(Decimal(r["credit"]) for r in detail)
        == Decimal("670.60")
    )
    assert {r["period"] for r in detail} == {"2026-11"}
    # and the summary has one journal per day, the 9th's two entries netted per account
    assert [day.day for day, _a, _n in summary] == [3, 9, 20]
    assert sorted(summary[1][1]) == [
        ("1010", Decimal("107.50")),
        ("1300", Decimal("-40.00")),
        ("2100", Decimal("-7.50")),
        ("4020", Decimal("-100.00")),
        ("5000", Decimal("40.00")),
    ]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"period": "2026-13", "format": "gl"}, "period"),
        ({"period": "2026-11", "format": "sage"}, "format"),
        ({"period": "2026-11", "format": "iif"}, "currency"),
        ({"period": "2026-11", "format": "xero", "currency": "USD", "tax_rate": " "}, "tax_rate"),
    ],
)
def test_a_malformed_export_is_refused_naming_its_field_before_anything_is_read(
    uow: UnitOfWork, kwargs, field
):
    with pytest.raises(ValidationFailed) as refused:
        finance.export_journal(uow, **kwargs)
    assert [e.field for e in refused.value.errors] == [field]


def test_the_cli_writes_an_export_to_a_file(uow: UnitOfWork, db_url: str, tmp_path):
    # given November posted
    post_november(uow)
    # when the QuickBooks file is written by the CLI, and a file for no currency asked for
    target = tmp_path / "november.iif"
    written = run(
        db_url,
        "finance",
        "export",
        "2026-11",
        "--format",
        "iif",
        "--currency",
        "USD",
        "--output",
        str(target),
    )
    refused = run(db_url, "finance", "export", "2026-11", "--format", "iif")
    # then the file reads back as November's dollar entries, and the refusal is one line
    assert written.returncode == 0, written.stderr
    assert len(read_iif(target.read_bytes().decode("utf-8"))) == 4
    assert refused.returncode != 0 and refused.stderr.count("\n") == 1 and "currency" in refused.stderr

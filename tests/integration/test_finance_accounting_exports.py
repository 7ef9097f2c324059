"""Accounting exports to Sage 50 and Dynamics GP, recorded so nothing reaches a package twice, against real SQLite
and PostgreSQL. Each file is read back by a reader written from the format's documentation:

- Sage 50 US General Journal import (help: "General Journal Fields (Import/Export)"): Date MM/DD/YY, Reference
  ≤ 20, Number of Distributions 2-560 on every row (that many rows are one transaction), G/L Account ≤ 15,
  Amount positive debit / negative credit, each transaction summing to zero.
- Sage 50 US Sales Journal import ("Sales Journal Fields (Import/Export)"): Customer ID, Invoice/CM #, Date,
  Accounts Receivable Account, Number of Distributions, Invoice/CM Distribution 1..n, G/L Account, Amount (a sale
  credits: negative); the receivable is the negated sum of the distributions.
- Dynamics GP Integration Manager GL transaction source (our documented layout): rows grouped by Journal Entry,
  debit and credit columns, MM/DD/YYYY.
- Dynamics GP eConnect XML: `<eConnect>` of `<GLTransactionType>`, each `<taGLTransactionLineInsert_Items>` then
  `<taGLTransactionHeaderInsert>`, with only element names of the documented schema, in its order, and the
  documented lengths (BACHNUMB 15, DSCRIPTN 30, REFRENCE 30).
"""

from __future__ import annotations

import csv
import io
import threading
import uuid
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ordersmith.finance import service as finance
from ordersmith.finance.tables import AccountingExportItemRow, AccountingExportRow
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.payments import service as payments
from ordersmith.platform import outbox
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.platform.settings import Settings
from tests.builders import make_account_customer, make_order_shop, place_on_account, ship_and_invoice
from tests.integration.test_cli import run
from tests.integration.test_finance_exports import ENTRIES, expected, post_november

# The eConnect schema's element names, in the documented order (GLTransactionType, taGLTransactionLineInsert,
# taGLTransactionHeaderInsert); a file using any other name, or another order, would be refused by eConnect.
ECONNECT_LINE = ["BACHNUMB", "JRNENTRY", "SQNCLINE", "ACTINDX", "CRDTAMNT", "DEBITAMT", "ACTNUMST", "DSCRIPTN",
                 "ORCTRNUM", "ORDOCNUM", "ORMSTRID", "ORMSTRNM", "ORTRXTYP", "OrigSeqNum", "ORTRXDESC", "TAXDTLID",
                 "TAXAMNT", "TAXACTNUMST", "DOCDATE", "CURNCYID", "XCHGRATE", "RATETPID"]  # fmt: skip
ECONNECT_HEADER = ["BACHNUMB", "JRNENTRY", "REFRENCE", "TRXDATE", "RVRSNGDT", "TRXTYPE", "SQNCLINE", "SERIES",
                   "CURNCYID", "XCHGRATE", "RATETPID"]  # fmt: skip
ECONNECT_LENGTHS = {"BACHNUMB": 15, "DSCRIPTN": 30, "REFRENCE": 30, "ACTNUMST": 75, "CURNCYID": 15}


def text_of(chunks) -> str:
    return "".join(chunks)


def read_sage_general(text: str) -> list[tuple[date, str, list[tuple[str, Decimal]]]]:
    rows = list(csv.DictReader(io.StringIO(text)))
    transactions = []
    at = 0
    while at < len(rows):
        count = int(rows[at]["Number of Distributions"])
        assert 2 <= count <= 560
        group = rows[at : at + count]
        assert len(group) == count and {r["Number of Distributions"] for r in group} == {str(count)}
        (day,) = {datetime.strptime(r["Date"], "%m/%d/%y").date() for r in group}
        (reference,) = {r["Reference"] for r in group}
        assert len(reference) <= 20 and all(len(r["G/L Account"]) <= 15 for r in group)
        amounts = [(r["G/L Account"], Decimal(r["Amount"])) for r in group]
        assert sum(a for _g, a in amounts) == 0, "a transaction that does not balance"
        transactions.append((day, reference, amounts))
        at += count
    return transactions


def read_sage_sales(text: str) -> list[dict[str, object]]:
    rows = list(csv.DictReader(io.StringIO(text)))
    invoices: list[dict[str, object]] = []
    at = 0
    while at < len(rows):
        count = int(rows[at]["Number of Distributions"])
        group = rows[at : at + count]
        assert [int(r["Invoice/CM Distribution"]) for r in group] == list(range(1, count + 1))
        (key,) = {
            (r["Customer ID"], r["Invoice/CM #"], r["Date"], r["Accounts Receivable Account"]) for r in group
        }
        distributions = [(r["G/L Account"], Decimal(r["Amount"])) for r in group]
        invoices.append({"customer": key[0], "invoice": key[1], "receivable_account": key[3],
                         "receivable": -sum(a for _g, a in distributions), "distributions": distributions})  # fmt: skip
        at += count
    return invoices


def read_gp_im(text: str) -> dict[int, tuple[str, date, list[tuple[str, Decimal]]]]:
    journals: dict[int, list[dict[str, str]]] = defaultdict(list)
    for row in csv.DictReader(io.StringIO(text)):
        journals[int(row["Journal Entry"])].append(row)
    found = {}
    for number, group in journals.items():
        (batch,) = {r["Batch ID"] for r in group}
        (day,) = {datetime.strptime(r["Transaction Date"], "%m/%d/%Y").date() for r in group}
        assert {r["Transaction Type"] for r in group} == {"0"} and len(batch) <= 15
        amounts = [
            (r["Account Number"], Decimal(r["Debit Amount"]) - Decimal(r["Credit Amount"])) for r in group
        ]
        assert sum(a for _g, a in amounts) == 0
        found[number] = (batch, day, amounts)
    return found


def read_econnect(text: str) -> dict[int, tuple[str, date, list[tuple[str, Decimal]]]]:
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "eConnect"
    found = {}
    for transaction in root:
        assert transaction.tag == "GLTransactionType"
        assert [child.tag for child in transaction] == [
            "taGLTransactionLineInsert_Items",
            "taGLTransactionHeaderInsert",
        ]
        items, header = transaction
        fields = {child.tag: child.text or "" for child in header}
        tags = [child.tag for child in header]
        assert tags == [t for t in ECONNECT_HEADER if t in tags], "header elements out of the schema's order"
        amounts = []
        for line in items:
            assert line.tag == "taGLTransactionLineInsert"
            line_tags = [child.tag for child in line]
            assert line_tags == [t for t in ECONNECT_LINE if t in line_tags], "line elements out of order"
            values = {child.tag: child.text or "" for child in line}
            assert values["BACHNUMB"] == fields["BACHNUMB"] and values["JRNENTRY"] == fields["JRNENTRY"]
            for tag, length in ECONNECT_LENGTHS.items():
                assert len(values.get(tag, "")) <= length
            amounts.append((values["ACTNUMST"], Decimal(values["DEBITAMT"]) - Decimal(values["CRDTAMNT"])))
        for tag, length in ECONNECT_LENGTHS.items():
            assert len(fields.get(tag, "")) <= length
        assert fields["TRXTYPE"] == "0" and sum(a for _g, a in amounts) == 0
        found[int(fields["JRNENTRY"])] = (fields["BACHNUMB"], date.fromisoformat(fields["TRXDATE"]), amounts)
    return found


def counts(uow: UnitOfWork) -> tuple[int, int]:
    with uow.db.session() as session:
        return (
            session.scalar(sa.select(sa.func.count()).select_from(AccountingExportRow)) or 0,
            session.scalar(sa.select(sa.func.count()).select_from(AccountingExportItemRow)) or 0,
        )


def test_the_sage_general_journal_carries_november_once_and_later_only_what_was_posted_since(uow: UnitOfWork):
    # given November posted
    post_november(uow)
    # when it is exported for Sage 50 in dollars
    first = finance.create_export(uow, period="2026-11", format="sage50", currency="USD")
    transactions = read_sage_general(text_of(finance.export_file(uow, export_id=first.id)))
    # then each USD entry is one balanced transaction of account numbers and signed amounts
    assert sorted((day, amounts) for day, _ref, amounts in transactions) == sorted(expected("USD"))
    assert (first.entries, first.lines, first.target) == (4, 9, "sage50")
    # when it is exported again: nothing new → refused, and nothing recorded
    before = counts(uow)
    with pytest.raises(finance.NothingToExport):
        finance.create_export(uow, period="2026-11", format="sage50", currency="USD")
    assert counts(uow) == before
    # when one more entry is posted into November and November is exported again
    finance.post_manual_entry(
        uow, posted_on=date(2026, 11, 28), currency="USD", memo="late",
        lines=[finance.ManualLine("1000", debit=Money(Decimal("9.99"), "USD")),
               finance.ManualLine("3000", credit=Money(Decimal("9.99"), "USD"))],
    )  # fmt: skip
    second = finance.create_export(uow, period="2026-11", format="sage50", currency="USD")
    later = read_sage_general(text_of(finance.export_file(uow, export_id=second.id)))
    # then the second file carries only the late entry, and the first file reads the same as before
    assert [(day, amounts) for day, _r, amounts in later] == [
        (date(2026, 11, 28), [("1000", Decimal("9.99")), ("3000", Decimal("-9.99"))])
    ]
    assert read_sage_general(text_of(finance.export_file(uow, export_id=first.id))) == transactions
    # and another package still gets all of November
    gl = finance.create_export(uow, period="2026-11", format="gl")
    assert gl.entries == 6 and [e.number for e in finance.list_exports(uow).items] == [3, 2, 1]


def test_dynamics_gp_files_number_entries_from_gp_s_next_number_in_one_batch(uow: UnitOfWork):
    post_november(uow)
    # when November's dollars go to GP through Integration Manager, from journal entry 5001
    im = finance.create_export(uow, period="2026-11", format="gp-im", currency="USD", first=5001)
    journals = read_gp_im(text_of(finance.export_file(uow, export_id=im.id)))
    # then entries 5001-5004 in batch OS202611, each balanced
    assert sorted(journals) == [5001, 5002, 5003, 5004]
    assert {batch for batch, _d, _a in journals.values()} == {"OS202611"}
    assert sorted((d, a) for _b, d, a in journals.values()) == sorted(expected("USD"))
    # when the euros go through eConnect in a named batch
    xml = finance.create_export(
        uow, period="2026-11", format="gp-econnect", currency="EUR", batch="nov-eur", first=7
    )
    found = read_econnect(text_of(finance.export_file(uow, export_id=xml.id)))
    assert found == {
        7: ("NOV-EUR", date(2026, 11, 21), [("1000", Decimal("20.00")), ("3000", Decimal("-20.00"))])
    }
    # and GP has had every November entry once: the dollars again are refused
    with pytest.raises(finance.NothingToExport):
        finance.create_export(uow, period="2026-11", format="gp-econnect", currency="USD")


def test_econnect_text_is_escaped_and_cut_to_the_schema_s_lengths(uow: UnitOfWork):
    finance.post_manual_entry(
        uow, posted_on=date(2026, 11, 5), currency="USD", memo="<Fish & Chips> a very long memo that GP cuts short",
        lines=[finance.ManualLine("1000", debit=Money(Decimal("1.00"), "USD"), memo="R&D <lab> \"quoted\" line memo"),
               finance.ManualLine("3000", credit=Money(Decimal("1.00"), "USD"))],
    )  # fmt: skip
    made = finance.create_export(uow, period="2026-11", format="gp-econnect", currency="USD")
    text = text_of(finance.export_file(uow, export_id=made.id))
    (journal,) = read_econnect(text).values()  # parses: every & and < escaped; lengths within the schema
    assert journal[2] == [("1000", Decimal("1.00")), ("3000", Decimal("-1.00"))]
    root = ET.fromstring(text.encode())
    assert root.find(".//taGLTransactionHeaderInsert/REFRENCE").text == "<Fish & Chips> a very long mem"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"period": "2026-11", "format": "sage50"}, "currency"),
        ({"period": "2026-11", "format": "gp-im", "currency": "USD", "batch": "X" * 16}, "batch"),
        ({"period": "2026-11", "format": "gp-econnect", "currency": "USD", "first": 0}, "first"),
        ({"period": "2026-1", "format": "gl"}, "period"),
    ],
)
def test_a_malformed_export_is_refused_naming_its_field_and_records_nothing(uow: UnitOfWork, kwargs, field):
    post_november(uow)
    before = counts(uow)
    with pytest.raises(ValidationFailed) as refused:
        finance.create_export(uow, **kwargs)
    assert [e.field for e in refused.value.errors] == [field]
    assert counts(uow) == before


def test_an_account_code_longer_than_sage_takes_refuses_the_export_and_records_nothing(uow: UnitOfWork):
    finance.create_account(uow, code="1000-0000-0000-01", name="Long cash", type="asset")
    finance.post_manual_entry(
        uow, posted_on=date(2026, 11, 5), currency="USD", memo="long",
        lines=[finance.ManualLine("1000-0000-0000-01", debit=Money(Decimal("1.00"), "USD")),
               finance.ManualLine("3000", credit=Money(Decimal("1.00"), "USD"))],
    )  # fmt: skip
    with pytest.raises(ValidationFailed) as refused:
        finance.create_export(uow, period="2026-11", format="sage50", currency="USD")
    assert (
        refused.value.errors[0].field == "format" and "1000-0000-0000-01" in refused.value.errors[0].message
    )
    assert counts(uow) == (0, 0)
    with pytest.raises(NotFound):
        text_of(finance.export_file(uow, export_id=uuid.uuid4()))


@pytest.fixture
def shop(uow: UnitOfWork, db: Database, settings: Settings) -> UnitOfWork:
    payments.setup_payments(db, settings)
    make_order_shop(uow)
    finance.register()
    yield uow
    finance.unregister()


def test_invoices_on_account_go_to_sage_s_sales_journal_and_the_rest_to_its_general_journal(
    shop: UnitOfWork, db: Database
):
    # given two customers' orders on account shipped and invoiced, the relay run, and a manual entry
    first, second = make_account_customer(shop), make_account_customer(shop)
    for customer in (first, second):
        ship_and_invoice(shop, place_on_account(shop, customer.number))
    while outbox.dispatch_batch(db.unit_of_work(shop.actor)):
        pass
    period = finance.list_periods(shop)[-1].code
    finance.post_manual_entry(
        shop, posted_on=date.fromisoformat(f"{period}-02"), currency="USD", memo="float",
        lines=[finance.ManualLine("1000", debit=Money(Decimal("5.00"), "USD")),
               finance.ManualLine("3000", credit=Money(Decimal("5.00"), "USD"))],
    )  # fmt: skip
    invoices = {
        i.number: i for c in (first, second) for i in payments.list_invoices(shop, customer_id=c.id).items
    }
    # when the sales journal and then the general journal are exported
    sales = finance.create_export(shop, period=period, format="sage50-sales", currency="USD")
    general = finance.create_export(shop, period=period, format="sage50", currency="USD")
    read = read_sage_sales(text_of(finance.export_file(shop, export_id=sales.id)))
    rest = read_sage_general(text_of(finance.export_file(shop, export_id=general.id)))
    # then each invoice is one sales-journal transaction for its customer, its receivable its total
    assert sorted((r["invoice"], r["customer"], r["receivable"]) for r in read) == sorted(
        (n, i.customer_number, i.total.amount) for n, i in invoices.items()
    )
    assert {r["receivable_account"] for r in read} == {"1200"}
    # and no invoice entry is in the general journal, which holds everything else of the period
    journal = finance.list_journal(shop, period=period, limit=200).items
    assert sales.entries + general.entries == len(journal)
    assert not any(ref in invoices for _d, ref, _a in rest)


def test_two_exports_at_once_claim_each_entry_once(uow: UnitOfWork, db_url: str):
    # given November posted
    post_november(uow)
    db = uow.db
    results: list[object] = []

    def export() -> None:
        try:
            results.append(
                finance.create_export(
                    db.unit_of_work(Actor.system("t")), period="2026-11", format="gl"
                ).entries
            )
        except finance.NothingToExport as exc:
            results.append(exc.code)

    # when two exports of the same period to the same package run at once
    threads = [threading.Thread(target=export) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then one carries all five November entries and the other nothing
    november = len([e for e in ENTRIES if e[0].month == 11])
    assert sorted(map(str, results)) == sorted([str(november), "nothing_to_export"])
    assert counts(uow) == (1, november)


def test_the_cli_records_an_export_lists_it_and_writes_its_file_again(uow: UnitOfWork, db_url: str, tmp_path):
    post_november(uow)
    target, again = tmp_path / "nov.csv", tmp_path / "again.csv"
    written = run(db_url, "finance", "export", "2026-11", "--format", "sage50", "--currency", "USD",
                  "--output", str(target))  # fmt: skip
    twice = run(db_url, "finance", "export", "2026-11", "--format", "sage50", "--currency", "USD")
    assert written.returncode == 0, written.stderr
    assert (
        twice.returncode != 0 and twice.stderr.count("\n") == 1 and "already went to sage50" in twice.stderr
    )
    (made,) = finance.list_exports(uow).items
    listed = run(db_url, "finance", "exports")
    assert listed.returncode == 0 and str(made.id)[:8] in listed.stdout.replace("\n", "")
    rewritten = run(db_url, "finance", "export-file", str(made.id), "--output", str(again))
    assert rewritten.returncode == 0, rewritten.stderr
    assert again.read_bytes() == target.read_bytes()
    assert len(read_sage_general(target.read_text())) == 4

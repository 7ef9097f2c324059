"""The customer account statement document: it renders the same bytes for the same statement, lists every
invoice, and cannot be built with balances that do not add up to the total due."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pypdf
import pytest

from ordersmith.fulfillment import documents
from ordersmith.kernel.money import Money


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


def statement(total: str = "1094.50") -> documents.AccountStatement:
    invoices = (
        documents.StatementInvoice(
            "I-000001",
            "100001",
            date(2026, 12, 6),
            date(2027, 1, 5),
            usd("60.00"),
            usd("0"),
            usd("60.00"),
            12,
        ),
        documents.StatementInvoice(
            "I-000002",
            "100002",
            date(2026, 12, 20),
            date(2027, 1, 19),
            usd("1234.50"),
            usd("200"),
            usd("1034.50"),
            0,
        ),
    )
    return documents.AccountStatement(
        retailer=documents.Party(name="Smith Outfitters", lines=("1 Main St",), city="Springfield",
                                 postal_code="01101", country="US"),
        customer=documents.Party(name="Acme Trading Co.", lines=("9 Harbor Rd",), city="Boston",
                                 postal_code="02110", country="US", region="MA"),
        customer_number="C-100001",
        as_of=date(2027, 1, 17),
        terms="net30",
        invoices=invoices,
        buckets=(("Current", usd("1034.50")), ("1-30 days", usd("60.00"))),
        total_due=usd(total),
        unapplied=usd("5.00"),
    )  # fmt: skip


def test_a_statement_renders_every_invoice_its_buckets_and_the_total_the_same_way_each_time():
    pdf = documents.account_statement_pdf(statement())
    assert pdf == documents.account_statement_pdf(statement())
    text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "I-000001 100001 2026-12-06 2027-01-05 USD 60.00 USD 0.00 USD 60.00 12" in text
    assert "I-000002 100002" in text and "Total due USD 1,094.50" in text
    assert "Unapplied payments held USD 5.00" in text and "Boston, MA 02110" in text


def test_a_statement_whose_balances_do_not_add_up_cannot_be_built():
    with pytest.raises(AssertionError, match="balances add to the total"):
        statement(total="1094.49")

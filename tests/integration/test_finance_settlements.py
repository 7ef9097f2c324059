"""Settlement reconciliation against real SQLite and PostgreSQL: card captures and a refund made through the sandbox
processor, then a Stripe payout's itemized reconciliation report (CSV, the report's documented columns) and an
Authorize.Net settled batch (getTransactionListResponse JSON) imported: each line matched to what it settles, an
amount that differs and a charge nobody recorded listed for a person, the payout and its fees posted balanced, a
file imported once, and a malformed file refused naming row and column with nothing written."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ordersmith.finance import service as finance
from ordersmith.finance import settlements
from ordersmith.finance.tables import SettlementLineRow, SettlementRow
from ordersmith.kernel.errors import AlreadyExists, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.payments import service as payments
from ordersmith.payments.tables import PaymentTransactionRow
from ordersmith.platform import outbox
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.settings import Settings
from tests.builders import channel, make_order_shop, order_request, place_paid
from tests.integration.test_cli import run

VISA = "4242424242424242"
HEADER = ["automatic_payout_id", "automatic_payout_effective_at_utc", "balance_transaction_id", "created_utc",
          "currency", "gross", "fee", "net", "reporting_category", "source_id", "charge_id", "payment_intent_id",
          "description"]  # fmt: skip


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


@pytest.fixture
def wired(db: Database, settings: Settings) -> payments.Payments:
    made = payments.setup_payments(db, settings)
    made.capture = "at_once"
    return made


@pytest.fixture
def shop(uow: UnitOfWork, wired: payments.Payments) -> UnitOfWork:
    make_order_shop(uow)
    finance.register()
    yield uow
    finance.unregister()


def card_order(shop: UnitOfWork, wired: payments.Payments) -> orders.Order:
    token = wired.vault.tokenize(number=VISA, exp_month=12, exp_year=2031, actor="test").token
    request = order_request(("TEE", 1), payments=[orders.PaymentRequest(method="card", token=token)])
    return place_paid(shop, channel=channel(shop), request=request).order


def transactions(db: Database, kind: str) -> list[tuple[str, int]]:
    with db.session() as session:
        rows = session.execute(
            sa.select(
                sa.func.coalesce(
                    sa.func.nullif(PaymentTransactionRow.transaction_reference, ""),
                    PaymentTransactionRow.gateway_reference,
                ),
                PaymentTransactionRow.amount_minor,
            )
            .where(PaymentTransactionRow.kind == kind, PaymentTransactionRow.outcome == "approved")
            .order_by(PaymentTransactionRow.at)
        ).all()
    return [(r[0], r[1]) for r in rows]


def stripe_report(rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HEADER)
    writer.writeheader()
    for n, row in enumerate(rows, start=1):
        fixed = {"automatic_payout_id": "po_1Nx", "automatic_payout_effective_at_utc": "2026-12-04 00:00:00",
                 "balance_transaction_id": f"txn_{n}", "created_utc": "2026-12-01 10:00:00", "currency": "usd",
                 "description": "", "charge_id": "", "payment_intent_id": ""}  # fmt: skip
        writer.writerow(fixed | row)
    return buffer.getvalue().encode()


def dispatch_all(db: Database, uow: UnitOfWork) -> None:
    while outbox.dispatch_batch(db.unit_of_work(uow.actor)):
        pass


def test_a_stripe_payout_is_matched_line_by_line_and_its_payout_and_fees_are_posted(
    shop: UnitOfWork, wired: payments.Payments, db: Database
):
    # given two card orders captured at once and part of the first refunded
    first, _ = card_order(shop, wired), card_order(shop, wired)
    (one, one_minor), (two, two_minor) = transactions(db, "capture")
    payments.refund_order(shop, order_id=first.id, amount=usd("5.00"), reason="damaged")
    ((refund, refund_minor),) = transactions(db, "refund")
    dispatch_all(db, shop)
    # when Stripe's payout report settles them, with a charge for a wrong amount, one nobody recorded, a fee line
    money = lambda minor: str(Money.from_minor(minor, "USD").amount)  # noqa: E731
    report = stripe_report([
        {"reporting_category": "charge", "source_id": one, "gross": money(one_minor), "fee": "0.90",
         "net": money(one_minor - 90)},
        {"reporting_category": "charge", "source_id": "py_other", "charge_id": two, "gross": money(two_minor + 100),
         "fee": "1.00", "net": money(two_minor)},
        {"reporting_category": "charge", "source_id": "ch_nobody", "gross": "7.00", "fee": "0.50", "net": "6.50"},
        {"reporting_category": "refund", "source_id": refund, "gross": money(-refund_minor), "fee": "0.00",
         "net": money(-refund_minor)},
        {"reporting_category": "fee", "source_id": "", "gross": "-2.00", "fee": "0.00", "net": "-2.00",
         "description": "Radar"},
    ])  # fmt: skip
    imported = finance.import_settlement(shop, processor="stripe", file_name="pay\x00out.csv", data=report)
    # then each line is matched to what it settles, and the differences are listed
    detail = finance.get_settlement(shop, ref=imported.number)
    assert detail.file_name == "payout.csv"  # a NUL in the uploaded name is dropped (PostgreSQL refuses NUL)
    assert [(i.kind, i.status) for i in detail.items] == [
        ("charge", "matched"), ("charge", "amount_differs"), ("charge", "unmatched"), ("refund", "matched"),
        ("fee", "fee"),
    ]  # fmt: skip
    assert (imported.matched, imported.differences, imported.payout_reference) == (2, 2, "po_1Nx")
    assert imported.fees == usd("4.40") and imported.payout_on is not None
    charges = one_minor + two_minor + 100 + 700
    net = charges - refund_minor - 440
    assert (imported.charges.minor, imported.refunds.minor, imported.net.minor) == (
        charges,
        refund_minor,
        net,
    )
    assert [
        i.line_no for i in finance.get_settlement(shop, ref=imported.number, status="differences").items
    ] == [
        2,
        3,
    ]
    # and once posted, the payout went to the bank and the fees to expense, out of card clearing
    dispatch_all(db, shop)
    (entry,) = finance.list_journal(shop, rule="settlement.imported").items
    assert sorted((x.account_code, x.debit.minor, x.credit.minor) for x in entry.lines) == [
        ("1000", net, 0),
        ("1100", 0, net + 440),
        ("6100", 440, 0),
    ]
    period = finance.list_periods(shop)[-1].code
    assert finance.trial_balance(shop, period=period).balanced is True
    # and the same file again is refused, changing nothing
    with pytest.raises(AlreadyExists):
        finance.import_settlement(shop, processor="stripe", file_name="again.csv", data=report)
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(SettlementRow)) == 1


def test_an_authorize_net_batch_matches_settled_transactions_and_skips_what_moved_no_money(
    shop: UnitOfWork, wired: payments.Payments, db: Database
):
    card_order(shop, wired)
    ((captured, minor),) = transactions(db, "capture")
    response = {
        "transactions": [
            {"transId": captured, "transactionStatus": "settledSuccessfully", "settleAmount": minor / 100,
             "submitTimeUTC": "2026-12-01T10:00:00Z", "accountType": "Visa"},
            {"transId": "60000000001", "transactionStatus": "declined", "settleAmount": 0},
            {"transId": "60000000002", "transactionStatus": "refundSettledSuccessfully", "settleAmount": 3.25},
        ],
        "messages": {"resultCode": "Ok", "message": [{"code": "I00001", "text": "Successful."}]},
    }  # fmt: skip
    imported = finance.import_settlement(
        shop, processor="authorize_net", file_name="batch.json", data=json.dumps(response).encode(),
        batch_id="12345678", currency="USD",
    )  # fmt: skip
    assert imported.lines == 2 and imported.payout_reference == "12345678" and imported.fees == usd("0.00")
    assert [(i.kind, i.status) for i in finance.get_settlement(shop, ref=imported.id.hex).items] == [
        ("charge", "matched"),
        ("refund", "unmatched"),
    ]
    assert imported.net.minor == minor - 325


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"processor": "paypal", "data": b"x"}, "processor"),
        ({"processor": "stripe", "data": b"id,amount\n1,2\n"}, "file.balance_transaction_id"),
        ({"processor": "stripe", "data": b"\xff\xfe"}, "file"),
        ({"processor": "authorize_net", "data": b"{}", "currency": "USD"}, "batch_id"),
        ({"processor": "authorize_net", "batch_id": "1", "currency": "USD", "data": b'{"messages": {"resultCode": '
          b'"Ok"}, "transactions": [{"transId": "6\\u0000", "transactionStatus": "settledSuccessfully", '
          b'"settleAmount": 1}]}'}, "file.transactions.0.transId"),
        ({"processor": "authorize_net", "data": b'{"messages": {"resultCode": "Error"}}', "batch_id": "1",
          "currency": "USD"}, "file.messages.resultCode"),
    ],
)  # fmt: skip
def test_a_file_that_cannot_be_read_is_refused_naming_where_and_writes_nothing(shop: UnitOfWork, db: Database,
                                                                              kwargs, field):  # fmt: skip
    with pytest.raises(ValidationFailed) as refused:
        finance.import_settlement(shop, file_name="bad", **kwargs)
    assert [e.field for e in refused.value.errors] == [field]
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(SettlementRow)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(SettlementLineRow)) == 0


def test_a_stripe_row_whose_gross_less_fee_is_not_its_net_names_its_row():
    report = stripe_report([{"reporting_category": "charge", "source_id": "ch_1", "gross": "10.00", "fee": "1.00",
                             "net": "9.50"}])  # fmt: skip
    with pytest.raises(settlements.SettlementFileError) as refused:
        settlements.parse_stripe(report.decode())
    assert (refused.value.row, refused.value.column) == (2, "net")


def test_the_cli_imports_a_settlement_and_lists_its_differences(shop: UnitOfWork, db_url: str, tmp_path):
    path = tmp_path / "payout.csv"
    path.write_bytes(stripe_report([{"reporting_category": "charge", "source_id": "ch_nobody", "gross": "7.00",
                                     "fee": "0.50", "net": "6.50"}]))  # fmt: skip
    imported = run(db_url, "finance", "settlement-import", str(path), "--processor", "stripe")
    assert imported.returncode == 0, imported.stderr
    assert "1 lines, 0 matched, 1 to look at" in imported.stdout
    shown = run(db_url, "finance", "settlement", "ST-000001", "--differences")
    assert shown.returncode == 0 and "ch_nobody" in shown.stdout and "unmatched" in shown.stdout
    again = run(db_url, "finance", "settlement-import", str(path), "--processor", "stripe")
    assert again.returncode != 0 and again.stderr.count("\n") == 1 and "imported before" in again.stderr

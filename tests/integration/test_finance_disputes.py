"""Card disputes (chargebacks) and unsettled captures against real SQLite and PostgreSQL (ADR 0040): a dispute opened
by the gateway's signed notification (once, however often it is delivered) or by a Stripe payout's dispute line,
won by a reinstatement line or lost by a person's word, each posted once with card clearing and the disputes account
back at zero; outcomes refused when given twice or malformed, changing nothing; captures and refunds no settlement
matched listed after N days and flagged once by the daily job, read through the partial index."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ordersmith.finance import service as finance
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.payments import service as payments
from ordersmith.platform import outbox
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.settings import Settings
from tests.builders import channel, make_order_shop, order_request, place_paid
from tests.integration.test_finance_settlements import stripe_report, transactions

VISA = "4242424242424242"


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


@pytest.fixture
def wired(db: Database, settings: Settings) -> payments.Payments:
    made = payments.setup_payments(db, settings)
    made.capture = "at_once"
    return made


@pytest.fixture
def shop(uow: UnitOfWork, wired: payments.Payments) -> UnitOfWork:
    finance.ensure_chart(uow)
    make_order_shop(uow)
    finance.register()
    yield uow
    finance.unregister()


def card_order(shop: UnitOfWork, wired: payments.Payments) -> orders.Order:
    token = wired.vault.tokenize(number=VISA, exp_month=12, exp_year=2031, actor="test").token
    request = order_request(("TEE", 1), payments=[orders.PaymentRequest(method="card", token=token)])
    return place_paid(shop, channel=channel(shop), request=request).order


def dispatch_all(db: Database, uow: UnitOfWork) -> None:
    while outbox.dispatch_batch(db.unit_of_work(uow.actor)):
        pass


def lines(uow: UnitOfWork, rule: str) -> list[list[tuple[str, int, int]]]:
    found = reversed(finance.list_journal(uow, rule=rule, limit=200).items)
    return [[(x.account_code, x.debit.minor, x.credit.minor) for x in e.lines] for e in found]


def balance(uow: UnitOfWork, account: str) -> int:
    period = finance.list_periods(uow)[-1].code
    trial = finance.trial_balance(uow, period=period, cumulative=True)
    assert trial.balanced is True
    return next((r.balance.minor for r in trial.rows if r.account_code == account), 0)


def notify(shop: UnitOfWork, wired: payments.Payments, event: dict) -> str:
    headers, body = wired.gateway.processor.signed_webhook(event)  # type: ignore[attr-defined]
    return payments.receive_notification(shop, gateway="sandbox", headers=headers, body=body)


def count(db: Database, sql: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.text(sql)).scalar_one())


def test_a_dispute_notified_by_the_gateway_opens_once_and_lost_is_posted_as_a_loss(
    shop: UnitOfWork, wired: payments.Payments, db: Database
):
    # given a card order captured at once (22.00: a 20.00 tee, 2.00 tax) and the gateway's notifications
    order = card_order(shop, wired)
    ((reference, minor),) = transactions(db, "capture")
    (payment,) = payments.order_payments(shop, order_id=order.id)
    data = {"reference": payment.reference, "amount_minor": minor, "currency": "USD", "dispute": "dp_1",
            "fee_minor": 1500, "reason": "fraudulent"}  # fmt: skip
    # when the dispute is notified, the same notification again, and another notification of the same dispute
    assert notify(shop, wired, {"id": "evt_1", "type": "charge.dispute.created", "data": data}) == "recorded"
    assert notify(shop, wired, {"id": "evt_1", "type": "charge.dispute.created", "data": data}) == "duplicate"
    assert notify(shop, wired, {"id": "evt_2", "type": "charge.dispute.created", "data": data}) == "recorded"
    dispatch_all(db, shop)
    # then one dispute is open against the capture, and its amount and fee came out of card clearing
    (dispute,) = finance.list_disputes(shop).items
    assert (dispute.status, dispute.processor, dispute.reference, dispute.source) == ("open", "sandbox", "dp_1",
                                                                                      "webhook")  # fmt: skip
    assert (dispute.amount.minor, dispute.fee, dispute.order_id, dispute.method) == (minor, usd("15.00"),
                                                                                     order.id, "card")  # fmt: skip
    assert dispute.transaction_id is not None and reference
    assert lines(shop, "dispute.opened") == [
        [("1250", minor, 0), ("6110", 1500, 0), ("1100", 0, minor + 1500)]
    ]
    # when a person records it lost, and then won
    lost = finance.record_dispute_outcome(shop, ref=dispute.number, outcome="lost", note="no evidence")
    with pytest.raises(finance.DisputeClosed):
        finance.record_dispute_outcome(shop, ref=dispute.number, outcome="won")
    dispatch_all(db, shop)
    # then it is lost once: a loss, and nothing left in the disputes account
    assert (lost.status, lost.closed_by, lost.version) == ("lost", "test", 2)
    assert lines(shop, "dispute.lost") == [[("6150", minor, 0), ("1250", 0, minor)]]
    assert lines(shop, "dispute.won") == []
    assert (balance(shop, "1250"), balance(shop, "6150"), balance(shop, "6110")) == (0, minor, 1500)
    assert count(db, "SELECT COUNT(*) FROM outbox WHERE type LIKE 'dispute.%'") == 2


def test_the_gateway_s_closing_notification_records_the_outcome_unless_one_was_recorded(
    shop: UnitOfWork, wired: payments.Payments, db: Database
):
    order = card_order(shop, wired)
    ((_, minor),) = transactions(db, "capture")
    (payment,) = payments.order_payments(shop, order_id=order.id)
    data = {
        "reference": payment.reference,
        "amount_minor": minor,
        "currency": "USD",
        "dispute": "dp_9",
        "fee_minor": 0,
    }
    # the dispute is closed, won, before its opening notification came: it opens and is won
    notify(shop, wired, {"id": "evt_9", "type": "charge.dispute.closed", "data": data | {"status": "won"}})
    dispatch_all(db, shop)
    (dispute,) = finance.list_disputes(shop).items
    assert dispute.status == "won" and dispute.note == "the processor's decision"
    assert lines(shop, "dispute.won") == [[("1100", minor, 0), ("1250", 0, minor)]]
    # a later "lost" from the gateway changes nothing: the outcome is set once
    notify(shop, wired, {"id": "evt_10", "type": "charge.dispute.closed", "data": data | {"status": "lost"}})
    dispatch_all(db, shop)
    assert finance.get_dispute(shop, ref=dispute.number).status == "won" and lines(shop, "dispute.lost") == []
    assert balance(shop, "1250") == 0


def test_a_stripe_payout_s_dispute_lines_open_and_win_the_dispute_and_card_clearing_nets_to_zero(
    shop: UnitOfWork, wired: payments.Payments, db: Database
):
    # given a card capture settled in a first payout
    card_order(shop, wired)
    ((charge, minor),) = transactions(db, "capture")
    money = lambda m: str(Money.from_minor(m, "USD").amount)  # noqa: E731
    first = stripe_report([{"reporting_category": "charge", "source_id": charge, "gross": money(minor),
                            "fee": "0.90", "net": money(minor - 90)}])  # fmt: skip
    finance.import_settlement(shop, processor="stripe", file_name="1.csv", data=first)
    # when a second payout withdraws it for a dispute (with Stripe's 15.00 fee), and a third reinstates it with
    # the fee given back
    second = stripe_report([{"reporting_category": "dispute", "source_id": "dp_7", "charge_id": charge,
                             "gross": money(-minor), "fee": "15.00", "net": money(-minor - 1500),
                             "automatic_payout_id": "po_2"}])  # fmt: skip
    withdrawn = finance.import_settlement(shop, processor="stripe", file_name="2.csv", data=second)
    (dispute,) = finance.list_disputes(shop, status="open").items
    third = stripe_report([{"reporting_category": "dispute_reversal", "source_id": "dp_7", "charge_id": charge,
                            "gross": money(minor), "fee": "-15.00", "net": money(minor + 1500),
                            "automatic_payout_id": "po_3"}])  # fmt: skip
    reinstated = finance.import_settlement(shop, processor="stripe", file_name="3.csv", data=third)
    dispatch_all(db, shop)
    # then each dispute line is matched to the dispute, which opened from the settlement and was won by it
    for imported in (withdrawn, reinstated):
        detail = finance.get_settlement(shop, ref=imported.number)
        assert [(i.kind, i.status) for i in detail.items] == [("dispute", "dispute")]
        assert detail.fees == usd("0.00") and detail.differences == 0  # the dispute's fee is the dispute's
    won = finance.get_dispute(shop, ref=dispute.number)
    assert (won.status, won.source, won.fee, won.fee_returned) == (
        "won",
        "settlement",
        usd("15.00"),
        usd("15.00"),
    )
    assert lines(shop, "dispute.won") == [[("1100", minor + 1500, 0), ("1250", 0, minor), ("6110", 0, 1500)]]
    # and card clearing, the disputes account and the fee all net to zero; the bank holds what was paid out
    assert (balance(shop, "1100"), balance(shop, "1250"), balance(shop, "6110")) == (0, 0, 0)
    assert balance(shop, "1000") == minor - 90


def test_an_outcome_that_cannot_be_is_refused_naming_its_field_and_changes_nothing(
    shop: UnitOfWork, wired: payments.Payments, db: Database
):
    card_order(shop, wired)
    ((charge, _),) = transactions(db, "capture")
    dispute, opened = finance.open_dispute(shop, processor="sandbox", reference="dp_3", capture_reference=charge,
                                           amount=usd("10.00"), fee=usd("5.00"), source="settlement")  # fmt: skip
    again, twice = finance.open_dispute(shop, processor="sandbox", reference="dp_3", capture_reference=charge,
                                        amount=usd("10.00"), fee=usd("5.00"), source="webhook")  # fmt: skip
    assert (opened, twice, again.id) == (True, False, dispute.id)
    dispatch_all(db, shop)
    before = count(db, "SELECT COUNT(*) FROM journal_entries")
    refusals = [
        ({"outcome": "maybe"}, "outcome"),
        ({"outcome": "lost", "fee_returned": usd("1.00")}, "fee_returned"),
        ({"outcome": "won", "fee_returned": usd("5.01")}, "fee_returned"),
        ({"outcome": "won", "note": "x" * 501}, "note"),
    ]
    for kwargs, field in refusals:
        with pytest.raises(ValidationFailed) as refused:
            finance.record_dispute_outcome(shop, ref=dispute.number, **kwargs)
        assert [e.field for e in refused.value.errors] == [field]
    with pytest.raises(ValidationFailed) as bad_amount:
        finance.open_dispute(shop, processor="sandbox", reference="dp_4", capture_reference=charge,
                             amount=usd("0.00"), fee=usd("0.00"), source="webhook")  # fmt: skip
    assert bad_amount.value.errors[0].field == "amount"
    dispatch_all(db, shop)
    assert finance.get_dispute(shop, ref=dispute.number).status == "open"
    assert count(db, "SELECT COUNT(*) FROM journal_entries") == before
    assert count(db, "SELECT COUNT(*) FROM finance_disputes") == 1


# ---- unsettled captures and refunds -------------------------------------------------------------------------------


def test_captures_and_refunds_no_settlement_matched_are_listed_after_n_days_and_flagged_once(
    shop: UnitOfWork, wired: payments.Payments, db: Database
):
    # given two card captures and a refund of part of the first
    first, _ = card_order(shop, wired), card_order(shop, wired)
    payments.refund_order(shop, order_id=first.id, amount=usd("5.00"), reason="damaged")
    dispatch_all(db, shop)
    dispatch_all(db, shop)  # delivered twice: watched once
    (one, one_minor), (two, _) = transactions(db, "capture")
    today = shop.now().date()
    # then none is unsettled today (the setting's 5 days have not passed), all three are a week from now
    assert finance.list_unsettled(shop, today=today).items == []
    week = finance.list_unsettled(shop, today=today + timedelta(days=7)).items
    assert sorted((t.kind, t.processor) for t in week) == [("capture", "sandbox")] * 2 + [
        ("refund", "sandbox")
    ]
    assert {t.reference for t in week if t.kind == "capture"} == {one, two} and week[0].days == 7
    # when a payout settles the first capture
    report = stripe_report([{"reporting_category": "charge", "source_id": one,
                             "gross": str(Money.from_minor(one_minor, "USD").amount), "fee": "0.00",
                             "net": str(Money.from_minor(one_minor, "USD").amount)}])  # fmt: skip
    settled = finance.import_settlement(shop, processor="stripe", file_name="p.csv", data=report)
    # then only the second capture and the refund are still unsettled, and the daily job flags them once
    left = finance.list_unsettled(shop, today=today + timedelta(days=7), limit=1)
    assert len(left.items) == 1 and left.next_cursor is not None
    rest = finance.list_unsettled(shop, today=today + timedelta(days=7), cursor=left.next_cursor).items
    assert sorted(t.kind for t in [*left.items, *rest]) == ["capture", "refund"]
    assert finance.flag_unsettled(shop, today=today + timedelta(days=3)) == 0
    assert finance.flag_unsettled(shop, today=today + timedelta(days=6)) == 2
    assert finance.flag_unsettled(shop, today=today + timedelta(days=7)) == 0
    flagged = finance.list_unsettled(shop, today=today + timedelta(days=8)).items
    assert {t.flagged_on for t in flagged} == {today + timedelta(days=6)}
    with db.engine.connect() as conn:
        events = conn.execute(
            sa.text("SELECT payload FROM outbox WHERE type = 'settlement.overdue' ORDER BY id")
        ).all()
        settlement = (
            conn.execute(
                sa.text("SELECT settlement FROM finance_settlement_watch WHERE settled_at IS NOT NULL")
            )
            .scalars()
            .all()
        )
    payloads = [json.loads(p) if isinstance(p, str) else p for (p,) in events]
    assert (
        sorted(p["kind"] for p in payloads) == ["capture", "refund"] and payloads[0]["processor"] == "sandbox"
    )
    assert settlement == [settled.number]
    # and a bad day count is refused naming its field
    with pytest.raises(ValidationFailed) as refused:
        finance.list_unsettled(shop, older_than_days=-1)
    assert refused.value.errors[0].field == "older_than_days"


def test_the_unsettled_list_and_job_read_the_partial_indexes_not_the_payment_history(db: Database):
    listing_sql = (
        "SELECT * FROM finance_settlement_watch WHERE settled_at IS NULL AND at < :d ORDER BY at, transaction_id"
        " LIMIT 51"
    )
    job_sql = (
        "SELECT * FROM finance_settlement_watch WHERE settled_at IS NULL AND flagged_on IS NULL AND at < :d"
        " ORDER BY at LIMIT 500"
    )
    day = {"d": datetime(2030, 1, 1, tzinfo=UTC)}
    with db.engine.connect() as conn:
        if db.engine.dialect.name == "sqlite":
            listing = str(conn.execute(sa.text("EXPLAIN QUERY PLAN " + listing_sql), day).all()[0][3])
            job = str(conn.execute(sa.text("EXPLAIN QUERY PLAN " + job_sql), day).all()[0][3])
            assert "at<?" in job
        else:  # an empty table is read whole by PostgreSQL's choice: ask whether it can use the indexes at all
            conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
            listing = " ".join(r[0] for r in conn.execute(sa.text("EXPLAIN " + listing_sql), day))
            job = " ".join(r[0] for r in conn.execute(sa.text("EXPLAIN " + job_sql), day))
    assert "ix_finance_settlement_watch_unsettled" in listing
    assert "ix_finance_settlement_watch_un" in job

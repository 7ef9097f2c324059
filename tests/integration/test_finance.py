"""The ledger against real SQLite and PostgreSQL: the chart, balanced and immutable entries (the database refuses
anything else), reversals, closed periods, posting from events exactly once, and the trial balance."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from ordersmith.finance import rules
from ordersmith.finance import service as finance
from ordersmith.kernel.errors import Conflict, ValidationFailed
from ordersmith.kernel.events import Event
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.platform import outbox
from ordersmith.platform.db import Database, UnitOfWork, UTCDateTime
from ordersmith.purchasing import service as purchasing
from tests.builders import (
    channel,
    make_order_shop,
    make_vendor,
    order_request,
    place_paid,
    sent_purchase_order,
    ship_to,
)


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


def counts(db: Database) -> tuple[int, int]:
    with db.engine.connect() as conn:
        entries = conn.execute(sa.text("SELECT COUNT(*) FROM journal_entries")).scalar_one()
        lines = conn.execute(sa.text("SELECT COUNT(*) FROM journal_lines")).scalar_one()
    return entries, lines


def audit_rows(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT COUNT(*) FROM audit_log")).scalar_one())


ENTRY_ID = sa.bindparam("e", type_=sa.Uuid())


def write_raw(db: Database, entry_id: uuid.UUID, *, credit_minor: int) -> None:
    """Lines (100 debit, `credit_minor` credit) and their header, written in one transaction without the service."""
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO journal_lines (entry_id, line_no, account_code, debit_minor, credit_minor, memo) "
                "VALUES (:e, 1, '1000', 100, 0, ''), (:e, 2, '3000', 0, :c, '')"
            ).bindparams(ENTRY_ID),
            {"e": entry_id, "c": credit_minor},
        )
        conn.execute(
            sa.text(
                "INSERT INTO journal_entries (id, posted_on, period, currency, rule, source_type, reference, memo,"
                " note, line_count, created_by, created_at) VALUES (:e, '2026-11-01', '2026-11', 'USD', 'manual',"
                " '', '', '', '', 2, 'x', :at)"
            ).bindparams(ENTRY_ID, sa.bindparam("at", type_=UTCDateTime())),
            {"e": entry_id, "at": datetime(2026, 11, 1, tzinfo=UTC)},
        )


def execute(db: Database, statement: str, params: dict[str, object] | None = None) -> None:
    with db.engine.begin() as conn:
        text = sa.text(statement)
        conn.execute(text.bindparams(ENTRY_ID) if ":e" in statement else text, params or {})


@pytest.fixture
def books(uow: UnitOfWork) -> UnitOfWork:
    finance.ensure_chart(uow)
    return uow


def rent_paid(uow: UnitOfWork, on: date = date(2026, 11, 3)) -> finance.JournalEntry:
    return finance.post_manual_entry(
        uow,
        posted_on=on,
        currency="USD",
        memo="opening cash",
        lines=[
            finance.ManualLine("1000", debit=usd("500.00")),
            finance.ManualLine("3000", credit=usd("500.00")),
        ],
    )


def test_a_migrated_database_holds_exactly_the_default_chart_and_reading_it_writes_nothing(
    uow: UnitOfWork, db
):
    # given a freshly migrated database
    before = audit_rows(db)
    # when the chart and its mapping rules are read, and the defaults are then restored
    accounts = finance.list_accounts(uow)
    mapped = finance.list_mappings(uow)
    added = finance.ensure_chart(uow)
    # then the migrations wrote the US retailer's default, nothing was missing, and nothing was written
    assert [(a.code, a.name, a.type) for a in accounts] == list(rules.DEFAULT_CHART)
    assert sorted((m.kind, m.key, m.account_code) for m in mapped) == sorted(rules.DEFAULT_MAPPINGS)
    assert added == 0
    assert audit_rows(db) == before


def test_an_account_is_created_renamed_and_deactivated_but_never_deleted(books: UnitOfWork):
    # given a new expense account
    created = finance.create_account(books, code="6400", name="Postage", type="expense")
    # when it is renamed and deactivated
    finance.update_account(books, code="6400", name="Postage and freight-out")
    account = finance.update_account(books, code="6400", active=False, version=2)
    # then it keeps its code with the new name, inactive
    assert (created.version, account.name, account.active, account.version) == (
        1,
        "Postage and freight-out",
        False,
        3,
    )


def test_a_mapped_account_cannot_be_deactivated_and_nothing_changes(books: UnitOfWork):
    # when the card clearing account, which the card mapping names, is deactivated
    with pytest.raises(ValidationFailed) as refused:
        finance.update_account(books, code="1100", active=False)
    # then the refusal names the field, and the account is unchanged
    assert refused.value.errors[0].field == "active"
    assert finance.get_account(books, code="1100").active is True


def test_a_mapping_rule_sends_a_division_s_revenue_to_its_own_account(books: UnitOfWork):
    # given an account for wholesale revenue mapped to the wholesale division
    finance.create_account(books, code="4050", name="Sales revenue — wholesale", type="revenue")
    finance.set_mapping(books, kind="revenue", key="wholesale", account_code="4050")
    # then the rule is stored, and one naming an unknown account is refused naming the field
    assert ("revenue", "wholesale", "4050") in [
        (m.kind, m.key, m.account_code) for m in finance.list_mappings(books)
    ]
    with pytest.raises(ValidationFailed) as refused:
        finance.set_mapping(books, kind="revenue", key="web", account_code="9999")
    assert refused.value.errors[0].field == "account_code"


def test_a_balanced_manual_entry_is_posted_with_its_lines(books: UnitOfWork):
    # when an accountant posts opening cash
    entry = rent_paid(books)
    # then it is in its month with two lines
    assert (entry.period, entry.rule, entry.memo) == ("2026-11", "manual", "opening cash")
    assert [(line.account_code, line.debit, line.credit) for line in entry.lines] == [
        ("1000", usd("500.00"), usd("0.00")),
        ("3000", usd("0.00"), usd("500.00")),
    ]


def test_an_unbalanced_manual_entry_is_refused_naming_the_lines_and_nothing_is_written(books: UnitOfWork, db):
    # when an entry's debits exceed its credits by a cent
    with pytest.raises(ValidationFailed) as refused:
        finance.post_manual_entry(
            books,
            posted_on=date(2026, 11, 3),
            currency="USD",
            memo="typo",
            lines=[
                finance.ManualLine("1000", debit=usd("500.01")),
                finance.ManualLine("3000", credit=usd("500.00")),
            ],
        )
    # then the refusal names `lines`, and the journal is empty
    assert [e.field for e in refused.value.errors] == ["lines"]
    assert counts(db) == (0, 0)


def test_a_manual_entry_on_an_unknown_account_is_refused_naming_the_line(books: UnitOfWork, db):
    with pytest.raises(ValidationFailed) as refused:
        finance.post_manual_entry(
            books,
            posted_on=date(2026, 11, 3),
            currency="USD",
            memo="x",
            lines=[
                finance.ManualLine("1000", debit=usd("1.00")),
                finance.ManualLine("9999", credit=usd("1.00")),
            ],
        )
    assert [e.field for e in refused.value.errors] == ["lines.1.account_code"]
    assert counts(db) == (0, 0)


def test_the_database_refuses_an_unbalanced_entry_written_behind_the_service_s_back(books: UnitOfWork, db):
    # given lines that do not balance, written directly with their header
    entry_id = new_id()
    with pytest.raises(DBAPIError, match=r"balanced|immutable|posted"):
        write_raw(db, entry_id, credit_minor=99)
    # then nothing of it was kept; the same written balanced is accepted
    assert counts(db) == (0, 0)
    write_raw(db, new_id(), credit_minor=100)
    assert counts(db) == (1, 2)


def test_the_database_refuses_a_line_added_to_a_posted_entry(books: UnitOfWork, db):
    # given a posted entry
    entry = rent_paid(books)
    # when a balanced pair of lines is added to it afterwards
    with pytest.raises(DBAPIError, match=r"balanced|immutable|posted"):
        execute(
            db,
            "INSERT INTO journal_lines (entry_id, line_no, account_code, debit_minor, credit_minor, memo) "
            "VALUES (:e, 3, '1000', 100, 0, ''), (:e, 4, '3000', 0, 100, '')",
            {"e": entry.id},
        )
    # then the entry still has its two lines
    assert counts(db) == (1, 2)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE journal_lines SET debit_minor = 1 WHERE debit_minor > 0",
        "DELETE FROM journal_lines",
        "UPDATE journal_entries SET memo = 'changed'",
        "DELETE FROM journal_entries",
    ],
)
def test_the_database_refuses_to_change_or_delete_a_posted_entry(books: UnitOfWork, db, statement: str):
    entry = rent_paid(books)
    with pytest.raises(DBAPIError, match=r"balanced|immutable|posted"):
        execute(db, statement)
    assert finance.get_entry(books, entry_id=entry.id) == entry


def test_the_database_refuses_to_truncate_or_replace_journal_lines(books: UnitOfWork, db):
    # given a posted entry
    entry = rent_paid(books)
    # when the lines are truncated (PostgreSQL) or replaced in place (SQLite)
    statement = (
        "TRUNCATE journal_lines, journal_entries"
        if db.dialect == "postgresql"
        else "INSERT OR REPLACE INTO journal_lines SELECT * FROM journal_lines"
    )
    with pytest.raises(DBAPIError, match=r"immutable|posted"):
        execute(db, statement)
    # then the entry is as it was
    assert finance.get_entry(books, entry_id=entry.id) == entry


def test_a_reversal_swaps_every_line_and_an_entry_is_reversed_only_once(books: UnitOfWork, db):
    # given a posted entry
    entry = rent_paid(books)
    # when it is reversed
    reversal = finance.reverse_entry(books, entry_id=entry.id, posted_on=date(2026, 11, 4))
    # then the reversal credits what was debited, and the period nets to zero on each account
    assert (reversal.reverses_id, reversal.rule) == (entry.id, "reversal")
    assert [(line.account_code, line.debit, line.credit) for line in reversal.lines] == [
        ("1000", usd("0.00"), usd("500.00")),
        ("3000", usd("500.00"), usd("0.00")),
    ]
    assert {row.account_code: row.balance for row in finance.trial_balance(books, period="2026-11").rows} == {
        "1000": usd("0.00"),
        "3000": usd("0.00"),
    }
    # and a second reversal is refused, changing nothing
    with pytest.raises(Conflict):
        finance.reverse_entry(books, entry_id=entry.id, posted_on=date(2026, 11, 4))
    assert counts(db) == (2, 4)


def test_a_manual_entry_into_a_closed_period_is_refused_naming_the_date(books: UnitOfWork, db):
    # given November closed
    finance.close_period(books, period="2026-11")
    # when an entry dated in November is posted by hand
    with pytest.raises(finance.PeriodClosed) as refused:
        rent_paid(books)
    # then the refusal names posted_on, and nothing was posted
    assert refused.value.errors[0].field == "posted_on"
    assert counts(db) == (0, 0)


def test_an_event_dated_in_a_closed_period_posts_in_the_next_open_one_with_a_note(books: UnitOfWork):
    # given November and December closed
    finance.close_period(books, period="2026-11")
    finance.close_period(books, period="2026-12")
    # when a capture of November 30 is posted
    event = captured("25.00", at=datetime(2026, 11, 30, 23, 0, tzinfo=UTC))
    assert finance.post_event(books, event) is True
    # then it went to January, saying why
    entry = finance.find_entry_for_event(books, event_id=event.id)
    assert entry is not None
    assert (entry.posted_on, entry.period) == (date(2026, 11, 30), "2027-01")
    assert entry.note == "dated 2026-11-30 in closed period 2026-11: posted in 2027-01"


def captured(amount: str, *, method: str = "card", at: datetime | None = None, **extra: str) -> Event:
    return Event(
        type="payment.captured",
        payload={
            "payment_id": str(uuid.uuid4()),
            "order_id": str(uuid.uuid4()),
            "method": method,
            "amount": amount,
            "currency": "USD",
            **extra,
        },
        occurred_at=at or datetime(2026, 11, 10, 12, tzinfo=UTC),
    )


def test_an_event_posts_exactly_once_however_often_it_is_delivered(books: UnitOfWork, db):
    # given a card capture
    event = captured("40.00")
    # when it is posted three times (redelivery, replay)
    results = [finance.post_event(books, event) for _ in range(3)]
    # then one entry: Dr card clearing / Cr deferred revenue
    assert results == [True, False, False]
    entry = finance.find_entry_for_event(books, event_id=event.id)
    assert entry is not None
    assert [(line.account_code, line.debit.minor, line.credit.minor) for line in entry.lines] == [
        ("1100", 4000, 0),
        ("2300", 0, 4000),
    ]
    assert counts(db) == (1, 2)


def test_a_batch_posts_each_new_event_once_and_skips_what_was_posted(books: UnitOfWork, db):
    # given one capture posted already, and a batch holding it, two new captures (one of them twice) and an event
    # no rule knows
    old, first, second = captured("40.00"), captured("15.00"), captured("5.25")
    finance.post_event(books, old)
    unknown = Event(type="order.placed", payload={}, occurred_at=old.occurred_at)
    # when the batch is posted, then again
    posted = finance.post_events(books, [old, first, unknown, second, first])
    again = finance.post_events(books, [old, first, second])
    # then the two new captures posted once each, and November's balances hold all three
    assert (posted, again) == (2, 0)
    assert counts(db) == (3, 6)
    trial = finance.trial_balance(books, period=finance.list_periods(books)[-1].code)
    assert {r.account_code: r.balance.minor for r in trial.rows} == {"1100": 6025, "2300": -6025}


def test_the_trial_balance_of_a_period_sums_each_account_and_balances(books: UnitOfWork):
    # given opening cash, two captures and a refund in November, and one capture in December
    rent_paid(books)
    finance.post_event(books, captured("40.00"))
    finance.post_event(books, captured("10.00", method="paypal"))
    finance.post_event(books, captured("7.00", at=datetime(2026, 12, 1, 9, tzinfo=UTC)))
    # when November's trial balance is taken
    trial = finance.trial_balance(books, period="2026-11")
    # then each account has its sums, and debits equal credits
    assert [(r.account_code, r.debit.minor, r.credit.minor) for r in trial.rows] == [
        ("1000", 50000, 0),
        ("1100", 4000, 0),
        ("1110", 1000, 0),
        ("2300", 0, 5000),
        ("3000", 0, 50000),
    ]
    assert trial.balanced is True
    # and December, cumulatively, carries November's balances forward
    december = finance.trial_balance(books, period="2026-12", cumulative=True)
    assert {r.account_code: r.balance.minor for r in december.rows}["2300"] == -5700


def test_the_journal_is_listed_newest_first_by_page_and_filtered_by_account(books: UnitOfWork):
    # given three entries, one of them on cash
    opening = rent_paid(books)
    finance.post_event(books, captured("40.00"))
    finance.post_event(books, captured("10.00"))
    # when the journal is read two at a time
    first = finance.list_journal(books, limit=2)
    second = finance.list_journal(books, limit=2, cursor=first.next_cursor)
    # then all three come back, newest first, and the cash filter finds the opening entry only
    assert [e.rule for e in first.items + second.items] == ["payment.captured", "payment.captured", "manual"]
    assert second.next_cursor is None
    assert [e.id for e in finance.list_journal(books, account="1000").items] == [opening.id]
    with pytest.raises(ValidationFailed) as refused:
        finance.list_journal(books, period="November")
    assert refused.value.errors[0].field == "period"


# ---- posting from the business's own events ---------------------------------------------------------------------


@pytest.fixture
def shop(books: UnitOfWork) -> UnitOfWork:
    make_order_shop(books)
    finance.register()
    yield books
    finance.unregister()


def dispatch_all(db: Database, uow: UnitOfWork) -> None:
    while outbox.dispatch_batch(db.unit_of_work(uow.actor)):
        pass


def entries_of(uow: UnitOfWork, rule: str) -> list[finance.JournalEntry]:
    return finance.list_journal(uow, rule=rule, limit=200).items


def test_a_po_receipt_posts_inventory_against_goods_received_not_invoiced_and_sets_the_item_s_cost(
    shop: UnitOfWork, db
):
    # given a sent PO for 4 mugs at 1.00 and 6 tees at 1.00
    make_vendor(shop)
    po = sent_purchase_order(shop, vendor="ACME", location="EAST", lines=[("MUG", 4), ("TEE", 6)])
    # when 3 mugs are received and the relay runs
    purchasing.receive(shop, number=po.number, lines=[purchasing.ReceivedLine(sku="MUG", quantity=3)])
    dispatch_all(db, shop)
    # then inventory is debited and GRNI credited 3.00
    (entry,) = entries_of(shop, "po.received")
    assert [(line.account_code, line.debit.minor, line.credit.minor) for line in entry.lines] == [
        ("1300", 300, 0),
        ("2050", 0, 300),
    ]
    assert entry.reference == po.number


def test_an_order_taken_at_the_till_posts_its_revenue_tax_and_cost_when_it_ships(shop: UnitOfWork, db):
    # given tees bought in at 1.00 each (their moving-average cost)
    make_vendor(shop)
    po = sent_purchase_order(shop, vendor="ACME", location="EAST", lines=[("TEE", 2)])
    purchasing.receive(shop, number=po.number, lines=[purchasing.ReceivedLine(sku="TEE", quantity=2)])
    # when two tees are carried out of the store (the order ships as it is placed) and the relay runs
    request = order_request(("TEE", 2), fulfillment="taken", store="STORE1", ship_tos=[ship_to()])
    order = orders.place_order(shop, channel=channel(shop, "store-1"), request=request).order
    dispatch_all(db, shop)
    # then deferred revenue is debited by the total; store revenue, shipping and tax credited; COGS against inventory
    (entry,) = entries_of(shop, "order.shipped")
    by_account = {line.account_code: (line.debit.minor, line.credit.minor) for line in entry.lines}
    assert (order.merchandise.minor, order.shipping.minor, order.tax.minor, order.total.minor) == (
        4000,
        500,
        400,
        4900,
    )
    assert by_account == {
        "2300": (4900, 0),
        "4020": (0, 4000),
        "4100": (0, 500),
        "2100": (0, 400),
        "5000": (200, 0),
        "1300": (0, 200),
    }
    assert finance.trial_balance(shop, period=entry.period).balanced is True


def test_a_cash_sale_at_the_till_leaves_deferred_revenue_at_zero_and_the_books_balanced(
    shop: UnitOfWork, db, settings
):
    # given the payments wiring, and tees bought in at 1.00
    from ordersmith.payments import service as payments

    payments.setup_payments(db, settings)
    make_vendor(shop)
    po = sent_purchase_order(shop, vendor="ACME", location="EAST", lines=[("TEE", 2)])
    purchasing.receive(shop, number=po.number, lines=[purchasing.ReceivedLine(sku="TEE", quantity=2)])
    # when a customer pays cash for two tees carried out of the store, and the relay runs
    request = order_request(
        ("TEE", 2),
        fulfillment="taken",
        store="STORE1",
        ship_tos=[ship_to()],
        payments=[orders.PaymentRequest(method="cash")],
    )
    place_paid(shop, channel=channel(shop, "store-1"), request=request)
    dispatch_all(db, shop)
    # then cash came in against deferred revenue, the sale moved it to revenue, and everything balances
    trial = finance.trial_balance(shop, period=finance.list_periods(shop)[-1].code)
    balances = {row.account_code: row.balance.minor for row in trial.rows}
    assert balances == {
        "1010": 4900,
        "1300": 0,
        "2050": -200,
        "2100": -400,
        "2300": 0,
        "4020": -4000,
        "4100": -500,
        "5000": 200,
    }
    assert trial.balanced is True


def test_replaying_the_outbox_posts_what_the_subscriber_missed_and_nothing_twice(books: UnitOfWork, db):
    # given a PO received while the posting subscriber was not registered, its event dispatched
    make_order_shop(books)
    make_vendor(books)
    po = sent_purchase_order(books, vendor="ACME", location="EAST", lines=[("MUG", 4)])
    purchasing.receive(books, number=po.number, lines=[purchasing.ReceivedLine(sku="MUG", quantity=4)])
    dispatch_all(db, books)
    assert entries_of(books, "po.received") == []
    # when the outbox is replayed twice
    first = finance.replay_outbox(books)
    second = finance.replay_outbox(books)
    # then the receipt is posted once
    assert (first, second) == ((1, 1), (1, 0))
    (entry,) = entries_of(books, "po.received")
    assert [(line.account_code, line.debit.minor, line.credit.minor) for line in entry.lines] == [
        ("1300", 400, 0),
        ("2050", 0, 400),
    ]

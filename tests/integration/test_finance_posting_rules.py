"""Issue 18's posting rules and collections against real SQLite and PostgreSQL, through the business's own use
cases and the relay: revenue per shipment, returns restocked and scrapped, stock counts and damage, gift cards
(given, reloaded, redeemed, expired: breakage) and store credit against their liabilities, a bounced check,
write-offs, unapplied cash, the overdue flag and its credit-hold policy, dunning letters. Each event posts once."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from decimal import Decimal

import pypdf
import pytest
import sqlalchemy as sa

from ordersmith.finance import service as finance
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import Conflict, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.payments import service as payments
from ordersmith.platform import outbox
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.settings import Settings
from ordersmith.purchasing import service as purchasing
from tests.builders import (
    channel,
    make_account_customer,
    make_order_shop,
    make_vendor,
    order_request,
    place_on_account,
    place_paid,
    sent_purchase_order,
    ship_and_invoice,
)


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


@pytest.fixture
def shop(uow: UnitOfWork, db: Database, settings: Settings) -> UnitOfWork:
    finance.ensure_chart(uow)
    payments.setup_payments(db, settings)
    make_order_shop(uow)
    finance.register()
    yield uow
    finance.unregister()


def dispatch_all(db: Database, uow: UnitOfWork) -> None:
    while outbox.dispatch_batch(db.unit_of_work(uow.actor)):
        pass


def lines(entry: finance.JournalEntry) -> list[tuple[str, int, int]]:
    return [(x.account_code, x.debit.minor, x.credit.minor) for x in entry.lines]


def entries(uow: UnitOfWork, rule: str) -> list[finance.JournalEntry]:
    return list(reversed(finance.list_journal(uow, rule=rule, limit=200).items))


def balances(uow: UnitOfWork) -> dict[str, int]:
    period = finance.list_periods(uow)[-1].code
    trial = finance.trial_balance(uow, period=period, cumulative=True)
    assert trial.balanced is True
    return {row.account_code: row.balance.minor for row in trial.rows if row.balance.minor}


def costed(uow: UnitOfWork, db: Database, **skus: int) -> None:
    """Receive `skus` (sku=units) on a PO at 1.00 a unit into EAST: each gets a moving-average cost of 1.00."""
    make_vendor(uow)
    po = sent_purchase_order(uow, vendor="ACME", location="EAST", lines=list(skus.items()))
    purchasing.receive(
        uow, number=po.number, lines=[purchasing.ReceivedLine(sku=s, quantity=q) for s, q in skus.items()]
    )
    dispatch_all(db, uow)


def units_costed(db: Database, sku: str) -> int:
    with db.engine.connect() as conn:
        query = sa.text("SELECT units FROM finance_item_costs WHERE sku = :sku")
        return int(conn.execute(query, {"sku": sku}).scalar_one())


def journal_size(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT COUNT(*) FROM journal_entries")).scalar_one())


# ---- revenue per shipment, returns, stock -------------------------------------------------------------------------


def test_an_order_shipped_in_two_parts_recognises_each_shipment_s_share_once(shop: UnitOfWork, db: Database):
    # given tees and mugs costed at 1.00, and a web order of 2 tees (from EAST) and 2 mugs (from WEST): 60.00 of
    # goods, 5.00 shipping, 6.00 tax
    costed(shop, db, TEE=2, MUG=2)
    order = orders.place_order(
        shop, channel=channel(shop, "web"), request=order_request(("TEE", 2), ("MUG", 2))
    ).order
    assert (order.merchandise.minor, order.shipping.minor, order.tax.minor) == (6000, 500, 600)
    # when the tees ship, then the mugs, and the relay runs twice
    orders.record_shipment(shop, ref=str(order.id), lines={1: 2})
    orders.record_shipment(shop, ref=str(order.id), lines={2: 2})
    dispatch_all(db, shop)
    before = journal_size(db)
    dispatch_all(db, shop)
    finance.replay_outbox(shop)
    # then the first shipment recognised the tees, the shipping and their tax; the last the mugs and theirs
    (first,) = entries(shop, "order.shipped_in_part")
    (last,) = entries(shop, "order.shipped")
    assert lines(first) == [
        ("2300", 4900, 0),
        ("4010", 0, 4000),
        ("4100", 0, 500),
        ("2100", 0, 400),
        ("5000", 200, 0),
        ("1300", 0, 200),
    ]
    assert lines(last) == [
        ("2300", 2200, 0),
        ("4010", 0, 2000),
        ("2100", 0, 200),
        ("5000", 200, 0),
        ("1300", 0, 200),
    ]
    # and nothing posted twice; every unit left the costing at its average
    assert journal_size(db) == before
    assert (units_costed(db, "TEE"), units_costed(db, "MUG")) == (0, 0)
    assert (
        balances(shop)["2300"] == -(0) + 7100
    )  # deferred revenue: shipped, not yet paid (a web order billed later)


def test_a_return_restocks_at_cost_and_scraps_to_shrinkage(shop: UnitOfWork, db: Database):
    # given two tees costed at 1.00, sold and shipped
    costed(shop, db, TEE=2)
    order = orders.place_order(shop, channel=channel(shop, "web"), request=order_request(("TEE", 2))).order
    orders.record_shipment(shop, ref=str(order.id), lines={1: 2})
    # when both come back: one restocked, one scrapped
    rma = orders.authorize_return(
        shop,
        order_ref=str(order.id),
        lines=[orders.ReturnLineRequest(line_no=1, quantity=2, reason="damaged")],
    )
    orders.receive_return(
        shop,
        ref=rma.number,
        location="EAST",
        lines=[orders.ReceivedLine(1, 1, "restock")],
    )
    dispatch_all(db, shop)
    # then the restocked tee is back in inventory at 1.00 and out of COGS; its unit is costed again
    (entry,) = entries(shop, "return.received")
    assert lines(entry) == [("1300", 100, 0), ("5000", 0, 100)]
    assert entry.reference == rma.number
    assert units_costed(db, "TEE") == 1
    # and the returned restock did not post again as a stock gain
    assert entries(shop, "stock.changed") == []


def test_a_scrapped_return_moves_its_cost_from_cogs_to_shrinkage(shop: UnitOfWork, db: Database):
    costed(shop, db, TEE=1)
    order = orders.place_order(shop, channel=channel(shop, "web"), request=order_request(("TEE", 1))).order
    orders.record_shipment(shop, ref=str(order.id), lines={1: 1})
    rma = orders.authorize_return(
        shop,
        order_ref=str(order.id),
        lines=[orders.ReturnLineRequest(line_no=1, quantity=1, reason="defective")],
    )
    orders.receive_return(shop, ref=rma.number, location="EAST", lines=[orders.ReceivedLine(1, 1, "scrap")])
    dispatch_all(db, shop)
    (entry,) = entries(shop, "return.received")
    assert lines(entry) == [("5100", 100, 0), ("5000", 0, 100)]
    assert units_costed(db, "TEE") == 0


def test_a_count_short_and_damaged_stock_are_shrinkage_at_average_cost_and_a_found_unit_reverses_it(
    shop: UnitOfWork, db: Database
):
    # given 4 mugs costed at 1.00 at EAST
    costed(shop, db, MUG=4)
    # when a count finds 3, one is damaged, then an adjustment finds one more
    inventory.record_count(shop, location="EAST", counts={"MUG": 3})
    inventory.adjust_stock(shop, sku="MUG", location="EAST", quantity=-1, reason="damaged")
    inventory.adjust_stock(shop, sku="MUG", location="EAST", quantity=1, reason="adjustment")
    dispatch_all(db, shop)
    # then each is one entry at 1.00 a unit, and the costing follows the units
    found = [lines(e) for e in entries(shop, "stock.changed")]
    assert found == [
        [("5100", 100, 0), ("1300", 0, 100)],
        [("5100", 100, 0), ("1300", 0, 100)],
        [("1300", 100, 0), ("5100", 0, 100)],
    ]
    assert units_costed(db, "MUG") == 3
    assert balances(shop)["1300"] == 300


def test_stock_changed_carries_the_delta_and_where_while_keeping_what_consumers_read(
    shop: UnitOfWork, db: Database
):
    inventory.adjust_stock(shop, sku="TEE", location="EAST", quantity=-2, reason="shrinkage")
    with db.engine.connect() as conn:
        # in the order written (ids are time-ordered): PostgreSQL returns an unordered read in heap order, which a
        # dispatched row's update moves
        rows = conn.execute(
            sa.text("SELECT type, payload FROM outbox WHERE type = 'stock.changed' ORDER BY id")
        ).all()
    payload = [json.loads(p) if isinstance(p, str) else p for _, p in rows][-1]
    assert (payload["sku"], payload["cause"], payload["on_hand_delta"], payload["location"]) == (
        "TEE",
        "shrinkage",
        -2,
        "EAST",
    )
    assert payload["available"]["web"] == 18  # what consumers read before is still there


# ---- gift cards and store credit --------------------------------------------------------------------------------


def test_gift_cards_given_reloaded_redeemed_and_expired_keep_the_liability_equal_to_the_balances(
    shop: UnitOfWork, db: Database
):
    # given a 20.00 card given by staff, reloaded by 5.00, and a 10.00 card that expires in a week
    given = payments.issue(shop, amount=usd("20.00"), note="goodwill")
    payments.reload(shop, card_id=given.card.id, amount=usd("5.00"))
    expiring = payments.issue(shop, amount=usd("10.00"), expires_on=shop.now().date() + timedelta(days=7))
    # when 15.00 of the first pays for a phone order, and the expiry job runs after the second expired
    request = order_request(
        ("MUG", 1), payments=[orders.PaymentRequest(method="gift_card", token=given.code)]
    )
    place_paid(shop, channel=channel(shop, "phone"), request=request)
    expired = payments.expire_cards(shop, today=shop.now().date() + timedelta(days=8))
    again = payments.expire_cards(shop, today=shop.now().date() + timedelta(days=9))
    dispatch_all(db, shop)
    # then giving and reloading were expenses against the liability, the redemption took the liability down, and
    # the expired card's 10.00 went to breakage
    assert [lines(e) for e in entries(shop, "gift_card.issued")] == [
        [("6300", 2000, 0), ("2200", 0, 2000)],
        [("6300", 1000, 0), ("2200", 0, 1000)],
    ]
    assert [lines(e) for e in entries(shop, "gift_card.reloaded")] == [[("6300", 500, 0), ("2200", 0, 500)]]
    assert [lines(e) for e in entries(shop, "gift_card.expired")] == [[("2200", 1000, 0), ("4500", 0, 1000)]]
    assert (expired, again) == (1, 0)
    assert payments.get_gift_card(shop, card_id=expiring.card.id).status == "expired"
    # and the liability equals what the cards still hold: 25.00 - 16.50 (the order) = 8.50
    (gift,) = finance.card_liabilities(shop)
    left = payments.get_gift_card(shop, card_id=given.card.id).balance
    assert (gift.kind, gift.outstanding, gift.liability, gift.difference) == (
        "gift_card",
        left,
        left,
        usd("0.00"),
    )
    assert balances(shop)["2200"] == -left.minor


def test_store_credit_from_a_refund_posts_once_and_store_credit_given_is_an_allowance(
    shop: UnitOfWork, db: Database
):
    # given a cash sale at the till, shipped as it is placed
    request = order_request(
        ("TEE", 1), fulfillment="taken", store="STORE1", payments=[orders.PaymentRequest(method="cash")]
    )
    order = place_paid(shop, channel=channel(shop, "store-1"), request=request).order
    # when 10.00 of it is refunded as store credit, and staff give 5.00 of store credit
    refunded = payments.refund_order(shop, order_id=order.id, amount=usd("10.00"), reason="price match",
                                     to_store_credit=True)  # fmt: skip
    payments.issue(shop, amount=usd("5.00"), kind="store_credit", note="apology")
    dispatch_all(db, shop)
    # then the refund credited the store-credit liability once (not again when its card was issued), and the given
    # credit is an allowance on sales
    assert refunded.store_credit is not None
    assert [lines(e) for e in entries(shop, "payment.refunded")] == [[("4300", 1000, 0), ("2210", 0, 1000)]]
    assert [lines(e) for e in entries(shop, "gift_card.issued")] == [[("4300", 500, 0), ("2210", 0, 500)]]
    (credit,) = finance.card_liabilities(shop)
    assert (credit.kind, credit.outstanding, credit.liability) == ("store_credit", usd("15.00"), usd("15.00"))


# ---- checks, write-offs, unapplied cash -------------------------------------------------------------------------


def test_a_check_that_bounces_after_deposit_undoes_its_capture(shop: UnitOfWork, db: Database):
    customer = make_account_customer(shop)
    request = order_request(
        ("TEE", 2), ("MUG", 1),
        payments=[orders.PaymentRequest(method="check", reference="1042", bank="First Bank")],
        customer=customer.number,
    )  # fmt: skip
    order = place_paid(shop, channel=channel(shop, "phone"), request=request).order
    (check,) = payments.order_payments(shop, order_id=order.id)
    payments.move_check(shop, payment_id=check.id, action="deposit")
    payments.move_check(shop, payment_id=check.id, action="bounce", note="NSF")
    dispatch_all(db, shop)
    (deposit,) = entries(shop, "payment.captured")
    (bounce,) = entries(shop, "payment.failed")
    assert lines(deposit) == [("1020", 6000, 0), ("2300", 0, 6000)]
    assert lines(bounce) == [("2300", 6000, 0), ("1020", 0, 6000)]
    assert "1020" not in balances(shop)


def test_a_write_off_posts_bad_debts_and_keeps_the_subledger_equal_to_the_control_account(
    shop: UnitOfWork, db: Database
):
    # given a 60.00 invoice on account, 20.00 of it paid
    customer = make_account_customer(shop)
    ship_and_invoice(shop, place_on_account(shop, customer.number))
    (invoice,) = payments.list_invoices(shop, customer_id=customer.id).items
    payments.apply_invoice_payment(shop, invoice=invoice.number, amount=usd("20.00"), method="check")
    owed_before = payments.open_balance(shop, customer_id=customer.id)
    # when more than is owed is written off, it is refused and nothing changes
    dispatch_all(db, shop)
    size = journal_size(db)
    with pytest.raises(Conflict):
        finance.write_off_invoice(shop, invoice=invoice.number, reason="bankrupt", amount=usd("40.01"))
    with pytest.raises(ValidationFailed) as no_reason:
        finance.write_off_invoice(shop, invoice=invoice.number, reason="  ")
    assert no_reason.value.errors[0].field == "reason"
    dispatch_all(db, shop)
    assert journal_size(db) == size
    assert payments.get_invoice(shop, ref=invoice.number).balance == usd("40.00")
    # when the rest is written off
    written = finance.write_off_invoice(shop, invoice=invoice.number, reason="customer bankrupt")
    dispatch_all(db, shop)
    # then the invoice is written off, the customer owes 40.00 less on account, and bad debts carry it
    assert (written.status, written.balance, written.written_off) == (
        "written_off",
        usd("0.00"),
        usd("40.00"),
    )
    assert payments.open_balance(shop, customer_id=customer.id) == owed_before - usd("40.00")
    (entry,) = entries(shop, "invoice.written_off")
    assert lines(entry) == [("6200", 4000, 0), ("1200", 0, 4000)]
    aging = finance.ar_aging(shop, as_of=invoice.issued_on)
    assert aging.rows == [] and all(r.difference.is_zero() for r in aging.reconciliation)


def test_unapplied_cash_is_held_then_applied_and_never_beyond_what_was_received(
    shop: UnitOfWork, db: Database
):
    # given a 60.00 invoice, and a 100.00 check from the customer that names no invoice
    customer = make_account_customer(shop)
    ship_and_invoice(shop, place_on_account(shop, customer.number))
    (invoice,) = payments.list_invoices(shop, customer_id=customer.id).items
    held = finance.receive_unapplied_cash(shop, customer=customer.number, amount=usd("100.00"), method="check",
                                          reference="7781")  # fmt: skip
    # when it is applied to the invoice (as much as it owes), and then 50.00 more is asked of it
    applied = finance.apply_unapplied_cash(shop, receipt=held.number, invoice=invoice.number)
    with pytest.raises(Conflict):
        finance.apply_unapplied_cash(shop, receipt=held.number, invoice=invoice.number, amount=usd("50.00"))
    dispatch_all(db, shop)
    # then the invoice is paid, 40.00 stays as the customer's credit, and the ledger says the same
    assert (applied.applied, applied.remaining) == (usd("60.00"), usd("40.00"))
    assert payments.get_invoice(shop, ref=invoice.number).status == "paid"
    assert [c.remaining for c in finance.customer_credits(shop, customer=customer.number)] == [usd("40.00")]
    (received,) = entries(shop, "unapplied_cash.received")
    assert lines(received) == [("1020", 10000, 0), ("2400", 0, 10000)]
    (collected,) = entries(shop, "invoice.payment_applied")
    assert lines(collected) == [("2400", 6000, 0), ("1200", 0, 6000)]
    assert balances(shop)["2400"] == -4000
    aging = finance.ar_aging(shop, as_of=invoice.issued_on)
    assert all(r.difference.is_zero() for r in aging.reconciliation)


def test_unapplied_cash_is_not_applied_to_another_customer_s_invoice(shop: UnitOfWork, db: Database):
    buyer = make_account_customer(shop)
    ship_and_invoice(shop, place_on_account(shop, buyer.number))
    (invoice,) = payments.list_invoices(shop, customer_id=buyer.id).items
    other = make_account_customer(shop)
    held = finance.receive_unapplied_cash(shop, customer=other.number, amount=usd("10.00"), method="cash")
    with pytest.raises(ValidationFailed) as refused:
        finance.apply_unapplied_cash(shop, receipt=held.number, invoice=invoice.number)
    assert refused.value.errors[0].field == "invoice"
    assert finance.customer_credits(shop, customer=other.number)[0].remaining == usd("10.00")
    assert payments.get_invoice(shop, ref=invoice.number).paid == usd("0.00")


# ---- overdue, credit hold, dunning ------------------------------------------------------------------------------


def test_the_overdue_job_flags_each_invoice_once_and_reads_only_unflagged_open_invoices(
    shop: UnitOfWork, db: Database
):
    customer = make_account_customer(shop)
    ship_and_invoice(shop, place_on_account(shop, customer.number))
    (invoice,) = payments.list_invoices(shop, customer_id=customer.id).items
    day = invoice.due_on
    assert payments.mark_overdue(shop, today=day) == 0  # due today: not yet overdue
    assert payments.mark_overdue(shop, today=day + timedelta(days=1)) == 1
    assert payments.mark_overdue(shop, today=day + timedelta(days=2)) == 0
    assert payments.get_invoice(shop, ref=invoice.number).overdue_on == day + timedelta(days=1)
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as conn:
            plan = conn.execute(
                sa.text(
                    "EXPLAIN QUERY PLAN SELECT id FROM invoices WHERE status = 'open' AND overdue_on IS NULL "
                    "AND due_on < :d ORDER BY due_on, id LIMIT 1000"
                ),
                {"d": date(2030, 1, 1)},
            ).all()
        # an index search over open invoices by due date (the partial index of unflagged ones, or the open
        # invoices' index: the planner's choice), never a scan of the invoicing history
        (search, *_) = [str(row[3]) for row in plan]
        assert search.startswith("SEARCH invoices USING INDEX ix_invoices_")
        assert "due_on<?" in search


def test_the_credit_hold_waits_out_the_policy_s_grace_days(
    shop: UnitOfWork, db: Database, settings: Settings
):
    customer = make_account_customer(shop)
    ship_and_invoice(shop, place_on_account(shop, customer.number))
    (invoice,) = payments.list_invoices(shop, customer_id=customer.id).items
    ten_days_late = invoice.due_on + timedelta(days=10)
    assert finance.customer_statement(shop, customer=customer.number, as_of=ten_days_late).credit_hold is True
    payments.setup_payments(db, settings.model_copy(update={"credit_hold_overdue_days": 15}))
    lenient = finance.customer_statement(shop, customer=customer.number, as_of=ten_days_late)
    strict = finance.customer_statement(
        shop, customer=customer.number, as_of=ten_days_late + timedelta(days=6)
    )
    assert (lenient.credit_hold, strict.credit_hold) == (False, True)


def test_a_dunning_letter_escalates_with_the_oldest_invoice_and_escapes_its_html(
    shop: UnitOfWork, db: Database
):
    customer = make_account_customer(shop)
    ship_and_invoice(shop, place_on_account(shop, customer.number))
    (invoice,) = payments.list_invoices(shop, customer_id=customer.id).items
    finance.receive_unapplied_cash(shop, customer=customer.number, amount=usd("5.00"), method="cash")
    assert finance.dunning_letter(shop, customer=customer.number, as_of=invoice.due_on) is None
    stages = [
        finance.dunning_letter(
            shop,
            customer=customer.number,
            as_of=invoice.due_on + timedelta(days=d),
            retailer="Smith & Sons <Outfitters>",
        )
        for d in (1, 31, 61)
    ]
    assert [s.stage for s in stages if s] == ["reminder", "second_notice", "final_notice"]
    letter = stages[2]
    assert letter is not None and letter.total_minor == 6000
    assert invoice.number in letter.text and "Total past due: 60.00 USD" in letter.text
    assert "You hold 5.00 USD of unapplied payments" in letter.text
    assert "Smith &amp; Sons &lt;Outfitters&gt;" in letter.html and "<Outfitters>" not in letter.html


def test_a_gift_card_sold_at_the_till_is_a_liability_when_activated_and_no_revenue_when_it_ships(
    shop: UnitOfWork, db: Database
):
    from ordersmith.catalog import service as catalog
    from ordersmith.payments.service.gift_cards import activate_sold_cards
    from ordersmith.pricing import service as pricing

    # given a 25.00 gift card item on the store's price list
    catalog.create_item(shop, sku="GIFT25", name="Gift card 25", kind="gift_card", divisions=["store"])
    pricing.create_price_list(shop, code="cards", name="Gift cards", currency="USD",
                              prices=[pricing.PriceEntry("GIFT25", usd("25.00"))])  # fmt: skip
    # when a customer pays cash at the till for a tee and the card, the card is issued on that order and
    # activated (the order is paid), and the relay runs
    request = order_request(
        ("TEE", 1), ("GIFT25", 1), fulfillment="taken", store="STORE1",
        payments=[orders.PaymentRequest(method="cash")],
    )  # fmt: skip
    order = place_paid(shop, channel=channel(shop, "store-1"), request=request).order
    card = payments.issue(shop, amount=usd("25.00"), sold_on_order=order.id)
    activate_sold_cards(shop, order_id=order.id)
    dispatch_all(db, shop)
    # then the card's 25.00 moved from deferred revenue to the gift-card liability, the sale's revenue is the
    # tee's alone, and deferred revenue is back to zero
    assert [lines(e) for e in entries(shop, "gift_card.issued")] == []
    (activated,) = entries(shop, "gift_card.activated")
    assert lines(activated) == [("2300", 2500, 0), ("2200", 0, 2500)]
    books = balances(shop)
    assert books["4020"] == -2000 and books["2200"] == -2500 and "2300" not in books
    (gift,) = finance.card_liabilities(shop)
    assert (gift.outstanding, gift.liability) == (usd("25.00"), usd("25.00"))
    assert payments.get_gift_card(shop, card_id=card.card.id).status == "active"


def test_a_statement_renders_as_a_pdf_listing_the_open_invoices(shop: UnitOfWork, db: Database):
    customer = make_account_customer(shop)
    ship_and_invoice(shop, place_on_account(shop, customer.number))
    (invoice,) = payments.list_invoices(shop, customer_id=customer.id).items
    finance.receive_unapplied_cash(shop, customer=customer.number, amount=usd("5.00"), method="cash")
    later = invoice.due_on + timedelta(days=12)
    pdf = finance.statement_pdf(shop, customer=customer.number, as_of=later, retailer="Smith Outfitters")
    again = finance.statement_pdf(shop, customer=customer.number, as_of=later, retailer="Smith Outfitters")
    assert pdf.startswith(b"%PDF-") and pdf == again  # the same statement renders the same bytes
    text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert f"{invoice.number} {invoice.order_number}" in text and "USD 60.00 12" in text
    assert "1-30 days USD 60.00" in text and "Total due USD 60.00" in text
    assert "Unapplied payments held USD 5.00" in text and "Smith Outfitters" in text


def test_gift_cards_and_store_credit_on_one_liability_account_are_compared_together(
    shop: UnitOfWork, db: Database
):
    # given store credit mapped to the gift-card liability account, and one of each given by staff
    finance.set_mapping(shop, kind="tender", key="store_credit", account_code="2200")
    payments.issue(shop, amount=usd("20.00"))
    payments.issue(shop, amount=usd("5.00"), kind="store_credit")
    dispatch_all(db, shop)
    # then the account is compared with both kinds' balances at once
    (both,) = finance.card_liabilities(shop)
    assert (both.kind, both.outstanding, both.liability) == (
        "gift_card+store_credit",
        usd("25.00"),
        usd("25.00"),
    )

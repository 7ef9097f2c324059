"""Payments on SQLite and PostgreSQL, with the sandbox processor in its own file: cards authorized before the order
is written and captured as it ships, declines and lost answers, split tender with gift cards, on account with
the credit limit and invoices, checks, refunds never above what was captured, cancellation, webhooks, key
rotation."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from ordersmith.checkout import service as checkout
from ordersmith.customers import service as customers
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import Conflict, NotAuthenticated, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.orders.tables import OrderRow
from ordersmith.payments import service as payments
from ordersmith.payments.gateways.sandbox import SandboxGateway, SandboxProcessor
from ordersmith.payments.tables import GiftCardLedgerRow, PaymentRow, PaymentTransactionRow
from ordersmith.payments.vault import Vault, VaultKeys, keys_from
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.settings import Settings
from tests.builders import channel, make_order_shop, order_request, place_paid

VISA, DECLINED, NO_FUNDS, LOST = (
    "4242424242424242",
    "4000000000000002",
    "4000000000009995",
    "4000000000000556",
)


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


@pytest.fixture
def wired(db: Database, settings: Settings) -> payments.Payments:
    return payments.setup_payments(db, settings)


@pytest.fixture
def shop(uow: UnitOfWork, wired: payments.Payments) -> UnitOfWork:
    make_order_shop(uow)
    return uow


def processor(wired: payments.Payments) -> SandboxProcessor:
    assert isinstance(wired.gateway, SandboxGateway)
    return wired.gateway.processor


def card(wired: payments.Payments, number: str = VISA) -> str:
    return wired.vault.tokenize(number=number, exp_month=12, exp_year=2031, actor="test").token


def paid_by(
    *tenders: orders.PaymentRequest,
    lines: tuple[tuple[str, int], ...] = (("TEE", 2), ("MUG", 1)),
    **fields: object,
) -> orders.OrderRequest:
    return order_request(*lines, payments=list(tenders), **fields)


def count(uow: UnitOfWork, model: type) -> int:
    with uow:
        return int(uow.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def available(uow: UnitOfWork, sku: str) -> int:
    return inventory.get_availability(uow, sku=sku, division="web").available


def ship_everything(uow: UnitOfWork, order: orders.Order) -> orders.Order:
    shipped = orders.record_shipment(
        uow, ref=str(order.id), lines={line.line_no: line.reserved for line in order.lines}, tracking="1Z"
    )
    payments.capture_shipped(uow, order_id=order.id)
    return shipped


def test_a_card_is_authorized_before_the_order_is_written_and_captured_when_it_ships(
    shop: UnitOfWork, wired: payments.Payments
) -> None:
    # given a card in the vault
    token = card(wired)
    # when the web shop places a 60.00 order paid by it
    placed = place_paid(
        shop, channel=channel(shop), request=paid_by(orders.PaymentRequest(method="card", token=token))
    )
    order = placed.order
    # then the order is authorized for its total, and the card shows only brand and last four
    assert order.payment_status == "authorized"
    (payment,) = payments.order_payments(shop, order_id=order.id)
    assert (payment.method, payment.status, payment.authorized, payment.captured) == (
        "card",
        "authorized",
        usd("60.00"),
        usd("0.00"),
    )
    assert (payment.brand, payment.last_four, payment.gateway) == ("visa", "4242", "sandbox")
    assert [(t.kind, t.outcome) for t in payment.transactions] == [("authorization", "approved")]
    charge = processor(wired).charge(payment.reference)
    assert charge is not None and (charge["authorized"], charge["captured"]) == (6000, 0)
    # when everything ships
    ship_everything(shop, order)
    # then the card is captured for the total, once
    (payment,) = payments.order_payments(shop, order_id=order.id)
    assert (payment.status, payment.captured) == ("captured", usd("60.00"))
    assert orders.get_order(shop, ref=order.number).payment_status == "captured"
    assert len(processor(wired).operations(payment.reference, "capture")) == 1
    # and running the capture again (a job retried) takes nothing more
    payments.capture_shipped(shop, order_id=order.id)
    assert len(processor(wired).operations(payment.reference, "capture")) == 1


def test_a_partial_shipment_captures_its_share_and_the_rest_when_everything_has_shipped(
    shop: UnitOfWork, wired: payments.Payments
) -> None:
    placed = place_paid(
        shop, channel=channel(shop), request=paid_by(orders.PaymentRequest(method="card", token=card(wired)))
    )
    order = placed.order
    tee = next(line for line in order.lines if line.sku == "TEE")
    # when only the tees ship (44.00 of lines incl. tax, plus shipping 5.50 incl. tax)
    orders.record_shipment(shop, ref=order.number, lines={tee.line_no: 2}, tracking="1Z1")
    payments.capture_shipped(shop, order_id=order.id)
    (payment,) = payments.order_payments(shop, order_id=order.id)
    assert payment.status == "partially_captured"
    first = payment.captured
    assert usd("0.00") < first < usd("60.00")
    # when the mug follows
    mug = next(line for line in order.lines if line.sku == "MUG")
    orders.record_shipment(shop, ref=order.number, lines={mug.line_no: 1}, tracking="1Z2")
    payments.capture_shipped(shop, order_id=order.id)
    (payment,) = payments.order_payments(shop, order_id=order.id)
    assert (payment.status, payment.captured) == ("captured", usd("60.00"))
    assert len(processor(wired).operations(payment.reference, "capture")) == 2


def test_a_declined_card_places_nothing_and_answers_with_the_gateways_reason(
    shop: UnitOfWork, wired: payments.Payments
) -> None:
    before = (count(shop, OrderRow), available(shop, "TEE"))
    with pytest.raises(payments.PaymentDeclined) as declined:
        place_paid(
            shop,
            channel=channel(shop),
            request=paid_by(orders.PaymentRequest(method="card", token=card(wired, NO_FUNDS))),
        )
    assert declined.value.status == 402
    assert declined.value.extra["reason_code"] == "insufficient_funds"
    assert declined.value.errors[0].field == "payments.0"
    # and nothing changed: no order, no stock held, no payment
    assert (count(shop, OrderRow), available(shop, "TEE")) == before
    assert count(shop, PaymentTransactionRow) == 0


def test_with_the_hold_policy_a_declined_card_places_the_order_on_hold(
    shop: UnitOfWork, wired: payments.Payments
) -> None:
    wired.decline = "hold"
    placed = place_paid(
        shop,
        channel=channel(shop),
        request=paid_by(orders.PaymentRequest(method="card", token=card(wired, DECLINED))),
    )
    order = placed.order
    assert order.status == "on_hold" and order.payment_status == "failed"
    assert [h.reason for h in order.holds if h.status == "active"] == ["payment_declined"]
    (payment,) = payments.order_payments(shop, order_id=order.id)
    assert (payment.status, payment.reason_code) == ("failed", "card_declined")


def test_a_lost_authorization_answer_holds_the_order_and_is_resolved_without_a_second_charge(
    shop: UnitOfWork, wired: payments.Payments
) -> None:
    # when the processor approves but its answer is lost (twice: the checkout asks once more with the same key)
    placed = place_paid(
        shop,
        channel=channel(shop),
        request=paid_by(orders.PaymentRequest(method="card", token=card(wired, LOST))),
    )
    order = placed.order
    # then the order waits for payment review, its stock held, the authorization pending
    assert order.status == "on_hold" and order.payment_status == "pending"
    assert [h.reason for h in order.holds] == ["payment_review"]
    (payment,) = payments.order_payments(shop, order_id=order.id)
    assert payment.status == "pending_review"
    assert [(t.kind, t.outcome) for t in payment.transactions] == [("authorization", "pending")]
    # when the resolution job asks again with the same key while the processor is still slow, nothing changes
    assert payments.resolve_pending_authorizations(shop, older_than_s=0) == 0
    # and when it asks a minute later
    processor(wired).clock_offset_s += 61
    assert payments.resolve_pending_authorizations(shop, older_than_s=0) == 1
    # then the payment is authorized with the one charge the processor made
    (payment,) = payments.order_payments(shop, order_id=order.id)
    assert (payment.status, payment.authorized) == ("authorized", usd("60.00"))
    with sqlite3_of(processor(wired)) as conn:
        assert conn.execute("SELECT count(*) FROM charges").fetchone()[0] == 1
    assert orders.get_order(shop, ref=order.number).payment_status == "authorized"


def sqlite3_of(p: SandboxProcessor):  # type: ignore[no-untyped-def]
    import contextlib
    import sqlite3

    return contextlib.closing(sqlite3.connect(p.path))


def test_a_gift_card_and_a_card_split_the_total_and_the_card_pays_the_rest(
    shop: UnitOfWork, wired: payments.Payments
) -> None:
    issued = payments.issue(shop, amount=usd("25.00"))
    placed = place_paid(
        shop,
        channel=channel(shop),
        request=paid_by(
            orders.PaymentRequest(method="gift_card", token=issued.code, amount=usd("25.00")),
            orders.PaymentRequest(method="card", token=card(wired)),
        ),
    )
    gift, visa = payments.order_payments(shop, order_id=placed.order.id)
    assert (gift.method, gift.status, gift.captured) == ("gift_card", "captured", usd("25.00"))
    assert (visa.method, visa.status, visa.authorized) == ("card", "authorized", usd("35.00"))
    card_after = payments.get_gift_card(shop, card_id=issued.card.id)
    assert card_after.balance == usd("0.00")
    assert [(e.kind, e.amount) for e in card_after.ledger] == [
        ("issued", usd("25.00")),
        ("redeemed", usd("-25.00")),
    ]
    # the order keeps only the code's last four
    assert issued.code.replace("-", "") not in json.dumps(placed.order.payment)
    assert placed.order.payment_status == "partially_captured"


def test_a_gift_card_short_of_its_part_places_nothing_and_voids_the_card_authorization(
    shop: UnitOfWork, wired: payments.Payments
) -> None:
    issued = payments.issue(shop, amount=usd("10.00"))
    token = card(wired)
    before = (count(shop, OrderRow), available(shop, "TEE"))
    with pytest.raises(payments.GiftCardBalanceInsufficient) as short:
        place_paid(
            shop,
            channel=channel(shop),
            request=paid_by(
                orders.PaymentRequest(method="card", token=token, amount=usd("30.00")),
                orders.PaymentRequest(method="gift_card", token=issued.code),
            ),
        )
    assert short.value.status == 409 and short.value.extra["balance"] == "10.00"
    assert (count(shop, OrderRow), available(shop, "TEE")) == before
    assert payments.get_gift_card(shop, card_id=issued.card.id).balance == usd("10.00")
    with sqlite3_of(processor(wired)) as conn:
        assert [r[0] for r in conn.execute("SELECT status FROM charges")] == ["voided"]


def test_a_malformed_gift_card_code_is_refused_by_its_check_symbol(shop: UnitOfWork) -> None:
    issued = payments.issue(shop, amount=usd("10.00"))
    typo = issued.code[:-1] + ("2" if issued.code[-1] != "2" else "3")
    with pytest.raises(ValidationFailed) as refused:
        place_paid(
            shop,
            channel=channel(shop),
            request=paid_by(orders.PaymentRequest(method="gift_card", token=typo)),
        )
    assert refused.value.errors[0].field == "payments.0.token"
    assert count(shop, OrderRow) == 0


def make_account(uow: UnitOfWork, limit: str = "100.00", terms: str = "net30") -> customers.Customer:
    return customers.create_customer(
        uow,
        details=customers.Details(
            kind="business",
            company="Acme",
            emails=["ap@acme.example"],
            credit_limit=usd(limit),
            payment_terms=terms,
        ),
    )


def test_on_account_reserves_credit_atomically_holds_beyond_the_limit_and_invoices_each_shipment(
    shop: UnitOfWork,
) -> None:
    acme = make_account(shop)
    on_account = orders.PaymentRequest(method="on_account")
    first = place_paid(
        shop, channel=channel(shop, "phone"), request=paid_by(on_account, customer=acme.number)
    ).order
    assert first.status == "released" and first.payment_status == "authorized"
    assert payments.open_balance(shop, customer_id=acme.id) == usd("60.00")
    # a second 60.00 order does not fit the 100.00 limit: placed, held for credit review, still owed if released
    second = place_paid(
        shop, channel=channel(shop, "phone"), request=paid_by(on_account, customer=acme.number)
    ).order
    assert second.status == "on_hold"
    assert [h.reason for h in second.holds if h.status == "active"] == ["credit_limit"]
    # when the first ships, it is invoiced under the customer's terms
    ship_everything(shop, first)
    (invoice,) = payments.list_invoices(shop, customer_id=acme.id).items
    assert (invoice.number, invoice.total, invoice.status, invoice.terms) == (
        "I-000001",
        usd("60.00"),
        "open",
        "net30",
    )
    assert (invoice.due_on - invoice.issued_on).days == 30
    assert [line["sku"] for line in invoice.lines] == ["TEE", "MUG"]
    assert orders.get_order(shop, ref=first.number).payment_status == "captured"
    # when the customer pays it in two parts
    payments.apply_invoice_payment(
        shop, invoice=invoice.number, amount=usd("20.00"), method="check", reference="881"
    )
    with pytest.raises(Conflict):
        payments.apply_invoice_payment(shop, invoice=invoice.number, amount=usd("40.01"), method="check")
    assert payments.get_invoice(shop, ref=invoice.number).paid == usd("20.00")  # the refusal applied nothing
    paid = payments.apply_invoice_payment(
        shop, invoice=invoice.number, amount=usd("40.00"), method="transfer"
    )
    assert (paid.status, paid.balance) == ("paid", usd("0.00"))
    assert payments.open_balance(shop, customer_id=acme.id) == usd("60.00")  # the held second order


def test_on_account_needs_a_customer_with_terms(shop: UnitOfWork) -> None:
    walk_in = make_account(shop, terms="")
    with pytest.raises(ValidationFailed) as refused:
        place_paid(
            shop,
            channel=channel(shop, "phone"),
            request=paid_by(orders.PaymentRequest(method="on_account"), customer=walk_in.number),
        )
    assert refused.value.errors[0].field == "payments.0.method"
    assert count(shop, OrderRow) == 0


def test_a_bounced_check_reverses_the_payment_holds_the_order_and_notes_the_customer(
    shop: UnitOfWork,
) -> None:
    acme = make_account(shop)
    order = place_paid(
        shop,
        channel=channel(shop, "phone"),
        request=paid_by(
            orders.PaymentRequest(method="check", reference="1042", bank="First Bank"), customer=acme.number
        ),
    ).order
    (check,) = payments.order_payments(shop, order_id=order.id)
    assert (check.check_status, check.authorized, order.payment_status) == (
        "received",
        usd("60.00"),
        "authorized",
    )
    deposited = payments.move_check(shop, payment_id=check.id, action="deposit")
    assert (deposited.check_status, deposited.captured) == ("deposited", usd("60.00"))
    bounced = payments.move_check(shop, payment_id=check.id, action="bounce", note="NSF")
    assert (bounced.check_status, bounced.status, bounced.captured) == ("bounced", "failed", usd("0.00"))
    after = orders.get_order(shop, ref=order.number)
    assert after.status == "on_hold" and "check_bounced" in [h.reason for h in after.holds]
    assert after.payment_status == "failed"
    notes = customers.timeline(shop, ref=acme.number)
    assert any("Check 1042" in (entry.body or "") and "NSF" in (entry.body or "") for entry in notes.items)
    with pytest.raises(Conflict):  # a bounced check cannot be cleared
        payments.move_check(shop, payment_id=check.id, action="clear")
    unchanged = payments.get_payment(shop, payment_id=check.id)
    assert (unchanged.check_status, unchanged.captured, unchanged.version) == (
        "bounced",
        usd("0.00"),
        bounced.version,
    )


def test_refunds_never_exceed_what_was_captured_and_go_to_the_last_captured_tender_first(
    shop: UnitOfWork, wired: payments.Payments
) -> None:
    wired.capture = "at_once"
    issued = payments.issue(shop, amount=usd("20.00"))
    order = place_paid(
        shop,
        channel=channel(shop),
        request=paid_by(
            orders.PaymentRequest(method="card", token=card(wired), amount=usd("40.00")),
            orders.PaymentRequest(method="gift_card", token=issued.code),
        ),
    )
    visa, gift = payments.order_payments(shop, order_id=order.order.id)
    assert (visa.captured, gift.captured) == (usd("40.00"), usd("20.00"))
    # a refund beyond a payment's captured amount is refused with what is refundable, and changes nothing
    with pytest.raises(payments.RefundExceedsRefundable) as too_much:
        payments.refund_payment(shop, payment_id=visa.id, amount=usd("40.01"), reason="goodwill")
    assert too_much.value.extra["refundable"] == "40.00"
    assert payments.get_payment(shop, payment_id=visa.id).refunded == usd("0.00")
    # an order refund of 30.00 reloads the gift card (taken last) before it refunds the card
    with shop:  # the gift card was captured after the card: make that visible in time order
        pass
    done = payments.refund_order(shop, order_id=order.order.id, amount=usd("30.00"), reason="damaged")
    by_method = {p.method: p for p in done.payments}
    assert sum((p.refunded for p in payments.order_payments(shop, order_id=order.order.id)), usd("0")) == usd(
        "30.00"
    )
    assert (
        payments.get_gift_card(shop, card_id=issued.card.id).balance
        == by_method.get("gift_card", gift).refunded
    )
    with pytest.raises(payments.RefundExceedsRefundable):
        payments.refund_order(shop, order_id=order.order.id, amount=usd("30.01"), reason="again")
    assert orders.get_order(shop, ref=order.order.number).payment_status == "partially_refunded"


def test_a_refund_as_store_credit_issues_a_card_and_counts_against_the_tenders(
    shop: UnitOfWork, wired: payments.Payments
) -> None:
    wired.capture = "at_once"
    order = place_paid(
        shop, channel=channel(shop), request=paid_by(orders.PaymentRequest(method="card", token=card(wired)))
    ).order
    done = payments.refund_order(
        shop, order_id=order.id, amount=usd("15.00"), reason="late", to_store_credit=True
    )
    assert done.store_credit is not None
    assert (done.store_credit.card.kind, done.store_credit.card.balance) == ("store_credit", usd("15.00"))
    (visa,) = done.payments
    assert visa.refunded == usd("15.00")
    assert processor(wired).operations(visa.reference, "refund") == []  # the card was not refunded
    # and the store credit pays a later order
    later = place_paid(
        shop,
        channel=channel(shop),
        request=paid_by(
            orders.PaymentRequest(method="store_credit", token=done.store_credit.code),
            orders.PaymentRequest(method="card", token=card(wired)),
            lines=(("MUG", 1),),
        ),
    )
    assert [p.method for p in payments.order_payments(shop, order_id=later.order.id)] == [
        "store_credit",
        "card",
    ]


def test_capturing_twice_with_one_key_captures_once(shop: UnitOfWork, wired: payments.Payments) -> None:
    order = place_paid(
        shop, channel=channel(shop), request=paid_by(orders.PaymentRequest(method="card", token=card(wired)))
    ).order
    (visa,) = payments.order_payments(shop, order_id=order.id)
    first = payments.capture_payment(shop, payment_id=visa.id, amount=usd("10.00"), key="k1")
    again = payments.capture_payment(shop, payment_id=visa.id, amount=usd("10.00"), key="k1")
    assert first.captured == again.captured == usd("10.00")
    assert len(processor(wired).operations(visa.reference, "capture")) == 1
    from ordersmith.kernel.errors import IdempotencyKeyReused

    with pytest.raises(IdempotencyKeyReused):
        payments.capture_payment(shop, payment_id=visa.id, amount=usd("11.00"), key="k1")
    with pytest.raises(payments.CaptureExceedsAuthorized):
        payments.capture_payment(shop, payment_id=visa.id, amount=usd("50.01"), key="k2")
    # and neither refusal moved anything, here or at the processor
    assert payments.get_payment(shop, payment_id=visa.id).captured == usd("10.00")
    assert len(processor(wired).operations(visa.reference, "capture")) == 1


def test_a_cancelled_order_voids_its_card_and_reloads_its_gift_card(
    shop: UnitOfWork, wired: payments.Payments
) -> None:
    issued = payments.issue(shop, amount=usd("20.00"))
    order = place_paid(
        shop,
        channel=channel(shop),
        request=paid_by(
            orders.PaymentRequest(method="gift_card", token=issued.code, amount=usd("20.00")),
            orders.PaymentRequest(method="card", token=card(wired)),
        ),
    )
    orders.cancel_order(shop, ref=order.order.number, reason="customer changed their mind")
    settled = payments.settle_cancelled(shop, order_id=order.order.id)
    gift, visa = settled
    assert (gift.status, gift.refunded) == ("refunded", usd("20.00"))
    assert visa.status == "voided"
    assert payments.get_gift_card(shop, card_id=issued.card.id).balance == usd("20.00")
    charge = processor(wired).charge(visa.reference)
    assert charge is not None and charge["status"] == "voided"
    assert orders.get_order(shop, ref=order.order.number).payment_status == "refunded"


def test_a_forged_webhook_is_refused_and_a_signed_one_is_recorded_once(
    shop: UnitOfWork, wired: payments.Payments
) -> None:
    order = place_paid(
        shop, channel=channel(shop), request=paid_by(orders.PaymentRequest(method="card", token=card(wired)))
    ).order
    (visa,) = payments.order_payments(shop, order_id=order.id)
    event = {
        "id": "evt_1",
        "type": "charge.captured",
        "data": {"reference": visa.reference, "amount_minor": 6000, "currency": "USD"},
    }
    headers, body = processor(wired).signed_webhook(event)
    before = count(shop, PaymentTransactionRow)
    forged = SandboxProcessor(processor(wired).path, webhook_secret="not-the-secret").signed_webhook(event)
    with pytest.raises(NotAuthenticated):
        payments.receive_notification(shop, gateway="sandbox", headers=forged[0], body=forged[1])
    with pytest.raises(NotAuthenticated):  # the body changed after signing
        payments.receive_notification(
            shop, gateway="sandbox", headers=headers, body=body.replace(b"6000", b"9000")
        )
    assert count(shop, PaymentTransactionRow) == before
    assert payments.receive_notification(shop, gateway="sandbox", headers=headers, body=body) == "recorded"
    assert payments.receive_notification(shop, gateway="sandbox", headers=headers, body=body) == "duplicate"
    (visa,) = payments.order_payments(shop, order_id=order.id)
    assert [t.kind for t in visa.transactions] == ["authorization", "webhook"]


def test_a_notification_finds_its_payment_when_the_processors_reference_holds_a_card_like_run_of_digits(
    shop: UnitOfWork, wired: payments.Payments
) -> None:
    # given a payment whose processor reference holds 16 digits that pass Luhn (a random hex id can: 1 in ~300)
    order = place_paid(
        shop, channel=channel(shop), request=paid_by(orders.PaymentRequest(method="card", token=card(wired)))
    ).order
    reference = "ch_4242424242424242ab"
    with shop:
        shop.session.execute(
            sa.update(PaymentRow).where(PaymentRow.order_id == order.id).values(reference=reference)
        )
    event = {"id": "evt_9", "type": "charge.captured",
             "data": {"reference": reference, "amount_minor": 6000, "currency": "USD"}}  # fmt: skip
    headers, body = processor(wired).signed_webhook(event)
    # when the processor notifies it, then it is recorded against that payment, the digits kept masked
    assert payments.receive_notification(shop, gateway="sandbox", headers=headers, body=body) == "recorded"
    (visa,) = payments.order_payments(shop, order_id=order.id)
    (webhook,) = [t for t in visa.transactions if t.kind == "webhook"]
    assert "4242424242424242" not in webhook.gateway_reference
    assert webhook.gateway_reference.startswith("ch_")


def test_after_key_rotation_every_token_still_authorizes_and_no_record_is_under_the_old_key(
    shop: UnitOfWork, db: Database, settings: Settings, tmp_path: Path
) -> None:
    # given cards stored under k1
    old = payments.wiring(shop).vault
    tokens = [
        old.tokenize(number=n, exp_month=1, exp_year=2032, actor="test").token
        for n in (VISA, "5555555555554444", "378282246310005")
    ]
    # when the vault key is rotated to k2 (k1 still configured while the rotation runs)
    k1 = keys_from(settings)
    rotated_keys = VaultKeys(
        current_id="k2",
        secrets={**k1.secrets, "k2": "a-new-vault-key-of-32-characters!!"},
        fingerprint_secret=k1.fingerprint_secret,
    )
    rotated = Vault(settings.vault_database_url, rotated_keys)
    assert rotated.rotate(actor="test") == 3
    assert rotated.key_ids() == {"k2": 3}
    # then, with k1 gone from the configuration, every token still authorizes
    only_k2 = Vault(
        settings.vault_database_url,
        VaultKeys(
            current_id="k2",
            secrets={"k2": rotated_keys.secrets["k2"]},
            fingerprint_secret=k1.fingerprint_secret,
        ),
    )
    payments.setup_payments(db, settings, vault=only_k2)
    for token in tokens:
        placed = place_paid(
            shop,
            channel=channel(shop),
            request=paid_by(orders.PaymentRequest(method="card", token=token), lines=(("MUG", 1),)),
        )
        assert placed.order.payment_status == "authorized"
    for vault in (rotated, only_k2):
        vault.dispose()


def test_gift_card_ledger_always_adds_up_to_the_balance(shop: UnitOfWork, wired: payments.Payments) -> None:
    issued = payments.issue(shop, amount=usd("50.00"))
    place_paid(
        shop,
        channel=channel(shop),
        request=paid_by(
            orders.PaymentRequest(method="gift_card", token=issued.code, amount=usd("20.00")),
            orders.PaymentRequest(method="card", token=card(wired)),
        ),
    )
    payments.reload(shop, card_id=issued.card.id, amount=usd("5.00"))
    with shop:
        summed = shop.session.scalar(
            sa.select(sa.func.sum(GiftCardLedgerRow.amount_minor)).where(
                GiftCardLedgerRow.gift_card_id == issued.card.id
            )
        )
    assert (
        Money.from_minor(int(summed or 0), "USD")
        == payments.get_gift_card(shop, card_id=issued.card.id).balance
    )
    assert payments.get_gift_card(shop, card_id=issued.card.id).balance == usd("35.00")


def test_a_refund_on_account_is_credited_against_the_open_invoice(shop: UnitOfWork) -> None:
    acme = make_account(shop)
    order = place_paid(
        shop,
        channel=channel(shop, "phone"),
        request=paid_by(orders.PaymentRequest(method="on_account"), customer=acme.number),
    ).order
    ship_everything(shop, order)
    (account,) = payments.order_payments(shop, order_id=order.id)
    payments.refund_payment(shop, payment_id=account.id, amount=usd("10.00"), reason="one mug was chipped")
    (invoice,) = payments.list_invoices(shop, customer_id=acme.id).items
    assert (invoice.paid, invoice.balance) == (usd("10.00"), usd("50.00"))
    assert [(p.method, p.amount) for p in payments.get_invoice(shop, ref=invoice.number).payments] == [
        ("credit", usd("10.00"))
    ]
    assert payments.open_balance(shop, customer_id=acme.id) == usd("50.00")


def test_an_expired_gift_card_pays_nothing_and_says_so(shop: UnitOfWork, db: Database) -> None:
    from datetime import timedelta

    from ordersmith.kernel.clock import FixedClock, utcnow
    from ordersmith.platform.db import Actor

    issued = payments.issue(shop, amount=usd("50.00"), expires_on=(utcnow() + timedelta(days=1)).date())
    later = db.unit_of_work(Actor.system("test"), clock=FixedClock(utcnow() + timedelta(days=3)))
    with pytest.raises(Conflict) as expired:
        place_paid(
            later,
            channel=channel(later),
            request=paid_by(orders.PaymentRequest(method="gift_card", token=issued.code)),
        )
    assert expired.value.extra["card_status"] == "expired"
    assert count(shop, OrderRow) == 0
    assert payments.get_gift_card(shop, card_id=issued.card.id).balance == usd("50.00")
    with pytest.raises(ValidationFailed):  # an expiry in the past cannot be set
        payments.issue(shop, amount=usd("5.00"), expires_on=utcnow().date())


def test_an_edit_that_raises_the_total_authorizes_the_difference_on_the_same_card(
    shop: UnitOfWork, wired: payments.Payments
) -> None:
    token = card(wired)
    order = place_paid(
        shop,
        channel=channel(shop, "phone"),
        request=paid_by(orders.PaymentRequest(method="card", token=token), release=False),
    ).order
    # when the agent adds a mug before release (+10.00, +1.00 tax)
    edited = orders.edit_order(
        shop,
        ref=order.number,
        expected_version=order.version,
        changes=orders.OrderChanges(
            lines=[orders.LineChange(line_no=None, sku="MUG", quantity=1, ship_to="main")]
        ),
    )
    assert edited.total == usd("71.00")
    added = checkout.cover_total(shop, order_id=order.id)
    # then the difference is authorized on the same card, as a tender of its own, once
    assert added is not None and (added.method, added.authorized) == ("card", usd("11.00"))
    assert checkout.cover_total(shop, order_id=order.id) is None
    assert [p.authorized for p in payments.order_payments(shop, order_id=order.id)] == [
        usd("60.00"),
        usd("11.00"),
    ]
    assert orders.get_order(shop, ref=order.number).payment_status == "authorized"


def test_a_declined_top_up_after_an_edit_holds_the_order_for_payment(
    shop: UnitOfWork, wired: payments.Payments
) -> None:
    order = place_paid(
        shop,
        channel=channel(shop, "phone"),
        request=paid_by(orders.PaymentRequest(method="card", token="pm_card_visa"), release=False),
    ).order
    # the card (a gateway token here) now declines: the sandbox's declining token stands in for it
    with shop:
        shop.session.execute(sa.update(PaymentRow).values(token="pm_card_chargeDeclined"))
    orders.edit_order(
        shop,
        ref=order.number,
        expected_version=order.version,
        changes=orders.OrderChanges(
            lines=[orders.LineChange(line_no=None, sku="MUG", quantity=1, ship_to="main")]
        ),
    )
    assert checkout.cover_total(shop, order_id=order.id) is None
    held = orders.get_order(shop, ref=order.number)
    assert held.status == "on_hold" and "payment_declined" in [h.reason for h in held.holds]


def test_a_card_added_to_a_waiting_order_whose_process_died_is_settled_by_the_job_and_releases_the_order(
    shop: UnitOfWork, wired: payments.Payments
) -> None:
    # given an order of a channel that collects, waiting for its payment
    from ordersmith.checkout.service import adding
    from ordersmith.platform import sales_channels

    sales_channels.create_sales_channel(
        shop, code="collect", name="Collect", kind="web", division="web", currency="USD"
    )
    order = place_paid(shop, channel=channel(shop, "collect"), request=paid_by()).order
    assert [h.reason for h in order.holds] == ["pending_payment"]
    # and a card tender claimed for it whose process died before the processor's answer was recorded
    tender = payments.Tender(0, orders.PaymentRequest(method="card", token=card(wired)))
    adding._claim(shop, order_id=order.id, tender=tender)
    (claimed,) = payments.order_payments(shop, order_id=order.id)
    assert (claimed.status, [t.outcome for t in claimed.transactions]) == ("pending_review", ["pending"])
    # when the resolution job asks the processor with the claim's key
    assert payments.resolve_pending_authorizations(shop, older_than_s=0) == 1
    # then the tender is authorized once and the order, now paid, goes on to fulfillment
    (payment,) = payments.order_payments(shop, order_id=order.id)
    assert (payment.status, payment.authorized) == ("authorized", usd("60.00"))
    after = orders.get_order(shop, ref=order.number)
    assert (after.status, after.payment_status) == ("released", "authorized")
    with sqlite3_of(processor(wired)) as conn:
        assert conn.execute("SELECT count(*) FROM charges").fetchone()[0] == 1


def test_a_request_that_outlived_its_key_lease_never_voids_the_card_the_request_that_took_over_placed(
    shop: UnitOfWork, wired: payments.Payments
) -> None:
    # given an Idempotency-Key claimed by a request, then taken over by a retry once its lease ran out
    from datetime import timedelta

    from ordersmith.kernel.errors import IdempotencyInProgress
    from ordersmith.platform import idempotency

    claim = dict(caller="api_key:x", key="k-1", method="POST", path="/api/v1/orders", fingerprint="f",
                 ttl=timedelta(hours=1), lease=timedelta(0))  # fmt: skip
    first = idempotency.claim(shop, **claim)
    taken = idempotency.claim(shop, **claim)
    assert first.row_id is not None and taken.row_id == first.row_id  # the same row: the same processor keys
    request = paid_by(orders.PaymentRequest(method="card", token=card(wired)))

    def store(joined: UnitOfWork, order: orders.Order) -> None:
        idempotency.complete(joined, row_id=first.row_id, status=201, body=str(order.id))

    # when the retry places the order, and then the first request, still alive, tries to finish too
    placed = place_paid(
        shop, channel=channel(shop), request=request, attempt=str(taken.row_id), on_placed=store
    )
    with pytest.raises(IdempotencyInProgress):
        place_paid(shop, channel=channel(shop), request=request, attempt=str(first.row_id), on_placed=store)
    # then one order holds the one authorization, and the card was not voided by the request that lost the key
    (payment,) = payments.order_payments(shop, order_id=placed.order.id)
    with sqlite3_of(processor(wired)) as conn:
        assert conn.execute("SELECT count(*), min(status) FROM charges").fetchone() == (1, "authorized")
    assert payment.status == "authorized"

"""Payments over the sandbox processor's loopback HTTP service, with the network failing on purpose: a response lost
after capture is asked again with the same key and captures once; an authorization that times out holds the order
for payment review and is resolved later without a second charge."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.payments import service as payments
from ordersmith.payments.gateways import RevealedCard
from ordersmith.payments.gateways.sandbox import SandboxProcessor
from ordersmith.payments.gateways.sandbox_http import HttpSandboxGateway, SandboxServer
from ordersmith.payments.vault import Vault, keys_from
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.settings import Settings
from tests.builders import channel, make_order_shop, order_request, place_paid


@pytest.fixture
def server(settings: Settings) -> Iterator[SandboxServer]:
    running = SandboxServer(SandboxProcessor(settings.sandbox_gateway_path)).start()
    yield running
    running.stop()


@pytest.fixture
def shop(uow: UnitOfWork, db: Database, settings: Settings, server: SandboxServer) -> UnitOfWork:
    vault = Vault(settings.vault_database_url, keys_from(settings))

    def reveal(token: str, purpose: str) -> RevealedCard:
        return vault.reveal_card(token, actor="gateway:sandbox", purpose=purpose)

    gateway = HttpSandboxGateway(server.url, reveal, timeout_s=0.5)
    payments.setup_payments(db, settings, vault=vault, gateway=gateway)
    make_order_shop(uow)
    return uow


def arm(server: SandboxServer, operation: str, fault: str, times: int = 1, delay_s: float = 0) -> None:
    httpx.post(
        f"{server.url}/_sandbox/faults",
        json={"operation": operation, "fault": fault, "times": times, "delay_s": delay_s},
    )


def charges(server: SandboxServer, kind: str) -> int:
    with sqlite3.connect(server.processor.path) as conn:
        return int(conn.execute("SELECT count(*) FROM operations WHERE kind = ?", (kind,)).fetchone()[0])


def visa(uow: UnitOfWork) -> orders.PaymentRequest:
    token = payments.wiring(uow).vault.tokenize(
        number="4242424242424242", exp_month=12, exp_year=2031, actor="t"
    )
    return orders.PaymentRequest(method="card", token=token.token)


def test_a_response_lost_after_capture_is_asked_again_with_the_same_key_and_captures_once(
    shop: UnitOfWork, server: SandboxServer
) -> None:
    order = place_paid(
        shop, channel=channel(shop), request=order_request(("TEE", 2), payments=[visa(shop)])
    ).order
    (payment,) = payments.order_payments(shop, order_id=order.id)
    # the processor captures, and the answer never arrives
    arm(server, "capture", "lose_response")
    captured = payments.capture_payment(
        shop, payment_id=payment.id, amount=Money(Decimal("20.00"), "USD"), key="k"
    )
    # the adapter's one retry with the same key learned the first capture: taken once
    assert captured.captured == Money(Decimal("20.00"), "USD")
    assert charges(server, "capture") == 1
    assert [(t.kind, t.outcome) for t in captured.transactions] == [
        ("authorization", "approved"),
        ("capture", "approved"),
    ]


def test_a_capture_whose_answers_stay_lost_is_a_503_and_the_same_key_later_settles_it_once(
    shop: UnitOfWork, server: SandboxServer
) -> None:
    order = place_paid(
        shop, channel=channel(shop), request=order_request(("TEE", 1), payments=[visa(shop)])
    ).order
    (payment,) = payments.order_payments(shop, order_id=order.id)
    arm(server, "capture", "lose_response", times=2)
    with pytest.raises(payments.GatewayTimedOut):
        payments.capture_payment(shop, payment_id=payment.id, key="cap-7")
    pending = payments.get_payment(shop, payment_id=payment.id)
    assert [t.outcome for t in pending.transactions if t.kind == "capture"] == ["pending"]
    settled = payments.capture_payment(shop, payment_id=payment.id, key="cap-7")
    assert settled.status == "captured" and charges(server, "capture") == 1
    assert [t.outcome for t in settled.transactions if t.kind == "capture"] == ["approved"]


def test_an_authorization_timeout_holds_the_order_and_charges_once_when_resolved(
    shop: UnitOfWork, server: SandboxServer
) -> None:
    # both the first attempt and the checkout's immediate retry time out (the processor answers after 1 s)
    arm(server, "authorize", "delay", times=2, delay_s=1.0)
    placed = place_paid(
        shop, channel=channel(shop), request=order_request(("TEE", 1), payments=[visa(shop)])
    ).order
    assert placed.status == "on_hold" and [h.reason for h in placed.holds] == ["payment_review"]
    assert placed.lines[0].reserved == 1  # its stock is held meanwhile
    time.sleep(1.2)  # the slow requests complete at the processor: one charge, remembered under the key
    assert payments.resolve_pending_authorizations(shop, older_than_s=0) == 1
    (payment,) = payments.order_payments(shop, order_id=placed.id)
    assert payment.status == "authorized"
    assert charges(server, "authorization") == 1


def test_a_capture_left_pending_by_a_lost_answer_is_settled_once_by_the_job_with_the_claims_key(
    shop: UnitOfWork, server: SandboxServer
) -> None:
    # given a capture the processor made whose answers were lost, and a caller that never asked again (its
    # process died): the payment has the amount set aside, the log a pending capture, the order no new status
    order = place_paid(
        shop, channel=channel(shop), request=order_request(("TEE", 1), payments=[visa(shop)])
    ).order
    (payment,) = payments.order_payments(shop, order_id=order.id)
    arm(server, "capture", "lose_response", times=2)
    with pytest.raises(payments.GatewayTimedOut):
        payments.capture_payment(shop, payment_id=payment.id)
    assert orders.get_order(shop, ref=order.number).payment_status == "authorized"
    # when the job runs (nothing pending is older than its minute yet, then it is)
    assert payments.resolve_pending_operations(shop) == 0
    assert payments.resolve_pending_operations(shop, older_than_s=0) == 1
    # then the capture the processor made is the one recorded, once, and the order shows it
    settled = payments.get_payment(shop, payment_id=payment.id)
    assert [(t.kind, t.outcome) for t in settled.transactions] == [
        ("authorization", "approved"),
        ("capture", "approved"),
    ]
    assert settled.captured == payment.authorized and charges(server, "capture") == 1
    assert orders.get_order(shop, ref=order.number).payment_status == "captured"
    assert payments.resolve_pending_operations(shop, older_than_s=0) == 0


def test_a_pending_refund_the_processor_still_does_not_answer_stays_pending_until_it_does(
    shop: UnitOfWork, server: SandboxServer
) -> None:
    order = place_paid(
        shop, channel=channel(shop), request=order_request(("TEE", 1), payments=[visa(shop)])
    ).order
    (payment,) = payments.order_payments(shop, order_id=order.id)
    payments.capture_payment(shop, payment_id=payment.id)
    arm(server, "refund", "lose_response", times=4)
    with pytest.raises(payments.GatewayTimedOut):
        payments.refund_payment(shop, payment_id=payment.id, amount=None, reason="damaged")
    # the job's first try loses its answers too: the refund stays pending, its amount still set aside
    assert payments.resolve_pending_operations(shop, older_than_s=0) == 0
    pending = payments.get_payment(shop, payment_id=payment.id)
    assert [t.outcome for t in pending.transactions if t.kind == "refund"] == ["pending"]
    assert pending.refunded == payment.authorized
    # the next run hears the processor: refunded once
    assert payments.resolve_pending_operations(shop, older_than_s=0) == 1
    done = payments.get_payment(shop, payment_id=payment.id)
    assert [t.outcome for t in done.transactions if t.kind == "refund"] == ["approved"]
    assert charges(server, "refund") == 1

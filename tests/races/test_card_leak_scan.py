"""No card number outside the vault: card payments taken end to end through a real server (cards entered in the
vault, a number wrongly sent to the order endpoint, authorizations, captures, refunds, a cancellation, gateway
webhooks) and card numbers typed into every free-text field (API and console, with NUL characters alongside, in
malformed JSON, in the Idempotency-Key header, and in a search with a NUL in its URL), then every table of the main
database, every outbox payload, order event and audit entry, the server's log at debug level and the sandbox
processor's books are scanned for a Luhn-valid 13-19 digit number. The vault's own file is the one place allowed to
hold them — sealed (it is checked for plaintext too)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

import ordersmith.customers.tables
import ordersmith.inventory.tables
import ordersmith.orders.tables
import ordersmith.payments.tables
import ordersmith.platform.tables
import ordersmith.pricing.tables
import ordersmith.purchasing.tables  # noqa: F401 - every context's tables are scanned
from ordersmith.kernel.cards import contains_card_number
from ordersmith.platform.db import Base, Database, UnitOfWork
from tests.builders import DEFAULT_PASSWORD, make_api_key, make_order_shop, make_user
from tests.support.server import running_server

CARDS = ["4242424242424242", "5555555555554444", "378282246310005", "4000000000009995"]
ADDRESS = {
    "ref": "main",
    "name": "Buyer",
    "line1": "1 Market St",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US",
    "method": "ground",
}


def _pay_with_cards(url: str, key: str) -> None:
    auth = {"Authorization": f"Bearer {key}"}
    for number in CARDS:
        grouped = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
        card = httpx.post(
            f"{url}/vault/v1/cards",
            headers=auth,
            json={"number": grouped, "exp_month": 11, "exp_year": 2032, "cvc": "737", "holder": "Ann Buyer"},
        )
        assert card.status_code == 201, card.text
        order = httpx.post(
            f"{url}/api/v1/orders",
            headers=auth,
            timeout=30,
            json={
                "channel": "web",
                "lines": [{"sku": "TEE", "quantity": 1}],
                "ship_tos": [ADDRESS],
                "payments": [{"method": "card", "token": card.json()["token"]}],
            },
        )
        if number == "4000000000009995":
            assert order.status_code == 402
            continue
        assert order.status_code == 201, order.text
        payment = httpx.get(f"{url}/api/v1/orders/{order.json()['id']}/payments", headers=auth).json()[0]
        if number == "378282246310005":
            httpx.post(
                f"{url}/api/v1/orders/{order.json()['id']}/cancel",
                headers=auth,
                json={"reason": "changed mind"},
            ).raise_for_status()
            continue
        httpx.post(f"{url}/api/v1/payments/{payment['id']}/capture", headers=auth, json={}).raise_for_status()
        httpx.post(
            f"{url}/api/v1/payments/{payment['id']}/refund",
            headers=auth,
            json={"amount": "1.00", "reason": "goodwill"},
        ).raise_for_status()
    # the mistakes a shop makes: a number where a token belongs, a number in a note, a bad card
    for body in (
        {
            "channel": "web",
            "lines": [{"sku": "TEE", "quantity": 1}],
            "ship_tos": [ADDRESS],
            "payments": [{"method": "card", "token": CARDS[0]}],
        },
        {
            "channel": "web",
            "lines": [{"sku": "TEE", "quantity": 1, "gift_message": f"card {CARDS[1]}"}],
            "ship_tos": [ADDRESS],
            "payments": [{"method": "card", "token": "vtok_none"}],
        },
    ):
        assert httpx.post(f"{url}/api/v1/orders", headers=auth, json=body).status_code == 422
    assert (
        httpx.post(
            f"{url}/vault/v1/cards",
            headers=auth,
            json={"number": "4242424242424241", "exp_month": 1, "exp_year": 2032},
        ).status_code
        == 422
    )
    time.sleep(1.5)  # the relay and the cancellation's job run


def _type_cards_into_free_text(url: str, key: str, email: str) -> None:
    """Every free-text field gets a card number; each request is refused and none may leave a trace."""
    auth = {"Authorization": f"Bearer {key}"}
    customer = httpx.post(
        f"{url}/api/v1/customers", headers=auth, json={"first_name": "Ann", "last_name": "Lee"}
    )
    assert customer.status_code == 201, customer.text
    ref = customer.json()["number"]
    order = httpx.post(
        f"{url}/api/v1/orders",
        headers=auth,
        timeout=30,
        json={"channel": "web", "lines": [{"sku": "TEE", "quantity": 1}], "ship_tos": [ADDRESS]},
    )
    assert order.status_code == 201, order.text
    number = order.json()["number"]
    base = {"channel": "web", "lines": [{"sku": "TEE", "quantity": 1}], "ship_tos": [ADDRESS]}
    visa, amex = "4111 1111 1111 1111", "3782-822463-10005"
    refused = [
        ("/api/v1/customers", {"first_name": visa, "last_name": "Lee"}, {}),
        ("/api/v1/customers", {"first_name": "Ann\x00", "last_name": amex}, {}),  # a NUL byte alongside
        (f"/api/v1/customers/{ref}/notes", {"body": f"card {visa} exp 11/32 cvc 737"}, {}),
        ("/api/v1/customers", {"emails": ["4111111111111111@example.com"]}, {}),
        ("/api/v1/orders", {**base, "lines": [{"sku": "TEE", "quantity": 1, "gift_message": visa}]}, {}),
        ("/api/v1/orders", {**base, "ship_tos": [{**ADDRESS, "line2": amex}]}, {}),
        ("/api/v1/orders", {**base, "external_id": "4111111111111111"}, {}),
        ("/api/v1/orders", {**base, "payments": [{"method": "check", "reference": "1", "bank": visa}]}, {}),
        ("/api/v1/orders", base, {"Idempotency-Key": visa}),
        (f"/api/v1/orders/{number}/hold", {"note": f"{visa}\x00"}, {}),
        (f"/api/v1/orders/{number}/cancel", {"reason": amex}, {}),
    ]
    for path, body, headers in refused:
        response = httpx.post(f"{url}{path}", headers={**auth, **headers}, json=body, timeout=30)
        assert response.status_code == 422, response.text
    malformed = httpx.post(f"{url}/api/v1/customers", content=f'{{"first_name": "{visa}"'.encode(),
                           headers={**auth, "content-type": "application/json"})  # fmt: skip
    assert malformed.status_code == 400
    # a NUL character in a read's query string and path: refused before any query (PostgreSQL would have failed
    # with the SQL parameters in its error), and logged without the number
    for path, params in (
        ("/api/v1/orders", {"customer": f"\x00{visa}"}),
        (f"/api/v1/customers/%00{visa}", {}),
    ):
        assert httpx.get(f"{url}{path}", headers=auth, params=params).status_code == 422
    # the console: a note typed on the customer's page
    with httpx.Client(base_url=url) as console:
        login = console.post("/api/v1/auth/login", json={"email": email, "password": DEFAULT_PASSWORD})
        assert login.status_code == 200, login.text
        note = {"body": f"card {visa}", "kind": "note", "csrf_token": login.json()["csrf_token"]}
        form = console.post(f"/customers/{ref}/notes", data=note)
        assert form.status_code == 422, form.text


# Ids (UUIDs, dashed hex) and digests we compute (API-key and session hashes, HMAC fingerprints: 32+ hex
# characters) may hold a run of 13-19 decimal digits that happens to pass Luhn; they carry no input, so they are
# taken out before the scan.
_DIGEST = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32,}"
)


def _card_like(text: str) -> bool:
    return contains_card_number(_DIGEST.sub("#", text))


def _leaks_in_database(url: str) -> list[str]:
    db = Database(url)
    found = []
    try:
        with db.engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                for row in conn.execute(sa.select(table)):
                    for column, value in zip(table.columns, row, strict=True):
                        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                        if _card_like(text):
                            found.append(f"{table.name}.{column.name}")
    finally:
        db.dispose()
    return found


def test_no_card_number_is_stored_logged_or_sent_outside_the_vault(
    db_url: str, uow: UnitOfWork, tmp_path: Path
) -> None:
    make_order_shop(uow)
    key = make_api_key(uow, name="admin").secret
    user = make_user(uow, role="admin", email="admin@example.com")
    log = tmp_path / "server.log"
    with running_server(db_url, log, log_level="debug") as server:
        _pay_with_cards(server.url, key)
        _type_cards_into_free_text(server.url, key, user.email)
    # then nothing outside the vault holds a card number: no table (outbox and audit included), no log line
    assert _leaks_in_database(db_url) == []
    logged = log.read_text(errors="replace")
    # the refused requests were logged (one access line each), without the number
    assert "method=POST path=/api/v1/orders status=422 " in logged
    assert "method=POST path=/api/v1/customers status=422 " in logged
    assert "method=GET path=/api/v1/orders status=422 " in logged
    assert not _card_like(logged)
    sandbox = (tmp_path / "sandbox_gateway.db").read_bytes().decode("latin-1")
    assert not _card_like(sandbox)
    # and the vault itself holds them only sealed
    vault = (tmp_path / "vault.db").read_bytes().decode("latin-1")
    assert not any(number in vault for number in CARDS)
    assert not _card_like(vault)


def test_the_scan_finds_a_card_number_wherever_it_hides_but_not_in_ids_and_digests() -> None:
    assert _card_like("note: pay with 4242 4242 4242 4242 please")
    assert _card_like('{"token": "5555-5555-5555-4444"}')
    assert _card_like("id 01937412-3456-7890-1234-567890123456 then 378282246310005")
    assert not _card_like("01937412-3456-7890-1234-567890123456")
    assert not _card_like("sha256 " + "4242424242424242" + "abcdef" * 8)
    assert not _card_like("4242 4242 4242 4241")  # fails Luhn

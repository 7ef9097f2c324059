"""The vault as its own service, in its own process: Ordersmith's server holds neither the vault's keys nor its
database, tokenizes and charges cards through signed requests, and the vault refuses anything unsigned."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ordersmith.payments import rules
from ordersmith.payments.vault import signing
from ordersmith.payments.vault.remote import RemoteVault, VaultUnavailable
from ordersmith.platform.db import UnitOfWork
from tests.builders import make_api_key, make_order_shop
from tests.support.server import free_port, ordersmith_process, running_server

SECRET = "a-vault-service-secret-for-tests-only"
ADDRESS = {"ref": "main", "name": "Buyer", "line1": "1 Market St", "city": "San Francisco", "region": "CA",
           "postal_code": "94105", "country": "US", "method": "ground"}  # fmt: skip


@pytest.fixture
def vault_service(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "ORDERSMITH_ENV": "test", "ORDERSMITH_VAULT_SERVICE_SECRET": SECRET,
           "ORDERSMITH_VAULT_DATABASE_URL": f"sqlite:///{tmp_path}/vault-host.db"}  # fmt: skip
    process = ordersmith_process(["vault", "serve", "--port", str(port)], env, tmp_path / "vault.log")
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, (tmp_path / "vault.log").read_text()[-2000:]
        assert time.monotonic() < deadline, (
            f"the vault service did not start: {(tmp_path / 'vault.log').read_text()}"
        )
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _reveals(folder: Path) -> int:
    with sqlite3.connect(folder / "vault-host.db") as conn:
        return int(
            conn.execute("SELECT count(*) FROM vault_access_log WHERE action = 'revealed'").fetchone()[0]
        )


def test_the_vault_service_tokenizes_reveals_and_refuses_unsigned_or_forged_requests(
    vault_service: str, tmp_path: Path
) -> None:
    vault = RemoteVault(vault_service, SECRET)
    card = vault.tokenize(number="4242 4242 4242 4242", exp_month=12, exp_year=2031, actor="test", cvc="123")
    assert (card.brand, card.last_four) == ("visa", "4242") and vault.card(card.token) == card
    revealed = vault.reveal_card(card.token, actor="gateway:sandbox", purpose="authorize")
    assert (revealed.number, revealed.cvc) == ("4242424242424242", "123")
    assert vault.reveal_card(card.token, actor="gateway:sandbox", purpose="capture").cvc == ""
    with pytest.raises(rules.CardInvalid) as refused:
        vault.tokenize(number="4242424242424241", exp_month=12, exp_year=2031, actor="test")
    assert refused.value.reason == "number_invalid"
    # unsigned, forged, altered and stale requests change nothing and reveal nothing
    reveals_before = _reveals(tmp_path)
    body = b'{"token": "%s", "purpose": "steal"}' % card.token.encode()
    assert httpx.post(f"{vault_service}/vault/v1/reveal", content=body).status_code == 401
    forged = signing.sign("not-the-secret", "POST", "/vault/v1/reveal", body, int(time.time()))
    assert httpx.post(f"{vault_service}/vault/v1/reveal", content=body,
                      headers={signing.HEADER: forged}).status_code == 401  # fmt: skip
    signed = signing.sign(SECRET, "POST", "/vault/v1/reveal", body, int(time.time()))
    assert httpx.post(f"{vault_service}/vault/v1/reveal", content=body + b" ",
                      headers={signing.HEADER: signed}).status_code == 401  # fmt: skip
    stale = signing.sign(SECRET, "POST", "/vault/v1/reveal", body, int(time.time()) - 3600)
    assert httpx.post(f"{vault_service}/vault/v1/reveal", content=body,
                      headers={signing.HEADER: stale}).status_code == 401  # fmt: skip
    with pytest.raises(VaultUnavailable):
        RemoteVault(vault_service, "wrong-secret").card(card.token)
    assert _reveals(tmp_path) == reveals_before  # not one reveal was logged, because none happened
    # the card is in the vault host's database only, sealed
    assert b"4242424242424242" not in (tmp_path / "vault-host.db").read_bytes()
    vault.dispose()


def test_an_ordersmith_server_charges_cards_through_the_vault_service_without_its_keys_or_database(
    db_url: str, uow: UnitOfWork, vault_service: str, tmp_path: Path
) -> None:
    make_order_shop(uow)
    key = make_api_key(uow, name="admin").secret
    auth = {"Authorization": f"Bearer {key}"}
    server_files = tmp_path / "server"
    server_files.mkdir()
    with running_server(db_url, server_files / "server.log", vault_url=vault_service, vault_service_secret=SECRET,
                        vault_key="not-the-vault-key-this-server-never-needs-it") as server:  # fmt: skip
        card = httpx.post(f"{server.url}/vault/v1/cards", headers=auth,
                          json={"number": "5555 5555 5555 4444", "exp_month": 1, "exp_year": 2032})  # fmt: skip
        assert card.status_code == 201, card.text
        bad = httpx.post(f"{server.url}/vault/v1/cards", headers=auth,
                         json={"number": "5555 5555 5555 4445", "exp_month": 1, "exp_year": 2032})  # fmt: skip
        assert bad.status_code == 422 and bad.json()["code"] == "card_number_invalid"
        order = httpx.post(f"{server.url}/api/v1/orders", headers=auth, timeout=30, json={
            "channel": "web", "lines": [{"sku": "TEE", "quantity": 1}], "ship_tos": [ADDRESS],
            "payments": [{"method": "card", "token": card.json()["token"]}]})  # fmt: skip
        assert order.status_code == 201, order.text
        assert order.json()["payment_status"] == "authorized"
    # the server's own vault file was never created: the cards live on the vault's host
    assert not (server_files / "vault.db").exists()
    assert (tmp_path / "vault-host.db").exists()

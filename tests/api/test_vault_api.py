"""`POST /vault/v1/cards` through the ASGI app: a token back, refusals that name the field and never the number,
scopes enforced, and no card number in the main database or the outbox."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.kernel.cards import contains_card_number
from ordersmith.platform.db import Database
from tests.api.conftest import bearer
from tests.builders import make_api_key


def test_a_card_posted_to_the_vault_comes_back_as_a_token(client: TestClient, admin_db, db: Database) -> None:
    key = make_api_key(admin_db, scopes=["vault:tokenize"], name="web checkout").secret
    body = {
        "number": "4111 1111 1111 1111",
        "exp_month": 12,
        "exp_year": 2030,
        "holder": "Ann Buyer",
        "cvc": "123",
    }
    response = client.post("/vault/v1/cards", json=body, headers=bearer(key))
    assert response.status_code == 201, response.text
    card = response.json()
    assert card["token"].startswith("vtok_") and card["brand"] == "visa" and card["last_four"] == "1111"
    assert "4111111111111111" not in response.text and "cvc" not in card
    again = client.post("/vault/v1/cards", json=body, headers=bearer(key)).json()
    assert again["token"] == card["token"]
    # nothing in Ordersmith's own database holds the number
    with db.session() as session:
        audit = [str(r) for r in session.execute(sa.text("SELECT action, after FROM audit_log")).all()]
        outbox = [str(r) for r in session.execute(sa.text("SELECT payload FROM outbox")).all()]
    assert not any(contains_card_number(text) for text in audit + outbox)


def test_a_bad_card_is_a_problem_naming_the_field_and_never_the_number(client: TestClient, admin_db) -> None:
    key = make_api_key(admin_db, scopes=["vault:tokenize"], name="web checkout").secret
    bad = client.post("/vault/v1/cards", json={"number": "4111 1111 1111 1112", "exp_month": 12, "exp_year": 2030},
                      headers=bearer(key))  # fmt: skip
    assert bad.status_code == 422 and bad.json()["code"] == "card_number_invalid"
    assert bad.json()["errors"] == [{"field": "number", "message": "number_invalid"}]
    assert "1112" not in bad.text
    old = client.post("/vault/v1/cards", json={"number": "4111111111111111", "exp_month": 1, "exp_year": 2020},
                      headers=bearer(key))  # fmt: skip
    assert old.status_code == 422 and old.json()["code"] == "card_expiry_invalid"
    assert client.app.state.vault.key_ids() == {}  # nothing was stored


def test_a_key_without_the_vault_scope_is_refused(client: TestClient, admin_db) -> None:
    key = make_api_key(admin_db, scopes=["orders:write"], name="orders only").secret
    response = client.post("/vault/v1/cards", json={"number": "4111111111111111", "exp_month": 12,
                                                    "exp_year": 2030}, headers=bearer(key))  # fmt: skip
    assert response.status_code == 403
    assert client.post("/vault/v1/cards", json={}).status_code == 401
    assert client.app.state.vault.key_ids() == {}  # refused: nothing stored

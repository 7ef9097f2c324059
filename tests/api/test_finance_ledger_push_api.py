"""`POST /api/v1/accounting-exports/{id}/push`: queued for the worker (here the app's own job runner), scoped to
`finance:export`, refused for file exports; the export's counts follow the push."""

from __future__ import annotations

import time
import uuid

import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr

from ordersmith.finance import service as finance
from ordersmith.platform.access import CHANNEL_KEY_SCOPES
from ordersmith.platform.settings import Settings
from tests.api.conftest import bearer
from tests.builders import make_api_key, make_channel
from tests.integration.test_finance_exports import post_november
from tests.support.http_stub import serving
from tests.support.ledger_stubs import Qbo

ACCOUNTS = ["1000", "1010", "1100", "1300", "2100", "3000", "4020", "5000", "6100"]


def jobs_queued(db) -> int:
    with db.engine.connect() as conn:
        return conn.execute(
            sa.text("SELECT COUNT(*) FROM jobs WHERE kind = 'finance.push_accounting_export'")
        ).scalar_one()


def test_a_push_is_queued_and_the_worker_delivers_every_entry(
    client: TestClient, admin_db, admin_key: str, db, settings: Settings
):
    stub = Qbo(accounts={number: str(n) for n, number in enumerate(ACCOUNTS, start=1)})
    post_november(admin_db)
    key = bearer(admin_key)
    with serving(stub.api):
        wired = settings.model_copy(update={
            "qbo_client_id": stub.client_id, "qbo_client_secret": SecretStr(stub.client_secret),
            "qbo_refresh_token": SecretStr("RT-first"), "qbo_realm_id": stub.realm, "qbo_base_url": stub.api.url(),
            "qbo_token_url": f"{stub.api.url()}/oauth2/v1/tokens/bearer", "ledger_backoff_s": 0.0,
        })  # fmt: skip
        finance.setup_ledgers(client.app.state.db, wired)  # type: ignore[attr-defined]
        made = client.post(
            "/api/v1/accounting-exports",
            json={"period": "2026-11", "format": "qbo", "currency": "USD"},
            headers=key,
        )
        assert made.status_code == 201, made.text
        export = made.json()
        assert (export["pushed"], export["failed"], export["file_name"]) == (
            0,
            0,
            "journal-2026-11-qbo-1.csv",
        )
        queued = client.post(f"/api/v1/accounting-exports/{export['id']}/push", headers=key)
        assert queued.status_code == 202, queued.text
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            seen = client.get(f"/api/v1/accounting-exports/{export['id']}", headers=key).json()
            if seen["pushed"] == 4:
                break
            time.sleep(0.2)
        assert (seen["pushed"], seen["failed"]) == (4, 0)
    assert len(stub.created) == 4 and all(sum(a for _n, a in amounts) == 0 for _d, amounts in stub.entries())
    assert client.get(f"/api/v1/accounting-exports/{export['id']}/failures", headers=key).json() == []


def test_an_entry_the_package_refused_is_listed_with_its_message(
    client: TestClient, admin_db, admin_key: str, settings: Settings
):
    stub = Qbo(accounts={number: str(n) for n, number in enumerate(ACCOUNTS, start=1)})
    stub.inactive.add(stub.accounts["6100"])
    post_november(admin_db)
    with serving(stub.api):
        wired = settings.model_copy(update={
            "qbo_client_id": stub.client_id, "qbo_client_secret": SecretStr(stub.client_secret),
            "qbo_refresh_token": SecretStr("RT-first"), "qbo_realm_id": stub.realm, "qbo_base_url": stub.api.url(),
            "qbo_token_url": f"{stub.api.url()}/oauth2/v1/tokens/bearer", "ledger_backoff_s": 0.0,
        })  # fmt: skip
        finance.setup_ledgers(admin_db.db, wired)
        export = finance.create_export(admin_db, period="2026-11", format="qbo", currency="USD")
        assert finance.push_export(admin_db, export_id=export.id).failed == 1
    key = bearer(admin_key)
    seen = client.get(f"/api/v1/accounting-exports/{export.id}", headers=key).json()
    assert (seen["pushed"], seen["failed"]) == (3, 1)
    (failure,) = client.get(f"/api/v1/accounting-exports/{export.id}/failures", headers=key).json()
    assert "Object Not Found" in failure["error"] and uuid.UUID(failure["entry_id"])
    unknown = "01234567-89ab-7def-8123-456789abcdef"
    assert client.get(f"/api/v1/accounting-exports/{unknown}/failures", headers=key).status_code == 404


def test_a_push_needs_finance_export_and_an_api_export(client: TestClient, admin_db, admin_key: str, db):
    post_november(admin_db)
    gl = finance.create_export(admin_db, period="2026-11", format="gl")
    qbo = finance.create_export(admin_db, period="2026-11", format="qbo", currency="USD")
    # a file export is not pushed
    refused = client.post(f"/api/v1/accounting-exports/{gl.id}/push", headers=bearer(admin_key))
    assert refused.status_code == 409 and refused.json()["code"] == "not_an_api_export"
    # a key that may read the ledger but not export it, and a channel's key, are refused
    reader = bearer(make_api_key(admin_db, scopes=["finance:read", "finance:write"]).secret)
    assert client.post(f"/api/v1/accounting-exports/{qbo.id}/push", headers=reader).status_code == 403
    make_channel(admin_db, code="shop", kind="web")
    channel = bearer(make_api_key(admin_db, scopes=sorted(CHANNEL_KEY_SCOPES), channel="shop").secret)
    assert client.post(f"/api/v1/accounting-exports/{qbo.id}/push", headers=channel).status_code == 403
    unknown = "01234567-89ab-7def-8123-456789abcdef"
    assert (
        client.post(f"/api/v1/accounting-exports/{unknown}/push", headers=bearer(admin_key)).status_code
        == 404
    )
    # and no refusal queued anything
    assert jobs_queued(db) == 0

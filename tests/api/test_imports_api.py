"""Bulk imports through the HTTP API: upload (multipart), the dry run's diff and row errors, apply, cancel, the
error file and the templates; refusals change nothing."""

from __future__ import annotations

import io
import time
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.platform.access import ROLE_SCOPES
from ordersmith.platform.db import Database
from ordersmith.platform.settings import Settings
from tests.api.conftest import bearer
from tests.builders import make_api_key

GOOD = b"sku,name,weight_g\nMUG-1,Enamel mug,340\nTEA-2,Green tea,100\n"
BAD = b"sku,name,weight_g\nMUG-1,Enamel mug,340\nTEA-2,Green tea,heavy\n"


def post_file(client: TestClient, key: str, data: bytes, kind: str = "items", **form: str) -> Any:
    return client.post(
        "/api/v1/imports",
        data={"kind": kind, **form},
        headers=bearer(key),
        files={"file": ("items.csv", data, "text/csv")},
    )


def wait(client: TestClient, key: str, import_id: str, *statuses: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = client.get(f"/api/v1/imports/{import_id}", headers=bearer(key)).json()
        if found["status"] in statuses:
            return dict(found)
        time.sleep(0.05)
    raise AssertionError(f"import still {found['status']}")


def items(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM items")).scalar_one())


def test_upload_dry_run_then_apply_through_the_api(client: TestClient, admin_key: str, db: Database) -> None:
    uploaded = post_file(client, admin_key, GOOD)
    assert uploaded.status_code == 202, uploaded.text
    found = wait(client, admin_key, uploaded.json()["id"], "validated")
    assert (found["total_rows"], found["to_create"], found["invalid_rows"]) == (2, 2, 0)
    assert items(db) == 0
    applied = client.post(f"/api/v1/imports/{found['id']}/apply", headers=bearer(admin_key))
    assert applied.status_code == 202 and applied.json()["status"] == "applying"
    done = wait(client, admin_key, found["id"], "applied")
    assert (done["created_count"], done["progress"]["rows_done"]) == (2, 2)
    assert items(db) == 2
    listed = client.get("/api/v1/imports", params={"kind": "items"}, headers=bearer(admin_key)).json()
    assert [i["id"] for i in listed["items"]] == [found["id"]]


def test_row_errors_as_json_csv_and_xlsx_and_an_all_or_nothing_apply_is_refused(
    client: TestClient, admin_key: str, db: Database
) -> None:
    found = wait(client, admin_key, post_file(client, admin_key, BAD).json()["id"], "validated")
    assert found["invalid_rows"] == 1
    errors = client.get(f"/api/v1/imports/{found['id']}/errors", headers=bearer(admin_key)).json()
    assert errors == [
        {
            "row_number": 3,
            "column": "weight_g",
            "reason": "Input should be a valid integer, unable to parse string as an integer",
        }
    ]
    as_csv = client.get(
        f"/api/v1/imports/{found['id']}/errors", params={"format": "csv"}, headers=bearer(admin_key)
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.text.splitlines()[1].startswith("3,TEA-2,Green tea,heavy,")
    as_xlsx = client.get(
        f"/api/v1/imports/{found['id']}/errors", params={"format": "xlsx"}, headers=bearer(admin_key)
    )
    sheet = openpyxl.load_workbook(io.BytesIO(as_xlsx.content), read_only=True).worksheets[0]
    assert list(next(sheet.iter_rows(values_only=True))) == [
        "row",
        "sku",
        "name",
        "weight_g",
        "error",
    ]
    refused = client.post(f"/api/v1/imports/{found['id']}/apply", headers=bearer(admin_key))
    assert refused.status_code == 409 and "apply_valid" in refused.json()["detail"]
    assert items(db) == 0
    valid_only = client.post(
        f"/api/v1/imports/{found['id']}/apply", json={"mode": "apply_valid"}, headers=bearer(admin_key)
    )
    assert valid_only.status_code == 202
    assert wait(client, admin_key, found["id"], "applied")["created_count"] == 1
    assert items(db) == 1


def test_cancel_and_templates(client: TestClient, admin_key: str) -> None:
    found = wait(client, admin_key, post_file(client, admin_key, GOOD).json()["id"], "validated")
    cancelled = client.post(f"/api/v1/imports/{found['id']}/cancel", headers=bearer(admin_key))
    assert cancelled.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/imports/{found['id']}/apply", headers=bearer(admin_key))
    assert again.status_code == 409
    template = client.get(
        "/api/v1/imports/templates/customers", params={"format": "xlsx"}, headers=bearer(admin_key)
    )
    sheet = openpyxl.load_workbook(io.BytesIO(template.content), read_only=True).worksheets[0]
    assert next(sheet.iter_rows(values_only=True))[:3] == ("number", "kind", "first_name")
    csv_template = client.get("/api/v1/imports/templates/items", headers=bearer(admin_key))
    assert csv_template.text.startswith("sku,name,")
    assert client.get("/api/v1/imports/templates/invoices", headers=bearer(admin_key)).status_code == 422


@pytest.mark.parametrize("role", ["agent", "warehouse", "accountant", "marketing", "readonly"])
def test_roles_without_the_import_scope_are_refused_and_nothing_is_stored(
    client: TestClient, admin_db: Any, db: Database, role: str
) -> None:
    key = make_api_key(admin_db, scopes=sorted(ROLE_SCOPES[role]), name=role).secret
    refused = post_file(client, key, GOOD)
    assert refused.status_code == 403
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM imports")).scalar_one() == 0


def test_a_money_column_without_its_scope_and_a_wrong_kind_are_refused_naming_the_column(
    client: TestClient, admin_db: Any, db: Database
) -> None:
    key = make_api_key(admin_db, scopes=["data:import", "customers:write"], name="clerk").secret
    refused = post_file(
        client, key, b"emails,last_name,payment_terms\na@example.com,Lee,net30\n", kind="customers"
    )
    assert refused.status_code == 403 and "payment_terms" in refused.json()["detail"]
    admin = make_api_key(admin_db, name="admin2").secret
    wrong = post_file(client, admin, b"emails,last_name\na@example.com,Lee\n", kind="items")
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "emails"
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM imports")).scalar_one() == 0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"import_max_bytes": 4096})


def test_a_file_over_the_limit_is_413_with_the_limit_named(
    client: TestClient, admin_key: str, db: Database
) -> None:
    refused = post_file(client, admin_key, b"sku,name\n" + b"A-1,x\n" * 1000)
    assert refused.status_code == 413
    assert "4,096 bytes (ORDERSMITH_IMPORT_MAX_BYTES)" in refused.json()["detail"]
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM imports")).scalar_one() == 0


def test_a_manager_uploads_checks_and_applies_from_the_console(
    client: TestClient, admin_db: Any, db: Database
) -> None:
    from tests.api.conftest import login

    csrf = login(client, admin_db, role="manager")
    page = client.get("/imports")
    assert page.status_code == 200 and 'href="/imports"' in page.text
    uploaded = client.post(
        "/imports",
        data={"kind": "items", "mode": "apply_valid", "csrf_token": csrf},
        files={"file": ("items.csv", BAD, "text/csv")},
        follow_redirects=False,
    )
    assert uploaded.status_code == 303
    detail = uploaded.headers["location"]
    deadline = time.monotonic() + 20
    while 'id="status">validated<' not in (shown := client.get(detail).text) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert 'id="to-create">1<' in shown and "weight_g" in shown and 'id="apply-valid"' in shown
    applied = client.post(
        f"{detail}/apply", data={"mode": "apply_valid", "csrf_token": csrf}, follow_redirects=False
    )
    assert applied.status_code == 303
    while 'id="status">applied<' not in (shown := client.get(detail).text) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert 'id="created">1<' in shown
    assert items(db) == 1


def test_an_agent_sees_no_imports_screen(client: TestClient, admin_db: Any) -> None:
    from tests.api.conftest import login

    login(client, admin_db, role="agent")
    assert 'href="/imports"' not in client.get("/dashboard").text
    assert client.get("/imports").status_code == 403


def test_the_import_screen_follows_progress_over_server_sent_events_until_done(
    client: TestClient, admin_db: Any, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from ordersmith.console import imports as console_imports
    from tests.api.conftest import login

    monkeypatch.setattr(console_imports, "POLL_S", 0.02)
    csrf = login(client, admin_db, role="manager")
    uploaded = client.post(
        "/imports",
        data={"kind": "items", "csrf_token": csrf},
        files={"file": ("items.csv", GOOD, "text/csv")},
        follow_redirects=False,
    )
    detail = uploaded.headers["location"]
    page = client.get(detail).text
    if 'id="status">validated<' not in page:  # still busy: the page streams its progress
        assert f'data-stream="{detail}/progress"' in page and "/static/import_progress.js" in page
    # when the stream is followed
    events: list[tuple[str, dict[str, Any]]] = []
    with client.stream("GET", f"{detail}/progress") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        name = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name, json.loads(line.removeprefix("data: "))))
    # then it ends with the dry run's result: every row read, then done
    progress = [data for name, data in events if name == "progress"]
    assert progress[-1]["status"] == "validated" and progress[-1]["rows_done"] == 2
    assert progress[-1]["total_rows"] == 2 and progress[-1]["busy"] is False
    assert events[-1] == ("done", {"status": "validated"})
    # an unknown import, and a role without imports
    assert client.get("/imports/00000000-0000-0000-0000-000000000000/progress").status_code == 404
    login(client, admin_db, role="agent")
    assert client.get(f"{detail}/progress").status_code == 403


def test_custom_field_columns_import_through_the_api_and_are_found_by_a_custom_filter(
    client: TestClient, admin_key: str, db: Database
) -> None:
    # given an item field defined through the API
    field = {
        "kind": "item",
        "name": "season",
        "label": "Season",
        "type": "choice",
        "choices": ["spring", "autumn"],
    }
    assert client.post("/api/v1/custom-fields", json=field, headers=bearer(admin_key)).status_code == 201
    # then the template carries its column
    template = client.get("/api/v1/imports/templates/items", headers=bearer(admin_key))
    assert template.text.splitlines()[0].endswith(",custom.season")
    # and a file with a column for a field that is not defined is refused naming it, storing nothing
    unknown = post_file(client, admin_key, b"sku,name,custom.colour\nMUG-1,Mug,red\n")
    assert unknown.status_code == 422
    assert [e["field"] for e in unknown.json()["errors"]] == ["custom.colour"]
    # when a file with the column is imported
    uploaded = post_file(
        client, admin_key, b"sku,name,custom.season\nMUG-1,Mug,spring\nTEA-2,Tea,autumn\n", apply="true"
    )
    assert uploaded.status_code == 202, uploaded.text
    assert wait(client, admin_key, uploaded.json()["id"], "applied")["created_count"] == 2
    # then `?custom.season=` finds the item, with its value
    found = client.get("/api/v1/items", params={"custom.season": "spring"}, headers=bearer(admin_key)).json()
    assert [(i["sku"], i["custom_fields"]) for i in found["items"]] == [("MUG-1", {"season": "spring"})]
    # and a bad value is a row error naming row and column
    bad = post_file(client, admin_key, b"sku,name,custom.season\nCUP-3,Cup,winter\n")
    checked = wait(client, admin_key, bad.json()["id"], "validated")
    assert checked["invalid_rows"] == 1
    errors = client.get(f"/api/v1/imports/{checked['id']}/errors", headers=bearer(admin_key)).json()
    assert errors == [{"row_number": 2, "column": "custom.season", "reason": "must be one of spring, autumn"}]
    assert items(db) == 2
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM imports")).scalar_one() == 2

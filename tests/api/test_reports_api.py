"""Reports and exports through the ASGI app: the catalogue, a report in each format, exports from request to
download, and the refusals (a role without the scope, a channel-bound key) that change nothing."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime

import openpyxl
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.data.export_tables import ExportRow
from ordersmith.orders import service as orders
from ordersmith.platform.access import CHANNEL_KEY_SCOPES
from tests.api.conftest import bearer, login
from tests.builders import channel, make_api_key, make_order_shop, order_request


def _shop(admin_db) -> None:  # type: ignore[no-untyped-def]
    make_order_shop(admin_db)
    at = datetime(2026, 3, 18, 10, tzinfo=UTC)
    for code, lines in (("web", [("TEE", 2), ("MUG", 2)]), ("phone", [("TEE", 1)])):
        orders.place_order(
            admin_db, channel=channel(admin_db, code), request=order_request(*lines, placed_at=at)
        )


def test_the_catalogue_lists_every_report_and_bad_parameters_are_refused_naming_them(
    client: TestClient, admin_key: str
):
    response = client.get("/api/v1/reports", headers=bearer(admin_key))
    assert response.status_code == 200
    by_name = {r["name"]: r for r in response.json()}
    assert list(by_name)[:3] == ["sales_by_day_channel", "sales_by_source_code", "top_items"]
    sales = by_name["sales_by_day_channel"]
    assert [p["name"] for p in sales["parameters"]] == ["from", "to", "grouping", "channel", "division"]
    assert sales["parameters"][2]["choices"] == ["day", "week", "month"]
    assert {"name": "demand", "label": "Demand", "kind": "money", "currency_column": "currency"} in sales[
        "columns"
    ]
    assert sales["chart"] == {"kind": "line", "x": "period", "y": "demand", "series": "channel"}
    # bad parameters and unknown reports are problems naming the field
    bad = client.get("/api/v1/reports/sales_by_day_channel?from=2026-02-30", headers=bearer(admin_key))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "from"
    other = client.get("/api/v1/reports/ar_aging?channel=web", headers=bearer(admin_key))
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "channel"
    assert client.get("/api/v1/reports/nope", headers=bearer(admin_key)).status_code == 404


def test_a_report_as_json_csv_xlsx_and_svg(client: TestClient, admin_db, admin_key: str):
    _shop(admin_db)
    url = "/api/v1/reports/sales_by_day_channel?from=2026-03-18&to=2026-03-18"
    # JSON
    body = client.get(url, headers=bearer(admin_key)).json()
    assert [
        (r["period"], r["channel"], r["orders"], r["units"], r["demand"], r["currency"]) for r in body["rows"]
    ] == [("2026-03-18", "phone", 1, 1, "20.00", "USD"), ("2026-03-18", "web", 1, 4, "60.00", "USD")]
    assert body["parameters"]["from"] == "2026-03-18"
    # CSV
    as_csv = client.get(url + "&format=csv", headers=bearer(admin_key))
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(as_csv.text)))
    assert rows[0][:3] == ["period", "channel", "orders"] and rows[2][:3] == ["2026-03-18", "web", "1"]
    # XLSX
    as_xlsx = client.get(url + "&format=xlsx", headers=bearer(admin_key))
    sheet = openpyxl.load_workbook(io.BytesIO(as_xlsx.content), read_only=True).active
    cells = list(sheet.iter_rows(values_only=True))
    assert cells[0][:2] == ("Period", "Channel") and cells[2][1] == "web" and len(cells) == 3
    # SVG: an image with its own strict policy (its inline styles, no script), titled for screen readers
    as_svg = client.get(url + "&format=svg", headers=bearer(admin_key))
    assert as_svg.headers["content-type"].startswith("image/svg+xml")
    assert as_svg.headers.get_list("content-security-policy") == [
        "default-src 'none'; style-src 'unsafe-inline'"
    ]
    assert (
        "<script" not in as_svg.text
        and '<title id="chart-title">Sales by day and channel</title>' in as_svg.text
    )


def test_a_role_without_reports_read_and_a_channel_key_are_refused(client: TestClient, admin_db, db):
    # an agent may not read reports; a readonly user may
    login(client, admin_db, role="agent")
    refused = client.get("/api/v1/reports/sales_by_day_channel")
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert client.get("/api/v1/reports").status_code == 403
    client.cookies.clear()
    login(client, admin_db, role="readonly")
    assert client.get("/api/v1/reports/gift_cards_outstanding").status_code == 200
    # a channel-bound key holds at most the channel scopes: no reports, no exports
    key = make_api_key(
        admin_db, scopes=sorted(CHANNEL_KEY_SCOPES), channel=None, name="like a channel"
    ).secret
    client.cookies.clear()
    assert client.get("/api/v1/reports", headers=bearer(key)).status_code == 403
    denied = client.post("/api/v1/exports", json={"kind": "orders"}, headers=bearer(key))
    assert denied.status_code == 403
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ExportRow)) == 0


def test_an_export_is_refused_with_a_bad_filter_then_runs_from_request_to_download(
    client: TestClient, admin_db, admin_key: str, db
):
    _shop(admin_db)
    # a bad filter or kind is refused and queues nothing
    bad = client.post(
        "/api/v1/exports",
        json={"kind": "inventory", "filters": {"channel": "web"}},
        headers=bearer(admin_key),
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "filters.channel"
    assert (
        client.post("/api/v1/exports", json={"kind": "everything"}, headers=bearer(admin_key)).status_code
        == 422
    )
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ExportRow)) == 0
    not_yet = client.get(
        "/api/v1/exports/0190d7a4-0000-7000-8000-000000000000/file", headers=bearer(admin_key)
    )
    assert not_yet.status_code == 404
    # when
    asked = client.post(
        "/api/v1/exports",
        json={"kind": "order_lines", "format": "csv", "filters": {"from": "2026-03-18", "channel": "web"}},
        headers=bearer(admin_key),
    )
    assert asked.status_code == 202, asked.text
    export_id = asked.json()["id"]
    assert asked.json()["filters"] == {"from": "2026-03-18", "channel": "web"}
    # then the in-process job runner writes it
    deadline = time.monotonic() + 20
    while (status := client.get(f"/api/v1/exports/{export_id}", headers=bearer(admin_key)).json())[
        "status"
    ] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (status["status"], status["rows"]) == ("done", 2)
    download = client.get(f"/api/v1/exports/{export_id}/file", headers=bearer(admin_key))
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.text)))
    assert [(r[0] != "", r[5]) for r in rows[1:]] == [(True, "TEE"), (True, "MUG")]
    listed = client.get("/api/v1/exports", headers=bearer(admin_key)).json()["items"]
    assert [e["id"] for e in listed] == [export_id]


def test_saved_reports_are_saved_listed_and_deleted_by_staff_and_a_channel_key_sees_none(
    client: TestClient, admin_db, admin_key: str, db
):
    from ordersmith.reporting.tables import SavedReportRow
    from tests.builders import make_channel

    make_channel(admin_db, code="web")
    body = {
        "title": "Monday backorders",
        "report": "backorders_by_age",
        "format": "csv",
        "frequency": "weekly",
        "weekday": 0,
        "hour": 7,
        "recipients": ["buyer@shop.test"],
    }
    # a channel-bound key can neither list nor schedule reports, and its refusal saves nothing
    channel_key = make_api_key(
        admin_db, scopes=sorted(CHANNEL_KEY_SCOPES), channel="web", name="web key"
    ).secret
    assert client.get("/api/v1/saved-reports", headers=bearer(channel_key)).status_code == 403
    assert client.post("/api/v1/saved-reports", json=body, headers=bearer(channel_key)).status_code == 403
    # nor may a readonly user schedule one (it reads reports, but mailing them out is another scope)
    csrf = login(client, admin_db, role="readonly")
    assert client.get("/api/v1/saved-reports").status_code == 200
    refused = client.post("/api/v1/saved-reports", json=body, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 403
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(SavedReportRow)) == 0
    client.cookies.clear()
    # staff save it; it is listed with when it runs next
    saved = client.post("/api/v1/saved-reports", json=body, headers=bearer(admin_key))
    assert saved.status_code == 201, saved.text
    listed = client.get("/api/v1/saved-reports", headers=bearer(admin_key)).json()
    assert [(s["title"], s["frequency"], s["weekday"], s["hour"]) for s in listed] == [
        ("Monday backorders", "weekly", 0, 7)
    ]
    assert datetime.fromisoformat(listed[0]["next_run_at"]).weekday() == 0
    # a channel key still cannot delete it; staff can
    saved_id = saved.json()["id"]
    assert client.delete(f"/api/v1/saved-reports/{saved_id}", headers=bearer(channel_key)).status_code == 403
    assert client.delete(f"/api/v1/saved-reports/{saved_id}", headers=bearer(admin_key)).status_code == 204
    assert client.get("/api/v1/saved-reports", headers=bearer(admin_key)).json() == []

"""The Reports and Exports console screens and the dashboard's history, through the ASGI app with a session."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.data.export_tables import ExportRow
from ordersmith.orders import service as orders
from tests.api.conftest import login
from tests.builders import channel, make_order_shop, order_request


def test_reports_exports_and_the_dashboard_history_through_the_console(client: TestClient, admin_db, db):
    # given two orders today and one on the same day last week
    make_order_shop(admin_db)
    now = datetime.now(UTC)
    for at in (now, now, now - timedelta(days=7)):
        orders.place_order(
            admin_db, channel=channel(admin_db, "web"), request=order_request(("TEE", 1), placed_at=at)
        )
    csrf = login(client, admin_db, role="manager")
    # the catalogue
    catalogue = client.get("/reports")
    assert catalogue.status_code == 200 and 'href="/reports/ar_aging"' in catalogue.text
    # a report: its form, its table, its chart as an image of the API's SVG, its downloads
    today = now.date().isoformat()
    page = client.get(f"/reports/sales_by_day_channel?from={today}&to={today}")
    assert page.status_code == 200
    assert f'<input type="date" name="from" value="{today}">' in page.text
    assert "<td>web</td>" in page.text and "$40.00" in page.text
    api = f"/api/v1/reports/sales_by_day_channel?from={today}&amp;to={today}&amp;grouping=day"
    chart = f'<img src="{api}&amp;format=svg"'
    assert chart in page.text and "<svg" not in page.text
    svg = client.get(f"/api/v1/reports/sales_by_day_channel?from={today}&to={today}&format=svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert client.get(f"/api/v1/reports/sales_by_day_channel?from={today}&format=xlsx").status_code == 200
    # a bad parameter is shown on the page, naming it
    bad = client.get("/reports/sales_by_day_channel?from=someday")
    assert bad.status_code == 200 and "from: must be a date" in bad.text
    # the dashboard: today against the same day last week, the 30-day chart, tiles linking to their reports
    dashboard = client.get("/dashboard").text
    assert f'<a href="/reports/sales_by_day_channel?from={today}&amp;to={today}">2</a>' in dashboard
    assert "the whole day" in dashboard and ">1</a>" in dashboard
    assert '<img src="/api/v1/reports/sales_by_day_channel?from=' in dashboard
    assert 'href="/reports/backorders_by_item"' in dashboard
    # an export asked for from the console runs in the background and is listed with its download
    refused = client.post("/exports", data={"csrf_token": "wrong", "kind": "orders"})
    assert refused.status_code == 403
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ExportRow)) == 0
    asked = client.post(
        "/exports",
        data={"csrf_token": csrf, "kind": "orders", "format": "xlsx", "channel": "web"},
        follow_redirects=False,
    )
    assert asked.status_code == 303
    deadline = time.monotonic() + 20
    while "Download</a>" not in (listing := client.get("/exports").text) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "channel=web" in listing and "Download</a>" in listing
    bad_export = client.post("/exports", data={"csrf_token": csrf, "kind": "inventory", "channel": "web"})
    assert bad_export.status_code == 422 and "filters.channel" in bad_export.text


def test_a_role_without_reports_sees_no_reports_screen_and_no_history(client: TestClient, admin_db):
    login(client, admin_db, role="agent")
    assert client.get("/reports").status_code == 403
    assert client.get("/exports").status_code == 403
    dashboard = client.get("/dashboard")
    assert dashboard.status_code == 200 and "Against last week" not in dashboard.text
    assert 'href="/reports"' not in dashboard.text


def test_the_reports_screen_lists_saved_reports_with_their_schedule(client: TestClient, admin_db):
    from ordersmith.reporting import service as reporting

    # given one scheduled report and one kept unscheduled
    reporting.save_report(
        admin_db,
        title="Monday backorders",
        report="backorders_by_age",
        parameters={},
        format="csv",
        frequency="weekly",
        weekday=0,
        hour=7,
        recipients=["buyer@shop.test"],
    )
    reporting.save_report(
        admin_db, title="Tax, this month", report="sales_tax", parameters={}, period="month_to_date"
    )
    login(client, admin_db, role="readonly")
    # when
    page = client.get("/reports")
    # then both are listed, the scheduled one with its day, hour and recipients
    assert page.status_code == 200
    assert "<td>Monday backorders</td>" in page.text
    assert "weekly at 07:00, Mondays" in page.text and "buyer@shop.test" in page.text
    assert "<td>Tax, this month</td>" in page.text and "not scheduled" in page.text


def test_a_manager_saves_a_report_with_its_schedule_from_its_page_and_a_bad_form_saves_nothing(
    client: TestClient, admin_db
):
    from ordersmith.reporting import service as reporting

    csrf = login(client, admin_db, role="manager")
    # given the report's page offers the form, carrying the parameters it was run with
    page = client.get("/reports/sales_by_day_channel?channel=web")
    assert page.status_code == 200 and 'action="/reports/sales_by_day_channel/save"' in page.text
    assert '<input type="hidden" name="param.channel" value="web">' in page.text
    form = {
        "csrf_token": csrf,
        "param.channel": "web",
        "title": "Web, last week",
        "period": "last_7_days",
        "format": "csv",
        "frequency": "weekly",
        "hour": "7",
        "weekday": "",
        "recipients": "buyer@shop.test, Boss@Shop.test",
    }
    # when the form is refused: a weekly report without its day, a wrong token, a role without the scope
    refused = client.post("/reports/sales_by_day_channel/save", data=form)
    assert refused.status_code == 422
    assert "weekday: a weekly report needs its day" in refused.text
    assert 'value="Web, last week"' in refused.text  # what was typed is kept
    assert (
        client.post("/reports/sales_by_day_channel/save", data={**form, "csrf_token": "x"}).status_code == 403
    )
    too_long = client.post(
        "/reports/sales_by_day_channel/save", data={**form, "weekday": "0", "title": "T" * 201}
    )
    assert too_long.status_code == 422 and "title: String should have at most 200 characters" in too_long.text
    # then nothing was saved
    assert reporting.list_saved_reports(admin_db) == []
    # when the form is complete
    saved = client.post(
        "/reports/sales_by_day_channel/save", data={**form, "weekday": "0"}, follow_redirects=False
    )
    # then it is saved as the API would save it, and listed
    assert saved.status_code == 303
    (found,) = reporting.list_saved_reports(admin_db)
    assert (found.title, found.parameters, found.period, found.format, found.frequency) == (
        "Web, last week",
        {"channel": "web"},
        "last_7_days",
        "csv",
        "weekly",
    )
    assert (found.hour, found.weekday, found.recipients) == (7, 0, ["buyer@shop.test", "boss@shop.test"])
    listing = client.get(saved.headers["location"])
    assert "Saved “Web, last week”." in listing.text and "weekly at 07:00, Mondays" in listing.text
    # and the same title again is refused, naming it, with nothing more saved
    again = client.post("/reports/sales_by_day_channel/save", data={**form, "weekday": "0"})
    assert again.status_code == 409 and len(reporting.list_saved_reports(admin_db)) == 1
    # a role without reports:schedule sees no form and cannot post it
    login(client, admin_db, role="readonly")
    assert "Save this report" not in client.get("/reports/sales_by_day_channel").text
    assert client.post("/reports/sales_by_day_channel/save", data=form).status_code == 403

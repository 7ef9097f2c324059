"""Campaigns, key codes and their results through the console, on SQLite and PostgreSQL: a marketer makes a campaign
with its first drop, adds a drop and a key code with its offer, edits both at the version read and sets a channel's
policy for unknown codes; the results page shows the table, its chart and the XLSX download; every bad form shows
the problem beside the field it names, answers its status and changes nothing; who may see and do what."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.marketing import service as marketing
from ordersmith.orders import service as orders
from ordersmith.platform.db import Database
from ordersmith.pricing import service as pricing
from tests.api.conftest import login
from tests.builders import channel, make_order_shop, order_request

TABLES = ("marketing_campaigns", "marketing_drops", "marketing_source_codes", "marketing_channel_policies")
CAMPAIGN = {
    "code": "fall26",
    "name": "Fall 2026 book",
    "kind": "catalog",
    "currency": "USD",
    "notes": "",
    "drop_code": "d1",
    "in_home_on": "2026-09-01",
    "quantity_mailed": "60000",
    "cost_per_piece": "0.62",
    "creative": "cover A",
}
CODE = {
    "code": "f26h1",
    "drop": "D1",
    "segment": "house 0-12m",
    "quantity_mailed": "25000",
    "price_list": "USD",
    "ends_on": "2027-01-31",
    "expected_response_pct": "3.5",
}


def written(db: Database) -> dict[str, int]:
    """Rows of marketing's tables and of the audit log: what a refused form must leave as it was."""
    with db.engine.connect() as conn:
        return {
            t: int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one())
            for t in (*TABLES, "audit_log")
        }


def shop(admin_db: Any) -> None:
    make_order_shop(admin_db)
    pricing.create_promotion(
        admin_db,
        promotion=pricing.PromotionInput(
            code="BEST10",
            name="10 % off",
            kind="percent_off_items",
            percent=Decimal(10),
            coupon_required=True,
        ),
    )


def field_error(page: str, form: str, name: str) -> str:
    """The reason the page gives beside input `name` of form `form` (marked aria-invalid)."""
    assert f'aria-describedby="{form}-{name}-error"' in page, (form, name)
    found = re.search(rf'<span class="field-error" id="{form}-{name}-error">([^<]*)</span>', page)
    assert found, (form, name)
    return found.group(1)


def test_a_marketer_makes_a_campaign_with_its_drops_and_a_key_code_with_its_offer_and_edits_them(
    client: TestClient, admin_db, db: Database
):
    # given a shop with a price list and a coupon-only promotion, and a marketer signed in
    shop(admin_db)
    csrf = login(client, admin_db, role="marketing")
    assert client.get("/campaigns").status_code == 200
    # when they make a campaign with its first drop
    made = client.post("/campaigns", data={"csrf_token": csrf, **CAMPAIGN}, follow_redirects=False)
    # then it is stored with the drop, and its page opens
    assert made.status_code == 303 and made.headers["location"].startswith("/campaigns/FALL26?")
    fall = marketing.get_campaign(admin_db, code="FALL26")
    assert (fall.name, fall.kind, fall.currency) == ("Fall 2026 book", "catalog", "USD")
    ((drop),) = fall.drops
    assert (drop.code, drop.in_home_on, drop.quantity_mailed, str(drop.cost_per_piece.amount), drop.creative) == (
        "D1", date(2026, 9, 1), 60000, "0.62", "cover A"
    )  # fmt: skip
    page = client.get(made.headers["location"])
    assert page.status_code == 200 and 'id="drop-D1"' in page.text and "campaign FALL26 made" in page.text
    # when they add a second drop and a key code offering the price list and the promotion
    second = client.post(
        "/campaigns/FALL26/drops",
        data={"csrf_token": csrf, "drop_code": "d2", "in_home_on": "2026-10-15", "quantity_mailed": "40000",
              "cost_per_piece": "0.58", "creative": "cover B"},
        follow_redirects=False,
    )  # fmt: skip
    code = client.post(
        "/campaigns/FALL26/codes",
        data={"csrf_token": csrf, **CODE, "promotions": ["BEST10"]},
        follow_redirects=False,
    )
    # then both are stored as the API would store them
    assert (second.status_code, code.status_code) == (303, 303), code.text
    assert [d.code for d in marketing.get_campaign(admin_db, code="FALL26").drops] == ["D1", "D2"]
    keyed = marketing.get_source_code(admin_db, code="F26H1")
    assert (keyed.drop, keyed.segment, keyed.quantity_mailed, keyed.price_list, keyed.promotions) == (
        "D1", "house 0-12m", 25000, "USD", ["BEST10"]
    )  # fmt: skip
    assert (keyed.starts_on, keyed.ends_on, keyed.expected_response_pct) == (
        date(2026, 9, 1), date(2027, 1, 31), Decimal("3.5")
    )  # fmt: skip
    campaign_page = client.get("/campaigns/FALL26").text
    row = campaign_page[campaign_page.index('<tr data-code="F26H1">') :].split("</tr>")[0]
    assert "house 0-12m" in row and "USD, BEST10" in row and "2027-01-31" in row
    assert "25,000 of 60,000 pieces keyed" in campaign_page
    # when the campaign is renamed and switched off, and the code extended to no end and revised
    renamed = client.post(
        "/campaigns/FALL26",
        data={"csrf_token": csrf, "version": str(fall.version), "name": "Fall book", "notes": "remailed"},
        follow_redirects=False,
    )
    revised = client.post(
        "/source-codes/F26H1",
        data={"csrf_token": csrf, "version": str(keyed.version), "ends_on": "", "active": "on",
              "expected_response_pct": "4"},
        follow_redirects=False,
    )  # fmt: skip
    # then both changed
    assert (renamed.status_code, revised.status_code) == (303, 303)
    changed = marketing.get_campaign(admin_db, code="FALL26")
    assert (changed.name, changed.notes, changed.active) == ("Fall book", "remailed", False)
    keyed = marketing.get_source_code(admin_db, code="F26H1")
    assert (keyed.ends_on, keyed.active, keyed.expected_response_pct) == (None, True, Decimal(4))
    # and the master list shows the code, its campaign and drop
    listed = client.get("/source-codes?campaign=fall26").text
    assert '<tr data-code="F26H1">' in listed and "FALL26 / D1" in listed
    # when the web channel is set to key unknown codes to it
    policy = client.post(
        "/source-code-policies",
        data={"csrf_token": csrf, "channel": "web", "on_unknown": "default", "default_code": "f26h1"},
        follow_redirects=False,
    )
    assert policy.status_code == 303
    assert [(p.channel, p.default_code) for p in marketing.list_channel_policies(admin_db)] == [
        ("web", "F26H1")
    ]
    assert '<tr data-channel="web">' in client.get("/source-codes").text


def test_a_campaigns_results_show_a_table_a_chart_and_an_xlsx_download(client: TestClient, admin_db):
    # given a key code and two orders keyed with it
    shop(admin_db)
    csrf = login(client, admin_db, role="marketing")
    client.post("/campaigns", data={"csrf_token": csrf, **CAMPAIGN})
    client.post(
        "/campaigns/FALL26/codes", data={"csrf_token": csrf, **CODE, "starts_on": "2020-01-01", "ends_on": ""}
    )
    for _ in range(2):
        orders.place_order(
            admin_db, channel=channel(admin_db), request=order_request(("MUG", 1), source_code="F26H1")
        )
    # when the results per key code are opened for the campaign
    page = client.get("/campaign-results?by=code&campaign=fall26")
    # then the table has the code's orders, and the chart and downloads are the API's
    assert page.status_code == 200
    row = page.text[page.text.index('<table id="results"') :].split("</tbody>")[0]
    assert "F26H1" in row and "house 0-12m" in row
    api = "/api/v1/reports/source-codes?by=code&amp;campaign=FALL26"
    assert f'<img src="{api}&amp;format=svg"' in page.text and f'href="{api}&amp;format=xlsx"' in page.text
    xlsx = client.get("/api/v1/reports/source-codes?by=code&campaign=FALL26&format=xlsx")
    chart = client.get("/api/v1/reports/source-codes?by=code&campaign=FALL26&format=svg")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert chart.status_code == 200 and chart.headers["content-type"].startswith("image/svg+xml")
    # and per drop and per campaign too; an unknown `by` shows the codes
    assert "Results per drop" in client.get("/campaign-results?by=drop&campaign=FALL26").text
    assert "Results per campaign" in client.get("/campaign-results?by=campaign").text
    assert "Results per key code" in client.get("/campaign-results?by=nonsense").text


def test_bad_forms_show_the_problem_beside_the_field_and_change_nothing(client: TestClient, admin_db, db):
    # given a campaign with one drop and a marketer signed in
    shop(admin_db)
    csrf = login(client, admin_db, role="marketing")
    client.post("/campaigns", data={"csrf_token": csrf, **CAMPAIGN})
    fall = marketing.get_campaign(admin_db, code="FALL26")
    before = written(db)
    # when a campaign's drop costs a fraction of a cent, its in-home date is not a date, or the code exists
    cent = client.post(
        "/campaigns", data={"csrf_token": csrf, **CAMPAIGN, "code": "x", "cost_per_piece": "0.625"}
    )
    day = client.post("/campaigns", data={"csrf_token": csrf, **CAMPAIGN, "code": "x", "in_home_on": "soon"})
    again = client.post("/campaigns", data={"csrf_token": csrf, **CAMPAIGN})
    # then each answers its status with the reason beside the field, what was typed kept
    assert (cent.status_code, day.status_code, again.status_code) == (422, 422, 409)
    assert "decimal places" in field_error(cent.text, "new-campaign", "cost_per_piece")
    assert field_error(day.text, "new-campaign", "in_home_on") and 'value="soon"' in day.text
    assert 'id="new-campaign-problem"' in again.text and "exists" in again.text
    # when a key code mails more than its drop has, offers an unknown price list, or ends before it starts
    base = {"csrf_token": csrf, **CODE}
    too_many = client.post("/campaigns/FALL26/codes", data=base | {"quantity_mailed": "60001"})
    no_list = client.post("/campaigns/FALL26/codes", data=base | {"price_list": "NOPE"})
    backwards = client.post("/campaigns/FALL26/codes", data=base | {"ends_on": "2026-08-01"})
    bad_pct = client.post("/campaigns/FALL26/codes", data=base | {"expected_response_pct": "101"})
    assert {r.status_code for r in (too_many, no_list, backwards, bad_pct)} == {422}
    assert "60000 piece(s) not yet coded" in field_error(too_many.text, "new-code", "quantity_mailed")
    assert "no price list" in field_error(no_list.text, "new-code", "price_list")
    assert field_error(backwards.text, "new-code", "ends_on")
    assert field_error(bad_pct.text, "new-code", "expected_response_pct")
    # when a drop is added twice, a campaign is saved at a stale version, a policy defaults to nothing
    twice = client.post(
        "/campaigns/FALL26/drops",
        data={"csrf_token": csrf, "drop_code": "D1", "in_home_on": "2026-10-01", "quantity_mailed": "1",
              "cost_per_piece": "0.50"},
    )  # fmt: skip
    stale = client.post(
        "/campaigns/FALL26",
        data={"csrf_token": csrf, "version": str(fall.version - 1), "name": "Late", "notes": ""},
    )
    no_default = client.post(
        "/source-code-policies", data={"csrf_token": csrf, "channel": "web", "on_unknown": "default"}
    )
    forged = client.post("/campaigns", data={**CAMPAIGN, "code": "y", "csrf_token": "forged"})
    assert (twice.status_code, stale.status_code, no_default.status_code, forged.status_code) == (
        422, 412, 422, 403
    )  # fmt: skip
    assert "has a drop D1 already" in field_error(twice.text, "new-drop", "drop_code")
    assert 'id="edit-campaign-problem"' in stale.text and 'value="Late"' in stale.text
    assert field_error(no_default.text, "policy", "default_code")
    # then nothing was written
    assert written(db) == before
    assert marketing.get_campaign(admin_db, code="FALL26").name == "Fall 2026 book"


def test_the_screens_are_for_who_reads_marketing_and_the_forms_for_who_writes_it(
    client: TestClient, admin_db, db
):
    shop(admin_db)
    login(client, admin_db, role="agent")
    for path in ("/campaigns", "/source-codes", "/campaign-results", "/extractions", "/mail-files"):
        assert client.get(path).status_code == 403, path
    client.cookies.clear()
    csrf = login(client, admin_db, role="manager")
    page = client.get("/campaigns")
    assert page.status_code == 200 and 'id="new-campaign"' not in page.text
    refused = client.post("/campaigns", data={"csrf_token": csrf, **CAMPAIGN})
    assert refused.status_code == 403 and written(db)["marketing_campaigns"] == 0


def test_the_marketing_home_leads_to_campaigns_codes_results_segments_pulls_mail_files_and_continuity(
    client: TestClient, admin_db
):
    # given a campaign and a marketer signed in
    shop(admin_db)
    csrf = login(client, admin_db, role="marketing")
    client.post("/campaigns", data={"csrf_token": csrf, **CAMPAIGN})
    # when they go home
    home = client.get("/")
    # then their own screens come first, in order, each with what it counts
    tiles = re.findall(r'data-href="([^"]+)"', home.text)
    assert tiles[:8] == ["/campaigns", "/source-codes", "/campaign-results", "/segments", "/extractions",
                         "/mail-files", "/continuity", "/marketing"]  # fmt: skip
    campaigns = home.text[home.text.index('data-href="/campaigns"') :].split("</li>")[0]
    assert '<span class="value">1</span> campaigns' in campaigns
    # and the other screens of the role follow
    assert {"/orders", "/customers", "/reports"} <= set(tiles[8:])

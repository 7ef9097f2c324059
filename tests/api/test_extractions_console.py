"""List pulls, mail files and matchback through the console, on SQLite and PostgreSQL: a marketer counts a segment's
funnel with its suppressions (an uploaded suppression file, one name per household, a 50/50 split) before anything
is stored, pulls it with the same file, downloads the mail file, records it as sent and runs matchback, reading
keyed and matched-back orders apart; bad forms show the problem beside the field and store nothing."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from decimal import Decimal

from fastapi.testclient import TestClient

from ordersmith.kernel.money import Money
from ordersmith.marketing import service as marketing
from ordersmith.orders import service as orders
from ordersmith.platform.db import Database
from tests.api.conftest import login
from tests.api.test_campaigns_console import field_error
from tests.api.test_marketing_lists_api import SEGMENT, house, rows
from tests.builders import ship_to

PULL = {
    "segment": "WEST",
    "seed": "3",
    "households": "on",
    "do_not_mail": "on",
    "cell-0-key_code": "F26T",
    "cell-0-percent": "50",
    "cell-1-key_code": "F26C",
    "cell-1-percent": "50",
}
SUPPRESSION = "name,line1,postal_code,country,email\n,,,,ann3@example.com\n"


def pulled(db: Database) -> tuple[int, int, int]:
    return (
        rows(db, "marketing_extractions"),
        rows(db, "marketing_extraction_names"),
        rows(db, "marketing_mail_files"),
    )


def funnel(page: str, table: str = "preview-funnel") -> dict[str, int]:
    """Each step's remaining count as the page shows it."""
    body = page[page.index(f'id="{table}"') :].split("</table>")[0]
    found = re.findall(
        r'<tr data-step="(\w+)">.*?<td class="num">[^<]*</td><td class="num">([\d,]+)</td>', body
    )
    return {step: int(count.replace(",", "")) for step, count in found}


def test_a_marketer_counts_the_funnel_pulls_downloads_records_and_matches_back(
    client: TestClient, admin_db, db: Database
):
    # given a house file (four in the West, one of them on the suppression file; one who said no to mail) and its
    # segment, and a marketer signed in
    numbers = house(admin_db)
    marketing.create_segment(admin_db, **{**SEGMENT, "currency": "USD"})
    csrf = login(client, admin_db, role="marketing")
    assert 'value="WEST"' in client.get("/extractions?segment=west").text
    # when the funnel is counted with the suppression file uploaded
    upload = {"suppression_file": ("dma.csv", SUPPRESSION.encode(), "text/csv")}
    counted = client.post(
        "/extractions", data={"csrf_token": csrf, **PULL, "action": "preview"}, files=upload
    )
    # then every step's count shows, the file rides along with the form, and nothing is stored
    assert counted.status_code == 200, counted.text
    assert funnel(counted.text) == {
        "selected": 5, "do_not_mail": 4, "deceased": 4, "undeliverable": 4, "no_address": 4,
        "suppression_file": 3, "household": 3,
    }  # fmt: skip
    assert 'id="suppression-kept"' in counted.text and "dma.csv" in counted.text
    assert pulled(db) == (0, 0, 0)
    # when the list is pulled with the file carried from the count
    carried = {"suppression_csv": SUPPRESSION, "suppression_name": "dma.csv"}
    made = client.post(
        "/extractions", data={"csrf_token": csrf, **PULL, **carried, "action": "pull"}, follow_redirects=False
    )
    # then the names are stored, the pull's page shows the same funnel, its cells and the downloads
    assert made.status_code == 303 and pulled(db) == (1, 3, 0)
    page = client.get(made.headers["location"])
    (pull,) = marketing.list_extractions(admin_db).items
    assert funnel(page.text, "funnel")["household"] == 3 and pull.names == 3
    assert f'href="/api/v1/extractions/{pull.id}/download?format=csv"' in page.text
    mail_file = client.get(f"/api/v1/extractions/{pull.id}/download?format=csv")
    names = list(csv.DictReader(io.StringIO(mail_file.text)))
    assert sorted(n["customer_number"] for n in names) == sorted(numbers[:3])
    assert {n["key_code"] for n in names} == {"F26T", "F26C"}
    # when it is recorded as the mail file sent, and an uncoded order from one of its names comes in
    recorded = client.post(
        "/mail-files",
        data={"csrf_token": csrf, "extraction": str(pull.id), "code": "fall-d1", "in_home_on": "2020-09-01",
              "window_days": "60", "currency": "USD"},
        follow_redirects=False,
    )  # fmt: skip
    assert recorded.status_code == 303 and recorded.headers["location"].startswith("/mail-files/FALL-D1")
    order = orders.HistoricalOrder(
        external_id="OLD-1",
        placed_at=datetime(2020, 9, 10, tzinfo=UTC),
        lines=[orders.HistoricalLine("TEE", 1, Money(Decimal("20.00"), "USD"))],
        ship_to=ship_to(),
        customer=numbers[0],
    )
    orders.import_order(admin_db, channel="web", order=order)
    matched = client.post("/mail-files/FALL-D1/matchback", data={"csrf_token": csrf}, follow_redirects=False)
    # then matchback credits it by its customer, and the results show it apart from keyed orders
    assert matched.status_code == 303
    result = client.get(matched.headers["location"])
    assert "1 matched by customer" in result.text
    mailed_to = next(n["key_code"] for n in names if n["customer_number"] == numbers[0])
    row = result.text[result.text.index(f'<tr data-key-code="{mailed_to}">') :].split("</tr>")[0]
    cells = re.findall(r'<td class="num">([^<]*)</td>', row)
    assert cells[1:5] == ["0", "$0.00", "1", "$20.00"]  # keyed orders and demand, matched orders and demand
    assert '<tr data-mail-file="FALL-D1">' in client.get("/mail-files").text


def test_a_mail_file_uploaded_as_csv_is_recorded_and_a_bad_row_is_named_by_its_line(
    client: TestClient, admin_db, db: Database
):
    house(admin_db)
    csrf = login(client, admin_db, role="marketing")
    header = "key_code,customer_number,name,line1,postal_code,country\n"
    good = header + "F26T,,Rented Name,5 Elm St,94105,US\nF26C,,Other Name,6 Elm St,94105,US\n"
    bad = header + "F26T,,Rented Name,5 Elm St,94105,US\nNOPE,,Other Name,6 Elm St,94105,US\n"
    form = {"csrf_token": csrf, "code": "rent-d1", "in_home_on": "2020-09-01", "window_days": "90"}
    # when a file with an unknown key code on its second row is uploaded, then a file that is not UTF-8
    refused = client.post(
        "/mail-files", data=form, files={"names_file": ("rent.csv", bad.encode(), "text/csv")}
    )
    latin = client.post(
        "/mail-files", data=form, files={"names_file": ("rent.csv", "Zoë".encode("latin-1"), "text/csv")}
    )
    none = client.post("/mail-files", data=form)
    # then each names the file input (the row by its line) and nothing is stored
    assert (refused.status_code, latin.status_code, none.status_code) == (422, 422, 422)
    assert field_error(refused.text, "upload", "names_file").startswith("line 3 (key_code)")
    assert "UTF-8" in field_error(latin.text, "upload", "names_file")
    assert field_error(none.text, "upload", "names_file")
    assert rows(db, "marketing_mail_files") == 0
    # when a good file is uploaded, then it is recorded with its names
    made = client.post(
        "/mail-files",
        data=form,
        files={"names_file": ("rent.csv", good.encode(), "text/csv")},
        follow_redirects=False,
    )
    assert made.status_code == 303 and marketing.get_mail_file(admin_db, code="RENT-D1").names == 2


def test_bad_pulls_show_the_problem_beside_the_field_and_store_nothing(client: TestClient, admin_db, db):
    # given the house file, its segment (it holds a customer who said no to mail) and a marketer
    house(admin_db)
    marketing.create_segment(admin_db, **{**SEGMENT, "currency": "USD"})
    csrf = login(client, admin_db, role="marketing")
    base = {"csrf_token": csrf, **PULL, "action": "pull"}
    # when a pull keeps who said no to mail, splits 50/40, names a code not in the master list, or sends a
    # suppression row with neither an e-mail nor an address
    keep = {k: v for k, v in base.items() if k != "do_not_mail"}
    uneven = client.post("/extractions", data=base | {"cell-1-percent": "40"})
    unknown = client.post("/extractions", data=base | {"cell-1-key_code": "NOPE"})
    kept = client.post("/extractions", data=keep)
    half = client.post(
        "/extractions", data=base, files={"suppression_file": ("x.csv", b"name,line1\nAnn,\n", "text/csv")}
    )
    no_segment = client.post("/extractions", data=base | {"segment": ""})
    # then each shows its reason beside the field it names, keeps what was typed, and stores nothing
    assert [r.status_code for r in (uneven, unknown, kept, half, no_segment)] == [422] * 5
    assert field_error(uneven.text, "pull", "cell-0-percent") and 'value="40"' in uneven.text
    assert "not a source code" in field_error(unknown.text, "pull", "cell-1-key_code")
    assert "said no to mail" in field_error(kept.text, "pull", "do_not_mail")
    assert field_error(half.text, "pull", "suppression_file")
    assert field_error(no_segment.text, "pull", "segment")
    assert pulled(db) == (0, 0, 0)
    # and a form without the session's token is refused before anything is read
    forged = client.post("/extractions", data=base | {"csrf_token": "forged"})
    assert forged.status_code == 403 and pulled(db) == (0, 0, 0)
    # and a manager reads pulls but may neither count nor pull
    client.cookies.clear()
    manager = login(client, admin_db, role="manager")
    page = client.get("/extractions")
    assert page.status_code == 200 and 'id="pull"' not in page.text
    assert client.post("/extractions", data=base | {"csrf_token": manager}).status_code == 403
    assert pulled(db) == (0, 0, 0)

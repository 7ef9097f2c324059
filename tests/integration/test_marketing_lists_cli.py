"""`ordersmith marketing segment | count | extract | mail-flags | import-mail-file | matchback` against real databases:
a segment from a rule file, a pull with a suppression file written as a mail file, recorded as sent and matched
back; a bad value is one line and a non-zero exit, and changes nothing."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from ordersmith.kernel.money import Money
from ordersmith.marketing.list_tables import ExtractionRow, MailFileRow, SegmentRow
from ordersmith.orders import service as orders
from ordersmith.platform.db import UnitOfWork
from tests.builders import make_order_shop, make_source_code, ship_to
from tests.integration.test_marketing_lists import add_customer, count
from tests.support.cli import run


def test_a_segment_is_pulled_written_sent_and_matched_back_from_the_command_line(
    db_url: str, uow: UnitOfWork, tmp_path: Path
):
    # given customers, two key codes, a rule file and a suppression file
    make_order_shop(uow)
    make_source_code(uow, "F26T")
    make_source_code(uow, "F26C")
    numbers = [add_customer(uow, f"Ann {n}", tag="CLI", line1=f"{n} Ash St") for n in range(10)]
    dead = add_customer(uow, "Dee Dead", tag="CLI", line1="99 Ash St")
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"field": "original_source_code", "op": "in", "value": ["CLI"]}))
    suppressions = tmp_path / "suppress.csv"
    suppressions.write_text("name,line1,postal_code,country,email\n,0 Ash St,94105,US,\n")
    mail_file = tmp_path / "fall.csv"
    # when the segment is made, counted, pulled 80/20 and written
    made = run(db_url, "marketing", "segment", "cli", "--rules", str(rules))
    counted = run(db_url, "marketing", "count", "--rules", str(rules))
    flagged = run(db_url, "marketing", "mail-flags", dead, "--deceased")
    pulled = run(
        db_url,
        "marketing",
        "extract",
        "--segment",
        "CLI",
        "--cell",
        "F26T:80",
        "--cell",
        "F26C:20",
        "--seed",
        "5",
        "--suppress-file",
        str(suppressions),
        "--output",
        str(mail_file),
    )
    # then each step says what it did, and the mail file has the key code on each of its nine names
    assert (made.returncode, counted.returncode, flagged.returncode, pulled.returncode) == (0, 0, 0, 0), (
        pulled
    )
    assert "segment CLI created: 11 customer(s)" in made.stdout
    assert "11 customer(s)" in counted.stdout
    assert "cell F26T (80 %): 7 name(s)" in pulled.stdout and "cell F26C (20 %): 2 name(s)" in pulled.stdout
    with mail_file.open() as handle:
        written = list(csv.DictReader(handle))
    assert sorted(r["customer_number"] for r in written) == sorted(numbers[1:])
    assert sorted({r["key_code"] for r in written}) == ["F26C", "F26T"]
    # when the file is recorded as sent and an uncoded order comes from one of its names
    sent = run(
        db_url, "marketing", "import-mail-file", "fall", "--in-home", "2020-09-01", "--file", str(mail_file)
    )
    order = orders.HistoricalOrder(
        external_id="OLD-1",
        placed_at=datetime(2020, 9, 3, tzinfo=UTC),
        lines=[orders.HistoricalLine("TEE", 1, Money(Decimal("20.00"), "USD"))],
        ship_to=ship_to(line1="3 Ash St"),
    )
    orders.import_order(uow, channel="web", order=order)
    matched = run(db_url, "marketing", "matchback", "fall")
    # then it is matched back by its address
    assert sent.returncode == 0 and "9 name(s)" in sent.stdout, sent
    assert (
        matched.returncode == 0
        and "1 uncoded order(s) looked at, 0 matched by customer, 1 by address"
        in (" ".join(matched.stdout.split()))
    )


def test_a_bad_pull_is_one_line_and_stores_nothing(db_url: str, uow: UnitOfWork, tmp_path: Path):
    make_source_code(uow, "F26T")
    bad_rules = tmp_path / "bad.json"
    bad_rules.write_text(json.dumps({"field": "hat_size", "op": "in", "value": ["7"]}))
    refused = run(db_url, "marketing", "segment", "hats", "--rules", str(bad_rules))
    assert refused.returncode == 2 and "unknown field 'hat_size'" in refused.stderr
    assert count(uow, SegmentRow) == 0
    no_segment = run(db_url, "marketing", "extract", "--segment", "NONE", "--cell", "F26T:100")
    bad_cells = run(db_url, "marketing", "extract", "--segment", "NONE", "--cell", "F26T:60")
    assert (no_segment.returncode, bad_cells.returncode) == (2, 2)
    assert "add up to" in bad_cells.stderr
    assert count(uow, ExtractionRow) == 0
    with uow:
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(SegmentRow)) == 0


def test_a_file_with_a_nul_is_one_line_and_stores_nothing(db_url: str, uow: UnitOfWork, tmp_path: Path):
    make_source_code(uow, "F26T")
    bad = tmp_path / "names.csv"
    bad.write_text("key_code,customer_number,line1,postal_code,country\nF26T,C-1\x00,1 Elm St,94105,US\n")
    refused = run(
        db_url, "marketing", "import-mail-file", "nul", "--in-home", "2020-09-01", "--file", str(bad)
    )
    assert refused.returncode == 2 and "NUL" in refused.stderr
    with uow:
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(MailFileRow)) == 0

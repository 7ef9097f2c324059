"""`ordersmith report` and `ordersmith export` as a user runs them (through the Typer app, in this process)."""

from __future__ import annotations

import csv
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from ordersmith.orders import service as orders
from ordersmith.platform.db import Actor, Database
from ordersmith.platform.mail import SmtpMailer
from ordersmith.platform.tables import AuditRow
from tests.builders import channel, make_order_shop, order_request
from tests.integration.test_scheduled_reports import Inbox, smtp  # noqa: F401 - the SMTP server fixture
from tests.support.cli import run


def _orders(db: Database) -> None:
    uow = db.unit_of_work(Actor.system("test"))
    make_order_shop(uow)
    at = datetime(2026, 3, 18, 10, tzinfo=UTC)
    orders.place_order(uow, channel=channel(uow, "web"), request=order_request(("TEE", 2), placed_at=at))


# One database is enough here: the commands are thin, and the reports and exports under them run on both databases
# in tests/integration/test_reports.py and test_exports.py.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_report_as_a_table_and_an_export_with_its_progress_bar(db: Database, db_url: str, tmp_path: Path):
    _orders(db)
    # a table on the terminal
    shown = run(db_url, "report", "sales_by_day_channel", "--from", "2026-03-18", "--to", "2026-03-18")
    assert shown.returncode == 0, shown.stderr
    assert "2026-03-18" in shown.stdout and "40.00" in shown.stdout
    # the daily facts computed for two days: the same table read from them; a bad date refused in one line
    refreshed = run(db_url, "reports", "refresh-facts", "--from", "2026-03-18", "--to", "2026-03-19")
    assert refreshed.returncode == 0, refreshed.stderr
    assert "daily facts of 2 day(s) computed: 2026-03-18 to 2026-03-19" in refreshed.stdout
    with db.session() as session:
        assert session.execute(sa.text("SELECT count(*) FROM report_fact_days")).scalar_one() == 2
    again = run(db_url, "report", "sales_by_day_channel", "--from", "2026-03-18", "--to", "2026-03-18")
    assert again.stdout == shown.stdout
    refused = run(db_url, "reports", "refresh-facts", "--from", "2026-13-01")
    assert (
        refused.returncode != 0
        and "--from" in refused.stderr
        and len(refused.stderr.strip().splitlines()) == 1
    )
    # an export, with its progress bar
    lines = tmp_path / "lines.csv"
    exported = run(db_url, "export", "order_lines", "--output", str(lines), "--channel", "web")
    assert exported.returncode == 0, exported.stderr
    assert "1 rows of order_lines written" in exported.stdout and "1/1" in exported.stdout
    with db.session() as session:
        audited = session.execute(sa.select(AuditRow.action, AuditRow.actor_label, AuditRow.after)).all()
    assert [(a, who, after["kind"], after["rows"]) for a, who, after in audited if a == "export.written"] == [
        ("export.written", "cli", "order_lines", 1)
    ]
    rows = list(csv.reader(lines.open()))
    assert rows[1][5] == "TEE" and stat.S_IMODE(os.stat(lines).st_mode) == 0o600


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_saved_report_is_added_listed_and_sent_from_the_command_line(
    db: Database,
    db_url: str,
    smtp: tuple[Inbox, SmtpMailer],  # noqa: F811 - the imported fixture
):
    inbox, mailer = smtp
    added = run(
        db_url,
        "saved-reports",
        "add",
        "Morning sales",
        "sales_by_day_channel",
        "--to",
        "boss@shop.test",
        "--frequency",
        "daily",
        "--hour",
        "6",
        "--period",
        "yesterday",
        "--format",
        "csv",
    )
    assert added.returncode == 0, added.stderr
    assert "saved Morning sales" in added.stdout
    listed = run(db_url, "saved-reports", "list")
    assert (
        "Morning sales" in listed.stdout
        and "daily 06:00" in listed.stdout
        and "boss@shop.test" in listed.stdout
    )
    # given it is due
    with db.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE saved_reports SET next_run_at = :at"), {"at": datetime(2026, 1, 1, tzinfo=UTC)}
        )
    # when the due reports are sent through the configured server
    sent = run(db_url, "saved-reports", "send-due", ORDERSMITH_SMTP_URL=f"smtp://{mailer.host}:{mailer.port}")
    assert sent.returncode == 0, sent.stderr
    assert "1 report(s) sent" in sent.stdout
    [(recipients, message)] = inbox.messages
    assert recipients == ["boss@shop.test"]
    assert message["Subject"] == "Morning sales — Ordersmith report"

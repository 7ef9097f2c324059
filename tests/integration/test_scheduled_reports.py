"""Saved reports e-mailed on a schedule, on SQLite and PostgreSQL, through the SMTP adapter to a real SMTP server
(aiosmtpd) started by the test on 127.0.0.1: the message, its attachment, the schedule moving on, failures retried,
and the due query reading the `next_run_at` index."""

from __future__ import annotations

import email
import email.policy
import io
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from ordersmith.kernel.clock import FixedClock
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.platform.db import Actor, Database
from ordersmith.platform.mail import SmtpMailer, smtp_mailer
from ordersmith.platform.settings import Settings
from ordersmith.reporting import saved as saved_reports
from ordersmith.reporting import service as reporting

ACTOR = Actor.system("scheduler-test", origin="pytest")
MONDAY_0530 = datetime(2026, 3, 2, 5, 30, tzinfo=UTC)  # a Monday


class Inbox:
    """What the SMTP server received: (envelope recipients, the parsed message)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, _class=EmailMessage, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, SmtpMailer]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = Settings(smtp_url=f"smtp://127.0.0.1:{port}", smtp_from="Reports <reports@shop.test>")  # type: ignore[arg-type]
        mailer = smtp_mailer(settings)
        assert isinstance(mailer, SmtpMailer)
        yield inbox, mailer
    finally:
        controller.stop()


def _attachments(message: EmailMessage) -> list[tuple[str, str, bytes]]:
    found = []
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        found.append((part.get_filename() or "", part.get_content_type(), payload))
    return found


def _import_yesterdays_order(db: Database, clock: FixedClock) -> None:
    """One order placed yesterday (through the historical-orders use case, so the report has a row)."""
    from ordersmith.catalog import service as catalog
    from ordersmith.orders import service as orders
    from tests.builders import make_channel

    uow = db.unit_of_work(ACTOR, clock=clock)
    make_channel(uow, code="web")
    catalog.create_item(uow, sku="MUG-1", name="Mug", divisions=["web"])
    from decimal import Decimal

    from ordersmith.kernel.money import Money

    orders.import_order(
        uow,
        channel="web",
        order=orders.HistoricalOrder(
            external_id="W-1",
            placed_at=clock.now() - timedelta(days=1),
            lines=[orders.HistoricalLine(sku="MUG-1", quantity=3, unit_price=Money(Decimal("10.00"), "USD"))],
            ship_to=orders.ShipToRequest(
                ref="main", name="Ann", line1="1 Main St", city="Bath", country="US", method="standard"
            ),
        ),
    )


def test_a_daily_report_is_mailed_at_its_hour_with_its_file_and_then_waits_for_the_next_day(
    db: Database, smtp: tuple[Inbox, SmtpMailer]
) -> None:
    inbox, mailer = smtp
    clock = FixedClock(MONDAY_0530)
    _import_yesterdays_order(db, clock)
    uow = db.unit_of_work(ACTOR, clock=clock)
    # given a report saved to go daily at 06:00 UTC, covering yesterday, as CSV
    saved = reporting.save_report(
        uow,
        title="Yesterday's sales",
        report="sales_by_day_channel",
        parameters={"grouping": "day"},
        period="yesterday",
        format="csv",
        frequency="daily",
        hour=6,
        recipients=["Boss@Shop.test", "ops@shop.test"],
    )
    assert saved.next_run_at == datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    # when the job runs before its hour: nothing goes
    assert reporting.send_due_reports(db, mailer=mailer, clock=clock) == 0
    assert inbox.messages == []
    # when it runs after its hour
    clock.advance(timedelta(minutes=31))
    assert reporting.send_due_reports(db, mailer=mailer, clock=clock) == 1
    # then one message went to both addresses, with yesterday's figures attached as CSV
    assert len(inbox.messages) == 1
    recipients, message = inbox.messages[0]
    assert sorted(recipients) == ["boss@shop.test", "ops@shop.test"]
    assert message["Subject"] == "Yesterday's sales — Ordersmith report"
    assert message["From"] == "Reports <reports@shop.test>"
    [(filename, media_type, content)] = _attachments(message)
    assert (filename, media_type) == ("sales_by_day_channel-2026-03-02.csv", "text/csv")
    lines = content.decode().splitlines()
    assert lines[0] == "period,channel,orders,units,cancelled_units,returned_units,currency,demand,net,aov"
    assert lines[1].startswith("2026-03-01,web,1,3")
    assert len(lines) == 2
    # and it waits for the next day: running again sends nothing
    found = reporting.get_saved_report(uow, saved_id=saved.id)
    assert (found.last_status, found.next_run_at) == ("sent", datetime(2026, 3, 3, 6, 0, tzinfo=UTC))
    clock.advance(timedelta(hours=2))
    assert reporting.send_due_reports(db, mailer=mailer, clock=clock) == 0
    assert len(inbox.messages) == 1


def test_a_weekly_xlsx_report_goes_on_its_day_and_a_failed_send_is_retried(
    db: Database, smtp: tuple[Inbox, SmtpMailer]
) -> None:
    inbox, mailer = smtp
    clock = FixedClock(MONDAY_0530)
    uow = db.unit_of_work(ACTOR, clock=clock)
    saved = reporting.save_report(
        uow,
        title="Backorders",
        report="backorders_by_age",
        parameters={},
        format="xlsx",
        frequency="weekly",
        weekday=2,
        hour=7,
        recipients=["buyer@shop.test"],
    )
    assert saved.next_run_at == datetime(2026, 3, 4, 7, 0, tzinfo=UTC)  # Wednesday
    # given the mail server is unreachable when it is due
    clock.advance(timedelta(days=2, hours=2))
    unreachable = SmtpMailer(host="127.0.0.1", port=_free_port(), sender="r@shop.test", timeout_s=2)
    assert reporting.send_due_reports(db, mailer=unreachable, clock=clock) == 0
    failed = reporting.get_saved_report(uow, saved_id=saved.id)
    assert failed.last_status == "failed"
    assert "did not take the message" in failed.last_error
    assert failed.next_run_at == clock.now() + timedelta(seconds=saved_reports.RETRY_S)
    # when it is tried again with the server back
    clock.advance(timedelta(seconds=saved_reports.RETRY_S))
    assert reporting.send_due_reports(db, mailer=mailer, clock=clock) == 1
    [(filename, media_type, content)] = _attachments(inbox.messages[0][1])
    assert filename == "backorders_by_age-2026-03-04.xlsx"
    assert media_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    header = [cell for cell in next(sheet.iter_rows(values_only=True)) if cell is not None]
    assert header[:3] == ["Age", "Units backordered", "Orders"]
    # and then it keeps its weekly day
    assert reporting.get_saved_report(uow, saved_id=saved.id).next_run_at == datetime(
        2026, 3, 11, 7, 0, tzinfo=UTC
    )


def test_with_no_mail_server_configured_a_due_report_records_why_it_was_not_sent(db: Database) -> None:
    clock = FixedClock(MONDAY_0530)
    uow = db.unit_of_work(ACTOR, clock=clock)
    saved = reporting.save_report(
        uow,
        title="AR",
        report="ar_aging",
        parameters={},
        frequency="daily",
        hour=5,
        recipients=["a@shop.test"],
    )
    clock.advance(timedelta(days=1))
    assert smtp_mailer(Settings(_env_file=None)) is None  # type: ignore[call-arg]
    assert reporting.send_due_reports(db, mailer=None, clock=clock) == 0
    found = reporting.get_saved_report(uow, saved_id=saved.id)
    assert (found.last_status, found.last_error) == (
        "failed",
        "no mail server is configured (ORDERSMITH_SMTP_URL or ORDERSMITH_SMTP_HOST)",
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"report": "nope"}, "report"),
        ({"parameters": {"colour": "red"}}, "colour"),
        ({"frequency": "weekly"}, "weekday"),
        ({"recipients": []}, "recipients"),
        ({"recipients": ["not an address"]}, "recipients.0"),
        ({"period": "yesterday", "parameters": {"from": "2026-01-01"}}, "period"),
        ({"period": "yesterday", "report": "backorders_by_age"}, "period"),
    ],
)
def test_a_bad_saved_report_is_refused_naming_the_field_and_nothing_is_saved(
    db: Database, fields: dict[str, Any], field: str
) -> None:
    uow = db.unit_of_work(ACTOR)
    wanted: dict[str, Any] = {
        "title": "T",
        "report": "sales_by_day_channel",
        "parameters": {},
        "frequency": "daily",
        "recipients": ["a@shop.test"],
    } | fields
    with pytest.raises(ValidationFailed) as refused:
        reporting.save_report(uow, **wanted)
    assert refused.value.errors[0].field == field
    assert reporting.list_saved_reports(uow) == []


def test_the_due_query_reads_the_next_run_index_not_the_table(db: Database) -> None:
    query = saved_reports.due_query(MONDAY_0530)
    sql = str(query.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
    with db.engine.connect() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(
                sa.text("SET enable_seqscan = off")
            )  # an empty table: show the plan the index allows
            plan = conn.exec_driver_sql(f"EXPLAIN {sql}").scalars().all()
        else:
            plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
    text = " ".join(str(line) for line in plan)
    assert "ix_saved_reports_next_run_at" in text, text

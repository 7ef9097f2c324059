"""Saved and scheduled reports: a report of the catalogue kept with its parameters, period and format, e-mailed
daily or weekly at an hour (UTC) to the addresses it names, by a periodic job through the SMTP adapter.

Invariants: the due query reads `saved_reports` by its `next_run_at` index only (never its history); a run is
claimed by moving `next_run_at` on in its own short transaction before anything is built, so two workers never
send the same run; the report is built on the reports database (the replica when one is set) and the mail is sent
with no transaction open. A run that fails to send is tried again after RETRY_S, then keeps its schedule.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ordersmith.kernel.clock import Clock, system_clock
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.platform import jobs
from ordersmith.platform.db import Actor, Database, UnitOfWork, use_case
from ordersmith.platform.mail import Attachment, Mailer, MailFailed
from ordersmith.reporting import render, rules
from ordersmith.reporting.catalogue import CATALOGUE
from ordersmith.reporting.tables import SavedReportRow

JOB = "reporting.send_due"
RETRY_S = 900
MAX_RECIPIENTS = 20
MEDIA_TYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@dataclass(frozen=True)
class SavedReport:
    id: uuid.UUID
    title: str
    report: str
    parameters: dict[str, str]
    period: str
    format: str
    frequency: str
    hour: int
    weekday: int | None
    recipients: list[str]
    next_run_at: datetime | None
    last_run_at: datetime | None
    last_status: str
    last_error: str
    created_by: str
    created_at: datetime


def _saved(row: SavedReportRow) -> SavedReport:
    return SavedReport(**{name: getattr(row, name) for name in SavedReport.__dataclass_fields__})


def _check(
    uow: UnitOfWork,
    *,
    report: str,
    parameters: Mapping[str, str],
    period: str,
    format: str,
    frequency: str,
    hour: int,
    weekday: int | None,
    recipients: Sequence[str],
) -> None:
    found = CATALOGUE.get(report)
    if found is None:
        raise ValidationFailed.on("report", f"no report named {report!r}")
    if period not in rules.PERIODS:
        raise ValidationFailed.on(
            "period", f"must be one of {', '.join(p for p in rules.PERIODS if p)} or blank"
        )
    if period and ({"from", "to"} & {k for k, v in parameters.items() if v}):
        raise ValidationFailed.on("period", "a period replaces from and to: give one or the other")
    if period and "from" not in {p.name for p in found.spec.parameters}:
        raise ValidationFailed.on("period", f"{report} takes no date range")
    rules.parse_parameters(found.spec, parameters, today=uow.now().date())  # names a bad parameter
    if format not in rules.SAVED_FORMATS:
        raise ValidationFailed.on("format", f"must be one of {', '.join(rules.SAVED_FORMATS)}")
    if frequency not in rules.FREQUENCIES:
        raise ValidationFailed.on("frequency", f"must be one of {', '.join(rules.FREQUENCIES)}")
    if not 0 <= hour <= 23:
        raise ValidationFailed.on("hour", "must be between 0 and 23 (UTC)")
    if frequency == "weekly" and (weekday is None or not 0 <= weekday <= 6):
        raise ValidationFailed.on("weekday", "a weekly report needs its day: 0 (Monday) to 6 (Sunday)")
    if frequency != "none" and not recipients:
        raise ValidationFailed.on("recipients", "a scheduled report needs at least one address")
    if len(recipients) > MAX_RECIPIENTS:
        raise ValidationFailed.on("recipients", f"at most {MAX_RECIPIENTS} addresses")
    for n, address in enumerate(recipients):
        local, _, domain = address.partition("@")
        if not local or "." not in domain or any(c.isspace() or c in ",;<>" for c in address):
            raise ValidationFailed.on(f"recipients.{n}", f"{address!r} is not an e-mail address")


@use_case
def save_report(
    uow: UnitOfWork,
    *,
    title: str,
    report: str,
    parameters: Mapping[str, str],
    period: str = "",
    format: str = "xlsx",
    frequency: str = "none",
    hour: int = 6,
    weekday: int | None = None,
    recipients: Sequence[str] = (),
) -> SavedReport:
    """Save a report with its parameters (and a period worked out on the day it runs: yesterday, last_7_days …),
    optionally e-mailed daily or weekly at `hour` (UTC) as `format` to `recipients`.

    Raises:
        ValidationFailed: an unknown report, parameter or period, a bad schedule or address (naming the field).
        AlreadyExists: the title is taken.
    """
    given = {k: v.strip() for k, v in parameters.items() if v is not None and v.strip()}
    addresses = [a.strip().lower() for a in recipients if a.strip()]
    _check(
        uow,
        report=report,
        parameters=given,
        period=period,
        format=format,
        frequency=frequency,
        hour=hour,
        weekday=weekday,
        recipients=addresses,
    )
    now = uow.now()
    row = SavedReportRow(
        id=new_id(),
        title=title.strip(),
        report=report,
        parameters=given,
        period=period,
        format=format,
        frequency=frequency,
        hour=hour,
        weekday=weekday if frequency == "weekly" else None,
        recipients=addresses,
        next_run_at=rules.next_run_at(now, frequency=frequency, hour=hour, weekday=weekday),
        last_run_at=None,
        last_status="",
        last_error="",
        created_by=uow.actor.label,
        created_at=now,
        version=1,
    )
    uow.insert_unique(SavedReportRow, row, f"a saved report is called {row.title!r}")
    uow.audit(
        "saved_report.created",
        object_type="saved_report",
        object_id=str(row.id),
        after={"title": row.title, "report": report, "frequency": frequency, "recipients": addresses},
    )
    return _saved(row)


@use_case(readonly=True)
def list_saved_reports(uow: UnitOfWork) -> list[SavedReport]:
    """Every saved report, by title (a short list: one row per report someone saved)."""
    return [_saved(r) for r in uow.session.scalars(sa.select(SavedReportRow).order_by(SavedReportRow.title))]


@use_case(readonly=True)
def get_saved_report(uow: UnitOfWork, *, saved_id: uuid.UUID) -> SavedReport:
    row = uow.session.get(SavedReportRow, saved_id)
    if row is None:
        raise NotFound("no such saved report")
    return _saved(row)


@use_case
def delete_saved_report(uow: UnitOfWork, *, saved_id: uuid.UUID) -> None:
    """Delete a saved report (and so its schedule). Raises NotFound."""
    row = uow.session.get(SavedReportRow, saved_id)
    if row is None:
        raise NotFound("no such saved report")
    uow.audit(
        "saved_report.deleted",
        object_type="saved_report",
        object_id=str(saved_id),
        before={"title": row.title, "report": row.report, "recipients": row.recipients},
    )
    uow.session.delete(row)


# --- delivering what is due ------------------------------------------------------------------------------------


def due_query(now: datetime) -> sa.Select[tuple[SavedReportRow]]:
    """The earliest saved report due at `now`: a range read of the `next_run_at` index (unscheduled ones are NULL
    there and never read)."""
    return (
        sa.select(SavedReportRow)
        .where(SavedReportRow.next_run_at <= now)
        .order_by(SavedReportRow.next_run_at)
        .limit(1)
    )


@use_case
def _claim_due(uow: UnitOfWork) -> SavedReport | None:
    """The earliest due saved report, its next run moved on in this transaction (so no one else sends this run)."""
    now = uow.now()
    row = uow.session.scalar(due_query(now).with_for_update(skip_locked=True))
    if row is None:
        return None
    row.next_run_at = rules.next_run_at(now, frequency=row.frequency, hour=row.hour, weekday=row.weekday)
    row.last_run_at = now
    row.version += 1
    return _saved(row)


@use_case
def _record(uow: UnitOfWork, *, saved_id: uuid.UUID, error: str | None) -> None:
    row = uow.session.get(SavedReportRow, saved_id)
    if row is None:
        return  # deleted meanwhile
    row.last_status, row.last_error = ("sent", "") if error is None else ("failed", error[:500])
    if error is not None and row.next_run_at is not None:
        row.next_run_at = min(row.next_run_at, uow.now() + timedelta(seconds=RETRY_S))
    uow.audit(
        "saved_report.sent" if error is None else "saved_report.failed",
        object_type="saved_report",
        object_id=str(saved_id),
        after={"recipients": row.recipients, "error": error or ""},
    )


def build(db: Database, saved: SavedReport, *, clock: Clock = system_clock) -> tuple[Attachment, int]:
    """The saved report run now, as its file (on the reports database) and its row count."""
    from ordersmith.reporting.service import run_report

    uow = db.for_reports.unit_of_work(Actor.system("reports:schedule"), clock=clock)
    parameters: dict[str, str | None] = dict(saved.parameters)
    span = rules.period_range(saved.period, uow.now().date())
    if span is not None:
        parameters["from"], parameters["to"] = span[0].isoformat(), span[1].isoformat()
    result = run_report(uow, name=saved.report, parameters=parameters)
    content = render.to_xlsx(result) if saved.format == "xlsx" else "".join(render.to_csv(result)).encode()
    stamp = result.generated_at.strftime("%Y-%m-%d")
    return Attachment(f"{saved.report}-{stamp}.{saved.format}", content, MEDIA_TYPES[saved.format]), len(
        result.rows
    )


def _message(saved: SavedReport, rows: int, parameters: Mapping[str, Any]) -> str:
    shown = ", ".join(f"{k}={v}" for k, v in sorted(parameters.items())) or "the report's defaults"
    period = f"; period {saved.period.replace('_', ' ')}" if saved.period else ""
    return (
        f"{saved.title}: the {saved.report.replace('_', ' ')} report ({rows} row(s)), attached as "
        f"{saved.format.upper()}.\nParameters: {shown}{period}.\n\nSent by Ordersmith "
        f"({saved.frequency} at {saved.hour:02d}:00 UTC); delete the saved report to stop it.\n"
    )


def send_due_reports(
    db: Database, *, mailer: Mailer | None, limit: int = 50, clock: Clock = system_clock
) -> int:
    """Build and e-mail every saved report that is due (at most `limit`); returns how many were sent. A report that
    cannot be built or sent records why and is tried again after RETRY_S."""
    uow = db.unit_of_work(Actor.system("reports:schedule"), clock=clock)
    sent = 0
    for _ in range(limit):
        saved = _claim_due(uow)
        if saved is None:
            break
        error = None
        try:
            if mailer is None:
                raise MailFailed("no mail server is configured (ORDERSMITH_SMTP_URL or ORDERSMITH_SMTP_HOST)")
            attachment, rows = build(db, saved, clock=clock)
            mailer.send(
                to=saved.recipients,
                subject=f"{saved.title} — Ordersmith report",
                text=_message(saved, rows, saved.parameters),
                attachments=[attachment],
            )
            sent += 1
        except (MailFailed, ValidationFailed, NotFound) as exc:
            error = str(exc) if isinstance(exc, MailFailed) else exc.detail
        _record(uow, saved_id=saved.id, error=error)
    return sent


def register(mailer: Mailer | None) -> None:
    """The periodic job that sends due reports through `mailer` (once a minute, across all workers)."""
    jobs.register(JOB, lambda uow, payload: _send_job(uow, mailer))
    jobs.schedule("send-due-reports", kind=JOB, every_s=60)


def _send_job(uow: UnitOfWork, mailer: Mailer | None) -> None:
    send_due_reports(uow.db, mailer=mailer)

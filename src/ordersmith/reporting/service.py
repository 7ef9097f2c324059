"""Reporting's use cases: the catalogue, and running one report into typed rows.

A report runs as one read-only unit of work: its one query aggregates in the database, and the rows that come back
(one per group) get their types here: money columns become `Money` in the row's currency, counts `int`, days `date`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from ordersmith.kernel.errors import NotFound
from ordersmith.kernel.money import Money
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.mail import Mailer
from ordersmith.reporting import facts, saved
from ordersmith.reporting.catalogue import CATALOGUE, QueryContext, Report, rfm
from ordersmith.reporting.facts import Refreshed, close_days, compute_days, refresh_facts
from ordersmith.reporting.rules import Column, ReportResult, ReportSpec, parse_parameters
from ordersmith.reporting.saved import (
    SavedReport,
    delete_saved_report,
    get_saved_report,
    list_saved_reports,
    save_report,
    send_due_reports,
)

__all__ = [
    "Refreshed",
    "SavedReport",
    "close_days",
    "compute_days",
    "customer_rfm",
    "delete_saved_report",
    "get_report",
    "get_saved_report",
    "list_reports",
    "list_saved_reports",
    "refresh_facts",
    "register",
    "run_report",
    "save_report",
    "send_due_reports",
]


def register(mailer: Mailer | None) -> None:
    """Reporting's background work: due saved reports mailed through `mailer`, daily facts kept (idempotent)."""
    saved.register(mailer)
    facts.register()


def list_reports() -> list[ReportSpec]:
    """Every report of the catalogue, in catalogue order."""
    return [report.spec for report in CATALOGUE.values()]


def get_report(name: str) -> ReportSpec:
    """Raises:
    NotFound: no report of that name."""
    return _report(name).spec


def _report(name: str) -> Report:
    report = CATALOGUE.get(name)
    if report is None:
        raise NotFound(f"no report named {name!r}", name=name)
    return report


def _converter(column: Column) -> Callable[[Mapping[str, Any]], Any]:
    """How a column's value is read from a row: chosen once per report run, not per value (a report of thousands
    of rows spends most of its Python time here)."""
    name = column.name
    if column.kind == "int":
        return lambda row: None if (value := row.get(name)) is None else int(value)
    if column.kind == "money":
        assert column.currency_column is not None
        currency_column = column.currency_column

        made: dict[tuple[Any, str], Money] = {}  # this run's amounts: reports repeat zeros and round figures

        def money(row: Mapping[str, Any]) -> Money | None:
            value, currency = row.get(name), row.get(currency_column)
            if value is None or not currency:
                return None
            found = made.get((value, currency))
            if found is None:
                found = made[value, currency] = Money.from_minor(int(value), currency)
            return found

        return money
    if column.kind == "date":
        return lambda row: None if (value := row.get(name)) is None else _date(value)
    if column.kind == "percent":
        return lambda row: (
            None
            if (value := row.get(name)) is None
            else value
            if isinstance(value, Decimal)
            else Decimal(str(value))
        )
    return lambda row: None if (value := row.get(name)) is None else str(value)


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


@use_case(readonly=True)
def run_report(uow: UnitOfWork, *, name: str, parameters: Mapping[str, str | None]) -> ReportResult:
    """Run report `name` with the query's raw `parameters` (strings, as a URL or a form gives them).

    Raises:
        NotFound: no report of that name.
        ValidationFailed: naming the parameter that is unknown or bad (nothing runs).
    """
    report = _report(name)
    now = uow.now()
    values = parse_parameters(report.spec, parameters, today=now.date())
    stored = facts.stored_days(uow, values["from"], values["to"]) if report.daily else ()
    query = report.query(values, QueryContext(dialect=uow.dialect, now=now, stored=stored))
    if uow.dialect == "postgresql":
        # A report's plan is costed high (JSON arrays of ship-tos are estimated at 100 elements), so PostgreSQL
        # would JIT-compile it: about a second spent before the first row, more than the query itself takes.
        uow.session.execute(sa.text("SET LOCAL jit = off"))
    converters = [(c.name, _converter(c)) for c in report.spec.columns]
    result = uow.session.execute(query)
    keys, finish = list(result.keys()), report.finish
    rows: list[dict[str, Any]] = []
    for raw in result.all():
        row = dict(zip(keys, raw, strict=True))
        if finish is not None:
            row = finish(row, values)
        rows.append({name: convert(row) for name, convert in converters})
    return ReportResult(
        spec=report.spec, parameters=values, rows=rows, generated_at=now, replica_lag_s=_lag(uow)
    )


@use_case(readonly=True)
def customer_rfm(uow: UnitOfWork, *, customer_id: uuid.UUID, currency: str = "USD") -> rfm.CustomerRfm | None:
    """One customer's RFM scores in `currency` as `rfm_customers` lists them today: marketing's stored scores, read
    by primary key (a page view never scores anyone); None when they have no scored orders in `currency`."""
    found = uow.execute_core(rfm.customer_query(customer_id, currency)).first()
    if found is None:
        return None
    return rfm.CustomerRfm(
        int(found.recency_score),
        int(found.frequency_score),
        int(found.monetary_score),
        found.last_order_at,
        int(found.orders),
    )


def _lag(uow: UnitOfWork) -> Decimal | None:
    """How far a PostgreSQL standby's replay is behind (0 when it has replayed everything it received); None when
    the report did not read a replica."""
    if not uow.db.is_replica or uow.dialect != "postgresql":
        return None
    lag = uow.session.scalar(
        sa.text(
            "SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
            "ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END"
        )
    )
    return None if lag is None else Decimal(str(lag)).quantize(Decimal("0.1"))

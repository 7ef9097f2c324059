"""The report catalogue: every report by name, each a spec (parameters, typed columns, chart) and one SQLAlchemy
Core query that aggregates in the database. Rows come back already grouped; `finish` only derives per-row ratios
(average order value, rates) from a row's own sums."""

from __future__ import annotations

from ordersmith.reporting.catalogue import marketing, money, rfm, sales, stock
from ordersmith.reporting.catalogue._base import QueryContext, Report

CATALOGUE: dict[str, Report] = {
    r.spec.name: r for r in (*sales.REPORTS, *stock.REPORTS, *money.REPORTS, *marketing.REPORTS, *rfm.REPORTS)
}

__all__ = ["CATALOGUE", "QueryContext", "Report"]

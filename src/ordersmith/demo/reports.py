"""Demo data: the sales reports' daily facts (ADR 0055) for every day of the demo's orders before today, as
`ordersmith reports refresh-facts` computes them, so a year's report reads them from the first page view."""

from __future__ import annotations

from ordersmith.demo._framework import DemoReport, loader
from ordersmith.platform.db import Actor, Database
from ordersmith.platform.settings import Settings
from ordersmith.reporting import service as reporting


@loader("reports: the daily facts of every day before today", stage=80)
def _daily_facts(db: Database, settings: Settings, report: DemoReport) -> None:
    """The demo's orders were written with no relay running; recomputing a day gives the same rows again, so a
    second load changes nothing."""
    done = reporting.refresh_facts(db.unit_of_work(Actor.system("demo")))
    if done.first is not None:
        report.say(f"daily facts of {done.days} days, {done.first} to {done.last}")

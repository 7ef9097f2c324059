"""The demo-data framework: ordered, idempotent loaders that each context registers.

`ordersmith demo load` runs every loader in order; each one adds only what is missing, so running it twice
changes nothing, and a load that was killed part-way continues where it stopped. A loader makes that true in one
of three ways: it checks each thing it makes by its key (users, channels, vendors), it makes everything in one
transaction (price lists, purchase orders), or it counts the units of work it finished in a progress row written in
each unit's own transaction (`started` / `finished`: customers by batch, orders one by one). Credentials are written
as they are created. It refuses to run in production.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ordersmith.kernel.errors import Forbidden
from ordersmith.platform import numbers
from ordersmith.platform.db import Database, UnitOfWork, use_case
from ordersmith.platform.files import append_private
from ordersmith.platform.settings import Settings

DEMO_DOMAIN = "demo.ordersmith.dev"


@dataclass
class DemoReport:
    """What a load created, to show the operator (passwords and keys are shown only when created)."""

    lines: list[str] = field(default_factory=list)
    credentials: list[str] = field(default_factory=list)
    credentials_file: Path | None = None

    def say(self, line: str) -> None:
        self.lines.append(line)

    def credential(self, line: str) -> None:
        """Keep a new password or key, written to the credentials file at once: a load killed a moment later must
        not lose a secret that exists only in clear here."""
        self.credentials.append(line)
        if self.credentials_file is not None:
            append_private(self.credentials_file, line + "\n")


def _series(step: str) -> str:
    return f"demo:{step}"


@use_case(readonly=True)
def progress(uow: UnitOfWork, *, step: str) -> int | None:
    """How many units of `step` earlier loads finished, or None when no load has started it (the step's progress
    row does not exist)."""
    value = numbers.current_number(uow, _series(step))
    return None if value == 0 else value - 1


@use_case
def started(uow: UnitOfWork, *, step: str) -> None:
    """Record that `step` started, with nothing finished yet (once: call it only when `progress` is None)."""
    numbers.next_number(uow, _series(step))


@use_case
def finished(uow: UnitOfWork, *, step: str) -> int:
    """Count one more unit of `step` as finished; inside a unit's own use case, it commits with the unit, so a
    unit counted is a unit done. Returns how many are finished now."""
    done = numbers.next_number(uow, _series(step)) - 1
    shown = _shown.get()
    if shown is not None:
        shown.unit(done)
    return done


class Progress(Protocol):
    """Who watches a load: told when each loader starts and as a counting loader finishes its units."""

    def step(self, number: int, of: int, name: str, units: int | None) -> None:
        """Loader `number` (from 1) of `of` starts; `units` is how many units it counts in all (None: it does not
        count them)."""

    def unit(self, done: int) -> None:
        """The running loader has finished `done` units in all (those of earlier, interrupted loads included)."""


_shown: ContextVar[Progress | None] = ContextVar("demo_progress", default=None)

Loader = Callable[[Database, Settings, DemoReport], None]
Units = Callable[[Settings], int]
_loaders: list[tuple[int, str, Loader, Units | None]] = []


def loader(name: str, *, stage: int, units: Units | None = None) -> Callable[[Loader], Loader]:
    """Register a demo loader; loaders run by stage (platform 10, catalog 20, purchasing 30 …), then in the
    order they were registered. A loader that counts its units with `finished` says how many it has in all
    (`units`, from the settings), so a progress bar can show how far it is."""

    def register(fn: Loader) -> Loader:
        _loaders.append((stage, name, fn, units))
        return fn

    return register


def load(
    db: Database,
    settings: Settings,
    credentials_file: Path | None = None,
    *,
    up_to_stage: int | None = None,
    progress: Progress | None = None,
) -> DemoReport:
    """Run every demo loader in order (only those up to `up_to_stage` when given); write any new credentials to
    `credentials_file` (mode 0600); tell `progress`, when given, how far the load is."""
    if settings.is_production:
        raise Forbidden("demo data is never loaded in production")
    report = DemoReport(credentials_file=credentials_file)
    steps = [entry for entry in sorted(_loaders, key=lambda entry: entry[0])
             if up_to_stage is None or entry[0] <= up_to_stage]  # fmt: skip
    token = _shown.set(progress)
    try:
        for number, (_stage, name, fn, units) in enumerate(steps, start=1):
            if progress is not None:
                progress.step(number, len(steps), name, units(settings) if units else None)
            before = len(report.lines)
            fn(db, settings, report)
            if len(report.lines) == before:
                report.say(f"{name}: already there")
    finally:
        _shown.reset(token)
    return report

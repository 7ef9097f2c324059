"""What every `ordersmith` sub-command shares: the Typer apps, one-line failures, settings and the database."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Collection, Iterator
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import typer
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from ordersmith.kernel.errors import OrdersmithError, ValidationFailed
from ordersmith.platform import secrets
from ordersmith.platform.db import Actor, Database
from ordersmith.platform.settings import ProductionMisconfigured, Settings, get_settings

app = typer.Typer(help="Ordersmith order management.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Console users.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys for integrations.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)
inventory_app = typer.Typer(help="Locations, stock and the ledger.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="api-keys")
app.add_typer(demo_app, name="demo")
app.add_typer(inventory_app, name="inventory")

out = Console()
F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def command(fn: F) -> F:
    """Turn expected failures into one line on stderr and a non-zero exit."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except OrdersmithError as exc:
            fail(exc.detail, 2 if exc.status in (400, 404, 409, 412, 422) else 1)
        except (ProductionMisconfigured, ValueError) as exc:
            fail(str(exc), 2)
        except OSError as exc:
            fail(str(exc), 1)

    return wrapper  # type: ignore[return-value]


def _settings() -> Settings:
    try:
        return get_settings()
    except ProductionMisconfigured as exc:
        fail(str(exc), 2)
        raise  # unreachable


def _db(settings: Settings) -> Database:
    from ordersmith.channels.service import setup_channels
    from ordersmith.finance.service import setup_ledgers
    from ordersmith.fulfillment.service import setup_fulfillment
    from ordersmith.payments.service import setup_payments

    secrets.use_argon2_cost(settings.argon2_cost)
    db = Database(settings.database_url, pool_size=2, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    db.use_replica(settings.reports_database_url, pool_size=2)
    if clock := settings.test_clock():  # the same clock as `serve` (tests only; refused in production)
        db.set_clock(clock)
    setup_payments(db, settings)  # cancellations and shipments reach the gateway through payments
    setup_fulfillment(db, settings)  # labels and tracking reach the carriers
    setup_channels(db, settings)  # connectors' credentials unseal
    setup_ledgers(db, settings)  # API exports push to their accounting packages (the worker runs the pushes)
    return db


def _cli_actor() -> Actor:
    return Actor.system("cli", origin="cli")


_LONGEST_WORD = 30  # a "word" longer than this (a URL, a hash) may fold rather than widen its column
_NARROWEST = 8  # when even whole words do not fit, the widest columns fold theirs, down to this


class _FittedTable(Table):
    """A rich table that shares the terminal's width out the way a reader would: every column at least as wide as
    its longest word, the widest columns giving way first, so values wrap at their spaces instead of being cut
    (rich on its own shrinks every column alike, breaking short words mid-way and ending others in an ellipsis)."""

    def __init__(self, *headers: str, numeric: Collection[str]) -> None:
        super().__init__(box=None, pad_edge=False, padding=(0, 1), header_style="bold")
        self._texts: list[list[str]] = [[header] for header in headers]
        for header in headers:
            self.add_column(header, overflow="fold", justify="right" if header in numeric else "left")

    def add_row(self, *values: Any, **kwargs: Any) -> None:
        for texts, value in zip(self._texts, values, strict=False):
            texts.append(str(value))
        super().add_row(*values, **kwargs)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        natural = [max(cell_len(line) for text in texts for line in text.splitlines() or [""])
                   for texts in self._texts]  # fmt: skip
        shortest = [min(n, max((cell_len(w) for text in texts for w in text.split()), default=1), _LONGEST_WORD)
                    for n, texts in zip(natural, self._texts, strict=True)]  # fmt: skip
        widths = list(natural)
        room = options.max_width - 2 * (len(widths) - 1)  # one space of padding each side between columns
        while sum(widths) > room:
            wider = [i for i, width in enumerate(widths) if width > shortest[i]]
            if not wider:  # even the longest words do not fit: the widest column folds them, nothing is cut
                wider = [i for i, width in enumerate(widths) if width > _NARROWEST]
                if not wider:
                    break
            widest = max(wider, key=lambda i: widths[i])
            widths[widest] -= 1
        for column, width in zip(self.columns, widths, strict=True):
            column.width = max(width, 1)
        yield from super().__rich_console__(console, options)


def table(*headers: str, numeric: Collection[str] = ()) -> Table:
    """A table that fits the terminal (80 columns too) and never cuts a value short with an ellipsis: a long
    value wraps at its spaces, and only a word wider than any column could be folds onto the next line.
    `numeric` columns are right-aligned."""
    return _FittedTable(*headers, numeric=numeric)


def when(at: datetime | None) -> str:
    """A moment as a table shows it: UTC to the minute (`2026-12-05 23:45`), empty for none."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if at else ""


class _DemoBar:
    """`demo load`'s progress: one bar over the loaders and, under it, the running loader's units (customers in
    batches, orders one by one) when it counts them."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.steps: TaskID = bar.add_task("demo data", total=None)
        self.units: TaskID = bar.add_task("", total=None, visible=False)

    def step(self, number: int, of: int, name: str, units: int | None) -> None:
        self.bar.update(self.steps, total=of, completed=number - 1, description=f"step {number}/{of}")
        self.bar.reset(self.units, total=units, completed=0, description=name.split(":")[0],
                       visible=units is not None)  # fmt: skip

    def unit(self, done: int) -> None:
        self.bar.update(self.units, completed=done)

    def done(self) -> None:
        total = self.bar.tasks[self.steps].total
        self.bar.update(self.steps, completed=total, description="demo data")
        self.bar.update(self.units, visible=False)


@contextlib.contextmanager
def demo_progress() -> Iterator[_DemoBar]:
    """A live progress bar on the terminal for the duration of a demo load (drawn once, at the end, when the
    output is not a terminal)."""
    columns = (TextColumn("{task.description:<12}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=out) as bar:
        shown = _DemoBar(bar)
        yield shown
        shown.done()


def day_option(text: str | None, option: str) -> date | None:
    """A `YYYY-MM-DD` command-line option as a date (None when not given); anything else is refused naming it."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed.on(option, f"{option}: {text!r} is not a date (YYYY-MM-DD)") from None

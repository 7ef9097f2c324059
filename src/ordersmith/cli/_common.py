"""What every `ordersmith` sub-command shares: the Typer apps, one-line failures, settings and the database."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from ordersmith.kernel.errors import OrdersmithError
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
    from ordersmith.fulfillment.service import setup_fulfillment
    from ordersmith.payments.service import setup_payments

    db = Database(settings.database_url, pool_size=2, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    db.use_replica(settings.reports_database_url, pool_size=2)
    setup_payments(db, settings)  # cancellations and shipments reach the gateway through payments
    setup_fulfillment(db, settings)  # labels and tracking reach the carriers
    return db


def _cli_actor() -> Actor:
    return Actor.system("cli", origin="cli")

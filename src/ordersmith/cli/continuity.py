"""`ordersmith continuity …`: continuity programs and their members — list them, and skip, pause, resume or cancel
a member's subscription (as staff; they read and write the database directly, no server needed)."""

from __future__ import annotations

from typing import Annotated

import typer

from ordersmith.cli._common import _cli_actor, _db, _settings, app, command, day_option, out
from ordersmith.cli._common import table as cli_table
from ordersmith.continuity import rules
from ordersmith.continuity import service as continuity
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.platform.db import UnitOfWork

continuity_app = typer.Typer(
    help="Continuity programs (subscriptions / auto-ship) and members.", no_args_is_help=True
)
app.add_typer(continuity_app, name="continuity")


def _uow() -> UnitOfWork:
    return _db(_settings()).unit_of_work(_cli_actor())


def _show(sub: continuity.Subscription) -> None:
    due = f", next shipment {sub.next_shipment} due {sub.next_attempt_on}" if sub.next_attempt_on else ""
    out.print(f"{sub.number} ({sub.program}, {sub.customer_number}): {sub.status}{due}")


@continuity_app.command("programs")
@command
def programs() -> None:
    """The programs: items, rhythm, offer and terms version."""
    shown = cli_table(
        "program", "kind", "ships", "every (weeks)", "offer", "terms", numeric=("every (weeks)",)
    )
    for p in continuity.list_programs(_uow(), limit=200).items:
        ships = (" then " if p.kind == "series" else ", ").join(f"{i.quantity} x {i.sku}" for i in p.items)
        shown.add_row(
            p.code, p.kind, ships, str(p.interval_weeks), p.source_code or "-", f"v{p.terms_version}"
        )
    out.print(shown)


@continuity_app.command("members")
@command
def members(
    program: Annotated[str | None, typer.Option(help="one program's members")] = None,
    status: Annotated[str | None, typer.Option(help=", ".join(rules.STATUSES))] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
) -> None:
    """Members (newest first) with their status, next shipment and card."""
    if status is not None and status not in rules.STATUSES:
        raise ValidationFailed.on("status", f"--status: one of {', '.join(rules.STATUSES)}")
    page = continuity.list_subscriptions(_uow(), program=program, status=status, limit=limit)
    shown = cli_table("subscription", "program", "customer", "status", "next", "due", "card", "last order")
    for s in page.items:
        shown.add_row(s.number, s.program, s.customer_number, s.status + (" (past due)" if s.past_due else ""),
                      str(s.next_shipment), str(s.next_attempt_on or "-"), f"{s.card.brand} ...{s.card.last_four}",
                      s.last_order_number or "-")  # fmt: skip
    out.print(shown)


@continuity_app.command("skip")
@command
def skip(subscription: str) -> None:
    """Skip the next shipment (it moves one interval on)."""
    _show(continuity.skip_shipment(_uow(), ref=subscription))


@continuity_app.command("pause")
@command
def pause(
    subscription: str,
    until: Annotated[str | None, typer.Option(help="YYYY-MM-DD: shipping starts again that day")] = None,
) -> None:
    """Pause until resumed, or until a date."""
    _show(continuity.pause_subscription(_uow(), ref=subscription, until=day_option(until, "until")))


@continuity_app.command("resume")
@command
def resume(
    subscription: str,
    on: Annotated[str | None, typer.Option(help="YYYY-MM-DD of the next shipment")] = None,
) -> None:
    """Resume a paused subscription."""
    _show(continuity.resume_subscription(_uow(), ref=subscription, next_shipment_on=day_option(on, "on")))


@continuity_app.command("cancel")
@command
def cancel(subscription: str, reason: Annotated[str, typer.Option(help="optional")] = "") -> None:
    """Cancel at once: nothing more ships."""
    _show(continuity.cancel_subscription(_uow(), ref=subscription, reason=reason))

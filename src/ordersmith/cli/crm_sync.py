"""`ordersmith crm …`: the CRM connections (HubSpot) with their health, their dead letters, a replay, and a sync run
now from this process (the CRM called with no transaction open, as the sync job calls it)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import typer

from ordersmith.channels.crm import rules
from ordersmith.channels.crm import service as crm
from ordersmith.cli._common import _cli_actor, _db, _settings, app, command, fail, out, when
from ordersmith.cli._common import table as cli_table

crm_app = typer.Typer(
    help="CRM sync (HubSpot): health, dead letters, replay, sync now.", no_args_is_help=True
)
app.add_typer(crm_app, name="crm")

SYNC_RUNS = 50  # `crm sync` sends up to this many batches before leaving the rest to the sync job


def _uow() -> Any:
    crm.register()  # the job kinds a replay or a sync queues
    return _db(_settings()).unit_of_work(_cli_actor())


@crm_app.command("list")
@command
def list_connections() -> None:
    """Every CRM connection with its health: last success and failure, open dead letters, records waiting, the
    CRM's rate limit and when the next sync is due."""
    uow = _uow()
    now = uow.now()
    table = cli_table(
        "code",
        "kind",
        "state",
        "last success",
        "last failure",
        "dead letters",
        "waiting",
        "next sync",
        "rate limit",
        numeric=("dead letters", "waiting"),
    )
    for c in crm.list_connections(uow, limit=200).items:
        failure = f"{when(c.last_failure_at)} {c.last_error or ''}".strip()
        table.add_row(
            c.code,
            c.kind,
            "active" if c.active else "off",
            when(c.last_success_at) or "-",
            failure[:200] or "-",
            str(c.dead_letters_open),
            str(c.waiting),
            when(c.sync_due_at) or "-",
            rules.rate_limit_text(c.rate_limit, now=now) or "-",
        )
    out.print(table)


@crm_app.command("dead-letters")
@command
def dead_letters(
    code: Annotated[str, typer.Argument(help="a connection's code; none: every connection")] = "",
) -> None:
    """Open dead letters: the syncs the CRM refused for good, with their records and the CRM's error."""
    uow = _uow()
    codes = [code] if code else [c.code for c in crm.list_connections(uow, limit=200).items]
    table = cli_table("id", "connection", "operation", "records", "attempts", "at", "error")
    for each in codes:
        for d in crm.list_crm_dead_letters(uow, code=each, limit=200).items:
            table.add_row(
                str(d.id),
                d.connection,
                d.operation,
                d.reference,
                str(d.attempts),
                when(d.created_at),
                d.error[:200],
            )
    out.print(table)


@crm_app.command("replay")
@command
def replay(dead_letter_id: str) -> None:
    """Sync a dead letter's records again, as they are now (at the sync job's next run, or `crm sync`)."""
    try:
        parsed = uuid.UUID(dead_letter_id)
    except ValueError:
        fail(f"not a dead letter id: {dead_letter_id!r}", 2)
        raise
    letter = crm.replay_crm_dead_letter(_uow(), dead_letter_id=parsed)
    out.print(f"{letter.connection}: {letter.operation} of {letter.reference} queued again")


@crm_app.command("sync")
@command
def sync(code: str) -> None:
    """Send the connection's waiting records to the CRM now, from this process. A failure is handled as the sync
    job handles it (a retry queued, or a dead letter) and ends the command with exit code 1."""
    uow = _uow()
    ran = crm.sync_now(uow, code=code, max_runs=SYNC_RUNS)
    c = ran.connection
    if ran.result == "idle" and ran.runs == 0:
        out.print(f"{code}: nothing waiting")
    elif ran.result in ("synced", "idle"):
        left = f"; {c.waiting} record(s) left to the sync job" if c.waiting else ""
        out.print(f"{code}: synced in {ran.runs} run(s){left}")
    elif ran.result == "later" and "throttled" in (
        limited := rules.rate_limit_text(c.rate_limit, now=uow.now())
    ):
        fail(
            f"{code}: the CRM asked us to wait ({limited}); the sync job goes on at {when(c.sync_due_at)}", 1
        )
    elif ran.result == "later":
        fail(f"{code}: the CRM call failed ({c.last_error}); a retry is queued for {when(c.sync_due_at)}", 1)
    else:
        fail(
            f"{code}: the CRM refused it for good ({c.last_error}); see `ordersmith crm dead-letters {code}`",
            1,
        )

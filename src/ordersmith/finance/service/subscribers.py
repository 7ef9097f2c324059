"""Everything finance subscribes to and schedules, registered at start (the API, the worker and the CLI): the
posting subscriber (ADR 0024), disputes passed on by payments and the watch on captures and refunds awaiting a
settlement (ADR 0040)."""

from __future__ import annotations

from ordersmith.finance.service import disputes, posting, unsettled


def register() -> None:
    """Subscribe and schedule (idempotent)."""
    posting.register()
    disputes.register()
    unsettled.register()


def unregister() -> None:
    posting.unregister()
    disputes.unregister()
    unsettled.unregister()

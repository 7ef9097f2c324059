"""Continuity use cases: programs, members' subscriptions (sign up with the terms accepted, skip, pause, resume,
cancel, change the card, ship-to or quantity) and the periodic job that places each due shipment's order through
checkout, retrying failed payments and then suspending with a dunning notice. The context's only public face.

Invariants: one order per shipment under any number of workers, crashes and restarts; no card number (only the
vault's token); a channel-bound caller sees only its channel's subscriptions.
"""

from __future__ import annotations

from typing import Any

from ordersmith.continuity.rules import RETRY_DAYS, ProgramItem
from ordersmith.continuity.service._common import Card, Program, Shipment, Subscription
from ordersmith.continuity.service.customers_followed import on_customer_anonymized, on_customer_merged
from ordersmith.continuity.service.programs import create_program, get_program, list_programs, update_program
from ordersmith.continuity.service.renewing import Due, claim_due, place_due_shipments, place_shipment
from ordersmith.continuity.service.subscriptions import (
    VaultedCard,
    cancel_subscription,
    change_card,
    change_subscription,
    check_accepted,
    enrol,
    get_subscription,
    list_subscriptions,
    pause_subscription,
    resume_subscription,
    sign_up,
    skip_shipment,
    vaulted_card,
)
from ordersmith.platform import jobs, outbox
from ordersmith.platform.db import UnitOfWork

JOB = "continuity.place_due_shipments"


def register(*, lease_s: int = 300) -> None:
    """The periodic job (every minute, once per period across workers) that places due shipments; a claim on a
    subscription lasts `lease_s` (the job lease: a crashed worker's shipment is taken over after it)."""

    def run(uow: UnitOfWork, payload: dict[str, Any]) -> None:
        place_due_shipments(uow, worker=jobs.worker_name(), lease_s=lease_s)

    jobs.register(JOB, run)
    jobs.schedule("place-due-continuity-shipments", kind=JOB, every_s=60)
    outbox.unsubscribe(on_customer_merged)
    outbox.unsubscribe(on_customer_anonymized)
    outbox.subscribe("customer.merged", on_customer_merged)
    outbox.subscribe("customer.anonymized", on_customer_anonymized)


__all__ = [
    "JOB",
    "RETRY_DAYS",
    "Card",
    "Due",
    "Program",
    "ProgramItem",
    "Shipment",
    "Subscription",
    "VaultedCard",
    "cancel_subscription",
    "change_card",
    "change_subscription",
    "check_accepted",
    "claim_due",
    "create_program",
    "enrol",
    "get_program",
    "get_subscription",
    "list_programs",
    "list_subscriptions",
    "pause_subscription",
    "place_due_shipments",
    "place_shipment",
    "register",
    "resume_subscription",
    "sign_up",
    "skip_shipment",
    "update_program",
    "vaulted_card",
]

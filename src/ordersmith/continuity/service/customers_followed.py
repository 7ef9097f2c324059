"""Subscriptions follow their customer: a merged customer's move to the survivor, an anonymized customer's are
cancelled and lose their ship-to and card token (outbox subscribers: customers sit below continuity)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from ordersmith.continuity.tables import SubscriptionRow
from ordersmith.kernel.events import Event
from ordersmith.platform.db import UnitOfWork


def on_customer_merged(uow: UnitOfWork, event: Event) -> None:
    """Subscriber of `customer.merged`: the merged customer's subscriptions are the survivor's."""
    merged, survivor = uuid.UUID(event.payload["merged_id"]), uuid.UUID(event.payload["survivor_id"])
    rows = list(uow.session.scalars(
        sa.select(SubscriptionRow).where(SubscriptionRow.customer_id == merged).with_for_update()))  # fmt: skip
    for row in rows:
        row.customer_id, row.customer_number = survivor, str(event.payload["survivor"])
        row.version += 1
        row.updated_at = uow.now()
        uow.audit("subscription.customer_merged", object_type="subscription", object_id=row.number,
                  after={"customer": row.customer_number})  # fmt: skip


def on_customer_anonymized(uow: UnitOfWork, event: Event) -> None:
    """Subscriber of `customer.anonymized`: nothing more ships to someone whose data was erased; the ship-to and
    the card token go too (the shipments' orders are anonymized with the customer's orders)."""
    gone = uuid.UUID(event.payload["id"])
    rows = list(uow.session.scalars(
        sa.select(SubscriptionRow).where(SubscriptionRow.customer_id == gone).with_for_update()))  # fmt: skip
    for row in rows:
        if row.status not in ("cancelled", "completed"):
            row.status = "cancelled"
            row.cancelled_at = uow.now()
            row.cancelled_by = uow.actor.label
            row.cancel_reason = "customer anonymized"
        row.next_run_on = None
        row.ship_to = {key: "" for key in row.ship_to} | {"country": row.ship_to.get("country", "")}
        row.card_token = ""
        row.version += 1
        row.updated_at = uow.now()
        uow.audit("subscription.anonymized", object_type="subscription", object_id=row.number,
                  after={"status": row.status})  # fmt: skip

"""The dead-letter list: syncs that failed past their retries (or at once, when the channel's payload itself was
wrong), each with the channel's payload and the error, replayable once the cause is fixed."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ordersmith.channels import connectors
from ordersmith.channels.service import changes, inbound, order_changes_out, outbound, polling, prices
from ordersmith.channels.service._common import load
from ordersmith.channels.tables import ChannelOrderRow, ConnectorRow, DeadLetterRow, PollStateRow
from ordersmith.kernel.errors import Conflict, NotFound, ValidationFailed
from ordersmith.kernel.pagination import Page
from ordersmith.platform import jobs
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page

STATES = ("open", "replayed")


@dataclass(frozen=True)
class DeadLetter:
    id: uuid.UUID
    connector: str
    operation: str
    reference: str
    payload: dict[str, Any]
    error: str
    attempts: int
    status: str
    created_at: datetime
    replayed_at: datetime | None


def _letter(code: str, row: DeadLetterRow) -> DeadLetter:
    return DeadLetter(
        id=row.id,
        connector=code,
        operation=row.operation,
        reference=row.reference,
        payload=dict(row.payload),
        error=row.error,
        attempts=row.attempts,
        status=row.status,
        created_at=row.created_at,
        replayed_at=row.replayed_at,
    )


@use_case(readonly=True)
def list_dead_letters(
    uow: UnitOfWork,
    *,
    connector: str,
    status: str | None = "open",
    principal: Principal | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[DeadLetter]:
    loaded = load(uow, code=connector, principal=principal)
    if status is not None and status not in STATES:
        raise ValidationFailed.on("status", f"one of {', '.join(STATES)}")
    query = sa.select(DeadLetterRow).where(DeadLetterRow.connector_id == loaded.row.id)
    if status is not None:
        query = query.where(DeadLetterRow.status == status)
    return keyset_page(
        uow,
        query,
        keys=[DeadLetterRow.id],
        to_item=lambda r: _letter(loaded.row.code, r),
        cursor=cursor,
        limit=limit,
    )


@use_case
def replay_dead_letter(
    uow: UnitOfWork, *, dead_letter_id: uuid.UUID, principal: Principal | None = None
) -> DeadLetter:
    """Try a dead-lettered sync again, as a fresh job with its retries: an order import is queued again (from the
    channel's latest payload, or — for a webhook that could not be read — from the payload kept here); a stock or
    shipment push is sent again.

    Raises:
        NotFound: no such dead letter (or not the caller's channel's).
        Conflict: it was replayed already.
        ValidationFailed: a kept webhook payload that is still not a readable order (it stays open).
    """
    row = uow.session.get(DeadLetterRow, dead_letter_id, with_for_update=True)
    if row is None:
        raise NotFound("no such dead letter")
    loaded = load(uow, connector_id=row.connector_id, principal=principal)
    if row.status != "open":
        raise Conflict("this dead letter was replayed already", state=row.status)
    if row.operation == "import_order":
        _replay_import(uow, loaded, row)
    elif row.operation == "push_stock":
        outbound.requeue_stock(uow, loaded, updates=list(row.payload.get("updates", [])))
    elif row.operation == "push_prices":
        prices.requeue_prices(uow, loaded, updates=list(row.payload.get("updates", [])))
    elif row.operation == "push_shipment":
        jobs.enqueue(uow, outbound.SHIPMENT_JOB, dict(row.payload, attempt=0))
    elif row.operation == order_changes_out.OPERATION:
        order_changes_out.requeue(uow, dict(row.payload))
    elif (
        row.operation == "apply_change"
    ):  # a flagged cancellation or refund: applied again, as things are now
        changes.requeue(uow, change_id=uuid.UUID(str(row.payload["change_id"])))
    elif row.operation == "poll_orders":  # polling resumes from the cursor it stopped at
        state = uow.session.get(PollStateRow, loaded.row.id, with_for_update=True)
        if state is not None:
            polling.resume(uow, state)
    row.status = "replayed"
    row.replayed_at = uow.now()
    uow.session.execute(
        sa.update(ConnectorRow)
        .where(ConnectorRow.id == loaded.row.id)
        .values(dead_letters_open=ConnectorRow.dead_letters_open - 1)
    )
    uow.audit(
        "channel_dead_letter.replayed",
        object_type="channel_dead_letter",
        object_id=str(row.id),
        after={"operation": row.operation, "reference": row.reference},
    )
    return _letter(loaded.row.code, row)


def _replay_import(uow: UnitOfWork, loaded: Any, row: DeadLetterRow) -> None:
    order = uow.session.scalar(
        sa.select(ChannelOrderRow)
        .where(ChannelOrderRow.connector_id == loaded.row.id, ChannelOrderRow.external_id == row.reference)
        .with_for_update()
    )
    if order is not None and order.status in ("dead", "received"):
        inbound._requeue(uow, order)
        return
    if order is None and "body" in row.payload:  # a webhook that was never readable: read it again
        try:
            payload = json.loads(row.payload["body"])
        except ValueError:
            raise ValidationFailed.on("payload", "the kept webhook body is still not JSON") from None
        if not isinstance(payload, dict):
            raise ValidationFailed.on("payload", "the kept webhook body is not a JSON object")
        parsed = connectors.for_kind(loaded.row.kind).parse_order(payload)
        inbound._record(uow, loaded, parsed, payload)

"""What continuity's use cases share: the dataclasses they return and the loaders that build them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from ordersmith.continuity import rules
from ordersmith.continuity.tables import ProgramRow, ShipmentRow, SubscriptionRow
from ordersmith.kernel.errors import NotFound
from ordersmith.kernel.money import Money
from ordersmith.platform.db import UnitOfWork


@dataclass(frozen=True)
class Program:
    id: uuid.UUID
    code: str
    name: str
    kind: str
    items: list[rules.ProgramItem]
    interval_weeks: int
    max_shipments: int | None
    source_code: str | None
    terms: str
    terms_version: int
    active: bool
    version: int
    created_at: datetime


@dataclass(frozen=True)
class Card:
    brand: str
    last_four: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class Shipment:
    cycle: int
    due_on: date
    order_id: uuid.UUID
    order_number: str
    total: Money
    attempts: int
    placed_at: datetime


@dataclass(frozen=True)
class Subscription:
    id: uuid.UUID
    number: str
    program: str
    program_name: str
    customer_id: uuid.UUID
    customer_number: str
    channel: str
    ship_to: dict[str, str]
    quantity: int
    card: Card
    status: str
    next_shipment: int  # the number of the next shipment
    next_shipment_on: date | None  # when it is due on the rhythm (None: nothing scheduled)
    next_attempt_on: date | None  # when it will be tried (a retry date while past due)
    past_due: bool
    failed_attempts: int
    last_failure: str | None
    last_order_number: str | None
    terms_version: int
    terms_digest: str
    terms_accepted_at: datetime
    signed_up_by: str
    cancelled_at: datetime | None
    cancel_reason: str | None
    created_at: datetime
    version: int
    shipments: list[Shipment]


def to_program(row: ProgramRow) -> Program:
    return Program(
        id=row.id,
        code=row.code,
        name=row.name,
        kind=row.kind,
        items=[rules.ProgramItem(sku=i["sku"], quantity=int(i["quantity"])) for i in row.items],
        interval_weeks=row.interval_weeks,
        max_shipments=row.max_shipments,
        source_code=row.source_code,
        terms=row.terms,
        terms_version=row.terms_version,
        active=row.active,
        version=row.version,
        created_at=row.created_at,
    )


def program_row(uow: UnitOfWork, code: str, *, lock: bool = False) -> ProgramRow:
    query = sa.select(ProgramRow).where(ProgramRow.code == code.upper())
    row = uow.session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(f"no continuity program {code!r}")
    return row


def to_subscription(row: SubscriptionRow, program: ProgramRow, shipments: list[ShipmentRow]) -> Subscription:
    scheduled = row.status in ("active", "paused") and row.next_run_on is not None
    return Subscription(
        id=row.id,
        number=row.number,
        program=program.code,
        program_name=program.name,
        customer_id=row.customer_id,
        customer_number=row.customer_number,
        channel=row.channel,
        ship_to=dict(row.ship_to),
        quantity=row.quantity,
        card=Card(
            brand=row.card_brand,
            last_four=row.card_last_four,
            exp_month=row.card_exp_month,
            exp_year=row.card_exp_year,
        ),
        status=row.status,
        next_shipment=row.cycle,
        next_shipment_on=row.cycle_on if scheduled else None,
        next_attempt_on=row.next_run_on,
        past_due=row.failed_attempts > 0 and row.status == "active",
        failed_attempts=row.failed_attempts,
        last_failure=row.last_failure,
        last_order_number=row.last_order_number,
        terms_version=row.terms_version,
        terms_digest=row.terms_digest,
        terms_accepted_at=row.terms_accepted_at,
        signed_up_by=row.signed_up_by,
        cancelled_at=row.cancelled_at,
        cancel_reason=row.cancel_reason,
        created_at=row.created_at,
        version=row.version,
        shipments=[
            Shipment(
                cycle=s.cycle,
                due_on=s.due_on,
                order_id=s.order_id,
                order_number=s.order_number,
                total=Money.from_minor(s.total_minor, s.currency),
                attempts=s.attempts,
                placed_at=s.placed_at,
            )
            for s in sorted(shipments, key=lambda s: s.cycle)
        ],
    )


def subscription_row(
    uow: UnitOfWork, ref: str, *, visible_to: str | None = None, lock: bool = False
) -> SubscriptionRow:
    """By id or number (S-000123); a channel-bound caller (`visible_to`) finds only its channel's (else 404)."""
    try:
        query = sa.select(SubscriptionRow).where(SubscriptionRow.id == uuid.UUID(ref))
    except ValueError:
        query = sa.select(SubscriptionRow).where(SubscriptionRow.number == ref.upper())
    row = uow.session.scalar(query.with_for_update() if lock else query)
    if row is None or (visible_to is not None and row.channel != visible_to):
        raise NotFound(f"no subscription {ref!r}")
    return row


def load(uow: UnitOfWork, row: SubscriptionRow) -> Subscription:
    program = uow.session.get(ProgramRow, row.program_id)
    assert program is not None
    shipments = list(uow.session.scalars(sa.select(ShipmentRow).where(ShipmentRow.subscription_id == row.id)))
    return to_subscription(row, program, shipments)

"""What the marketing use cases share: the dataclasses they return and the loaders that build them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from ordersmith.kernel.errors import NotFound
from ordersmith.kernel.money import Money
from ordersmith.marketing.tables import CampaignRow, DropRow, SourceCodeRow
from ordersmith.platform.db import UnitOfWork


@dataclass(frozen=True)
class Drop:
    code: str
    in_home_on: date
    quantity_mailed: int
    cost_per_piece: Money
    creative: str
    cost: Money  # quantity mailed x cost per piece


@dataclass(frozen=True)
class Campaign:
    id: uuid.UUID
    code: str
    name: str
    kind: str
    currency: str
    notes: str
    active: bool
    version: int
    created_at: datetime
    drops: list[Drop]


@dataclass(frozen=True)
class SourceCode:
    code: str
    campaign: str
    drop: str
    in_home_on: date
    segment: str
    quantity_mailed: int
    price_list: str | None
    promotions: list[str]
    starts_on: date
    ends_on: date | None
    expected_response_pct: Decimal
    active: bool
    version: int


def to_drop(row: DropRow, currency: str) -> Drop:
    per_piece = Money.from_minor(row.cost_per_piece_minor, currency)
    return Drop(
        code=row.code,
        in_home_on=row.in_home_on,
        quantity_mailed=row.quantity_mailed,
        cost_per_piece=per_piece,
        creative=row.creative,
        cost=Money.from_minor(row.cost_per_piece_minor * row.quantity_mailed, currency),
    )


def to_campaign(row: CampaignRow, drops: list[DropRow]) -> Campaign:
    return Campaign(
        id=row.id,
        code=row.code,
        name=row.name,
        kind=row.kind,
        currency=row.currency,
        notes=row.notes,
        active=row.active,
        version=row.version,
        created_at=row.created_at,
        drops=[to_drop(d, row.currency) for d in sorted(drops, key=lambda d: (d.in_home_on, d.code))],
    )


def campaign_row(uow: UnitOfWork, code: str, *, lock: bool = False) -> CampaignRow:
    query = sa.select(CampaignRow).where(CampaignRow.code == code.upper())
    row = uow.session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(f"no campaign {code!r}")
    return row


def drops_of(uow: UnitOfWork, campaign_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[DropRow]]:
    found: dict[uuid.UUID, list[DropRow]] = {c: [] for c in campaign_ids}
    if campaign_ids:
        for drop in uow.session.scalars(sa.select(DropRow).where(DropRow.campaign_id.in_(campaign_ids))):
            found[drop.campaign_id].append(drop)
    return found


def to_source_code(row: SourceCodeRow, drop: DropRow, campaign: CampaignRow) -> SourceCode:
    return SourceCode(
        code=row.code,
        campaign=campaign.code,
        drop=drop.code,
        in_home_on=drop.in_home_on,
        segment=row.segment,
        quantity_mailed=row.quantity_mailed,
        price_list=row.price_list,
        promotions=list(row.promotions),
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        expected_response_pct=Decimal(row.expected_response_pct),
        active=row.active,
        version=row.version,
    )


CODE_QUERY = (
    sa.select(SourceCodeRow, DropRow, CampaignRow)
    .join(DropRow, DropRow.id == SourceCodeRow.drop_id)
    .join(CampaignRow, CampaignRow.id == DropRow.campaign_id)
)

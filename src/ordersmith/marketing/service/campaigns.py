"""Campaigns and their drops: a mailing (catalog, e-mail, web, space ad, marketplace promotion) and each of its
drops — one creative landing on one in-home date, with the quantity mailed and the cost per piece."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from ordersmith.kernel.errors import PreconditionFailed, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.kernel.pagination import Page
from ordersmith.marketing import rules
from ordersmith.marketing.service._common import Campaign, campaign_row, drops_of, to_campaign
from ordersmith.marketing.tables import CampaignRow, DropRow
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page


@dataclass(frozen=True)
class NewDrop:
    code: str
    in_home_on: date
    quantity_mailed: int
    cost_per_piece: Money
    creative: str = ""


def _add_drops(uow: UnitOfWork, campaign: CampaignRow, drops: Sequence[NewDrop], field: str) -> None:
    seen = {d.code for d in drops_of(uow, [campaign.id])[campaign.id]}
    for n, drop in enumerate(drops):
        code = drop.code.upper()
        if code in seen:
            raise ValidationFailed.on(
                f"{field}.{n}.code", f"campaign {campaign.code} has a drop {code} already"
            )
        if drop.cost_per_piece.currency != campaign.currency:
            raise ValidationFailed.on(
                f"{field}.{n}.cost_per_piece", f"the campaign is in {campaign.currency}"
            )
        if not 0 <= drop.quantity_mailed <= rules.MAX_PIECES:
            raise ValidationFailed.on(f"{field}.{n}.quantity_mailed", f"must be 0 to {rules.MAX_PIECES}")
        if drop.cost_per_piece.minor < 0:
            raise ValidationFailed.on(f"{field}.{n}.cost_per_piece", "must not be negative")
        seen.add(code)
        uow.session.add(
            DropRow(
                id=new_id(),
                campaign_id=campaign.id,
                code=code,
                in_home_on=drop.in_home_on,
                quantity_mailed=drop.quantity_mailed,
                cost_per_piece_minor=drop.cost_per_piece.minor,
                creative=drop.creative,
                created_at=uow.now(),
            )
        )
    uow.session.flush()


@use_case
def create_campaign(
    uow: UnitOfWork,
    *,
    code: str,
    name: str,
    kind: str,
    currency: str,
    notes: str = "",
    drops: Sequence[NewDrop] = (),
) -> Campaign:
    """A campaign and its drops in one step.

    Raises:
        ValidationFailed: an unknown kind, a drop priced in another currency, a drop code given twice.
        AlreadyExists: a campaign of that code exists (409).
    """
    if kind not in rules.CAMPAIGN_KINDS:
        raise ValidationFailed.on("kind", f"must be one of {', '.join(rules.CAMPAIGN_KINDS)}")
    now = uow.now()
    row = CampaignRow(
        id=new_id(),
        code=code.upper(),
        name=name,
        kind=kind,
        currency=currency,
        notes=notes,
        active=True,
        created_at=now,
        updated_at=now,
        version=1,
    )
    uow.insert_unique(CampaignRow, row, f"campaign {row.code!r} exists")
    _add_drops(uow, row, drops, "drops")
    uow.audit(
        "campaign.created",
        object_type="campaign",
        object_id=row.code,
        after={"kind": kind, "drops": len(drops)},
    )
    return get_campaign(uow, code=row.code)


@use_case
def add_drops(uow: UnitOfWork, *, campaign: str, drops: Sequence[NewDrop]) -> Campaign:
    """More drops of a campaign (a remail, a second in-home date).

    Raises:
        NotFound: no such campaign.
        ValidationFailed: as `create_campaign` for its drops (naming `drops.N…`).
    """
    row = campaign_row(uow, campaign, lock=True)
    _add_drops(uow, row, drops, "drops")
    uow.audit(
        "campaign.drops_added",
        object_type="campaign",
        object_id=row.code,
        after={"drops": [d.code.upper() for d in drops]},
    )
    return get_campaign(uow, code=row.code)


@use_case
def update_campaign(
    uow: UnitOfWork,
    *,
    code: str,
    version: int | None = None,
    name: str | None = None,
    notes: str | None = None,
    active: bool | None = None,
) -> Campaign:
    """Rename, annotate or (de)activate a campaign; `version` (If-Match) must match when given.

    Raises:
        NotFound: no such campaign.
        PreconditionFailed: `version` given and not the campaign's current one.
    """
    row = campaign_row(uow, code, lock=True)
    if version is not None and version != row.version:
        raise PreconditionFailed(f"campaign {row.code} is at version {row.version}", version=row.version)
    before = {"name": row.name, "notes": row.notes, "active": row.active}
    if name is not None:
        row.name = name
    if notes is not None:
        row.notes = notes
    if active is not None:
        row.active = active
    row.version += 1
    row.updated_at = uow.now()
    uow.session.flush()
    uow.audit(
        "campaign.updated",
        object_type="campaign",
        object_id=row.code,
        before=before,
        after={"name": row.name, "notes": row.notes, "active": row.active},
    )
    return get_campaign(uow, code=row.code)


@use_case(readonly=True)
def get_campaign(uow: UnitOfWork, *, code: str) -> Campaign:
    """One campaign with its drops (by in-home date). Raises NotFound."""
    row = campaign_row(uow, code)
    return to_campaign(row, drops_of(uow, [row.id])[row.id])


@use_case(readonly=True)
def list_campaigns(
    uow: UnitOfWork, *, kind: str | None = None, cursor: str | None = None, limit: int = 50
) -> Page[Campaign]:
    """Campaigns by code, with their drops (one query for the page, one for its drops)."""
    query = sa.select(CampaignRow)
    if kind is not None:
        query = query.where(CampaignRow.kind == kind)
    page = keyset_page(uow, query, keys=[CampaignRow.code], to_item=lambda r: r, cursor=cursor, limit=limit)
    drops = drops_of(uow, [r.id for r in page.items])
    return Page([to_campaign(r, drops[r.id]) for r in page.items], page.next_cursor)

"""The master list of source (key) codes — one per drop and list/segment, each with its offer (a price list and/or
promotions), validity dates and expected response — and what an order's code becomes at capture.

Invariants: a code is unique and upper-case; the codes of a drop never mail more pieces than the drop (checked
under the drop's row lock); an order keeps only a code of this list valid on its day, or its channel's default.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from ordersmith.kernel.errors import NotFound, PreconditionFailed, ValidationFailed
from ordersmith.kernel.pagination import Page
from ordersmith.marketing import rules
from ordersmith.marketing.service._common import CODE_QUERY, SourceCode, campaign_row, to_source_code
from ordersmith.marketing.tables import ChannelCodePolicyRow, DropRow, SourceCodeRow
from ordersmith.platform import sales_channels
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page
from ordersmith.pricing import service as pricing


def _check_offer(uow: UnitOfWork, currency: str, price_list: str | None, promotions: Sequence[str]) -> None:
    if price_list is not None:
        try:
            found = pricing.get_price_list(uow, code=price_list)
        except NotFound:
            raise ValidationFailed.on("price_list", f"no price list {price_list!r}") from None
        if found.currency != currency:
            raise ValidationFailed.on(
                "price_list", f"{found.code} is in {found.currency}, the campaign in {currency}"
            )
    for n, code in enumerate(promotions):
        try:
            pricing.get_promotion(uow, code=code)
        except NotFound:
            raise ValidationFailed.on(f"promotions.{n}", f"no promotion {code!r}") from None


@use_case
def create_source_code(
    uow: UnitOfWork,
    *,
    code: str,
    campaign: str,
    drop: str,
    segment: str,
    quantity_mailed: int = 0,
    price_list: str | None = None,
    promotions: Sequence[str] = (),
    starts_on: date | None = None,
    ends_on: date | None = None,
    expected_response_pct: Decimal = Decimal(0),
) -> SourceCode:
    """A key code for one list/segment of a drop. Valid from `starts_on` (default: the drop's in-home date) to
    `ends_on` inclusive (None: open-ended).

    Raises:
        NotFound: no such campaign or drop.
        ValidationFailed: an unknown price list or promotion, or one in another currency; dates out of order; more
            pieces than the drop has left (each naming its field).
        AlreadyExists: the code exists (409).
    """
    owner = campaign_row(uow, campaign)
    drop_row = uow.session.scalar(
        sa.select(DropRow)
        .where(DropRow.campaign_id == owner.id, DropRow.code == drop.upper())
        .with_for_update()
    )
    if drop_row is None:
        raise NotFound(f"campaign {owner.code} has no drop {drop!r}")
    starts = starts_on or drop_row.in_home_on
    reason = rules.check_dates(starts, ends_on)
    if reason:
        raise ValidationFailed.on("ends_on", reason)
    if not Decimal(0) <= expected_response_pct <= Decimal(100):
        raise ValidationFailed.on("expected_response_pct", "must be between 0 and 100")
    coded = uow.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(SourceCodeRow.quantity_mailed), 0)).where(
            SourceCodeRow.drop_id == drop_row.id
        )
    )
    left = drop_row.quantity_mailed - int(coded or 0)
    if quantity_mailed < 0 or quantity_mailed > left:
        raise ValidationFailed.on(
            "quantity_mailed", f"drop {drop_row.code} has {left} piece(s) not yet coded"
        )
    offered = sorted({p.upper() for p in promotions})
    _check_offer(uow, owner.currency, price_list, offered)
    now = uow.now()
    row = SourceCodeRow(
        code=code.upper(),
        drop_id=drop_row.id,
        segment=segment,
        quantity_mailed=quantity_mailed,
        price_list=price_list.upper() if price_list else None,
        promotions=offered,
        starts_on=starts,
        ends_on=ends_on,
        expected_response_pct=expected_response_pct,
        active=True,
        created_at=now,
        updated_at=now,
        version=1,
    )
    uow.insert_unique(SourceCodeRow, row, f"source code {row.code!r} exists")
    uow.audit(
        "source_code.created",
        object_type="source_code",
        object_id=row.code,
        after={
            "campaign": owner.code,
            "drop": drop_row.code,
            "segment": segment,
            "price_list": row.price_list,
            "promotions": offered,
        },
    )
    return to_source_code(row, drop_row, owner)


@use_case
def update_source_code(
    uow: UnitOfWork,
    *,
    code: str,
    version: int | None = None,
    ends_on: date | None = None,
    open_ended: bool = False,
    active: bool | None = None,
    expected_response_pct: Decimal | None = None,
) -> SourceCode:
    """Extend or shorten a code's validity (`open_ended`: no end), switch it off or on, or revise its expected
    response. The offer and the cell mailed are what went to print: they do not change.

    Raises:
        NotFound: no such code.
        PreconditionFailed: `version` given and not the code's current one.
        ValidationFailed: `ends_on` before `starts_on`; an expected response outside 0-100.
    """
    found = uow.session.execute(
        CODE_QUERY.where(SourceCodeRow.code == code.upper()).with_for_update()
    ).first()
    if found is None:
        raise NotFound(f"no source code {code!r}")
    row, drop_row, owner = found
    if version is not None and version != row.version:
        raise PreconditionFailed(f"source code {row.code} is at version {row.version}", version=row.version)
    before = {"ends_on": str(row.ends_on), "active": row.active, "expected": str(row.expected_response_pct)}
    if ends_on is not None or open_ended:
        new_end = None if open_ended else ends_on
        reason = rules.check_dates(row.starts_on, new_end)
        if reason:
            raise ValidationFailed.on("ends_on", reason)
        row.ends_on = new_end
    if expected_response_pct is not None:
        if not Decimal(0) <= expected_response_pct <= Decimal(100):
            raise ValidationFailed.on("expected_response_pct", "must be between 0 and 100")
        row.expected_response_pct = expected_response_pct
    if active is not None:
        row.active = active
    row.version += 1
    row.updated_at = uow.now()
    uow.session.flush()
    uow.audit(
        "source_code.updated",
        object_type="source_code",
        object_id=row.code,
        before=before,
        after={"ends_on": str(row.ends_on), "active": row.active, "expected": str(row.expected_response_pct)},
    )
    return to_source_code(row, drop_row, owner)


@use_case(readonly=True)
def get_source_code(uow: UnitOfWork, *, code: str) -> SourceCode:
    """One code of the master list. Raises NotFound."""
    found = uow.session.execute(CODE_QUERY.where(SourceCodeRow.code == code.upper())).first()
    if found is None:
        raise NotFound(f"no source code {code!r}")
    return to_source_code(*found)


@use_case(readonly=True)
def list_source_codes(
    uow: UnitOfWork, *, campaign: str | None = None, cursor: str | None = None, limit: int = 50
) -> Page[SourceCode]:
    """The master list by code, optionally one campaign's."""
    query = sa.select(SourceCodeRow)
    if campaign is not None:
        owner = campaign_row(uow, campaign)
        query = query.join(DropRow, DropRow.id == SourceCodeRow.drop_id).where(
            DropRow.campaign_id == owner.id
        )
    page = keyset_page(
        uow, query, keys=[SourceCodeRow.code], to_item=lambda r: r.code, cursor=cursor, limit=limit
    )
    if not page.items:
        return Page([], None)
    rows = {r[0].code: r for r in uow.session.execute(CODE_QUERY.where(SourceCodeRow.code.in_(page.items)))}
    return Page([to_source_code(*rows[c]) for c in page.items], page.next_cursor)


# --- capture ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelPolicy:
    channel: str
    on_unknown: str  # refuse | default
    default_code: str | None


@use_case
def set_channel_policy(
    uow: UnitOfWork, *, channel: str, on_unknown: str, default_code: str | None = None
) -> ChannelPolicy:
    """What `channel` does with an order whose source code is unknown or expired: `refuse` it (422 naming the
    field) or put `default_code` (a code of the master list) on it instead.

    Raises:
        ValidationFailed: an unknown channel, policy or default code; `default` without a code.
    """
    if sales_channels.find_channel(uow, code=channel) is None:
        raise ValidationFailed.on("channel", f"no sales channel {channel!r}")
    if on_unknown not in rules.POLICIES:
        raise ValidationFailed.on("on_unknown", f"must be one of {', '.join(rules.POLICIES)}")
    code = default_code.upper() if default_code else None
    if on_unknown == "default" and code is None:
        raise ValidationFailed.on("default_code", "a channel that defaults needs the code to default to")
    if code is not None and uow.session.get(SourceCodeRow, code) is None:
        raise ValidationFailed.on("default_code", f"no source code {default_code!r}")
    row = uow.session.get(ChannelCodePolicyRow, channel, with_for_update=True)
    before = None if row is None else {"on_unknown": row.on_unknown, "default_code": row.default_code}
    if row is None:
        row = ChannelCodePolicyRow(
            channel=channel, on_unknown=on_unknown, default_code=code, updated_at=uow.now()
        )
        uow.session.add(row)
    else:
        row.on_unknown, row.default_code, row.updated_at = on_unknown, code, uow.now()
    uow.flush_unique(f"channel {channel} has a policy already")
    uow.audit(
        "source_code_policy.set",
        object_type="sales_channel",
        object_id=channel,
        before=before,
        after={"on_unknown": on_unknown, "default_code": code},
    )
    return ChannelPolicy(channel, on_unknown, code)


@use_case(readonly=True)
def list_channel_policies(uow: UnitOfWork) -> list[ChannelPolicy]:
    """Every channel's policy that differs from the default (`refuse`)."""
    rows = uow.session.scalars(sa.select(ChannelCodePolicyRow).order_by(ChannelCodePolicyRow.channel))
    return [ChannelPolicy(r.channel, r.on_unknown, r.default_code) for r in rows]


def _facts(uow: UnitOfWork, code: str) -> rules.CodeFacts | None:
    row = uow.session.get(SourceCodeRow, code)
    if row is None:
        return None
    return rules.CodeFacts(
        row.code, row.active, row.starts_on, row.ends_on, row.price_list, tuple(row.promotions)
    )


@use_case(readonly=True)
def find_offer(uow: UnitOfWork, *, code: str | None) -> rules.Offer | None:
    """The offer of a code an order already keeps (re-pricing an edited order), whatever its dates now."""
    facts = _facts(uow, code.upper()) if code else None
    return rules.offer_of(facts) if facts is not None else None


@use_case(readonly=True)
def resolve_source_code(
    uow: UnitOfWork, *, code: str | None, channel: str, on: date, field: str = "source_code"
) -> rules.Offer | None:
    """What an order placed on `on` through `channel` with source `code` keeps, and the offer it prices with. No
    code: None. An unknown, switched-off or expired code: the channel's default code, or a refusal.

    Raises:
        ValidationFailed: naming `field`, when the code cannot key the order and the channel refuses such orders
            (or its default is itself no longer valid).
    """
    if code is None or not code.strip():
        return None
    wanted = code.strip().upper()
    facts = _facts(uow, wanted) if len(wanted) <= 40 else None
    reason = rules.why_not_valid(facts, on)
    if reason is None:
        assert facts is not None
        return rules.offer_of(facts)
    policy = uow.session.get(ChannelCodePolicyRow, channel)
    if policy is None or policy.on_unknown == "refuse" or policy.default_code is None:
        raise ValidationFailed.on(field, f"source code {wanted[:40]!r} {reason}")
    default = _facts(uow, policy.default_code)
    if default is None or rules.why_not_valid(default, on) is not None:
        raise ValidationFailed.on(
            field,
            f"source code {wanted[:40]!r} {reason}, and {channel}'s default {policy.default_code} is not valid",
        )
    return rules.offer_of(default, given=wanted[:40])


def code_for_customer(uow: UnitOfWork, code: str, channel: str) -> str:
    """The source code a new customer keeps: the master list's code as of today, or the channel's default for an
    unknown or expired one (customers' source-code check, wired by the application).

    Raises:
        ValidationFailed: naming `source_code`, when the code cannot stand and the channel maps it to no default.
    """
    offer = resolve_source_code(uow, code=code, channel=channel, on=uow.now().date())
    assert offer is not None  # a non-empty code always resolves or refuses
    return offer.code

"""Changing pricing set-up after it was made: a promotion's name, priority, dates and whether it is on; a coupon's
limit and whether it is on. Every change bumps the rules' version (quoting processes reload at once) and is
audited with the values before and after."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.pricing.service.listing import CouponView, PromotionView, get_coupon, get_promotion
from ordersmith.pricing.service.setup import _dates, _rules_changed
from ordersmith.pricing.tables import CouponRow, PromotionRow

MAX_PRIORITY = 1_000_000


class Keep(enum.Enum):
    """Leave a field as it is."""

    KEEP = "keep"


@dataclass(frozen=True)
class Dates:
    """A promotion's new start and/or end: a field left out (`KEEP`) stays as it is; None means from now on / with
    no end."""

    starts_at: datetime | Keep | None = Keep.KEEP
    ends_at: datetime | Keep | None = Keep.KEEP


@use_case
def change_promotion(
    uow: UnitOfWork,
    *,
    code: str,
    name: str | None = None,
    priority: int | None = None,
    dates: Dates | None = None,
    active: bool | None = None,
) -> PromotionView:
    """Rename, reprioritise, re-date or switch a promotion on or off (what is not given stays). Its kind, amounts
    and targets are not changed here: make a new promotion for a different offer, so orders already priced by
    this one keep their explanation.

    Raises:
        NotFound: no such promotion.
        ValidationFailed: an empty name, a priority beyond ±1,000,000, or an end not after the start.
    """
    row = uow.session.scalar(
        sa.select(PromotionRow).where(PromotionRow.code == code.upper()).with_for_update()
    )
    if row is None:
        raise NotFound(f"no promotion {code!r}")
    before = _promotion_facts(row)
    if name is not None:
        if not name.strip():
            raise ValidationFailed.on("name", "a promotion needs a name")
        row.name = name.strip()[:200]
    if priority is not None:
        if not -MAX_PRIORITY <= priority <= MAX_PRIORITY:
            raise ValidationFailed.on("priority", f"from -{MAX_PRIORITY:,} to {MAX_PRIORITY:,}")
        row.priority = priority
    if dates is not None:
        starts_at = row.starts_at if isinstance(dates.starts_at, Keep) else dates.starts_at
        ends_at = row.ends_at if isinstance(dates.ends_at, Keep) else dates.ends_at
        _dates(starts_at, ends_at)
        row.starts_at, row.ends_at = starts_at, ends_at
    if active is not None:
        row.active = active
    after = _promotion_facts(row)
    if after != before:
        _rules_changed(uow)
        uow.audit(
            "promotion.changed", object_type="promotion", object_id=row.code, before=before, after=after
        )
    uow.session.flush()
    return get_promotion(uow, code=row.code)


@use_case
def change_coupon(
    uow: UnitOfWork,
    *,
    code: str,
    max_uses: int | None = None,
    no_limit: bool = False,
    active: bool | None = None,
) -> CouponView:
    """Raise or lower a coupon's limit of uses (never below the uses it has had), lift it (`no_limit`), or switch
    the coupon on or off.

    Raises:
        NotFound: no such coupon.
        ValidationFailed: a limit below 1 or below the uses already made.
    """
    row = uow.session.scalar(sa.select(CouponRow).where(CouponRow.code == code.upper()).with_for_update())
    if row is None:
        raise NotFound(f"no coupon {code!r}")
    before = {"max_uses": row.max_uses, "active": row.active}
    if no_limit:
        row.max_uses = None
    elif max_uses is not None:
        if max_uses < max(row.uses, 1):
            raise ValidationFailed.on(
                "max_uses", f"at least {max(row.uses, 1)} (it has been used {row.uses} times)"
            )
        row.max_uses = max_uses
    if active is not None:
        row.active = active
    after = {"max_uses": row.max_uses, "active": row.active}
    if after != before:
        _rules_changed(uow)
        uow.audit("coupon.changed", object_type="coupon", object_id=row.code, before=before, after=after)
    uow.session.flush()
    return get_coupon(uow, code=row.code)


def _promotion_facts(row: PromotionRow) -> dict[str, object]:
    return {
        "name": row.name,
        "priority": row.priority,
        "starts_at": row.starts_at.isoformat() if row.starts_at else None,
        "ends_at": row.ends_at.isoformat() if row.ends_at else None,
        "active": row.active,
    }

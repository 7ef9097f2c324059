"""Accounts payable, the queue side: bills that failed their three-way match waiting with their reasons (oldest
first), the resolved ones with who resolved them and how, and the match tolerances a vendor's bills are held to.

Accepting, rejecting and matching a bill again are `payables`' use cases (they move the bill); this module reads
the queue and keeps the tolerances.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from ordersmith.finance.service.payables import (
    _BILLS,
    _EXCEPTIONS,
    _TOLERANCES,
    MatchReason,
    _cursor_id,
    _detail,
    _reasons,
    _tolerance,
)
from ordersmith.kernel.errors import FieldError, NotFound, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.kernel.pagination import Page, check_limit, encode_cursor
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.purchasing import service as purchasing


@dataclass(frozen=True)
class MatchException:
    id: uuid.UUID
    bill: str
    bill_id: uuid.UUID
    bill_version: int
    vendor: str
    vendor_invoice: str
    purchase_order: str
    total: Money
    due_on: date
    status: str  # open | resolved
    reasons: list[MatchReason]
    raised_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None  # accepted | rejected | rematched
    note: str


@dataclass(frozen=True)
class MatchTolerance:
    vendor: str
    quantity_pct: Decimal
    price_pct: Decimal
    amount: Money
    default: bool  # the built-in tolerance (the vendor has none of its own)


# ---- tolerances ------------------------------------------------------------------------------------------------


@use_case(readonly=True)
def get_match_tolerance(uow: UnitOfWork, *, vendor: str) -> MatchTolerance:
    """The tolerances a vendor's bills are matched with (its own, else the built-in default).

    Raises:
        NotFound: no such vendor.
    """
    found = purchasing.get_vendor(uow, code=vendor)
    row = uow.execute_core(sa.select(_TOLERANCES.c.vendor).where(_TOLERANCES.c.vendor == found.code)).first()
    t = _tolerance(uow, found.code, found.currency)
    return MatchTolerance(
        found.code, t.quantity_pct, t.price_pct, Money.from_minor(t.amount_minor, found.currency), row is None
    )


@use_case
def set_match_tolerance(
    uow: UnitOfWork, *, vendor: str, quantity_pct: Decimal, price_pct: Decimal, amount: Money
) -> MatchTolerance:
    """Set a vendor's match tolerances: percentages (0 to 100, two decimals) and an amount in its currency.

    Raises:
        NotFound: no such vendor.
        ValidationFailed: a percentage out of range or finer than 0.01, an amount below zero or in another
            currency (naming the field).
    """
    found = purchasing.get_vendor(uow, code=vendor)
    errors = [
        FieldError(name, "a percentage from 0 to 100, to two decimals")
        for name, pct in (("quantity_pct", quantity_pct), ("price_pct", price_pct))
        if not (0 <= pct <= 100) or pct != pct.quantize(Decimal("0.01"))
    ]
    if amount.currency != found.currency:
        errors.append(FieldError("amount.currency", f"must be the vendor's currency, {found.currency}"))
    elif amount.minor < 0:
        errors.append(FieldError("amount", "must not be negative"))
    if errors:
        raise ValidationFailed(_detail(errors), errors=errors)
    values = {
        "quantity_bp": int(quantity_pct * 100),
        "price_bp": int(price_pct * 100),
        "amount_minor": amount.minor,
        "updated_by": uow.actor.label,
        "updated_at": uow.now(),
    }
    before = uow.execute_core(sa.select(_TOLERANCES).where(_TOLERANCES.c.vendor == found.code)).first()
    if before is None:
        uow.execute_core(sa.insert(_TOLERANCES).values(vendor=found.code, **values))
    else:
        uow.execute_core(sa.update(_TOLERANCES).where(_TOLERANCES.c.vendor == found.code).values(**values))
    uow.audit(
        "vendor.match_tolerance_set",
        object_type="vendor",
        object_id=found.code,
        before={
            "quantity_bp": before.quantity_bp,
            "price_bp": before.price_bp,
            "amount_minor": before.amount_minor,
        }
        if before
        else None,
        after={k: values[k] for k in ("quantity_bp", "price_bp", "amount_minor")},
    )
    return MatchTolerance(found.code, quantity_pct, price_pct, amount, False)


# ---- the exception queue ---------------------------------------------------------------------------------------


def _exception(row: Any) -> MatchException:
    return MatchException(
        id=row.id,
        bill=row.number,
        bill_id=row.bill_id,
        bill_version=row.version,
        vendor=row.vendor,
        vendor_invoice=row.vendor_invoice,
        purchase_order=row.purchase_order,
        total=Money.from_minor(row.total_minor, row.currency),
        due_on=row.due_on,
        status=row.exception_status,
        reasons=_reasons(row.exception_reasons or []),
        raised_at=row.raised_at,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        resolution=row.resolution,
        note=row.exception_note,
    )


_QUEUE = sa.select(
    _EXCEPTIONS.c.id,
    _EXCEPTIONS.c.bill_id,
    _EXCEPTIONS.c.status.label("exception_status"),
    _EXCEPTIONS.c.reasons.label("exception_reasons"),
    _EXCEPTIONS.c.raised_at,
    _EXCEPTIONS.c.resolved_at,
    _EXCEPTIONS.c.resolved_by,
    _EXCEPTIONS.c.resolution,
    _EXCEPTIONS.c.note.label("exception_note"),
    _BILLS.c.number,
    _BILLS.c.version,
    _BILLS.c.vendor,
    _BILLS.c.vendor_invoice,
    _BILLS.c.purchase_order,
    _BILLS.c.total_minor,
    _BILLS.c.currency,
    _BILLS.c.due_on,
).select_from(_EXCEPTIONS.join(_BILLS, _BILLS.c.id == _EXCEPTIONS.c.bill_id))


@use_case(readonly=True)
def list_match_exceptions(
    uow: UnitOfWork,
    *,
    status: str = "open",
    vendor: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[MatchException]:
    """The exception queue: bills that failed their three-way match with the reasons, oldest first (`open`), or
    the resolved ones newest first with who resolved them and how.

    Raises:
        ValidationFailed: an unknown status, a malformed cursor or a limit out of range (naming the field).
    """
    check_limit(limit)
    if status not in ("open", "resolved"):
        raise ValidationFailed.on("status", "open or resolved")
    query = _QUEUE.where(_EXCEPTIONS.c.status == status)
    if vendor is not None:
        query = query.where(_BILLS.c.vendor == vendor.strip().upper())
    oldest_first = status == "open"
    if cursor:
        after = _cursor_id(cursor)
        query = query.where(_EXCEPTIONS.c.id > after if oldest_first else _EXCEPTIONS.c.id < after)
    order = _EXCEPTIONS.c.id if oldest_first else _EXCEPTIONS.c.id.desc()
    rows = uow.execute_core(query.order_by(order).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Page([_exception(r) for r in rows], encode_cursor(str(rows[-1].id)) if more else None)


@use_case(readonly=True)
def get_match_exception(uow: UnitOfWork, *, exception_id: uuid.UUID) -> MatchException:
    """One exception, open or resolved.

    Raises:
        NotFound: no such exception.
    """
    row = uow.execute_core(_QUEUE.where(_EXCEPTIONS.c.id == exception_id)).first()
    if row is None:
        raise NotFound(f"no match exception {exception_id}")
    return _exception(row)

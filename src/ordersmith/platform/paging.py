"""Keyset pagination for list use cases: stable order, opaque cursor, no OFFSET scans."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute

from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.pagination import Page, check_limit, decode_cursor, encode_cursor
from ordersmith.platform.db import UnitOfWork, UTCDateTime

T = TypeVar("T")


def _parse(column: InstrumentedAttribute[Any], value: str) -> Any:
    try:
        if isinstance(column.type, sa.Uuid):
            return uuid.UUID(value)
        if isinstance(column.type, (sa.DateTime, UTCDateTime)):
            at = datetime.fromisoformat(value)
            if at.tzinfo is None:
                raise ValueError("naive")
            return at
    except ValueError as exc:
        raise ValidationFailed.on("cursor", "malformed cursor") from exc
    return value


def keyset_page(
    uow: UnitOfWork,
    query: sa.Select[Any],
    *,
    keys: Sequence[InstrumentedAttribute[Any]],
    to_item: Callable[[Any], T],
    cursor: str | None,
    limit: int,
    descending: bool = False,
) -> Page[T]:
    """One page of `query` ordered by `keys` (which must be unique together), after `cursor`.

    Raises:
        ValidationFailed: a limit out of range or a malformed cursor (naming the field).
    """
    check_limit(limit)
    query = query.order_by(*(k.desc() if descending else k.asc() for k in keys)).limit(limit + 1)
    if cursor:
        values = [_parse(k, v) for k, v in zip(keys, decode_cursor(cursor, len(keys)), strict=True)]
        left: Any = sa.tuple_(*keys) if len(keys) > 1 else keys[0]
        right: Any = tuple(values) if len(keys) > 1 else values[0]
        query = query.where(left < right if descending else left > right)
        if len(keys) > 1:  # the same bound on the first key alone: an index range on it for either database
            query = query.where(keys[0] <= values[0] if descending else keys[0] >= values[0])
    rows = list(uow.session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(*(str(getattr(rows[-1], k.key)) for k in keys)) if more else None
    return Page([to_item(r) for r in rows], next_cursor)

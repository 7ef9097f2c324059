"""Finding a customer while the phone rings: one box for name (prefix or misspelt), phone (any format), e-mail,
postal code or customer number; every lookup is an index range on the search keys, then ranked."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ordersmith.customers import rules
from ordersmith.customers.service._common import _members
from ordersmith.customers.tables import (
    CustomerAddressRow,
    CustomerEmailRow,
    CustomerPhoneRow,
    CustomerRow,
    CustomerSearchKeyRow,
)
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.platform import custom_fields as custom
from ordersmith.platform.db import UnitOfWork, use_case

PER_KEY_LIMIT = 500  # candidates read per key: a two-letter prefix in a million customers stays cheap
_KEYS = CustomerSearchKeyRow.__table__


@dataclass(frozen=True)
class SearchHit:
    id: uuid.UUID
    number: str
    display_name: str
    email: str | None
    phone: str | None
    postal_code: str | None
    matched: list[str]  # which kinds of key matched: name, sound, full, sounds, phone, email, postal, number
    score: float


def _next(prefix: str) -> str:
    """The smallest string greater than every string starting with `prefix` (byte order)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


@use_case(readonly=True)
def search_customers(
    uow: UnitOfWork, *, q: str, limit: int = 20, default_country: str = "US", visible_to: str | None = None,
    custom_filters: Mapping[str, str] | None = None,
) -> list[SearchHit]:  # fmt: skip
    """Customers matching what was typed, best first (with `visible_to`, a channel-bound caller's channel: only
    that channel's customers). `custom_filters` (custom field values by name) keep only the customers with those
    values; with them, `q` may be empty (the matches by name).

    Raises:
        ValidationFailed: fewer than two characters (and no custom filter), a limit outside 1-100, a filter on an
            unknown custom field or with a value of the wrong type (`custom.<name>`).
    """
    if not 1 <= limit <= 100:
        raise ValidationFailed.on("limit", "must be between 1 and 100")
    with_values: set[uuid.UUID] | None = None
    if custom_filters:
        ids = sa.select(CustomerRow.id).where(CustomerRow.merged_into_id.is_(None))
        for matching in custom.matching(uow, kind="customer", filters=custom_filters):
            ids = ids.where(CustomerRow.id.in_(matching))
        with_values = set(uow.session.scalars(ids.limit(PER_KEY_LIMIT)))
        if not q.strip():
            return _custom_hits(uow, with_values, limit=limit, visible_to=visible_to)
    if len(q.strip()) < 2:
        raise ValidationFailed.on("q", "type at least two characters")
    query = rules.parse_query(q, default_country)
    matched: dict[uuid.UUID, set[str]] = defaultdict(set)
    name_hits: dict[uuid.UUID, set[str]] = defaultdict(set)
    whole_phone: set[uuid.UUID] = set()  # customers with exactly the number typed, not just its last 7 digits
    lookups = [(kind, _KEYS.c.key == key, key) for kind, key in query.exact]
    lookups += [(kind, sa.and_(_KEYS.c.key >= key, _KEYS.c.key < _next(key)), key)
                for kind, key in query.prefixes if len(key) >= 2]  # fmt: skip
    for kind, condition, key in lookups:
        found = uow.execute_core(
            sa.select(_KEYS.c.customer_id).where(_KEYS.c.kind == kind, condition).limit(PER_KEY_LIMIT)
        ).scalars()
        for customer_id in found:
            matched[customer_id].add(kind)
            if kind in ("name", "sound", "full", "sounds"):
                name_hits[customer_id].add(key)
            elif kind == "phone" and key == query.whole_phone:
                whole_phone.add(customer_id)
    if with_values is not None:
        matched = defaultdict(set, {c: kinds for c, kinds in matched.items() if c in with_values})
    if visible_to is not None:
        members = _members(uow, list(matched), visible_to)
        matched = defaultdict(set, {c: kinds for c, kinds in matched.items() if c in members})
    if not matched:
        return []
    # Customers matching more of the typed name tokens (by prefix or by sound) come first, then contact matches.
    tokens = max(len(query.name_tokens), 1)
    shortlist = sorted(matched, key=lambda c: (-(len(matched[c] & {"phone", "email", "number"}) * 10 +
                                                 (c in whole_phone) * 10 + min(len(name_hits[c]), tokens * 2)),
                                               c))[: limit * 5]  # fmt: skip
    rows = uow.session.execute(
        sa.select(CustomerRow.id, CustomerRow.number, CustomerRow.display_name).where(
            CustomerRow.id.in_(shortlist), CustomerRow.merged_into_id.is_(None)
        )
    ).all()
    emails = _primary(uow, CustomerEmailRow, CustomerEmailRow.email, shortlist)
    phones = _primary(uow, CustomerPhoneRow, CustomerPhoneRow.phone, shortlist)
    postal = {r.customer_id: r.postal_code for r in uow.session.execute(
        sa.select(CustomerAddressRow.customer_id, CustomerAddressRow.postal_code)
        .where(CustomerAddressRow.customer_id.in_(shortlist), CustomerAddressRow.is_default.is_(True))
        .order_by(CustomerAddressRow.kind))}  # fmt: skip
    hits = [
        SearchHit(id=r.id, number=r.number, display_name=r.display_name, email=emails.get(r.id),
                  phone=phones.get(r.id), postal_code=postal.get(r.id) or None, matched=sorted(matched[r.id]),
                  score=rules.rank(query, r.display_name, matched[r.id], whole_phone=r.id in whole_phone))
        for r in rows
    ]  # fmt: skip
    return sorted(hits, key=lambda h: (-h.score, h.display_name, h.number))[:limit]


def _custom_hits(
    uow: UnitOfWork, ids: set[uuid.UUID], *, limit: int, visible_to: str | None
) -> list[SearchHit]:
    """The customers found by custom field values alone, by name."""
    if visible_to is not None:
        ids = _members(uow, list(ids), visible_to)
    if not ids:
        return []
    rows = uow.session.execute(
        sa.select(CustomerRow.id, CustomerRow.number, CustomerRow.display_name)
        .where(CustomerRow.id.in_(ids)).order_by(CustomerRow.display_name, CustomerRow.number).limit(limit)
    ).all()  # fmt: skip
    shown = [r.id for r in rows]
    emails = _primary(uow, CustomerEmailRow, CustomerEmailRow.email, shown)
    phones = _primary(uow, CustomerPhoneRow, CustomerPhoneRow.phone, shown)
    return [SearchHit(id=r.id, number=r.number, display_name=r.display_name, email=emails.get(r.id),
                      phone=phones.get(r.id), postal_code=None, matched=["custom"], score=0.0)
            for r in rows]  # fmt: skip


def _primary(uow: UnitOfWork, table: type, column: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = uow.session.execute(
        sa.select(table.customer_id, column).where(table.customer_id.in_(ids), table.is_primary.is_(True))  # type: ignore[attr-defined]
    )
    return {customer_id: value for customer_id, value in rows}

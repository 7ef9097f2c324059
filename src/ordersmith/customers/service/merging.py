"""Duplicates and merges: find customers that look like the same person, and merge one into another — its
contacts and timeline move, its number keeps answering (it redirects to the survivor), and orders follow through
the `customer.merged` event."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from ordersmith.customers import rules
from ordersmith.customers.service._common import (
    Address,
    Customer,
    Details,
    Phone,
    _customer,
    _join_channels,
    _members,
    _reindex,
    _row,
)
from ordersmith.customers.tables import (
    CustomerAddressRow,
    CustomerChannelRow,
    CustomerEmailRow,
    CustomerNoteRow,
    CustomerPhoneRow,
    CustomerRow,
    CustomerSearchKeyRow,
)
from ordersmith.kernel.errors import Conflict
from ordersmith.kernel.ids import new_id
from ordersmith.platform.db import UnitOfWork, use_case


@dataclass(frozen=True)
class Duplicate:
    number: str
    display_name: str
    reasons: list[str]


def _searchable(customer: Customer) -> rules.Searchable:
    return rules.Searchable(
        number=customer.number,
        names=[customer.display_name],
        emails=customer.emails,
        phones=[p.number for p in customer.phones],
        postal_codes=[a.postal_code for a in customer.addresses if a.postal_code],
    )


@use_case(readonly=True)
def find_duplicates(uow: UnitOfWork, *, ref: str, visible_to: str | None = None) -> list[Duplicate]:
    """Customers sharing this one's e-mail or phone, or its name at one of its postal codes (with `visible_to`, a
    channel-bound caller's channel: this customer and its duplicates must be that channel's)."""
    me = _customer(uow, _row(uow, ref, visible_to))
    candidates: set[uuid.UUID] = set()
    if me.emails:
        candidates |= set(
            uow.session.scalars(
                sa.select(CustomerEmailRow.customer_id).where(CustomerEmailRow.email.in_(me.emails))
            )
        )
    if me.phones:
        candidates |= set(
            uow.session.scalars(
                sa.select(CustomerPhoneRow.customer_id).where(
                    CustomerPhoneRow.phone.in_([p.number for p in me.phones])
                )
            )
        )
    postal = [a.postal_code.replace(" ", "") for a in me.addresses if a.postal_code]
    if postal:
        candidates |= set(
            uow.session.scalars(
                sa.select(CustomerSearchKeyRow.customer_id)
                .where(CustomerSearchKeyRow.kind == "postal", CustomerSearchKeyRow.key.in_(postal))
                .limit(500)
            )
        )
    candidates.discard(me.id)
    if visible_to is not None:
        candidates = _members(uow, list(candidates), visible_to)
    found: list[Duplicate] = []
    for row in uow.session.scalars(
        sa.select(CustomerRow).where(CustomerRow.id.in_(candidates), CustomerRow.merged_into_id.is_(None))
    ):
        other = _customer(uow, row)
        reasons = rules.likely_duplicate_reasons(
            _searchable(me), _searchable(other), me.display_name, other.display_name
        )
        if reasons:
            found.append(Duplicate(other.number, other.display_name, reasons))
    return sorted(found, key=lambda d: d.number)


@use_case
def merge_customers(uow: UnitOfWork, *, survivor: str, merged: str) -> Customer:
    """Merge `merged` into `survivor`: e-mails, phones and addresses the survivor lacks move over, the whole
    timeline moves, and `merged` keeps its number as a pointer to the survivor. Audited; emits `customer.merged`.

    Raises:
        Conflict: the two are the same customer, or one of them was merged or anonymized already (409).
    """
    keep, gone = _row(uow, survivor), _row(uow, merged)
    if keep.id == gone.id:
        raise Conflict(f"{keep.number} cannot be merged into itself")
    for row in (keep, gone):
        if row.anonymized_at is not None:
            raise Conflict(f"{row.number} was anonymized and cannot be merged")
    before_keep, before_gone = _customer(uow, keep), _customer(uow, gone)
    # Contacts: the survivor's stay first (its primaries stay primary); the merged customer's new ones follow.
    emails = list(dict.fromkeys([*before_keep.emails, *before_gone.emails]))
    phones = list({p.number: p for p in [*before_gone.phones, *before_keep.phones]}.values())
    phones.sort(key=lambda p: p.number not in {q.number for q in before_keep.phones})
    known = {(a.kind, a.line1.lower(), a.postal_code, a.country) for a in before_keep.addresses}
    extra = [
        a
        for a in before_gone.addresses
        if a.kind == "ship_to" and (a.kind, a.line1.lower(), a.postal_code, a.country) not in known
    ]
    for table in (CustomerEmailRow, CustomerPhoneRow):
        uow.session.execute(sa.delete(table).where(table.customer_id.in_([keep.id, gone.id])))
    for n, email in enumerate(emails):
        uow.session.add(CustomerEmailRow(customer_id=keep.id, email=email, is_primary=n == 0))
    for n, phone in enumerate(phones):
        uow.session.add(
            CustomerPhoneRow(customer_id=keep.id, phone=phone.number, label=phone.label, is_primary=n == 0)
        )
    uow.session.execute(
        sa.update(CustomerAddressRow)
        .where(CustomerAddressRow.id.in_([a.id for a in extra]))
        .values(customer_id=keep.id, is_default=False)
    )
    uow.session.execute(sa.delete(CustomerAddressRow).where(CustomerAddressRow.customer_id == gone.id))
    uow.session.execute(
        sa.update(CustomerNoteRow).where(CustomerNoteRow.customer_id == gone.id).values(customer_id=keep.id)
    )
    # The survivor belongs to every channel either belonged to (the merged number redirects to it).
    _join_channels(uow, keep.id, list(uow.session.scalars(
        sa.select(CustomerChannelRow.channel).where(CustomerChannelRow.customer_id == gone.id))))  # fmt: skip
    now = uow.now()
    gone.merged_into_id, gone.updated_at, gone.version = keep.id, now, gone.version + 1
    keep.updated_at, keep.version = now, keep.version + 1
    if gone.status == "buyer":
        keep.status = "buyer"
    keep.tags = sorted({*keep.tags, *gone.tags})
    uow.session.add(
        CustomerNoteRow(
            id=new_id(),
            customer_id=keep.id,
            kind="system",
            body=f"{gone.number} ({before_gone.display_name}) merged into this customer",
            channel="",
            actor=uow.actor.label,
            data={"merged": gone.number},
            at=now,
        )
    )
    uow.session.flush()
    after = _customer(uow, keep)
    details = Details(
        emails=after.emails,
        phones=[Phone(p.number, p.label) for p in after.phones],
        addresses=[
            Address(kind=a.kind, line1=a.line1, city=a.city, country=a.country, postal_code=a.postal_code)
            for a in after.addresses
        ],
    )
    _reindex(uow, keep, details)
    _reindex(uow, gone, details)  # a merged customer has no keys of its own: its number redirects
    uow.session.flush()
    uow.audit(
        "customer.merged",
        object_type="customer",
        object_id=keep.number,
        before={"survivor": before_keep.number, "merged": before_gone.number},
        after={"emails": len(after.emails), "phones": len(after.phones), "addresses": len(after.addresses)},
    )
    uow.emit(
        "customer.merged",
        {
            "survivor_id": str(keep.id),
            "survivor": keep.number,
            "merged_id": str(gone.id),
            "merged": gone.number,
        },
    )
    return after

"""Privacy requests: everything held about a customer as one JSON document, and anonymization that removes the
person while keeping the customer's number (and so their orders) for the accounts."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ordersmith.customers.service._common import Customer, _customer, _row
from ordersmith.customers.tables import (
    CustomerAddressRow,
    CustomerEmailRow,
    CustomerNoteRow,
    CustomerPhoneRow,
    CustomerRow,
    CustomerSearchKeyRow,
)
from ordersmith.kernel.errors import Conflict
from ordersmith.kernel.ids import new_id
from ordersmith.platform import custom_fields as custom
from ordersmith.platform.audit import list_audit
from ordersmith.platform.db import UnitOfWork, use_case

ANONYMIZED = "Anonymized customer"


@use_case(readonly=True)
def export_customer(uow: UnitOfWork, *, ref: str) -> dict[str, Any]:
    """The customer's record, contacts, timeline and the audit trail of changes to it, as plain JSON values."""
    row = _row(uow, ref)
    customer = _customer(uow, row)
    notes = uow.session.scalars(
        sa.select(CustomerNoteRow).where(CustomerNoteRow.customer_id == row.id).order_by(CustomerNoteRow.id)
    )
    profile = {k: v for k, v in customer.__dict__.items() if k not in ("phones", "addresses", "credit_limit")}
    document: dict[str, Any] = _plain(
        {
            "exported_at": uow.now(),
            "customer": {
                **profile,
                "credit_limit": None
                if customer.credit_limit is None
                else {
                    "amount": str(customer.credit_limit.amount),
                    "currency": customer.credit_limit.currency,
                },
            },
            "custom_fields": custom.read_values(uow, kind="customer", record_id=row.id),
            "phones": [p.__dict__ for p in customer.phones],
            "addresses": [a.__dict__ for a in customer.addresses],
            "timeline": [
                {"kind": n.kind, "body": n.body, "channel": n.channel, "actor": n.actor, "at": n.at}
                for n in notes
            ],
            "changes": [
                {"action": a.action, "actor": a.actor_label, "at": a.at, "before": a.before, "after": a.after}
                for a in list_audit(uow, object_type="customer", object_id=row.number, limit=500).items
            ],
        }
    )
    return document


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value) if not hasattr(value, "isoformat") else value.isoformat()


@use_case
def anonymize_customer(uow: UnitOfWork, *, ref: str, reason: str = "") -> Customer:
    """Remove the person: names, e-mails, phones, addresses, tags and note texts go; the number, the customer
    group and the dates stay, so orders and the books keep their references. Cannot be undone.

    Raises:
        Conflict: already anonymized, or merged into another customer (anonymize that one).
    """
    row = _row(uow, ref)
    if row.anonymized_at is not None:
        raise Conflict(f"{row.number} was anonymized already")
    now = uow.now()
    for table in (CustomerEmailRow, CustomerPhoneRow, CustomerAddressRow, CustomerSearchKeyRow):
        uow.session.execute(sa.delete(table).where(table.customer_id == row.id))
    uow.session.execute(
        sa.update(CustomerNoteRow)
        .where(CustomerNoteRow.customer_id == row.id)
        .values(body="(removed)", data=None)
    )
    # Customers merged into this one carried the same person: their leftover rows are emptied too.
    merged = list(uow.session.scalars(sa.select(CustomerRow).where(CustomerRow.merged_into_id == row.id)))
    for person in [row, *merged]:
        custom.delete_record_values(uow, kind="customer", record_id=person.id)  # the retailer's own facts too
        person.first_name, person.last_name, person.company = "", "", ""
        person.display_name, person.tax_certificate, person.tags = ANONYMIZED, "", []
        person.anonymized_at, person.updated_at, person.version = now, now, person.version + 1
    uow.session.add(
        CustomerNoteRow(
            id=new_id(),
            customer_id=row.id,
            kind="system",
            body="customer anonymized",
            channel="",
            actor=uow.actor.label,
            data=None,
            at=now,
        )
    )
    uow.session.flush()
    # The audit entry names the request, not the person (earlier entries keep what they recorded: the books).
    uow.audit("customer.anonymized", object_type="customer", object_id=row.number, after={"reason": reason})
    uow.emit("customer.anonymized", {"id": str(row.id), "number": row.number})
    return _customer(uow, row)

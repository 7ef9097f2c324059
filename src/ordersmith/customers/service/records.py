"""Creating, reading and editing customers. Edits are optimistic: the caller names the version it read, and a
customer someone else changed first is refused (412), never silently overwritten."""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa

from ordersmith.customers import rules
from ordersmith.customers.service._common import (
    Customer,
    Details,
    _checked,
    _customer,
    _display_name,
    _reindex,
    _row,
    _write_contacts,
)
from ordersmith.customers.tables import CustomerNoteRow, CustomerRow
from ordersmith.kernel.errors import PreconditionFailed, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.numbers import next_number

CUSTOMER_SERIES = "customer"
_EDITABLE = {f.name for f in dataclasses.fields(Details)}


def _snapshot(customer: Customer) -> dict[str, Any]:
    """What the audit log keeps of a customer: the business facts, never the person's name or contact details
    (the log is append-only, and an anonymized customer must leave no personal data behind in it)."""
    return {"kind": customer.kind, "status": customer.status, "customer_group": customer.customer_group,
            "tax_exempt": customer.tax_exempt, "credit_limit_minor": None if customer.credit_limit is None
            else customer.credit_limit.minor, "payment_terms": customer.payment_terms,
            "do_not_mail": customer.do_not_mail, "do_not_email": customer.do_not_email,
            "do_not_call": customer.do_not_call, "tags": customer.tags, "emails": len(customer.emails),
            "phones": len(customer.phones), "addresses": len(customer.addresses)}  # fmt: skip


def _apply(row: CustomerRow, details: Details) -> None:
    row.kind, row.company = details.kind, details.company.strip()
    row.first_name, row.last_name = details.first_name.strip(), details.last_name.strip()
    row.display_name = _display_name(details)
    row.status, row.customer_group, row.default_country = (
        details.status,
        details.customer_group,
        details.default_country,
    )
    row.tax_exempt, row.tax_certificate = details.tax_exempt, details.tax_certificate.strip()
    row.tax_exempt_until = details.tax_exempt_until
    row.credit_limit_minor = None if details.credit_limit is None else details.credit_limit.minor
    row.currency, row.payment_terms = details.currency, details.payment_terms
    row.do_not_mail, row.do_not_email, row.do_not_call = (
        details.do_not_mail,
        details.do_not_email,
        details.do_not_call,
    )
    row.tags = details.tags


@use_case
def create_customer(
    uow: UnitOfWork, *, details: Details, created_channel: str = "", source_code: str = ""
) -> Customer:
    """A new customer with the next number (C-100001 …), validated contacts and search keys; audited, with a
    `customer.created` event and a first timeline entry.

    Raises:
        ValidationFailed: a bad e-mail, phone or postal code (naming the field), no name, a tax exemption without
            a certificate, a credit limit in another currency.
    """
    details = _checked(details)
    now = uow.now()
    number = f"{rules.NUMBER_PREFIX}{rules.FIRST_NUMBER - 1 + next_number(uow, CUSTOMER_SERIES)}"
    row = CustomerRow(id=new_id(), number=number, created_channel=created_channel, source_code=source_code,
                      created_at=now, updated_at=now, version=1)  # fmt: skip
    _apply(row, details)
    uow.session.add(row)
    uow.session.flush()
    _write_contacts(uow, row.id, details)
    _reindex(uow, row, details)
    uow.session.add(CustomerNoteRow(id=new_id(), customer_id=row.id, kind="system", body="customer created",
                                    channel=created_channel, actor=uow.actor.label, data=None, at=now))  # fmt: skip
    uow.session.flush()
    customer = _customer(uow, row)
    uow.audit("customer.created", object_type="customer", object_id=number, after=_snapshot(customer))
    uow.emit("customer.created", {"id": str(row.id), "number": number, "channel": created_channel})
    return customer


@use_case(readonly=True)
def get_customer(uow: UnitOfWork, *, ref: str) -> Customer:
    """By id or number (any letter case); a merged-away number answers with the customer it was merged into."""
    return _customer(uow, _row(uow, ref))


@use_case
def update_customer(uow: UnitOfWork, *, ref: str, changes: dict[str, Any], expected_version: int) -> Customer:
    """Change the named fields of a customer that is still at `expected_version`.

    Raises:
        PreconditionFailed: someone else changed the customer since `expected_version` (412).
        ValidationFailed: an unknown field or a bad value (naming it).
    """
    unknown = sorted(set(changes) - _EDITABLE)
    if unknown:
        raise ValidationFailed.on(unknown[0], "cannot be changed here")
    row = _row(uow, ref)
    if row.anonymized_at is not None:
        raise ValidationFailed.on("ref", f"{row.number} was anonymized and cannot be edited")
    before = _customer(uow, row)
    current = Details(**{name: getattr(before, name) for name in _EDITABLE})
    details = _checked(dataclasses.replace(current, **changes))
    # One conditional UPDATE claims the edit: it succeeds only at the version the caller read, and its row lock
    # makes a concurrent edit wait and then fail the same test.
    table = CustomerRow.__table__
    claimed = uow.execute_core(
        sa.update(table).where(table.c.id == row.id, table.c.version == expected_version)  # type: ignore[arg-type]
        .values(version=expected_version + 1, updated_at=uow.now())
    ).rowcount  # fmt: skip
    uow.session.refresh(row)
    if not claimed:
        raise PreconditionFailed(f"{row.number} was changed by someone else (now version {row.version}); "
                                 "reload it and apply your change again", current_version=row.version)  # fmt: skip
    _apply(row, details)
    _write_contacts(uow, row.id, details)
    uow.session.flush()
    _reindex(uow, row, details)
    uow.session.flush()
    after = _customer(uow, row)
    uow.audit("customer.updated", object_type="customer", object_id=row.number, before=_snapshot(before),
              after={**_snapshot(after), "fields": sorted(changes)})  # fmt: skip
    uow.emit("customer.updated", {"id": str(row.id), "number": row.number, "fields": sorted(changes)})
    return after

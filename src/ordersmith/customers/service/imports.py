"""One customer from an import row: created, updated in the fields the file sets, or left as it is.

The same rules as the API's create and edit (the same validation, the same money-field scopes, audit and events):
this only decides which of the two applies and skips an edit that would change nothing. Custom field values (ADR
0051) are checked by `platform.custom_fields.check_values` as the API's create and edit check them; a chunk's
existing customers' current values are read in one query (`known_customers`).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ordersmith.customers import rules
from ordersmith.customers.service._common import Address, Details, _checked, _customer, _display_name
from ordersmith.customers.service.records import (
    CUSTOMER_SERIES,
    _guard,
    _snapshot,
    create_customer,
    update_customer,
)
from ordersmith.customers.tables import (
    CustomerAddressRow,
    CustomerEmailRow,
    CustomerNoteRow,
    CustomerPhoneRow,
    CustomerRow,
    CustomerSearchKeyRow,
)
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.platform import custom_fields as custom
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.numbers import next_numbers


@dataclass(frozen=True)
class KnownCustomers:
    """Which of a chunk's customer numbers and first e-mails name a customer already, read in two queries."""

    numbers: frozenset[str]
    by_email: dict[str, str]  # normalised e-mail → the number of the oldest customer holding it
    # their custom field values by number (None: not read, `import_customer` reads a customer's own)
    custom_values: dict[str, dict[str, Any]] | None = None


@dataclass(frozen=True)
class NewCustomer:
    """A row of `create_customers`: the customer, its source code, and its custom field values by name."""

    details: Details
    source_code: str = ""
    custom_fields: Mapping[str, Any] = field(default_factory=dict)


@use_case(readonly=True)
def known_customers(
    uow: UnitOfWork, *, numbers: list[str], emails: list[str], custom_fields: bool = False
) -> KnownCustomers:
    """The customers these numbers and e-mails name (an import looks a whole chunk up at once); with
    `custom_fields`, their custom field values too (one more query)."""
    wanted = sorted({n.strip().upper() for n in numbers if n.strip()})
    ids: dict[str, Any] = (
        dict(
            uow.session.execute(
                sa.select(CustomerRow.number, CustomerRow.id).where(CustomerRow.number.in_(wanted))
            )
            .tuples()
            .all()
        )
        if wanted
        else {}
    )
    found = set(ids)
    normal = set()
    for email in emails:
        try:
            normal.add(rules.normalize_email(email))
        except rules.Invalid:
            continue
    by_email: dict[str, str] = {}
    if normal:
        rows = uow.session.execute(
            sa.select(CustomerEmailRow.email, CustomerRow.number, CustomerRow.id)
            .join(CustomerRow, CustomerRow.id == CustomerEmailRow.customer_id)
            .where(CustomerEmailRow.email.in_(sorted(normal)), CustomerRow.merged_into_id.is_(None))
            .order_by(CustomerRow.created_at.desc())
        )
        for email, number, customer_id in rows:
            by_email[email] = number  # the oldest holder wins: it comes last
            ids[number] = customer_id
    values = None
    if custom_fields:
        read = custom.read_values_many(uow, kind="customer", record_ids=list(ids.values()))
        values = {number: read[customer_id] for number, customer_id in ids.items()}
    return KnownCustomers(numbers=frozenset(found), by_email=by_email, custom_values=values)


def _existing(
    uow: UnitOfWork, number: str | None, emails: list[str], known: KnownCustomers | None
) -> CustomerRow | None:
    if number:
        if known is not None and number.strip().upper() not in known.numbers:
            row = None
        else:
            row = uow.session.scalar(
                sa.select(CustomerRow).where(CustomerRow.number == number.strip().upper())
            )
        if row is None:
            raise ValidationFailed.on(
                "number", f"no customer {number!r} (new customers are numbered by Ordersmith)"
            )
        return row
    if not emails:
        return None
    try:
        email = rules.normalize_email(emails[0])
    except rules.Invalid:
        return None  # the create's own check names the bad e-mail
    if known is not None:
        holder = known.by_email.get(email)
        return (
            None
            if holder is None
            else uow.session.scalar(sa.select(CustomerRow).where(CustomerRow.number == holder))
        )
    return uow.session.scalar(
        sa.select(CustomerRow)
        .join(CustomerEmailRow, CustomerEmailRow.customer_id == CustomerRow.id)
        .where(CustomerEmailRow.email == email, CustomerRow.merged_into_id.is_(None))
        .order_by(CustomerRow.created_at)
        .limit(1)
    )


@use_case
def import_customer(
    uow: UnitOfWork,
    *,
    number: str | None,
    details: Details,
    fields: frozenset[str],
    source_code: str = "",
    granted: frozenset[str] | None = None,
    write: bool = True,
    known: KnownCustomers | None = None,
    custom_fields: Mapping[str, Any] | None = None,
) -> str:
    """Create or update the customer a row names (by `number`, else by its first e-mail); `fields` are the
    Details fields the file sets (an existing customer keeps the others). Returns created | updated | unchanged.
    With `write` False, only the checks of the create or edit run (a dry run): the same validation and scopes.
    `known` (from `known_customers`) saves the look-up of a chunk's new customers. `custom_fields`: the values
    the file sets, as the API takes them (None clears one; a field not given keeps its value on an update).

    Raises:
        ValidationFailed: a bad value (naming the field), an unknown number, an anonymized customer.
        Forbidden: a money field changes without its scope in `granted` (None: a trusted caller).
    """
    row = _existing(uow, number, details.emails, known)
    values = custom_fields or {}
    if row is None:
        if write:
            create_customer(
                uow, details=details, source_code=source_code, granted=granted, custom_fields=values
            )
        else:
            checked = _checked(details)
            custom.check_values(uow, kind="customer", values=values, creating=True)
            _guard(granted, Details(), checked)
        return "created"
    if row.anonymized_at is not None:
        raise ValidationFailed.on("number", f"{row.number} was anonymized and cannot be edited")
    customer = _customer(uow, row)
    current = Details(**{f.name: getattr(customer, f.name) for f in dataclasses.fields(Details)})
    current = dataclasses.replace(
        current, addresses=[dataclasses.replace(a, id=None) for a in current.addresses]
    )
    wanted = _checked(dataclasses.replace(current, **{name: getattr(details, name) for name in fields}))
    normal = _checked(current)
    changes = {
        name: getattr(wanted, name) for name in fields if getattr(wanted, name) != getattr(normal, name)
    }
    checked_values = custom.check_values(uow, kind="customer", values=values, creating=False)
    changed: dict[str, Any] = {}
    if checked_values:
        stored = (
            known.custom_values.get(row.number, {})
            if known is not None and known.custom_values is not None
            else custom.read_values(uow, kind="customer", record_id=row.id)
        )
        _, after = custom.differences(uow, kind="customer", current=stored, checked=checked_values)
        changed = {name: values[name] for name in after}
    if not changes and not changed:
        return "unchanged"
    if not write:
        _guard(granted, normal, wanted)
        return "updated"
    update_customer(
        uow,
        ref=row.number,
        changes=changes,
        expected_version=row.version,
        granted=granted,
        custom_fields=changed,
    )
    return "updated"


@use_case
def create_customers(
    uow: UnitOfWork, *, rows: list[NewCustomer], granted: frozenset[str] | None = None
) -> list[str]:
    """Many new customers at once (an import's chunk): what `create_customer` does for each — the same checks and
    scopes (custom field values too), a number each, normalised contacts, search keys, the first timeline entry,
    an audit row and a `customer.created` event — written a table at a time. Returns their numbers, in order.

    Raises:
        ValidationFailed, Forbidden: as `create_customer`, for the first row that fails (nothing is written).
    """
    checked = []
    values: list[dict[str, custom.Stored]] = []
    for new in rows:
        good = _checked(new.details)
        values.append(custom.check_values(uow, kind="customer", values=new.custom_fields, creating=True))
        _guard(granted, Details(), good)
        checked.append((good, new.source_code))
    if not checked:
        return []
    now = uow.now()
    numbers = [
        f"{rules.NUMBER_PREFIX}{rules.FIRST_NUMBER - 1 + n}"
        for n in next_numbers(uow, CUSTOMER_SERIES, len(checked))
    ]
    people: list[dict[str, object]] = []
    tables: dict[type, list[dict[str, object]]] = {
        t: []
        for t in (
            CustomerEmailRow,
            CustomerPhoneRow,
            CustomerAddressRow,
            CustomerSearchKeyRow,
            CustomerNoteRow,
        )
    }
    stored: dict[uuid.UUID, dict[str, custom.Stored]] = {}
    for (details, source_code), number, own in zip(checked, numbers, values, strict=True):
        customer_id = new_id()
        stored[customer_id] = own
        people.append(
            {
                "id": customer_id,
                "number": number,
                "kind": details.kind,
                "first_name": details.first_name.strip(),
                "last_name": details.last_name.strip(),
                "company": details.company.strip(),
                "display_name": _display_name(details),
                "status": details.status,
                "customer_group": details.customer_group,
                "default_country": details.default_country,
                "tax_exempt": details.tax_exempt,
                "tax_certificate": details.tax_certificate.strip(),
                "tax_exempt_until": details.tax_exempt_until,
                "credit_limit_minor": None if details.credit_limit is None else details.credit_limit.minor,
                "currency": details.currency,
                "payment_terms": details.payment_terms,
                "do_not_mail": details.do_not_mail,
                "do_not_email": details.do_not_email,
                "do_not_call": details.do_not_call,
                "tags": details.tags,
                "created_channel": "",
                "source_code": source_code,
                "last_source_code": source_code,
                "merged_into_id": None,
                "anonymized_at": None,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
        )
        tables[CustomerEmailRow] += [
            {"customer_id": customer_id, "email": e, "is_primary": n == 0}
            for n, e in enumerate(details.emails)
        ]
        tables[CustomerPhoneRow] += [
            {"customer_id": customer_id, "phone": p.number, "label": p.label, "is_primary": n == 0}
            for n, p in enumerate(details.phones)
        ]
        defaults: set[str] = set()
        for a in details.addresses:
            is_default = a.kind not in defaults and (
                a.is_default or not any(b.is_default for b in details.addresses if b.kind == a.kind)
            )
            if is_default:
                defaults.add(a.kind)
            tables[CustomerAddressRow].append(
                {
                    "id": new_id(),
                    "customer_id": customer_id,
                    "kind": a.kind,
                    "name": a.name,
                    "line1": a.line1,
                    "line2": a.line2,
                    "city": a.city,
                    "region": a.region,
                    "postal_code": a.postal_code,
                    "country": a.country,
                    "is_default": is_default,
                }
            )
        searchable = rules.Searchable(
            number=number,
            names=[details.first_name.strip(), details.last_name.strip(), details.company.strip()],
            emails=details.emails,
            phones=[p.number for p in details.phones],
            postal_codes=[a.postal_code for a in details.addresses],
        )
        tables[CustomerSearchKeyRow] += [
            {"kind": kind, "key": key, "customer_id": customer_id}
            for kind, key in sorted(rules.search_keys(searchable))
        ]
        tables[CustomerNoteRow].append(
            {
                "id": new_id(),
                "customer_id": customer_id,
                "kind": "system",
                "body": "customer created",
                "channel": "",
                "actor": uow.actor.label,
                "data": None,
                "at": now,
            }
        )
        after = _snapshot(details)
        if own:  # as create_customer audits them
            after["custom_fields"] = custom.shown(uow, kind="customer", checked=own)
        uow.audit("customer.created", object_type="customer", object_id=number, after=after)
        uow.emit("customer.created", {"id": str(customer_id), "number": number, "channel": ""})
    uow.insert_many(CustomerRow, people)
    for table, batch in tables.items():
        uow.insert_many(table, batch)
    custom.write_values_many(uow, kind="customer", checked=stored, new=True)
    return numbers


__all__ = [
    "Address",
    "KnownCustomers",
    "NewCustomer",
    "create_customers",
    "import_customer",
    "known_customers",
]

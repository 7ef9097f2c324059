"""Shared pieces of the customer use cases: result types, input types, loading and the search-index refresh."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ordersmith.customers import rules
from ordersmith.customers.tables import (
    CustomerAddressRow,
    CustomerChannelRow,
    CustomerEmailRow,
    CustomerPhoneRow,
    CustomerRow,
    CustomerSearchKeyRow,
)
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.platform.db import UnitOfWork


@dataclass(frozen=True)
class Address:
    kind: str  # bill_to | ship_to
    line1: str
    city: str
    country: str
    name: str = ""
    line2: str = ""
    region: str = ""
    postal_code: str = ""
    is_default: bool = False
    id: uuid.UUID | None = None


@dataclass(frozen=True)
class Phone:
    number: str  # E.164 once stored
    label: str = ""


@dataclass(frozen=True)
class Customer:
    id: uuid.UUID
    number: str
    kind: str
    first_name: str
    last_name: str
    company: str
    display_name: str
    status: str
    customer_group: str
    default_country: str
    emails: list[str]
    phones: list[Phone]
    addresses: list[Address]
    tax_exempt: bool
    tax_certificate: str
    tax_exempt_until: date | None
    credit_limit: Money | None
    currency: str
    payment_terms: str
    do_not_mail: bool
    do_not_email: bool
    do_not_call: bool
    tags: list[str]
    created_channel: str
    source_code: str  # the original
    last_source_code: str
    merged_into: str | None
    anonymized_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


@dataclass
class Details:
    """Everything an agent may set on a customer (create and edit share it; an edit names the fields it changes)."""

    kind: str = "consumer"
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    status: str = "prospect"
    customer_group: str = "retail"
    default_country: str = "US"
    emails: list[str] = field(default_factory=list)
    phones: list[Phone] = field(default_factory=list)
    addresses: list[Address] = field(default_factory=list)
    tax_exempt: bool = False
    tax_certificate: str = ""
    tax_exempt_until: date | None = None
    credit_limit: Money | None = None
    currency: str = "USD"
    payment_terms: str = ""
    do_not_mail: bool = False
    do_not_email: bool = False
    do_not_call: bool = False
    tags: list[str] = field(default_factory=list)


def _row(uow: UnitOfWork, ref: str, visible_to: str | None = None) -> CustomerRow:
    """The customer by id or number; a merged-away customer redirects to the one it was merged into. With
    `visible_to` (a channel-bound caller's channel), a customer of other channels only is NotFound, word for word
    as an unknown one."""
    query = sa.select(CustomerRow)
    try:
        query = query.where(CustomerRow.id == uuid.UUID(ref))
    except ValueError:
        query = query.where(CustomerRow.number == ref.upper())
    row = uow.session.scalar(query)
    seen = 0
    while row is not None and row.merged_into_id is not None and seen < 10:
        row, seen = uow.session.get(CustomerRow, row.merged_into_id), seen + 1
    if row is None or (visible_to is not None and not _members(uow, [row.id], visible_to)):
        raise NotFound(f"no customer {ref!r}")
    return row


def _members(uow: UnitOfWork, ids: list[uuid.UUID], channel: str) -> set[uuid.UUID]:
    """Those of `ids` that belong to `channel` (created by it, or ordered through it)."""
    if not ids:
        return set()
    return set(
        uow.session.scalars(
            sa.select(CustomerChannelRow.customer_id).where(
                CustomerChannelRow.channel == channel, CustomerChannelRow.customer_id.in_(ids)
            )
        )
    )


def _join_channels(uow: UnitOfWork, customer_id: uuid.UUID, channels: list[str]) -> None:
    """Record that the customer belongs to these channels (once each; concurrent writers are harmless)."""
    values = [{"customer_id": customer_id, "channel": c} for c in sorted(set(channels)) if c]
    if not values:
        return
    insert = postgresql_insert if uow.dialect == "postgresql" else sqlite_insert
    uow.execute_core(insert(CustomerChannelRow).values(values).on_conflict_do_nothing())


def _customer(uow: UnitOfWork, row: CustomerRow) -> Customer:
    emails = uow.session.execute(
        sa.select(CustomerEmailRow.email).where(CustomerEmailRow.customer_id == row.id)
        .order_by(CustomerEmailRow.is_primary.desc(), CustomerEmailRow.email)
    ).scalars().all()  # fmt: skip
    phones = uow.session.execute(
        sa.select(CustomerPhoneRow).where(CustomerPhoneRow.customer_id == row.id)
        .order_by(CustomerPhoneRow.is_primary.desc(), CustomerPhoneRow.phone)
    ).scalars().all()  # fmt: skip
    addresses = uow.session.execute(
        sa.select(CustomerAddressRow).where(CustomerAddressRow.customer_id == row.id)
        .order_by(CustomerAddressRow.kind, CustomerAddressRow.is_default.desc(), CustomerAddressRow.id)
    ).scalars().all()  # fmt: skip
    return Customer(
        id=row.id, number=row.number, kind=row.kind, first_name=row.first_name, last_name=row.last_name,
        company=row.company, display_name=row.display_name, status=row.status, customer_group=row.customer_group,
        default_country=row.default_country, emails=list(emails),
        phones=[Phone(p.phone, p.label) for p in phones],
        addresses=[Address(kind=a.kind, line1=a.line1, city=a.city, country=a.country, name=a.name, line2=a.line2,
                           region=a.region, postal_code=a.postal_code, is_default=a.is_default, id=a.id)
                   for a in addresses],
        tax_exempt=row.tax_exempt, tax_certificate=row.tax_certificate, tax_exempt_until=row.tax_exempt_until,
        credit_limit=None if row.credit_limit_minor is None else Money.from_minor(row.credit_limit_minor, row.currency),
        currency=row.currency, payment_terms=row.payment_terms, do_not_mail=row.do_not_mail,
        do_not_email=row.do_not_email, do_not_call=row.do_not_call, tags=list(row.tags or []),
        created_channel=row.created_channel, source_code=row.source_code,
        last_source_code=row.last_source_code, merged_into=None,
        anonymized_at=row.anonymized_at, created_at=row.created_at, updated_at=row.updated_at, version=row.version,
    )  # fmt: skip


def _display_name(details: Details) -> str:
    person = " ".join(p for p in (details.first_name.strip(), details.last_name.strip()) if p)
    if details.kind == "business" and details.company:
        return details.company.strip() + (f" ({person})" if person else "")
    return person or details.company.strip()


def _checked(details: Details) -> Details:
    """Validate and normalise every field, naming the first bad one (ValidationFailed)."""
    if details.kind not in rules.CUSTOMER_TYPES:
        raise ValidationFailed.on("kind", f"must be one of {', '.join(rules.CUSTOMER_TYPES)}")
    if details.status not in rules.STATUSES:
        raise ValidationFailed.on("status", f"must be one of {', '.join(rules.STATUSES)}")
    if not _display_name(details):
        raise ValidationFailed.on("last_name", "a customer needs a person's name or a company name")
    if details.tax_exempt and not details.tax_certificate.strip():
        raise ValidationFailed.on("tax_certificate", "a tax-exempt customer needs a certificate number")
    country = details.default_country.upper()
    emails: list[str] = []
    for n, email in enumerate(details.emails):
        try:
            emails.append(rules.normalize_email(email))
        except rules.Invalid as exc:
            raise ValidationFailed.on(f"emails.{n}", str(exc)) from None
    phones: list[Phone] = []
    for n, phone in enumerate(details.phones):
        try:
            phones.append(Phone(rules.normalize_phone(phone.number, country), phone.label))
        except rules.Invalid as exc:
            raise ValidationFailed.on(f"phones.{n}.number", str(exc)) from None
    addresses: list[Address] = []
    for n, a in enumerate(details.addresses):
        if a.kind not in rules.ADDRESS_KINDS:
            raise ValidationFailed.on(
                f"addresses.{n}.kind", f"must be one of {', '.join(rules.ADDRESS_KINDS)}"
            )
        try:
            postal = rules.normalize_postal_code(a.country, a.postal_code)
        except rules.Invalid as exc:
            raise ValidationFailed.on(f"addresses.{n}.postal_code", str(exc)) from None
        addresses.append(Address(kind=a.kind, line1=a.line1.strip(), city=a.city.strip(), country=a.country.upper(),
                                 name=a.name.strip(), line2=a.line2.strip(), region=a.region.strip(),
                                 postal_code=postal, is_default=a.is_default))  # fmt: skip
    if len([a for a in addresses if a.kind == "bill_to"]) > 1:
        raise ValidationFailed.on("addresses", "a customer has one bill-to address")
    if details.credit_limit is not None and details.credit_limit.currency != details.currency:
        raise ValidationFailed.on(
            "credit_limit.currency", f"must be the customer's currency {details.currency}"
        )
    if details.credit_limit is not None and details.credit_limit.amount < 0:
        raise ValidationFailed.on("credit_limit.amount", "cannot be negative")
    return Details(**{**details.__dict__, "default_country": country, "emails": list(dict.fromkeys(emails)),
                      "phones": list({p.number: p for p in phones}.values()), "addresses": addresses,
                      "tags": sorted({t.strip().lower() for t in details.tags if t.strip()})})  # fmt: skip


def _write_contacts(uow: UnitOfWork, customer_id: uuid.UUID, details: Details) -> None:
    """Replace the customer's e-mails, phones and addresses (the first of each is the primary/default)."""
    for table in (CustomerEmailRow, CustomerPhoneRow, CustomerAddressRow):
        uow.session.execute(sa.delete(table).where(table.customer_id == customer_id))
    for n, email in enumerate(details.emails):
        uow.session.add(CustomerEmailRow(customer_id=customer_id, email=email, is_primary=n == 0))
    for n, phone in enumerate(details.phones):
        uow.session.add(CustomerPhoneRow(customer_id=customer_id, phone=phone.number, label=phone.label,
                                         is_primary=n == 0))  # fmt: skip
    defaults: set[str] = set()
    for a in details.addresses:
        is_default = a.kind not in defaults and (a.is_default or not any(
            b.is_default for b in details.addresses if b.kind == a.kind))  # fmt: skip
        if is_default:
            defaults.add(a.kind)
        row = CustomerAddressRow(id=new_id(), customer_id=customer_id, kind=a.kind, name=a.name, line1=a.line1,
                                 line2=a.line2, city=a.city, region=a.region, postal_code=a.postal_code,
                                 country=a.country, is_default=is_default)  # fmt: skip
        uow.session.add(row)


def _reindex(uow: UnitOfWork, row: CustomerRow, details: Details) -> None:
    """Rewrite the customer's search keys from what is stored now."""
    uow.session.execute(sa.delete(CustomerSearchKeyRow).where(CustomerSearchKeyRow.customer_id == row.id))
    if row.merged_into_id is not None or row.anonymized_at is not None:
        return
    searchable = rules.Searchable(
        number=row.number, names=[row.first_name, row.last_name, row.company], emails=details.emails,
        phones=[p.number for p in details.phones], postal_codes=[a.postal_code for a in details.addresses],
    )  # fmt: skip
    keys = rules.search_keys(searchable)
    uow.session.add_all(
        CustomerSearchKeyRow(kind=kind, key=key, customer_id=row.id) for kind, key in sorted(keys)
    )

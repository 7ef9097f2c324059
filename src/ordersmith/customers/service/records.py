"""Creating, reading and editing customers. Edits are optimistic: the caller names the version it read, and a
customer someone else changed first is refused (412), never silently overwritten."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa

from ordersmith.customers import rules
from ordersmith.customers.service._common import (
    Address,
    Customer,
    Details,
    _checked,
    _customer,
    _display_name,
    _join_channels,
    _reindex,
    _row,
    _write_contacts,
)
from ordersmith.customers.tables import CustomerChannelRow, CustomerEmailRow, CustomerNoteRow, CustomerRow
from ordersmith.kernel.errors import Forbidden, NotFound, PreconditionFailed, ValidationFailed
from ordersmith.kernel.events import Event
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.platform import custom_fields as custom
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.numbers import next_number

CUSTOMER_SERIES = "customer"
_EDITABLE = {f.name for f in dataclasses.fields(Details)}


def _guard(granted: frozenset[str] | None, before: Details, after: Details) -> None:
    """Refuse (403) a change to a money field the caller holds no scope for; `granted` None is a trusted caller."""
    if granted is None:
        return
    changed = [name for name in rules.GUARDED_FIELDS if getattr(before, name) != getattr(after, name)]
    refused = rules.missing_scope(changed, granted)
    if refused is not None:
        field_name, scope = refused
        raise Forbidden(f"setting {field_name} needs the scope {scope!r}", required_scope=scope)


def _snapshot(customer: Customer | Details) -> dict[str, Any]:
    """What the audit log keeps of a customer: the business facts, never the person's name or contact details
    (the log is append-only, and an anonymized customer must leave no personal data behind in it)."""
    return {"kind": customer.kind, "status": customer.status, "customer_group": customer.customer_group,
            "tax_exempt": customer.tax_exempt, "tax_certificate": customer.tax_certificate,
            "tax_exempt_until": None if customer.tax_exempt_until is None else customer.tax_exempt_until.isoformat(),
            "credit_limit_minor": None if customer.credit_limit is None
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


# The check of a source code a new customer arrives with: marketing keeps the master list, above this context, so
# the application hands its check to the route (`app.state.source_code_check`), which passes it here. Called inside
# the creating transaction with (uow, code, channel); answers the code to keep (the channel's default for an
# unknown or expired one) or raises ValidationFailed naming `source_code`. Without one (a trusted caller: the demo,
# a test), the code is kept in capitals.
SourceCodeCheck = Callable[[UnitOfWork, str, str], str]


@use_case
def create_customer(
    uow: UnitOfWork,
    *,
    details: Details,
    created_channel: str = "",
    source_code: str = "",
    granted: frozenset[str] | None = None,
    source_code_check: SourceCodeCheck | None = None,
    custom_fields: Mapping[str, Any] | None = None,
) -> Customer:
    """A new customer with the next number (C-100001 …), validated contacts and search keys; audited, with a
    `customer.created` event and a first timeline entry.

    Raises:
        ValidationFailed: a bad e-mail, phone or postal code (naming the field), no name, a tax exemption without
            a certificate, a credit limit in another currency, a source code not on the master list (when the
            channel does not map it to its default).
        Forbidden: a credit limit or terms, a tax exemption or a price group other than the defaults, and the
            caller's scopes (`granted`; None for a trusted caller) lack the one it needs (`rules.GUARDED_FIELDS`).
    """
    details = _checked(details)
    checked = custom.check_values(uow, kind="customer", values=custom_fields or {}, creating=True)
    _guard(granted, Details(), details)
    source_code = source_code.strip()
    if source_code:
        source_code = (
            source_code_check(uow, source_code, created_channel) if source_code_check else source_code.upper()
        )
    now = uow.now()
    number = f"{rules.NUMBER_PREFIX}{rules.FIRST_NUMBER - 1 + next_number(uow, CUSTOMER_SERIES)}"
    row = CustomerRow(id=new_id(), number=number, created_channel=created_channel, source_code=source_code,
                      last_source_code=source_code, created_at=now, updated_at=now, version=1)  # fmt: skip
    _apply(row, details)
    uow.session.add(row)
    uow.session.flush()
    _write_contacts(uow, row.id, details)
    _reindex(uow, row, details)
    uow.session.add(CustomerNoteRow(id=new_id(), customer_id=row.id, kind="system", body="customer created",
                                    channel=created_channel, actor=uow.actor.label, data=None, at=now))  # fmt: skip
    uow.session.flush()
    _join_channels(uow, row.id, [created_channel])
    custom.write_values(uow, kind="customer", record_id=row.id, checked=checked)
    customer = _customer(uow, row)
    after = _snapshot(customer)
    if checked:
        after["custom_fields"] = custom.shown(uow, kind="customer", checked=checked)
    uow.audit("customer.created", object_type="customer", object_id=number, after=after)
    uow.emit("customer.created", {"id": str(row.id), "number": number, "channel": created_channel})
    return customer


@use_case(readonly=True)
def get_customer(uow: UnitOfWork, *, ref: str, visible_to: str | None = None) -> Customer:
    """By id or number (any letter case); a merged-away number answers with the customer it was merged into.
    With `visible_to` (a channel-bound caller's channel): only a customer of that channel, else NotFound."""
    return _customer(uow, _row(uow, ref, visible_to))


@use_case
def update_customer(
    uow: UnitOfWork,
    *,
    ref: str,
    changes: dict[str, Any],
    expected_version: int,
    granted: frozenset[str] | None = None,
    visible_to: str | None = None,
    custom_fields: Mapping[str, Any] | None = None,
) -> Customer:
    """Change the named fields (and the custom field values sent) of a customer that is still at
    `expected_version`.

    Raises:
        Forbidden: a money field changes and the caller's scopes (`granted`; None for a trusted caller) lack the one
            it needs (`rules.GUARDED_FIELDS`); nothing is written.
        PreconditionFailed: someone else changed the customer since `expected_version` (412).
        ValidationFailed: an unknown field or a bad value (naming it).
    """
    unknown = sorted(set(changes) - _EDITABLE)
    if unknown:
        raise ValidationFailed.on(unknown[0], "cannot be changed here")
    row = _row(uow, ref, visible_to)
    if row.anonymized_at is not None:
        raise ValidationFailed.on("ref", f"{row.number} was anonymized and cannot be edited")
    before = _customer(uow, row)
    current = Details(**{name: getattr(before, name) for name in _EDITABLE})
    details = _checked(dataclasses.replace(current, **changes))
    checked = custom.check_values(uow, kind="customer", values=custom_fields or {}, creating=False)
    _guard(granted, current, details)
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
    fields = sorted(changes) + (["custom_fields"] if checked else [])
    snapshots = (_snapshot(before), {**_snapshot(after), "fields": fields})
    if checked:
        snapshots[0]["custom_fields"] = custom.read_values(uow, kind="customer", record_id=row.id)
        custom.write_values(uow, kind="customer", record_id=row.id, checked=checked)
        snapshots[1]["custom_fields"] = custom.read_values(uow, kind="customer", record_id=row.id)
    uow.audit("customer.updated", object_type="customer", object_id=row.number, before=snapshots[0],
              after=snapshots[1])  # fmt: skip
    uow.emit("customer.updated", {"id": str(row.id), "number": row.number, "fields": fields})
    return after


@use_case
def set_custom_fields(
    uow: UnitOfWork, *, ref: str, values: Mapping[str, Any], visible_to: str | None = None
) -> dict[str, Any]:
    """Set (or, with null, clear) a customer's custom field values; the others stay. Audited with before and
    after. With `visible_to`, only a customer of that channel (else NotFound, as unknown).

    Raises:
        NotFound: no such customer (for this channel). ValidationFailed: an unknown field or a bad value
            (`custom_fields.<name>`), or an anonymized customer.
    """
    row = _row(uow, ref, visible_to)
    if row.anonymized_at is not None:
        raise ValidationFailed.on("ref", f"{row.number} was anonymized and cannot be edited")
    checked = custom.check_values(uow, kind="customer", values=values, creating=False)
    before = custom.read_values(uow, kind="customer", record_id=row.id)
    custom.write_values(uow, kind="customer", record_id=row.id, checked=checked)
    after = custom.read_values(uow, kind="customer", record_id=row.id)
    if after != before:
        row.version += 1
        row.updated_at = uow.now()
        uow.audit("customer.custom_fields_changed", object_type="customer", object_id=row.number,
                  before={"custom_fields": before}, after={"custom_fields": after})  # fmt: skip
        uow.emit("customer.updated", {"id": str(row.id), "number": row.number, "fields": ["custom_fields"]})
    return after


_MOST_SHIP_TOS = 25  # an address book, not a history: beyond this, new addresses stay on their orders only


def _address_key(a: Address) -> tuple[str, ...]:
    """An address as compared for "already known": every part, case and spacing ignored (the kind aside)."""
    parts = (a.name, a.line1, a.line2, a.city, a.region, a.postal_code, a.country)
    return tuple(" ".join(part.split()).casefold() for part in parts)


@use_case
def remember_ship_tos(uow: UnitOfWork, *, customer_id: uuid.UUID, addresses: list[Address]) -> int:
    """The addresses an order for this customer ships to, kept on their record as ship-to addresses when new, so the
    next order offers them (compared by name, street, city, region, postal code and country, ignoring case and
    spacing; a known bill-to counts as known). A change like an agent's: the version moves on, audited, with
    `customer.updated`. Keeps at most 25 ship-tos; a merged or anonymized customer, or an address the record's own
    checks refuse, is left as it is. Returns how many addresses were added.

    Raises:
        PreconditionFailed: the customer was edited at the same moment (the relay tries the event again).
    """
    row = uow.session.get(CustomerRow, customer_id)
    if row is None or row.merged_into_id is not None or row.anonymized_at is not None:
        return 0
    before = _customer(uow, row)
    known = {_address_key(a) for a in before.addresses}
    room = _MOST_SHIP_TOS - sum(1 for a in before.addresses if a.kind == "ship_to")
    new: list[Address] = []
    for address in addresses:
        key = _address_key(address)
        if key not in known and len(new) < room:
            known.add(key)
            new.append(dataclasses.replace(address, kind="ship_to", is_default=False, id=None))
    if not new:
        return 0
    current = Details(**{name: getattr(before, name) for name in _EDITABLE})
    wanted = [*before.addresses, *new]
    try:
        _checked(dataclasses.replace(current, addresses=wanted))
    except ValidationFailed:
        return 0  # the order's address passed the order's checks but not the record's: it stays on the order
    update_customer(uow, ref=row.number, changes={"addresses": wanted}, expected_version=row.version)
    return len(new)


@dataclasses.dataclass(frozen=True)
class BuyerFacts:
    """What pricing and order capture need to know about a customer, read in one query."""

    id: uuid.UUID
    number: str
    status: str  # prospect until the first order
    customer_group: str
    tax_exempt: bool  # as of today: an expired certificate no longer exempts
    credit_limit: Money | None
    currency: str
    email: str  # the primary e-mail, "" when there is none
    anonymized: bool
    payment_terms: str = ""  # e.g. "net30": may buy on account


_CUSTOMERS = CustomerRow.__table__
_EMAILS = CustomerEmailRow.__table__
_BUYER = (
    sa.select(_CUSTOMERS.c.id, _CUSTOMERS.c.number, _CUSTOMERS.c.status, _CUSTOMERS.c.customer_group,
              _CUSTOMERS.c.tax_exempt, _CUSTOMERS.c.tax_exempt_until, _CUSTOMERS.c.credit_limit_minor,
              _CUSTOMERS.c.currency, _CUSTOMERS.c.merged_into_id, _CUSTOMERS.c.anonymized_at,
              _CUSTOMERS.c.payment_terms,
              sa.select(_EMAILS.c.email).where(_EMAILS.c.customer_id == _CUSTOMERS.c.id)
              .order_by(_EMAILS.c.is_primary.desc(), _EMAILS.c.email).limit(1).scalar_subquery().label("email"))
)  # fmt: skip
_CHANNELS = CustomerChannelRow.__table__
# The same, answering too whether the customer belongs to a channel (one query for a channel-bound caller).
_BUYER_OF_CHANNEL = _BUYER.add_columns(
    sa.exists()
    .where(_CHANNELS.c.customer_id == _CUSTOMERS.c.id, _CHANNELS.c.channel == sa.bindparam("visible_to"))
    .label("visible")
)


@use_case(readonly=True)
def buyer_facts(uow: UnitOfWork, *, ref: str, visible_to: str | None = None) -> BuyerFacts:
    """The customer by id or number (a merged-away one: the customer it was merged into), in one light query.

    Raises:
        NotFound: no such customer (with `visible_to`: none of that channel's).
    """
    try:
        where = _CUSTOMERS.c.id == uuid.UUID(ref)
    except ValueError:
        where = _CUSTOMERS.c.number == ref.upper()
    query, params = (_BUYER, {}) if visible_to is None else (_BUYER_OF_CHANNEL, {"visible_to": visible_to})
    row = uow.execute_core(query.where(where), params).first()
    for _ in range(10):
        if row is None or row.merged_into_id is None:
            break
        row = uow.execute_core(query.where(_CUSTOMERS.c.id == row.merged_into_id), params).first()
    if row is None or (visible_to is not None and not row.visible):
        raise NotFound(f"no customer {ref!r}")
    today = uow.now().date()
    exempt = row.tax_exempt and (row.tax_exempt_until is None or row.tax_exempt_until >= today)
    limit = None if row.credit_limit_minor is None else Money.from_minor(row.credit_limit_minor, row.currency)
    return BuyerFacts(id=row.id, number=row.number, status=row.status, customer_group=row.customer_group,
                      tax_exempt=exempt, credit_limit=limit, currency=row.currency, email=row.email or "",
                      anonymized=row.anonymized_at is not None, payment_terms=row.payment_terms or "")  # fmt: skip


@use_case
def record_first_order(uow: UnitOfWork, *, customer_id: uuid.UUID) -> None:
    """A prospect who placed an order becomes a buyer (no change for one who already is)."""
    uow.execute_core(
        sa.update(_CUSTOMERS)  # type: ignore[arg-type]
        .where(_CUSTOMERS.c.id == customer_id, _CUSTOMERS.c.status == "prospect")
        .values(status="buyer", updated_at=uow.now())
        .execution_options(independent_of_pending=True)  # customers never wait for the commit (pending_rows)
    )


@use_case
def record_source_code(uow: UnitOfWork, *, customer_id: uuid.UUID, code: str) -> None:
    """An order came in under source `code` (checked against marketing's master list by the caller): it becomes
    the customer's last source code, and their original one when they had none."""
    uow.execute_core(
        sa.update(_CUSTOMERS)  # type: ignore[arg-type]
        .where(_CUSTOMERS.c.id == customer_id)
        .values(
            last_source_code=code,
            source_code=sa.case((_CUSTOMERS.c.source_code == "", code), else_=_CUSTOMERS.c.source_code),
        )
        .execution_options(independent_of_pending=True)
    )


@use_case
def join_channel(uow: UnitOfWork, *, customer_id: uuid.UUID, channel: str) -> None:
    """Record that the customer ordered through `channel`: that channel's key may see it from now on."""
    _join_channels(uow, customer_id, [channel])


def has_buyer(event: Event) -> bool:
    """Whether an `order.placed` names a customer (a guest's order costs the relay nothing)."""
    return bool(event.payload.get("customer_id") and event.payload.get("channel"))


def on_order_placed(uow: UnitOfWork, event: Event) -> None:
    """`order.placed` (through the outbox relay): the buyer now belongs to the channel the order came from."""
    customer_id, channel = event.payload.get("customer_id"), event.payload.get("channel")
    if customer_id and channel:
        join_channel(uow, customer_id=uuid.UUID(customer_id), channel=channel)


@use_case(readonly=True)
def display_names(uow: UnitOfWork, *, numbers: list[str]) -> dict[str, str]:
    """Each customer number's display name, in one read (numbers not found are absent): to show people names
    beside numbers in lists."""
    wanted = sorted({n.strip().upper() for n in numbers if n})
    if not wanted:
        return {}
    rows = uow.execute_core(
        sa.select(_CUSTOMERS.c.number, _CUSTOMERS.c.display_name).where(_CUSTOMERS.c.number.in_(wanted))
    )
    return {number: name for number, name in rows}

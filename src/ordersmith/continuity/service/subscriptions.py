"""Subscriptions: a customer's membership of a continuity program — signing up with the terms accepted and a vaulted
card, skipping a shipment, pausing, resuming, cancelling, changing the card, ship-to or quantity.

Negative-option rules: a sign-up is refused unless the caller says the customer accepted the program's current
terms (`accepted_terms`, `terms_version`); the exact text's fingerprint, when, by whom and from where are recorded.
Cancelling is one call with the same scope and from the same callers (a channel's own key included) as signing
up, with no reason required, and takes effect at once.

Invariants: the card is the vault's token (checked in the vault with no transaction open; never a number);
a shipment being placed right now (claimed by a worker) cannot be skipped, paused or re-carded — that answers 409
and changes nothing; a channel-bound caller sees and changes only its channel's subscriptions (others are 404).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from ordersmith.continuity import rules
from ordersmith.continuity.service._common import (
    Subscription,
    load,
    program_row,
    subscription_row,
    to_subscription,
)
from ordersmith.continuity.tables import ProgramRow, SubscriptionRow
from ordersmith.customers import service as customers
from ordersmith.kernel.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.pagination import Page
from ordersmith.payments import service as payments
from ordersmith.platform import numbers, sales_channels
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page

SHIP_TO_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country", "phone", "method")


@dataclass(frozen=True)
class VaultedCard:
    token: str
    brand: str
    last_four: str
    exp_month: int
    exp_year: int


def vaulted_card(uow: UnitOfWork, *, token: str, field: str = "card_token") -> VaultedCard:
    """The vault's facts about a card token (asked with no transaction open: the vault may be another host).

    Raises:
        ValidationFailed: no such token in the vault, or the card has expired (naming `field`).
    """
    assert not uow.active, "the vault is asked outside any transaction"
    card = payments.wiring(uow).vault.card(token) if token else None
    if card is None:
        raise ValidationFailed.on(field, "no card with this token in the vault (tokenize it first)")
    if rules.card_expired(card.exp_month, card.exp_year, uow.now().date()):
        raise ValidationFailed.on(field, f"the card expired {card.exp_month:02d}/{card.exp_year}")
    return VaultedCard(token=card.token, brand=card.brand, last_four=card.last_four, exp_month=card.exp_month,
                       exp_year=card.exp_year)  # fmt: skip


def _ship_to(given: dict[str, str]) -> dict[str, str]:
    kept = {k: str(given.get(k, "") or "").strip() for k in SHIP_TO_FIELDS}
    for name in ("name", "line1", "city", "country", "method"):
        if not kept[name]:
            raise ValidationFailed.on(f"ship_to.{name}", "is required")
    kept["country"] = kept["country"].upper()
    return kept


def _snapshot(row: SubscriptionRow) -> dict[str, object]:
    return {"status": row.status, "cycle": row.cycle, "cycle_on": str(row.cycle_on),
            "next_run_on": str(row.next_run_on) if row.next_run_on else None, "quantity": row.quantity,
            "card": f"{row.card_brand} …{row.card_last_four}", "failed_attempts": row.failed_attempts}  # fmt: skip


def _event(uow: UnitOfWork, kind: str, row: SubscriptionRow, **extra: object) -> None:
    uow.emit(f"subscription.{kind}", {"subscription_id": str(row.id), "number": row.number,
                                       "customer_id": str(row.customer_id), "channel": row.channel,
                                       "status": row.status, **extra})  # fmt: skip


def _claimed(uow: UnitOfWork, row: SubscriptionRow) -> bool:
    return row.claimed_until is not None and row.claimed_until > uow.now()


def _check(uow: UnitOfWork, row: SubscriptionRow, action: str, version: int | None) -> None:
    if version is not None and version != row.version:
        raise PreconditionFailed(
            f"subscription {row.number} is at version {row.version}", version=row.version
        )
    why = rules.refusal(action, row.status)
    if why is not None:
        raise Conflict(why)
    if action != "cancel" and _claimed(uow, row):
        raise Conflict(
            f"shipment {row.cycle} of {row.number} is being placed right now; try again in a minute"
        )


def _touch(uow: UnitOfWork, row: SubscriptionRow) -> None:
    row.version += 1
    row.updated_at = uow.now()
    uow.session.flush()


def sign_up(
    uow: UnitOfWork,
    *,
    program: str,
    customer: str,
    channel: str,
    ship_to: dict[str, str],
    card_token: str,
    accepted_terms: bool,
    terms_version: int,
    quantity: int = 1,
    starts_on: date | None = None,
    visible_to: str | None = None,
) -> Subscription:
    """Enrol a customer: the first shipment on `starts_on` (default today), then every interval. The card is
    checked in the vault first (no transaction open).

    Raises:
        ValidationFailed: terms not accepted or not the program's current version, an unknown or expired card, a
            program closed to sign-ups, a customer not found (for a channel key: not its channel's), an incomplete
            ship-to, a start in the past or more than a year ahead, an unknown or inactive channel — each naming
            its field; nothing is written.
        NotFound: no such program.
    """
    check_accepted(accepted_terms)
    card = vaulted_card(uow, token=card_token)
    return enrol(uow, program=program, customer=customer, channel=channel, ship_to=ship_to, card=card,
                    terms_version=terms_version, quantity=quantity, starts_on=starts_on,
                    visible_to=visible_to)  # fmt: skip


def check_accepted(accepted_terms: bool) -> None:
    """No sign-up without the customer's express consent to the terms shown (naming `accepted_terms`)."""
    if not accepted_terms:
        raise ValidationFailed.on("accepted_terms", "the customer must accept the program's terms to sign up")


@use_case
def enrol(
    uow: UnitOfWork,
    *,
    program: str,
    customer: str,
    channel: str,
    ship_to: dict[str, str],
    card: VaultedCard,
    terms_version: int,
    quantity: int = 1,
    starts_on: date | None = None,
    visible_to: str | None = None,
) -> Subscription:
    """`sign_up` once the card is checked in the vault (`vaulted_card`, outside any transaction): joins the
    caller's transaction (an Idempotency-Key's)."""
    owner = program_row(uow, program)
    if not owner.active:
        raise ValidationFailed.on("program", f"{owner.code} is closed to new members")
    if terms_version != owner.terms_version:
        raise ValidationFailed.on(
            "terms_version",
            f"the terms of {owner.code} are at version {owner.terms_version}: show the current terms again",
        )
    if not 1 <= quantity <= 1000:
        raise ValidationFailed.on("quantity", "must be between 1 and 1000")
    found = sales_channels.find_channel(uow, code=channel)
    if found is None or not found.active:
        raise ValidationFailed.on("channel", f"no active sales channel {channel!r}")
    try:
        buyer = customers.get_customer(uow, ref=customer, visible_to=visible_to)
    except NotFound:
        raise ValidationFailed.on("customer", f"no customer {customer!r}") from None
    today = uow.now().date()
    first = starts_on or today
    if not today <= first <= today + timedelta(days=rules.MAX_START_DAYS):
        raise ValidationFailed.on("starts_on", "must be from today to a year ahead")
    address = _ship_to(ship_to)
    now = uow.now()
    row = SubscriptionRow(
        id=new_id(), number=f"S-{numbers.next_number(uow, 'continuity_subscriptions'):06d}", program_id=owner.id,
        customer_id=buyer.id, customer_number=buyer.number, channel=found.code, ship_to=address,
        quantity=quantity, card_token=card.token, card_brand=card.brand, card_last_four=card.last_four,
        card_exp_month=card.exp_month, card_exp_year=card.exp_year, status="active", cycle=1, cycle_on=first,
        next_run_on=first, failed_attempts=0, attempt_seq=0, terms_version=owner.terms_version,
        terms_digest=rules.terms_digest(owner.terms), terms_accepted_at=now, signed_up_by=uow.actor.label,
        signed_up_origin=uow.actor.origin, created_at=now, updated_at=now, version=1,
    )  # fmt: skip
    uow.session.add(row)
    uow.session.flush()
    uow.audit("subscription.created", object_type="subscription", object_id=row.number,
              after={**_snapshot(row), "program": owner.code, "customer": buyer.number,
                     "terms_version": row.terms_version, "terms_digest": row.terms_digest})  # fmt: skip
    _event(uow, "created", row, program=owner.code, first_shipment_on=str(first))
    return to_subscription(row, owner, [])


@use_case(readonly=True)
def get_subscription(uow: UnitOfWork, *, ref: str, visible_to: str | None = None) -> Subscription:
    """One subscription by id or number, with its shipments. Raises NotFound (also another channel's)."""
    return load(uow, subscription_row(uow, ref, visible_to=visible_to))


@use_case(readonly=True)
def list_subscriptions(
    uow: UnitOfWork,
    *,
    program: str | None = None,
    customer: str | None = None,
    status: str | None = None,
    visible_to: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Subscription]:
    """Subscriptions (newest first), filtered by program, customer (id or number) and status; a channel-bound
    caller's are its channel's only. Each filter reads an index; shipments are not loaded (ask one subscription).

    Raises:
        NotFound: no such program or customer (for a channel-bound caller: not its channel's customer).
    """
    query = sa.select(SubscriptionRow)
    if program is not None:
        query = query.where(SubscriptionRow.program_id == program_row(uow, program).id)
    if customer is not None:
        # By the customer's id (a merged-away number finds the survivor); another channel's customer is NotFound.
        buyer = customers.get_customer(uow, ref=customer, visible_to=visible_to)
        query = query.where(SubscriptionRow.customer_id == buyer.id)
    if status is not None:
        query = query.where(SubscriptionRow.status == status)
    if visible_to is not None:
        query = query.where(SubscriptionRow.channel == visible_to)
    page = keyset_page(uow, query, keys=[SubscriptionRow.id], to_item=lambda r: r, cursor=cursor, limit=limit,
                       descending=True)  # fmt: skip
    ids = {r.program_id for r in page.items}
    owners = {p.id: p for p in uow.session.scalars(sa.select(ProgramRow).where(ProgramRow.id.in_(ids)))}
    return Page([to_subscription(r, owners[r.program_id], []) for r in page.items], page.next_cursor)


@use_case
def skip_shipment(
    uow: UnitOfWork, *, ref: str, version: int | None = None, visible_to: str | None = None
) -> Subscription:
    """Skip the next shipment: it moves one interval on (a series' item waits, none is skipped).

    Raises:
        NotFound: no such subscription (or another channel's).
        Conflict: not active, or its shipment is being placed right now (409, nothing changed).
        PreconditionFailed: `version` is not the current one.
    """
    row = subscription_row(uow, ref, visible_to=visible_to, lock=True)
    _check(uow, row, "skip", version)
    program = uow.session.get(ProgramRow, row.program_id)
    assert program is not None
    before = _snapshot(row)
    skipped_on = row.cycle_on
    row.cycle_on = rules.skipped(row.cycle_on, program.interval_weeks, uow.now().date())
    row.next_run_on = row.cycle_on
    row.failed_attempts = 0
    row.last_failure = None
    _touch(uow, row)
    uow.audit("subscription.skipped", object_type="subscription", object_id=row.number, before=before,
              after=_snapshot(row))  # fmt: skip
    _event(uow, "skipped", row, skipped_on=str(skipped_on), next_shipment_on=str(row.cycle_on))
    return load(uow, row)


@use_case
def pause_subscription(
    uow: UnitOfWork,
    *,
    ref: str,
    until: date | None = None,
    version: int | None = None,
    visible_to: str | None = None,
) -> Subscription:
    """Pause: nothing ships until resumed, or (with `until`) until that date, when shipping starts again by itself
    (the next shipment due that day).

    Raises:
        NotFound, PreconditionFailed: as for skipping.
        Conflict: not active, or its shipment is being placed right now.
        ValidationFailed: `until` not after today or more than a year ahead (naming `until`).
    """
    row = subscription_row(uow, ref, visible_to=visible_to, lock=True)
    _check(uow, row, "pause", version)
    today = uow.now().date()
    if until is not None and not today < until <= today + timedelta(days=rules.MAX_START_DAYS):
        raise ValidationFailed.on("until", "must be after today and at most a year ahead")
    before = _snapshot(row)
    row.status = "paused"
    row.next_run_on = until
    if until is not None:
        row.cycle_on = until
    row.failed_attempts = 0
    row.last_failure = None
    _touch(uow, row)
    uow.audit("subscription.paused", object_type="subscription", object_id=row.number, before=before,
              after=_snapshot(row))  # fmt: skip
    _event(uow, "paused", row, until=str(until) if until else None)
    return load(uow, row)


@use_case
def resume_subscription(
    uow: UnitOfWork,
    *,
    ref: str,
    next_shipment_on: date | None = None,
    version: int | None = None,
    visible_to: str | None = None,
) -> Subscription:
    """Resume a paused subscription: the next shipment on `next_shipment_on`, or on the date it was due if that is
    still ahead, else today.

    Raises:
        NotFound, PreconditionFailed: as for skipping.
        Conflict: not paused.
        ValidationFailed: a date in the past or more than a year ahead (naming `next_shipment_on`).
    """
    row = subscription_row(uow, ref, visible_to=visible_to, lock=True)
    _check(uow, row, "resume", version)
    today = uow.now().date()
    if next_shipment_on is not None and not today <= next_shipment_on <= today + timedelta(
        days=rules.MAX_START_DAYS
    ):
        raise ValidationFailed.on("next_shipment_on", "must be from today to a year ahead")
    before = _snapshot(row)
    row.status = "active"
    row.cycle_on = next_shipment_on or max(row.cycle_on, today)
    row.next_run_on = row.cycle_on
    _touch(uow, row)
    uow.audit("subscription.resumed", object_type="subscription", object_id=row.number, before=before,
              after=_snapshot(row))  # fmt: skip
    _event(uow, "resumed", row, next_shipment_on=str(row.cycle_on))
    return load(uow, row)


@use_case
def cancel_subscription(
    uow: UnitOfWork,
    *,
    ref: str,
    reason: str = "",
    version: int | None = None,
    visible_to: str | None = None,
) -> Subscription:
    """Cancel at once: nothing more ships. No reason is required (one may be recorded). A shipment a worker is
    placing at this very moment may still complete; none after it.

    Raises:
        NotFound, PreconditionFailed: as for skipping.
        Conflict: already cancelled or completed.
    """
    row = subscription_row(uow, ref, visible_to=visible_to, lock=True)
    _check(uow, row, "cancel", version)
    before = _snapshot(row)
    row.status = "cancelled"
    row.next_run_on = None
    row.cancelled_at = uow.now()
    row.cancelled_by = uow.actor.label
    row.cancel_reason = reason.strip()[:400] or None
    _touch(uow, row)
    uow.audit("subscription.cancelled", object_type="subscription", object_id=row.number, before=before,
              after={**_snapshot(row), "reason": row.cancel_reason})  # fmt: skip
    _event(uow, "cancelled", row, reason=row.cancel_reason)
    return load(uow, row)


def change_card(
    uow: UnitOfWork, *, ref: str, card_token: str, version: int | None = None, visible_to: str | None = None
) -> Subscription:
    """Put another vaulted card on the subscription. A subscription past due or suspended for a failed payment
    is tried again with it today (the retry schedule starts over); a suspended one becomes active again.

    Raises:
        ValidationFailed: an unknown or expired card (naming `card_token`).
        NotFound, PreconditionFailed: as for skipping.
        Conflict: cancelled or completed, or its shipment is being placed right now.
    """
    get_subscription(uow, ref=ref, visible_to=visible_to)  # an unknown (or another channel's) one: 404 first
    card = vaulted_card(uow, token=card_token)
    return _change_card(uow, ref=ref, card=card, version=version, visible_to=visible_to)


@use_case
def _change_card(
    uow: UnitOfWork, *, ref: str, card: VaultedCard, version: int | None, visible_to: str | None
) -> Subscription:
    row = subscription_row(uow, ref, visible_to=visible_to, lock=True)
    _check(uow, row, "change_card", version)
    before = _snapshot(row)
    row.card_token, row.card_brand, row.card_last_four = card.token, card.brand, card.last_four
    row.card_exp_month, row.card_exp_year = card.exp_month, card.exp_year
    row.attempt_seq += 1  # the next authorization is a new request, not a repeat of one the old card got
    if row.status == "suspended" or row.failed_attempts > 0:
        row.status = "active"
        row.failed_attempts = 0
        row.last_failure = None
        row.next_run_on = uow.now().date()
    _touch(uow, row)
    uow.audit("subscription.card_changed", object_type="subscription", object_id=row.number, before=before,
              after=_snapshot(row))  # fmt: skip
    _event(uow, "card_changed", row, card=f"{card.brand} …{card.last_four}")
    return load(uow, row)


@use_case
def change_subscription(
    uow: UnitOfWork,
    *,
    ref: str,
    ship_to: dict[str, str] | None = None,
    quantity: int | None = None,
    version: int | None = None,
    visible_to: str | None = None,
) -> Subscription:
    """Change where the shipments go or how many of each ship (from the next shipment on).

    Raises:
        ValidationFailed: an incomplete ship-to, a quantity outside 1-1000 (naming the field).
        NotFound, PreconditionFailed, Conflict: as for changing the card.
    """
    row = subscription_row(uow, ref, visible_to=visible_to, lock=True)
    _check(uow, row, "change", version)
    before = {**_snapshot(row), "ship_to": dict(row.ship_to)}
    if ship_to is not None:
        row.ship_to = _ship_to(ship_to)
    if quantity is not None:
        if not 1 <= quantity <= 1000:
            raise ValidationFailed.on("quantity", "must be between 1 and 1000")
        row.quantity = quantity
    _touch(uow, row)
    uow.audit("subscription.changed", object_type="subscription", object_id=row.number, before=before,
              after={**_snapshot(row), "ship_to": dict(row.ship_to)})  # fmt: skip
    _event(uow, "changed", row)
    return load(uow, row)

"""Gift cards and store credit: unguessable codes with a check symbol, kept only as a keyed digest (the code is a
bearer secret, shown once at issue), balances changed by one conditional UPDATE each, every change in the ledger.

Invariants: a balance never goes below zero, whatever runs at once (the UPDATE's condition and a CHECK constraint);
the balance always equals the sum of the card's ledger rows; an inactive, void or expired card pays nothing.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

import sqlalchemy as sa

from ordersmith.kernel.errors import Conflict, NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.kernel.pagination import Page
from ordersmith.orders import service as orders
from ordersmith.payments import rules
from ordersmith.payments.service._common import GiftCardBalanceInsufficient, wiring
from ordersmith.payments.tables import GiftCardLedgerRow, GiftCardRow
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page

_CARDS = cast(sa.Table, GiftCardRow.__table__)
_LEDGER = cast(sa.Table, GiftCardLedgerRow.__table__)


@dataclass(frozen=True)
class LedgerEntry:
    kind: str
    amount: Money
    balance_after: Money
    order_id: uuid.UUID | None
    actor: str
    note: str
    at: datetime


@dataclass(frozen=True)
class GiftCard:
    id: uuid.UUID
    last_four: str
    kind: str
    status: str
    balance: Money
    initial: Money
    customer_id: uuid.UUID | None
    expires_on: date | None
    sold_on_order: uuid.UUID | None
    created_at: datetime
    version: int
    ledger: tuple[LedgerEntry, ...] = ()


@dataclass(frozen=True)
class IssuedCard:
    """A new card and its code: the only time the code is ever shown."""

    code: str  # formatted ABCD-EFGH-JKLM-NPQR
    card: GiftCard


def _card(row: GiftCardRow, ledger: list[GiftCardLedgerRow] | None = None) -> GiftCard:
    def m(minor: int) -> Money:
        return Money.from_minor(minor, row.currency)

    return GiftCard(
        id=row.id,
        last_four=row.last_four,
        kind=row.kind,
        status=row.status,
        balance=m(row.balance_minor),
        initial=m(row.initial_minor),
        customer_id=row.customer_id,
        expires_on=row.expires_on,
        sold_on_order=row.sold_on_order,
        created_at=row.created_at,
        version=row.version,
        ledger=tuple(
            LedgerEntry(
                e.kind, m(e.amount_minor), m(e.balance_after_minor), e.order_id, e.actor, e.note, e.at
            )
            for e in ledger or ()
        ),
    )


def _ledger(
    uow: UnitOfWork,
    card_id: uuid.UUID,
    kind: str,
    amount_minor: int,
    balance_after: int,
    *,
    order_id: uuid.UUID | None = None,
    payment_id: uuid.UUID | None = None,
    note: str = "",
) -> None:
    uow.insert_at_commit(
        _LEDGER,
        [
            {
                "id": new_id(),
                "gift_card_id": card_id,
                "kind": kind,
                "amount_minor": amount_minor,
                "balance_after_minor": balance_after,
                "order_id": order_id,
                "payment_id": payment_id,
                "actor": uow.actor.label,
                "note": note[:500],
                "at": uow.now(),
            }
        ],
    )


@use_case
def issue(
    uow: UnitOfWork,
    *,
    amount: Money,
    kind: str = "gift_card",
    customer_id: uuid.UUID | None = None,
    expires_on: date | None = None,
    note: str = "",
    sold_on_order: uuid.UUID | None = None,
    refund: bool = False,
) -> IssuedCard:
    """Issue a card: active at once (a manager's, or store credit), or — sold on an order — inactive until that
    order's payment is captured. Expiry only where the law allows it (set `expires_on`; none by default).
    `refund`: store credit given as a refund (the refund's `payment.refunded` carries its money to the ledger).

    Raises:
        ValidationFailed: a non-positive amount, an expiry in the past.
    """
    if amount.minor <= 0:
        raise ValidationFailed.on("amount", "a gift card holds a positive amount")
    if expires_on is not None and expires_on <= uow.now().date():
        raise ValidationFailed.on("expires_on", "must be in the future")
    code = rules.gift_card_code(secrets.token_bytes(16))
    now = uow.now()
    row = GiftCardRow(
        id=new_id(),
        code_digest=wiring(uow).digest(code),
        last_four=code[-4:],
        kind=kind,
        status="inactive" if sold_on_order else "active",
        currency=amount.currency,
        balance_minor=amount.minor,
        initial_minor=amount.minor,
        customer_id=customer_id,
        sold_on_order=sold_on_order,
        expires_on=expires_on,
        issued_by=uow.actor.label,
        created_at=now,
        updated_at=now,
        version=1,
    )
    uow.session.add(row)
    uow.session.flush()
    _ledger(uow, row.id, "issued", amount.minor, amount.minor, order_id=sold_on_order, note=note)
    uow.emit(
        "gift_card.issued",
        {
            "gift_card_id": str(row.id),
            "last_four": row.last_four,
            "kind": kind,
            "amount": str(amount.amount),
            "currency": amount.currency,
            "active": row.status == "active",
            # who pays for the value: an order it is sold on, a refund, or the issuer (ledger, ADR 0030)
            "funded_by": "order" if sold_on_order else "refund" if refund else "issuer",
            # sold on an order: the event is that order's channel's (tagged by its order id)
            **({"order_id": str(sold_on_order)} if sold_on_order else {}),
        },
    )
    uow.audit(
        "gift_card.issued",
        object_type="gift_card",
        object_id=str(row.id),
        after={"amount_minor": amount.minor, "kind": kind, "last_four": row.last_four},
    )
    return IssuedCard(rules.format_gift_code(code), _card(row))


def find_by_code(uow: UnitOfWork, code: str, *, field: str = "code", lock: bool = False) -> GiftCardRow:
    """The card a typed code names.

    Raises:
        ValidationFailed: not a well-formed code (wrong length, a symbol outside the alphabet, a failed check).
        NotFound: no such card.
    """
    normal = rules.normalize_gift_code(code)
    if normal is None:
        raise ValidationFailed.on(field, "not a gift card code (check the symbols)")
    query = sa.select(GiftCardRow).where(GiftCardRow.code_digest == wiring(uow).digest(normal))
    row = uow.session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound("no gift card with this code")
    return row


@use_case(readonly=True)
def balance(uow: UnitOfWork, *, code: str, caller: str) -> GiftCard:
    """A card's balance by its code, at most N checks a minute per caller (codes cannot be probed)."""
    wiring(uow).balance_checks.check(caller)
    return _card(find_by_code(uow, code))


def _usable(row: GiftCardRow, today: date) -> None:
    if row.status != "active":
        raise Conflict(f"this gift card is {row.status}", card_status=row.status)
    if row.expires_on is not None and row.expires_on < today:
        raise Conflict("this gift card has expired", card_status="expired")


def redeem(
    uow: UnitOfWork, *, card_id: uuid.UUID, amount_minor: int, order_id: uuid.UUID, payment_id: uuid.UUID
) -> int:
    """Take `amount_minor` off a card inside the caller's transaction; returns the balance left.

    Raises:
        GiftCardBalanceInsufficient: the card holds less (409, with its balance); nothing is taken.
        Conflict: the card is inactive, void or expired.
    """
    today = uow.now().date()
    left = uow.session.execute(
        sa.update(_CARDS)
        .where(
            _CARDS.c.id == card_id,
            _CARDS.c.status == "active",
            _CARDS.c.balance_minor >= amount_minor,
            sa.or_(_CARDS.c.expires_on.is_(None), _CARDS.c.expires_on >= today),
        )
        .values(
            balance_minor=_CARDS.c.balance_minor - amount_minor,
            version=_CARDS.c.version + 1,
            updated_at=uow.now(),
        )
        .returning(_CARDS.c.balance_minor)
        .execution_options(independent_of_pending=True)  # cards never wait for the commit (pending_rows)
    ).scalar()
    if left is None:
        row = uow.session.get(GiftCardRow, card_id, populate_existing=True)
        assert row is not None
        _usable(row, today)
        have = Money.from_minor(row.balance_minor, row.currency)
        raise GiftCardBalanceInsufficient(
            f"the gift card holds {have}", balance=str(have.amount), currency=row.currency
        )
    _ledger(uow, card_id, "redeemed", -amount_minor, int(left), order_id=order_id, payment_id=payment_id)
    uow.emit(
        "gift_card.redeemed",
        {
            "gift_card_id": str(card_id),
            "order_id": str(order_id),
            "amount_minor": amount_minor,
            "balance_minor": int(left),
        },
    )
    return int(left)


def credit(
    uow: UnitOfWork,
    *,
    card_id: uuid.UUID,
    amount_minor: int,
    kind: str,
    order_id: uuid.UUID | None = None,
    payment_id: uuid.UUID | None = None,
    note: str = "",
) -> int:
    """Add to a card (a reload, a refund) inside the caller's transaction; returns the new balance."""
    assert amount_minor > 0
    now = uow.now()
    new = uow.session.execute(
        sa.update(_CARDS)
        .where(_CARDS.c.id == card_id, _CARDS.c.status != "void")
        .values(
            balance_minor=_CARDS.c.balance_minor + amount_minor, version=_CARDS.c.version + 1, updated_at=now
        )
        .returning(_CARDS.c.balance_minor)
        .execution_options(independent_of_pending=True)  # cards never wait for the commit (pending_rows)
    ).scalar()
    if new is None:
        raise Conflict("this gift card is void")
    _ledger(uow, card_id, kind, amount_minor, int(new), order_id=order_id, payment_id=payment_id, note=note)
    return int(new)


@use_case
def reload(uow: UnitOfWork, *, card_id: uuid.UUID | str, amount: Money, note: str = "") -> GiftCard:
    """Add value to a card (a manager's reload, or a paid reload at the till)."""
    row = _row(uow, card_id)
    if amount.currency != row.currency or amount.minor <= 0:
        raise ValidationFailed.on("amount", f"a positive amount in {row.currency}")
    _usable(row, uow.now().date())
    balance_after = credit(uow, card_id=row.id, amount_minor=amount.minor, kind="reloaded", note=note)
    uow.emit(
        "gift_card.reloaded",
        {
            "gift_card_id": str(row.id),
            "last_four": row.last_four,
            "kind": row.kind,
            "amount": str(amount.amount),
            "currency": amount.currency,
            "balance": str(Money.from_minor(balance_after, row.currency).amount),
            "funded_by": "issuer",
        },
    )
    uow.audit(
        "gift_card.reloaded",
        object_type="gift_card",
        object_id=str(row.id),
        after={"amount_minor": amount.minor},
    )
    return get_gift_card(uow, card_id=row.id)


@use_case
def activate_sold_cards(uow: UnitOfWork, *, order_id: uuid.UUID) -> int:
    """Activate the cards sold on an order once it is paid; returns how many."""
    rows = list(
        uow.session.scalars(
            sa.select(GiftCardRow).where(
                GiftCardRow.sold_on_order == order_id, GiftCardRow.status == "inactive"
            )
        )
    )
    for row in rows:
        row.status, row.updated_at, row.version = "active", uow.now(), row.version + 1
        _ledger(uow, row.id, "activated", 0, row.balance_minor, order_id=order_id)
        uow.emit(
            "gift_card.activated",
            {
                "gift_card_id": str(row.id),
                "order_id": str(order_id),
                "kind": row.kind,
                "amount": str(Money.from_minor(row.balance_minor, row.currency).amount),
                "currency": row.currency,
            },
        )
    return len(rows)


def _row(uow: UnitOfWork, card_id: uuid.UUID | str) -> GiftCardRow:
    try:
        row = uow.session.get(GiftCardRow, uuid.UUID(str(card_id)))
    except ValueError:
        row = None
    if row is None:
        raise NotFound(f"no gift card {card_id}")
    return row


@use_case(readonly=True)
def get_gift_card(uow: UnitOfWork, *, card_id: uuid.UUID | str, channel: str | None = None) -> GiftCard:
    """A card with its ledger. With `channel` (a channel-bound caller): only a card sold on one of its orders; any
    other answers NotFound exactly as an unknown id does."""
    row = _row(uow, card_id)
    if channel is not None and not orders.order_in_channel(uow, order_id=row.sold_on_order, channel=channel):
        raise NotFound(f"no gift card {card_id}")
    ledger = list(
        uow.session.scalars(
            sa.select(GiftCardLedgerRow)
            .where(GiftCardLedgerRow.gift_card_id == row.id)
            .order_by(GiftCardLedgerRow.at, GiftCardLedgerRow.id)
        )
    )
    return _card(row, ledger)


@use_case(readonly=True)
def list_gift_cards(
    uow: UnitOfWork,
    *,
    customer_id: uuid.UUID | None = None,
    status: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    channel: str | None = None,
) -> Page[GiftCard]:
    """Newest first. With `channel` (a channel-bound caller): only the cards sold on that channel's orders."""
    query = sa.select(GiftCardRow)
    if channel is not None:
        query = query.where(GiftCardRow.sold_on_order.in_(orders.channel_order_ids(channel)))
    if customer_id is not None:
        query = query.where(GiftCardRow.customer_id == customer_id)
    if status:
        query = query.where(GiftCardRow.status == status)
    return keyset_page(
        uow, query, keys=[GiftCardRow.id], to_item=_card, cursor=cursor, limit=limit, descending=True
    )


@use_case
def expire_cards(uow: UnitOfWork, *, today: date | None = None, limit: int = 500) -> int:
    """Expire the active cards whose expiry date has passed (at most `limit` a call, oldest expiry first): each
    becomes `expired` with its balance taken to zero by an `expired` ledger row, and `gift_card.expired` says how
    much was left (the ledger posts it to the breakage policy's account). Reads only active cards with an expiry
    date (`ix_gift_cards_expiring`), never the cards' history. Returns how many cards expired.
    """
    today = today or uow.now().date()
    rows = list(
        uow.session.scalars(
            sa.select(GiftCardRow)
            .where(
                GiftCardRow.status == "active",
                GiftCardRow.expires_on.is_not(None),
                GiftCardRow.expires_on < today,
            )
            .order_by(GiftCardRow.expires_on, GiftCardRow.id)
            .limit(limit)
            .with_for_update()
        )
    )
    for row in rows:
        left = row.balance_minor
        row.status, row.balance_minor = "expired", 0
        row.updated_at, row.version = uow.now(), row.version + 1
        uow.session.flush()
        _ledger(uow, row.id, "expired", -left, 0, note=f"expired on {row.expires_on}")
        uow.emit(
            "gift_card.expired",
            {
                "gift_card_id": str(row.id),
                "last_four": row.last_four,
                "kind": row.kind,
                "amount": str(Money.from_minor(left, row.currency).amount),
                "currency": row.currency,
                "expires_on": row.expires_on.isoformat() if row.expires_on else None,
            },
        )
        uow.audit(
            "gift_card.expired", object_type="gift_card", object_id=str(row.id), after={"left_minor": left}
        )
    return len(rows)


def expire_job(uow: UnitOfWork, payload: dict[str, object]) -> None:
    while expire_cards(uow) == 500:
        pass


@use_case(readonly=True)
def outstanding_balances(uow: UnitOfWork) -> dict[tuple[str, str], Money]:
    """Σ balances of the cards that hold value and were issued or paid for (not those sold on an order still
    unpaid), per (kind, currency): what the gift-card and store-credit liabilities must hold. Reads only cards with
    a balance (`ix_gift_cards_outstanding`)."""
    query = (
        sa.select(_CARDS.c.kind, _CARDS.c.currency, sa.func.sum(_CARDS.c.balance_minor))
        .where(_CARDS.c.balance_minor > 0, _CARDS.c.status != "inactive")
        .group_by(_CARDS.c.kind, _CARDS.c.currency)
    )
    return {
        (kind, currency): Money.from_minor(int(total), currency)
        for kind, currency, total in uow.execute_core(query)
    }

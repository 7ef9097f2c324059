"""A till sale's receipt: read once from the sale, its order and its payments, printed by the console or e-mailed
through the configured mailer (outside any transaction; a mail server that refuses it is answered, nothing is
written but the audit of a receipt sent)."""

from __future__ import annotations

import uuid

from ordersmith.channels.pos import rules
from ordersmith.channels.pos.service._common import load_register_by_id
from ordersmith.channels.pos.tables import PosSaleRow
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.payments import service as payments
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.mail import Mailer, MailFailed

BRANDS = {"amex": "Amex", "mastercard": "Mastercard", "jcb": "JCB", "unionpay": "UnionPay"}


def _label(payment: payments.Payment) -> str:
    if payment.method == "card":
        return f"{BRANDS.get(payment.brand, payment.brand.capitalize() or 'Card')} ····{payment.last_four}"
    if payment.method in rules.GIFT_METHODS:
        return ("Store credit" if payment.method == "store_credit" else "Gift card") + (
            f" …{payment.last_four}" if payment.last_four else ""
        )
    return payment.method.replace("_", " ").capitalize()


@use_case(readonly=True)
def receipt(uow: UnitOfWork, *, sale_id: uuid.UUID, principal: Principal | None) -> rules.Receipt:
    """The receipt of a till sale (a flagged one: its lines as rung up, no order number).

    Raises:
        NotFound: no such sale, or another channel's.
    """
    row = uow.session.get(PosSaleRow, sale_id)
    loaded = load_register_by_id(uow, register_id=row.register_id) if row is not None else None
    if (
        row is None
        or loaded is None
        or (
            principal is not None
            and principal.channel_id is not None
            and principal.channel_id != loaded.channel.id
        )
    ):
        raise NotFound(f"no sale {sale_id}")
    store = loaded.store
    address = [
        store.line1,
        *([store.line2] if store.line2 else []),
        " ".join(p for p in (store.city, store.region, store.postal_code) if p),
    ]
    c = row.currency
    zero = Money.zero(c)
    if row.order_id is not None:
        order = orders.get_order(uow, ref=str(row.order_id))
        lines = [
            rules.ReceiptLine(
                sku=line.sku,
                name=line.name,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount=line.discount,
                total=line.total,
            )
            for line in order.lines
        ]
        tenders = [
            rules.ReceiptTender(_label(p), p.amount)
            for p in payments.order_payments(uow, order_id=order.id)
            if p.status != "failed"
        ]
        totals = (order.merchandise, order.discounts, order.tax, order.total)
    else:
        sent = row.payload or {}
        lines = [
            rules.ReceiptLine(sku=s, name=s, quantity=int(q), unit_price=zero, discount=zero, total=zero)
            for s, q in sent.get("lines", [])
        ]
        tenders = []
        till = Money.from_minor(row.till_total_minor, c) if row.till_total_minor is not None else zero
        totals = (zero, zero, zero, till)
    return rules.Receipt(
        store_name=store.name,
        store_address=address,
        register=loaded.register.code,
        sale_id=str(row.id),
        order_number=row.order_number,
        rung_at=row.rung_at.strftime("%Y-%m-%d %H:%M UTC"),
        lines=lines,
        merchandise=totals[0],
        discounts=totals[1],
        tax=totals[2],
        total=totals[3],
        tenders=tenders,
        cash_received=Money.from_minor(row.cash_received_minor, c),
        change_given=Money.from_minor(row.change_given_minor, c),
        footer=store.receipt_footer,
        status=row.status,
    )


def email_receipt(
    uow: UnitOfWork, *, sale_id: uuid.UUID, to: str, principal: Principal | None, mailer: Mailer
) -> None:
    """Send the sale's receipt to `to` (outside any transaction), then audit that it was sent.

    Raises:
        ValidationFailed: not an e-mail address (naming `email`).
        NotFound: no such sale, or another channel's.
        MailFailed: the mail server did not take it.
    """
    assert not uow.active, "no mail is sent inside a transaction"
    address = to.strip()
    if "@" not in address or any(c in address for c in " ,;<>\r\n") or len(address) > 320:
        raise ValidationFailed.on("email", "one e-mail address")
    found = receipt(uow, sale_id=sale_id, principal=principal)
    subject = f"Your receipt from {found.store_name}" + (
        f" — order {found.order_number}" if found.order_number else ""
    )
    mailer.send(to=[address], subject=subject, text=rules.receipt_text(found))
    _audit_sent(uow, sale_id=sale_id, to=address)


@use_case
def _audit_sent(uow: UnitOfWork, *, sale_id: uuid.UUID, to: str) -> None:
    uow.audit("pos.receipt_sent", object_type="pos_sale", object_id=str(sale_id), after={"to": to})


__all__ = ["MailFailed", "email_receipt", "receipt"]

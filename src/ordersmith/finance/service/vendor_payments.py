"""Accounts payable, the paying side: vendor payments spread over one or more approved bills (partly or in full),
the AP aging by days past due, and the check that the AP subledger equals the AP control account.

Invariants: a bill is never paid more than its total — each allocation is one conditional UPDATE
(`paid_minor + amount <= total_minor`, status payable), in bill-id order, all in the payment's one transaction, so
two payments of the same bill at once pay it once and the loser changes nothing; once the relay has posted every
event, Σ open bill balances (approved, partially paid) = the balance of the AP control account, per currency.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

import sqlalchemy as sa

from ordersmith.finance import matching, rules
from ordersmith.finance.service._common import mappings
from ordersmith.finance.service.payables import _detail
from ordersmith.finance.tables import (
    PeriodBalanceRow,
    VendorBillRow,
    VendorPaymentAllocationRow,
    VendorPaymentRow,
)
from ordersmith.kernel.errors import Conflict, FieldError, IllegalTransition, NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.kernel.pagination import Page, check_limit, decode_cursor, encode_cursor
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.numbers import next_number

_BILLS = cast(sa.Table, VendorBillRow.__table__)
_PAYMENTS = cast(sa.Table, VendorPaymentRow.__table__)
_ALLOCATIONS = cast(sa.Table, VendorPaymentAllocationRow.__table__)
_BALANCES = cast(sa.Table, PeriodBalanceRow.__table__)
PAYMENT_SERIES = "vendor_payment"
METHODS = ("check", "ach", "wire", "card")
BUCKETS: tuple[str, ...] = tuple(name for name, _label, _low, _high in matching.AGING_BUCKETS)


@dataclass(frozen=True)
class PayBill:
    """Part of a payment: how much of it goes to one bill (by number or id)."""

    bill: str
    amount: Money


@dataclass(frozen=True)
class PaidBill:
    bill: str
    vendor_invoice: str
    amount: Money


@dataclass(frozen=True)
class VendorPayment:
    id: uuid.UUID
    number: str
    vendor: str
    amount: Money
    method: str
    reference: str
    paid_on: date
    created_by: str
    created_at: datetime
    bills: list[PaidBill]


def _payments(uow: UnitOfWork, rows: Sequence[Any]) -> list[VendorPayment]:
    if not rows:
        return []
    query = (
        sa.select(
            _ALLOCATIONS.c.payment_id, _ALLOCATIONS.c.amount_minor, _BILLS.c.number, _BILLS.c.vendor_invoice
        )
        .select_from(_ALLOCATIONS.join(_BILLS, _BILLS.c.id == _ALLOCATIONS.c.bill_id))
        .where(_ALLOCATIONS.c.payment_id.in_([r.id for r in rows]))
        .order_by(_BILLS.c.number)
    )
    currency = {r.id: r.currency for r in rows}
    bills: dict[uuid.UUID, list[PaidBill]] = {}
    for a in uow.execute_core(query):
        paid = PaidBill(a.number, a.vendor_invoice, Money.from_minor(a.amount_minor, currency[a.payment_id]))
        bills.setdefault(a.payment_id, []).append(paid)
    return [
        VendorPayment(
            id=r.id,
            number=r.number,
            vendor=r.vendor,
            amount=Money.from_minor(r.amount_minor, r.currency),
            method=r.method,
            reference=r.reference,
            paid_on=r.paid_on,
            created_by=r.created_by,
            created_at=r.created_at,
            bills=bills.get(r.id, []),
        )
        for r in rows
    ]


def _bill_rows(uow: UnitOfWork, allocations: Sequence[PayBill]) -> list[Any]:
    """Each allocation's bill (by number or id), or a refusal naming `bills.N.bill`."""
    found = []
    for n, allocation in enumerate(allocations):
        try:
            match = _BILLS.c.id == uuid.UUID(allocation.bill)
        except ValueError:
            match = _BILLS.c.number == allocation.bill.strip().upper()
        row = uow.execute_core(sa.select(_BILLS).where(match)).first()
        if row is None:
            raise ValidationFailed.on(f"bills.{n}.bill", f"no vendor bill {allocation.bill!r}")
        found.append(row)
    return found


def _check_payment(
    vendor: str, amount: Money, method: str, allocations: Sequence[PayBill], bills: Sequence[Any]
) -> None:
    errors: list[FieldError] = []
    if method not in METHODS:
        errors.append(FieldError("method", f"one of {', '.join(METHODS)}"))
    if amount.minor <= 0:
        errors.append(FieldError("amount", "must be more than zero"))
    seen: set[uuid.UUID] = set()
    for n, (allocation, bill) in enumerate(zip(allocations, bills, strict=True)):
        if bill.vendor != vendor:
            errors.append(FieldError(f"bills.{n}.bill", f"{bill.number} is {bill.vendor}'s, not {vendor}'s"))
        if bill.id in seen:
            errors.append(FieldError(f"bills.{n}.bill", f"{bill.number} is named twice"))
        seen.add(bill.id)
        if allocation.amount.currency != amount.currency or bill.currency != amount.currency:
            errors.append(
                FieldError(f"bills.{n}.amount", f"{bill.number} is in {bill.currency}: pay it in that")
            )
        elif allocation.amount.minor <= 0:
            errors.append(FieldError(f"bills.{n}.amount", "must be more than zero"))
    if not errors and sum(a.amount.minor for a in allocations) != amount.minor:
        errors.append(FieldError("amount", "must equal the sum of what it pays on each bill"))
    if errors:
        raise ValidationFailed(_detail(errors), errors=errors)


@use_case
def pay_vendor(
    uow: UnitOfWork,
    *,
    vendor: str,
    amount: Money,
    bills: Sequence[PayBill],
    method: str = "ach",
    reference: str = "",
    paid_on: date | None = None,
) -> VendorPayment:
    """Pay a vendor: `amount` spread over one or more of its approved bills, each partly or in full. All the
    bills or none: a bill not payable (not approved, paid already) or a part larger than what it still owes is
    refused, and nothing changes. Emits `vendor_payment.made` (posted Dr AP / Cr the disbursement bank account).

    Raises:
        ValidationFailed: no bills, an unknown bill, another vendor's, a bill named twice, a currency that is not
            the bills', parts that do not add up to `amount`, an unknown method (each naming its field).
        IllegalTransition: a bill is not approved or partially paid (409, with its `state`).
        Conflict: a part exceeds what the bill still owes (409 naming `bills.N.amount`).
    """
    if not bills:
        raise ValidationFailed.on("bills", "a payment pays at least one bill")
    if len(reference) > 80 or "\x00" in reference:
        raise ValidationFailed.on("reference", "at most 80 characters, no NUL")
    code = vendor.strip().upper()
    rows = _bill_rows(uow, bills)
    _check_payment(code, amount, method, bills, rows)
    now = uow.now()
    payment_id = new_id()
    paid: list[dict[str, object]] = []
    # Bill-id order: two payments naming the same bills lock them in the same order.
    for n, allocation, row in sorted(zip(range(len(bills)), bills, rows, strict=True), key=lambda t: t[2].id):
        a = allocation.amount.minor
        changed = uow.execute_core(
            sa.update(_BILLS)
            .where(
                _BILLS.c.id == row.id,
                _BILLS.c.status.in_(matching.OPEN_STATUSES),
                _BILLS.c.paid_minor + a <= _BILLS.c.total_minor,
            )
            .values(
                paid_minor=_BILLS.c.paid_minor + a,
                updated_at=now,
                version=_BILLS.c.version + 1,
                status=sa.case(
                    (_BILLS.c.paid_minor + a == _BILLS.c.total_minor, "paid"), else_="partially_paid"
                ),
            )
            .returning(_BILLS.c.paid_minor, _BILLS.c.status)
        ).first()
        if changed is None:
            now_row = uow.execute_core(sa.select(_BILLS).where(_BILLS.c.id == row.id)).one()
            if now_row.status not in matching.OPEN_STATUSES:
                raise IllegalTransition(
                    f"{now_row.number} is {now_row.status}: only an approved bill is paid",
                    state=now_row.status,
                    errors=[FieldError(f"bills.{n}.bill", f"{now_row.number} is {now_row.status}")],
                )
            owed = Money.from_minor(now_row.total_minor - now_row.paid_minor, now_row.currency)
            raise Conflict(
                f"{now_row.number} still owes {owed.amount} {owed.currency}: it cannot take "
                f"{allocation.amount.amount}",
                errors=[FieldError(f"bills.{n}.amount", f"at most {owed.amount}")],
                owed=str(owed.amount),
            )
        paid.append({"number": row.number, "amount": str(allocation.amount.amount), "status": changed.status})
    number = f"VP-{next_number(uow, PAYMENT_SERIES):06d}"
    uow.execute_core(
        sa.insert(_PAYMENTS).values(
            id=payment_id,
            number=number,
            vendor=code,
            currency=amount.currency,
            amount_minor=amount.minor,
            method=method,
            reference=reference.strip(),
            paid_on=paid_on or now.date(),
            created_by=uow.actor.label,
            created_at=now,
        )
    )
    uow.execute_core(
        sa.insert(_ALLOCATIONS),
        [
            {"payment_id": payment_id, "bill_id": row.id, "amount_minor": allocation.amount.minor}
            for allocation, row in zip(bills, rows, strict=True)
        ],
    )
    uow.audit(
        "vendor_payment.made",
        object_type="vendor_payment",
        object_id=number,
        after={
            "vendor": code,
            "amount": str(amount.amount),
            "currency": amount.currency,
            "method": method,
            "bills": paid,
        },
    )
    uow.emit(
        "vendor_payment.made",
        {
            "number": number,
            "vendor": code,
            "amount": str(amount.amount),
            "currency": amount.currency,
            "method": method,
            "paid_on": (paid_on or now.date()).isoformat(),
            "bills": paid,
        },
    )
    return get_vendor_payment(uow, ref=number)


@use_case(readonly=True)
def get_vendor_payment(uow: UnitOfWork, *, ref: str) -> VendorPayment:
    """A payment by number (`VP-000001`) or id, with the bills it paid.

    Raises:
        NotFound: no such payment.
    """
    try:
        match = _PAYMENTS.c.id == uuid.UUID(ref)
    except ValueError:
        match = _PAYMENTS.c.number == ref.strip().upper()
    row = uow.execute_core(sa.select(_PAYMENTS).where(match)).first()
    if row is None:
        raise NotFound(f"no vendor payment {ref!r}")
    return _payments(uow, [row])[0]


@use_case(readonly=True)
def list_vendor_payments(
    uow: UnitOfWork, *, vendor: str | None = None, cursor: str | None = None, limit: int = 50
) -> Page[VendorPayment]:
    """Payments newest first, optionally one vendor's.

    Raises:
        ValidationFailed: a malformed cursor or a limit out of range.
    """
    check_limit(limit)
    query = sa.select(_PAYMENTS)
    if vendor is not None:
        query = query.where(_PAYMENTS.c.vendor == vendor.strip().upper())
    if cursor:
        try:
            after = uuid.UUID(decode_cursor(cursor, 1)[0])
        except ValueError:
            raise ValidationFailed.on("cursor", "malformed cursor") from None
        query = query.where(_PAYMENTS.c.id < after)
    rows = uow.execute_core(query.order_by(_PAYMENTS.c.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(_payments(uow, rows), encode_cursor(str(rows[-1].id)) if more else None)


# ---- aging and the control account -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PayableAgingRow:
    vendor: str  # "" on a currency's total row
    currency: str
    bills: int
    buckets: tuple[Money, ...]  # in `BUCKETS` order: current, 1-30, 31-60, 61-90, over 90 days past due
    total: Money


@dataclass(frozen=True)
class PayablesReconciliation:
    """The AP subledger against the AP control account, in one currency."""

    currency: str
    subledger: Money  # Σ what approved bills still owe
    control: Money  # the AP account's balance (credit - debit), every period
    difference: Money  # control - subledger: zero once the relay has posted every event


@dataclass(frozen=True)
class PayablesAging:
    as_of: date
    buckets: tuple[str, ...]
    rows: list[PayableAgingRow]
    totals: list[PayableAgingRow]
    reconciliation: list[PayablesReconciliation]


def _control(uow: UnitOfWork) -> dict[str, int]:
    account = rules.resolve(mappings(uow), "role", "payable")
    query = (
        sa.select(_BALANCES.c.currency, sa.func.sum(_BALANCES.c.credit_minor - _BALANCES.c.debit_minor))
        .where(_BALANCES.c.account_code == account)
        .group_by(_BALANCES.c.currency)
    )
    return {currency: int(net) for currency, net in uow.execute_core(query).all()}


@use_case(readonly=True)
def ap_aging(uow: UnitOfWork, *, as_of: date) -> PayablesAging:
    """What the business owes each vendor on approved bills, by days past their due dates (from the vendor's
    terms) as of `as_of`: current, 1-30, 31-60, 61-90, over 90; totals per currency; and the subledger reconciled
    to the AP control account.

    Two aggregating queries: the open bills (by the status index) and the control account's period balances."""
    owed = _BILLS.c.total_minor - _BILLS.c.paid_minor
    columns = []
    for name, earliest, latest in matching.bucket_bounds(as_of):
        conditions = []
        if earliest is not None:
            conditions.append(_BILLS.c.due_on >= earliest)
        if latest is not None:
            conditions.append(_BILLS.c.due_on <= latest)
        columns.append(sa.func.sum(sa.case((sa.and_(*conditions), owed), else_=0)).label(name))
    query = (
        sa.select(
            _BILLS.c.vendor,
            _BILLS.c.currency,
            sa.func.count().label("bills"),
            *columns,
            sa.func.sum(owed).label("total"),
        )
        .where(_BILLS.c.status.in_(matching.OPEN_STATUSES))
        .group_by(_BILLS.c.vendor, _BILLS.c.currency)
        .order_by(_BILLS.c.currency, _BILLS.c.vendor)
    )
    rows: list[PayableAgingRow] = []
    sums: dict[str, list[int]] = {}
    for r in uow.execute_core(query):
        figures = [int(getattr(r, name)) for name in BUCKETS]
        rows.append(
            PayableAgingRow(
                r.vendor,
                r.currency,
                r.bills,
                tuple(Money.from_minor(m, r.currency) for m in figures),
                Money.from_minor(int(r.total), r.currency),
            )
        )
        acc = sums.setdefault(r.currency, [0] * (len(BUCKETS) + 2))
        for n, m in enumerate((*figures, int(r.total), r.bills)):
            acc[n] += m
    totals = [
        PayableAgingRow(
            "",
            c,
            acc[-1],
            tuple(Money.from_minor(m, c) for m in acc[: len(BUCKETS)]),
            Money.from_minor(acc[len(BUCKETS)], c),
        )
        for c, acc in sorted(sums.items())
    ]
    control = _control(uow)
    reconciliation = []
    for c in sorted(set(sums) | {c for c, net in control.items() if net}):
        subledger = sums[c][len(BUCKETS)] if c in sums else 0
        held = control.get(c, 0)
        reconciliation.append(
            PayablesReconciliation(
                c,
                Money.from_minor(subledger, c),
                Money.from_minor(held, c),
                Money.from_minor(held - subledger, c),
            )
        )
    return PayablesAging(as_of, BUCKETS, rows, totals, reconciliation)

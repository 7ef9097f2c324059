"""Accounts payable, the decisions on a bill: match it again, accept its exception (an override), reject it, approve
it for payment. Each is one conditional UPDATE of the bill's status along `matching.TRANSITIONS` (and the version
the caller saw), so two people deciding at once cannot both win: the other gets a 409 and nothing changes.
Approving emits `vendor_bill.approved`, posted Dr GRNI (± purchase price variance) / Cr AP.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from ordersmith.finance import matching
from ordersmith.finance.service.payables import (
    _BILLS,
    _EXCEPTIONS,
    VendorBill,
    _bill_row,
    _count_billed,
    _line_rows,
    _load,
    _match,
    _resolve,
)
from ordersmith.kernel.errors import IllegalTransition, PreconditionFailed, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.purchasing import service as purchasing


def _claim(uow: UnitOfWork, ref: str, action: str, version: int | None, **values: Any) -> tuple[str, Any]:
    """Move a bill along `action` with one conditional UPDATE (status among the action's sources, and the version
    the caller saw); returns its status before and the row after. Two callers at once: one wins, the other gets a
    409."""
    row = _bill_row(uow, ref)
    if version is not None and version != row.version:
        raise PreconditionFailed(f"{row.number} changed since version {version}; it is at {row.version}")
    sources, target = matching.TRANSITIONS[action]
    query = sa.update(_BILLS).where(_BILLS.c.id == row.id, _BILLS.c.status.in_(sorted(sources)))
    if version is not None:
        query = query.where(_BILLS.c.version == version)
    changed = uow.execute_core(
        query.values(
            status=values.pop("status", target), updated_at=uow.now(), version=_BILLS.c.version + 1, **values
        ).returning(*_BILLS.c)
    ).first()
    if changed is None:
        now = _bill_row(uow, ref)
        if version is not None and now.version != version:
            raise PreconditionFailed(f"{now.number} changed since version {version}; it is at {now.version}")
        raise IllegalTransition(f"{now.number} is {now.status}: cannot {action} it", state=now.status)
    return row.status, changed


@use_case
def rematch_vendor_bill(uow: UnitOfWork, *, ref: str) -> VendorBill:
    """Match an exception again (after more goods arrived, the PO's cost was corrected, or the tolerances
    changed): it leaves the queue when it now matches.

    Raises:
        NotFound: no such bill.
        IllegalTransition: the bill is not in `exception` (or `entered`).
    """
    _before, row = _claim(uow, ref, "match", None, status="entered")
    return _match(uow, row.id, purchasing.get_purchase_order(uow, number=row.purchase_order))


@use_case
def accept_exception(uow: UnitOfWork, *, ref: str, note: str, version: int | None = None) -> VendorBill:
    """Override: accept a bill that failed its match as it is (it becomes `matched`, ready for approval), with the
    reason why. The exception leaves the queue, resolved `accepted`, naming who accepted it.

    Raises:
        NotFound: no such bill (by number or id, or by its exception's id).
        ValidationFailed: no note (naming `note`).
        IllegalTransition: the bill is not in `exception`.
        PreconditionFailed: `version` is not the bill's.
    """
    return _decide(uow, ref=ref, action="accept", note=note, version=version)


@use_case
def reject_vendor_bill(uow: UnitOfWork, *, ref: str, note: str, version: int | None = None) -> VendorBill:
    """Reject a bill (in the queue, or matched but not approved): it will never be paid and its units no longer
    count as billed on the PO lines, so the vendor's corrected bill can match.

    Raises:
        NotFound: no such bill.
        ValidationFailed: no note (naming `note`).
        IllegalTransition: the bill is approved, paid or rejected already.
        PreconditionFailed: `version` is not the bill's.
    """
    return _decide(uow, ref=ref, action="reject", note=note, version=version)


def _decide(uow: UnitOfWork, *, ref: str, action: str, note: str, version: int | None) -> VendorBill:
    note = note.strip()
    if not note or len(note) > 500 or "\x00" in note:
        raise ValidationFailed.on("note", "why, in at most 500 characters")
    ref = _bill_ref(uow, ref)
    before, row = _claim(uow, ref, action, version, note=note)
    queued = uow.execute_core(
        sa.select(_EXCEPTIONS.c.id).where(_EXCEPTIONS.c.bill_id == row.id, _EXCEPTIONS.c.status == "open")
    ).first()
    if queued is not None:
        _resolve(uow, queued.id, "accepted" if action == "accept" else "rejected", note)
    if action == "reject":
        _count_billed(uow, row.purchase_order, _line_rows(uow, row.id), sign=-1)
    done = "matched" if action == "accept" else "rejected"
    uow.audit(
        f"vendor_bill.{'accepted' if action == 'accept' else 'rejected'}",
        object_type="vendor_bill",
        object_id=row.number,
        before={"status": before},
        after={"status": done, "note": note},
    )
    uow.emit(
        f"vendor_bill.{'accepted' if action == 'accept' else 'rejected'}",
        {"number": row.number, "vendor": row.vendor, "purchase_order": row.purchase_order},
    )
    return _load(uow, row.id)


def _bill_ref(uow: UnitOfWork, ref: str) -> str:
    """A bill's reference from the bill's own number or id, or from its exception's id (the queue's rows)."""
    try:
        exception_id = uuid.UUID(ref)
    except ValueError:
        return ref
    found = uow.execute_core(sa.select(_EXCEPTIONS.c.bill_id).where(_EXCEPTIONS.c.id == exception_id)).first()
    return str(found.bill_id) if found is not None else ref


@use_case
def approve_vendor_bill(uow: UnitOfWork, *, ref: str, version: int | None = None) -> VendorBill:
    """Approve a matched bill for payment: it becomes payable (`approved`), counts in AP and its aging, and
    `vendor_bill.approved` is posted: Dr GRNI at the PO's cost of the units, ± purchase price variance / Cr AP.

    Raises:
        NotFound: no such bill.
        IllegalTransition: the bill is not `matched` (an exception must be accepted first; approved already: 409).
        PreconditionFailed: `version` is not the bill's.
    """
    before, row = _claim(uow, ref, "approve", version, approved_by=uow.actor.label, approved_at=uow.now())
    uow.audit(
        "vendor_bill.approved",
        object_type="vendor_bill",
        object_id=row.number,
        before={"status": before},
        after={"status": "approved"},
    )
    money = Money.from_minor
    uow.emit(
        "vendor_bill.approved",
        {
            "number": row.number,
            "vendor": row.vendor,
            "vendor_invoice": row.vendor_invoice,
            "purchase_order": row.purchase_order,
            "kind": row.po_kind,
            "currency": row.currency,
            "total": str(money(row.total_minor, row.currency).amount),
            "receipt_value": str(money(row.receipt_value_minor, row.currency).amount),
            "charges": str(money(row.charges_minor, row.currency).amount),  # landed costs accrued (ADR 0041)
            "variance": str(
                money(row.total_minor - row.charges_minor - row.receipt_value_minor, row.currency).amount
            ),
            "due_on": row.due_on.isoformat(),
        },
    )
    return _load(uow, row.id)

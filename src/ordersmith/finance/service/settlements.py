"""Settlement reconciliation: import a processor's settlement (a Stripe payout's itemized reconciliation report, an
Authorize.Net settled batch), match each line to the capture or refund it settles, keep the differences for a
person, and post the payout and its fees (`settlement.imported` → the `settlement.imported` posting rule).

Invariants: a file is imported once per processor (its SHA-256 is unique); an import is all or nothing (a file that
cannot be read names the row and column and writes nothing); matching reads our transactions by their processor
reference through one indexed lookup per 500 lines, never the payment history.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

import sqlalchemy as sa

from ordersmith.finance import settlements as formats
from ordersmith.finance.dispute_tables import DisputeRow
from ordersmith.finance.service import disputes, unsettled
from ordersmith.finance.tables import SettlementLineRow, SettlementRow
from ordersmith.kernel.errors import AlreadyExists, NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.payments import service as payments
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.numbers import next_number

_SETTLEMENTS = cast(sa.Table, SettlementRow.__table__)
_LINES = cast(sa.Table, SettlementLineRow.__table__)
SERIES = "settlement"
DIFFERENCES = ("unmatched", "amount_differs", "other")
STATUSES = ("matched", "amount_differs", "unmatched", "fee", "dispute", "other")


@dataclass(frozen=True)
class SettlementItem:
    line_no: int
    kind: str
    processor_id: str
    reference: str
    gross: Money
    fee: Money
    net: Money
    status: str
    transaction_id: uuid.UUID | None


@dataclass(frozen=True)
class Settlement:
    id: uuid.UUID
    number: str
    processor: str
    file_name: str
    payout_reference: str
    payout_on: date | None
    currency: str
    charges: Money
    refunds: Money
    fees: Money
    other: Money
    net: Money
    lines: int
    matched: int
    differences: int
    imported_by: str
    imported_at: datetime
    items: tuple[SettlementItem, ...] = ()


def _settlement(row: sa.Row[tuple[object, ...]], items: tuple[SettlementItem, ...] = ()) -> Settlement:
    c = row.currency
    return Settlement(
        id=row.id, number=row.number, processor=row.processor, file_name=row.file_name,
        payout_reference=row.payout_reference, payout_on=row.payout_on, currency=c,
        charges=Money.from_minor(row.charges_minor, c), refunds=Money.from_minor(row.refunds_minor, c),
        fees=Money.from_minor(row.fees_minor, c), other=Money.from_minor(row.other_minor, c),
        net=Money.from_minor(row.net_minor, c), lines=row.lines, matched=row.matched, differences=row.differences,
        imported_by=row.imported_by, imported_at=row.imported_at, items=items,
    )  # fmt: skip


def _parse(
    processor: str, data: bytes, batch_id: str | None, currency: str | None
) -> formats.ParsedSettlement:
    if processor not in formats.PROCESSORS:
        raise ValidationFailed.on("processor", f"one of {', '.join(formats.PROCESSORS)}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed.on(
            "file", "not UTF-8 text (download the report as CSV / the response as JSON)"
        ) from None
    if "\x00" in text:
        raise ValidationFailed.on("file", "a text file holds no NUL characters")
    try:
        if processor == "stripe":
            return formats.parse_stripe(text)
        if not batch_id or not batch_id.strip() or len(batch_id) > 100 or not batch_id.isprintable():
            raise ValidationFailed.on("batch_id", "the settled batch's id (the list was asked for per batch)")
        if currency is None or len(currency) != 3 or not currency.isascii() or not currency.isupper():
            raise ValidationFailed.on("currency", "the batch's currency, e.g. USD")
        return formats.parse_authorize_net(text, batch_id=batch_id.strip(), currency=currency)
    except formats.SettlementFileError as exc:
        where = f"row {exc.row}: " if exc.row else ""
        raise ValidationFailed.on(f"file.{exc.column}" if exc.column else "file", where + str(exc)) from None


@use_case
def import_settlement(
    uow: UnitOfWork,
    *,
    processor: str,
    file_name: str,
    data: bytes,
    batch_id: str | None = None,
    currency: str | None = None,
) -> Settlement:
    """Import one settlement file, match its lines and post its payout (through the outbox, exactly once).

    Raises:
        ValidationFailed: an unknown processor, a file that cannot be read (naming row and column), no batch id or
            currency for an Authorize.Net batch.
        AlreadyExists: this file was imported before (nothing changes).
    """
    parsed = _parse(processor, data, batch_id, currency)
    digest = hashlib.sha256(data).hexdigest()
    before = uow.execute_core(
        sa.select(_SETTLEMENTS.c.number).where(
            _SETTLEMENTS.c.processor == processor, _SETTLEMENTS.c.file_sha256 == digest
        )
    ).scalar()
    if before is not None:
        raise AlreadyExists(f"this file was imported before, as settlement {before}")
    found: dict[str, list[formats.Recorded]] = defaultdict(list)
    for t in payments.transactions_by_reference(uow, references=[line.reference for line in parsed.lines]):
        recorded = formats.Recorded(str(t.id), t.kind, t.amount_minor, t.currency)
        for reference in {t.transaction_reference, t.gateway_reference} - {""}:
            found[reference].append(recorded)
    settlement_id = new_id()
    number = f"ST-{next_number(uow, SERIES):06d}"
    rows = []
    for line in parsed.lines:
        status, transaction = formats.match(line, parsed.currency, found)
        if line.kind == "dispute":
            status, transaction = _dispute_line(uow, processor, parsed.currency, line)
        rows.append({
            "settlement_id": settlement_id, "line_no": line.line_no, "kind": line.kind,
            "processor_id": line.processor_id, "reference": line.reference, "gross_minor": line.gross_minor,
            "fee_minor": line.fee_minor, "net_minor": line.net_minor, "status": status,
            "transaction_id": uuid.UUID(transaction) if transaction else None,
        })  # fmt: skip
    matched = sum(1 for r in rows if r["status"] in ("matched", "dispute"))
    differences = sum(1 for r in rows if r["status"] in DIFFERENCES)
    unsettled.mark_settled(
        uow,
        transaction_ids=[
            cast(uuid.UUID, r["transaction_id"]) for r in rows if r["status"] in unsettled.SETTLING
        ],
        settlement=number,
    )
    uow.execute_core(
        _SETTLEMENTS.insert().values(
            id=settlement_id, number=number, processor=processor,
            file_name="".join(ch for ch in file_name if ch.isprintable()).strip()[:200] or "settlement",
            file_sha256=digest, payout_reference=parsed.payout_reference, payout_on=parsed.payout_on,
            currency=parsed.currency, charges_minor=parsed.charges_minor, refunds_minor=parsed.refunds_minor,
            fees_minor=parsed.fees_minor, other_minor=parsed.other_minor, net_minor=parsed.net_minor,
            lines=len(rows), matched=matched, differences=differences, imported_by=uow.actor.label,
            imported_at=uow.now(),
        )
    )  # fmt: skip
    uow.execute_core(_LINES.insert(), rows)
    uow.emit(
        "settlement.imported",
        {"id": str(settlement_id), "number": number, "processor": processor, "currency": parsed.currency,
         "method": "card", "charges_minor": parsed.charges_minor, "refunds_minor": parsed.refunds_minor,
         "fees_minor": parsed.fees_minor, "other_minor": parsed.other_minor, "net_minor": parsed.net_minor,
         "payout_reference": parsed.payout_reference,
         "payout_on": parsed.payout_on.isoformat() if parsed.payout_on else None},
    )  # fmt: skip
    uow.audit(
        "settlement.imported",
        object_type="settlement",
        object_id=number,
        after={"processor": processor, "file": file_name[:200], "lines": len(rows), "matched": matched,
               "differences": differences, "net_minor": parsed.net_minor},
    )  # fmt: skip
    return get_settlement(uow, ref=number)


def _dispute_line(
    uow: UnitOfWork, processor: str, currency: str, line: formats.SettlementLine
) -> tuple[str, str | None]:
    """A dispute line opens its dispute (funds withdrawn) or wins it (funds reinstated): `dispute` when the line
    agrees with the dispute, `amount_differs` when it does not, `other` for a reinstatement of no dispute we know
    (each listed for a person but `dispute`)."""
    gateway = disputes.GATEWAY_OF.get(processor, processor)
    reference = line.dispute or line.processor_id
    if line.gross_minor < 0:
        dispute, _ = disputes.open_dispute(
            uow,
            processor=gateway,
            reference=reference,
            capture_reference=line.reference,
            amount=Money.from_minor(-line.gross_minor, currency),
            fee=Money.from_minor(max(line.fee_minor, 0), currency),
            source="settlement",
        )
        agrees = (dispute.amount.minor, dispute.fee.minor) == (-line.gross_minor, max(line.fee_minor, 0))
        transaction = str(dispute.transaction_id) if dispute.transaction_id else None
        return (
            "dispute" if agrees and transaction else "amount_differs" if transaction else "unmatched"
        ), transaction
    known = uow.execute_core(
        sa.select(DisputeRow.id).where(
            DisputeRow.reference == reference,
            DisputeRow.processor.in_({gateway, *_capture_gateways(uow, line.reference)}),
        )
    ).scalar()
    if known is None:
        return "other", None
    dispute = disputes.get_dispute(uow, ref=str(known))
    if dispute.status == "open":
        returned = min(max(-line.fee_minor, 0), dispute.fee.minor)
        dispute = disputes.record_dispute_outcome(
            uow, ref=str(known), outcome="won", fee_returned=Money.from_minor(returned, currency),
            note="reinstated in a settlement",
        )  # fmt: skip
    transaction = str(dispute.transaction_id) if dispute.transaction_id else None
    agrees = dispute.status == "won" and dispute.amount.minor == line.gross_minor
    return ("dispute" if agrees else "amount_differs"), transaction


def _capture_gateways(uow: UnitOfWork, reference: str) -> set[str]:
    capture = payments.disputed_capture(uow, reference=reference)
    return {capture.gateway} if capture is not None and capture.gateway else set()


@use_case(readonly=True)
def get_settlement(uow: UnitOfWork, *, ref: str, status: str | None = None) -> Settlement:
    """By number (`ST-000001`) or id, with its lines (only those of `status` when given: `differences` for all a
    person must look at)."""
    if status is not None and status not in (*STATUSES, "differences"):
        raise ValidationFailed.on("status", f"one of {', '.join(STATUSES)} or differences")
    query = sa.select(_SETTLEMENTS)
    try:
        query = query.where(_SETTLEMENTS.c.id == uuid.UUID(ref))
    except ValueError:
        query = query.where(_SETTLEMENTS.c.number == ref.strip().upper())
    row = uow.execute_core(query).first()
    if row is None:
        raise NotFound(f"no settlement {ref!r}")
    lines = sa.select(_LINES).where(_LINES.c.settlement_id == row.id)
    if status == "differences":
        lines = lines.where(_LINES.c.status.in_(DIFFERENCES))
    elif status is not None:
        lines = lines.where(_LINES.c.status == status)
    c = row.currency
    items = tuple(
        SettlementItem(
            r.line_no,
            r.kind,
            r.processor_id,
            r.reference,
            Money.from_minor(r.gross_minor, c),
            Money.from_minor(r.fee_minor, c),
            Money.from_minor(r.net_minor, c),
            r.status,
            r.transaction_id,
        )
        for r in uow.execute_core(lines.order_by(_LINES.c.line_no).limit(5000))
    )
    return _settlement(row, items)


@use_case(readonly=True)
def list_settlements(uow: UnitOfWork, *, limit: int = 50) -> list[Settlement]:
    """The latest imports, newest first."""
    query = sa.select(_SETTLEMENTS).order_by(_SETTLEMENTS.c.imported_at.desc(), _SETTLEMENTS.c.id.desc())
    return [_settlement(r) for r in uow.execute_core(query.limit(limit))]

"""Processor settlement files (pure): read a processor's statement of what it paid out, and match its lines to the
captures and refunds Ordersmith recorded.

Formats, written from the processors' documentation:

- `stripe`: Stripe's **payout reconciliation (itemized)** report as CSV (Dashboard > Reports > Payout
  reconciliation > Download, or the Reporting API's `payout_reconciliation.itemized.*` report runs): one row per
  balance transaction settled by a payout, with at least `balance_transaction_id`, `currency`, `gross`, `fee`,
  `net` (decimal amounts in major units, refunds and fees negative), `reporting_category` (`charge`, `refund`,
  `fee`, `dispute`, `dispute_reversal`, `refund_failure`, `partial_capture_reversal`, `adjustment`, …),
  `source_id` (the charge `ch_…` or refund `re_…`), and, where present, `charge_id`, `payment_intent_id`,
  `automatic_payout_id`, `automatic_payout_effective_at_utc` (or `automatic_payout_effective_at`).
- `authorize_net`: Authorize.Net's **getTransactionListResponse** (Transaction Reporting API, JSON) for one
  settled batch: `transactions[]` with `transId`, `transactionStatus` (`settledSuccessfully`,
  `refundSettledSuccessfully`, `chargeback`, `chargebackReversal`; anything else is not money moved),
  `settleAmount` (positive decimal), and `submitTimeUTC`; `messages.resultCode` `Ok`. The batch id is given beside
  the file (the list is asked for per batch). Authorize.Net bills its fees monthly, not per transaction: the lines
  carry no fee.

Matching: a charge matches the approved capture whose processor transaction (or gateway) reference the line
names (Stripe: the charge `ch_…`, from `charge_id` or `source_id`; Authorize.Net: the `transId`), a refund the
approved refund;
same amount and currency → `matched`, else `amount_differs`; nothing found → `unmatched`; fees and other
categories are `fee` / `other` (money moved that no capture explains, listed for a person).
Dispute lines (Stripe's `dispute` and `dispute_reversal`, Authorize.Net's `chargeback` and `chargebackReversal`)
name the dispute and the charge it is against; the import opens or closes that dispute (ADR 0040), and their fees
are the dispute's, not the payout's processor fees.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from ordersmith.kernel.money import Money

PROCESSORS = ("stripe", "authorize_net")
MAX_LINES = 200_000


class SettlementFileError(ValueError):
    """A settlement file that cannot be read: `row` (1-based, the header being row 1) and `column` name where."""

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None) -> None:
        super().__init__(message)
        self.row, self.column = row, column


@dataclass(frozen=True)
class SettlementLine:
    line_no: int
    kind: str  # charge | refund | fee | dispute | other
    processor_id: str  # the processor's own id of the line (balance transaction, transId)
    reference: str  # the charge / refund / transaction it settles
    gross_minor: int  # signed: a refund is negative
    fee_minor: int  # what the processor kept, positive
    net_minor: int
    dispute: str = ""  # a dispute line's dispute id (Stripe's `dp_…`; Authorize.Net's transId)


@dataclass(frozen=True)
class ParsedSettlement:
    processor: str
    payout_reference: str
    payout_on: date | None
    currency: str
    lines: tuple[SettlementLine, ...]

    @property
    def charges_minor(self) -> int:
        return sum(x.gross_minor for x in self.lines if x.kind == "charge")

    @property
    def refunds_minor(self) -> int:
        return -sum(x.gross_minor for x in self.lines if x.kind == "refund")

    @property
    def fees_minor(self) -> int:
        """Processor fees, less a dispute's fee: that is the dispute's own (posted with it, ADR 0040)."""
        return sum(x.fee_minor for x in self.lines if x.kind != "dispute") - sum(
            x.gross_minor for x in self.lines if x.kind == "fee"
        )

    @property
    def other_minor(self) -> int:
        return sum(x.gross_minor for x in self.lines if x.kind == "other")

    @property
    def net_minor(self) -> int:
        return sum(x.net_minor for x in self.lines)


def _minor(text: str, currency: str, row: int, column: str) -> int:
    try:
        amount = Decimal(text.strip() or "0")
        if not amount.is_finite() or abs(amount) >= Decimal("1e13"):
            raise InvalidOperation
        return Money(amount, currency).minor
    except (InvalidOperation, ValueError):
        raise SettlementFileError(
            f"{text!r} is not an amount in {currency}", row=row, column=column
        ) from None


_STRIPE_KINDS = {
    "charge": "charge",
    "refund": "refund",
    "fee": "fee",
    "dispute": "dispute",  # funds withdrawn for a dispute (negative), with Stripe's dispute fee
    "dispute_reversal": "dispute",  # funds reinstated: the dispute won (positive)
}
_STRIPE_NEEDED = (
    "balance_transaction_id",
    "currency",
    "gross",
    "fee",
    "net",
    "reporting_category",
    "source_id",
)


def parse_stripe(text: str) -> ParsedSettlement:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in _STRIPE_NEEDED if c not in (reader.fieldnames or [])]
    if missing:
        raise SettlementFileError(f"not a Stripe payout reconciliation report: no {', '.join(missing)} column",
                                  row=1, column=missing[0])  # fmt: skip
    lines: list[SettlementLine] = []
    currencies: set[str] = set()
    payouts: set[str] = set()
    payout_on: date | None = None
    for n, row in enumerate(reader, start=2):
        if len(lines) >= MAX_LINES:
            raise SettlementFileError(f"more than {MAX_LINES} lines: split the report", row=n)
        currency = (row["currency"] or "").strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            raise SettlementFileError(f"{row['currency']!r} is not a currency", row=n, column="currency")
        currencies.add(currency)
        gross = _minor(row["gross"] or "", currency, n, "gross")
        fee = _minor(row["fee"] or "", currency, n, "fee")
        net = _minor(row["net"] or "", currency, n, "net")
        if gross - fee != net:
            raise SettlementFileError("gross less fee is not net", row=n, column="net")
        category = (row["reporting_category"] or "").strip()
        kind = _STRIPE_KINDS.get(category, "other")
        payout = (row.get("automatic_payout_id") or "").strip()
        if payout:
            payouts.add(payout)
        effective = (
            row.get("automatic_payout_effective_at_utc") or row.get("automatic_payout_effective_at") or ""
        )
        if effective.strip() and payout_on is None:
            try:
                payout_on = datetime.fromisoformat(effective.strip().replace("Z", "+00:00")).date()
            except ValueError:
                raise SettlementFileError(f"{effective!r} is not a time", row=n,
                                          column="automatic_payout_effective_at_utc") from None  # fmt: skip
        source = (row["source_id"] or "").strip()
        if not all(value.isprintable() for value in row.values() if isinstance(value, str)):
            raise SettlementFileError("a cell holds a control character", row=n)
        charge = (row.get("charge_id") or "").strip()
        reference = charge if kind in ("charge", "dispute") and charge else source
        lines.append(SettlementLine(
            line_no=len(lines) + 1, kind=kind, processor_id=(row["balance_transaction_id"] or "").strip()[:100],
            reference=reference[:100],
            gross_minor=gross, fee_minor=fee, net_minor=net, dispute=source[:100] if kind == "dispute" else "",
        ))  # fmt: skip
    if not lines:
        raise SettlementFileError("the report has no lines", row=2)
    if len(currencies) != 1:
        raise SettlementFileError("a settlement is in one currency: split the report", column="currency")
    if len(payouts) > 1:
        raise SettlementFileError("the report covers more than one payout: download one payout's report",
                                  column="automatic_payout_id")  # fmt: skip
    return ParsedSettlement("stripe", next(iter(payouts), ""), payout_on, currencies.pop(), tuple(lines))


_ANET_MONEY = {
    "settledSuccessfully": "charge",
    "refundSettledSuccessfully": "refund",
    "chargeback": "dispute",  # the cardholder's bank took the transaction back
    "chargebackReversal": "dispute",  # … and gave it back (the dispute won)
}


def parse_authorize_net(text: str, *, batch_id: str, currency: str) -> ParsedSettlement:
    try:
        document = json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        raise SettlementFileError(f"not JSON: {exc.msg}", row=exc.lineno) from None
    if not isinstance(document, Mapping):
        raise SettlementFileError("not a getTransactionListResponse", row=1)
    result = (document.get("messages") or {}).get("resultCode")
    if result != "Ok":
        raise SettlementFileError(
            f"the response's resultCode is {result!r}, not 'Ok'", column="messages.resultCode"
        )
    rows = document.get("transactions")
    if not isinstance(rows, Sequence) or isinstance(rows, str) or not rows:
        raise SettlementFileError("the response lists no transactions", column="transactions")
    lines: list[SettlementLine] = []
    for n, row in enumerate(rows):
        where = f"transactions.{n}"
        if not isinstance(row, Mapping):
            raise SettlementFileError("not a transaction", column=where)
        kind = _ANET_MONEY.get(str(row.get("transactionStatus", "")))
        if kind is None:
            continue  # declined, voided, expired: no money moved
        trans_id = str(row.get("transId", "")).strip()
        if not trans_id or len(trans_id) > 100 or not trans_id.isprintable():
            raise SettlementFileError("no transId (or not one: at most 100 printable characters)",
                                      column=f"{where}.transId")  # fmt: skip
        amount = _minor(str(row.get("settleAmount", "")), currency, n + 1, f"{where}.settleAmount")
        if amount < 0:
            raise SettlementFileError("settleAmount is never negative", column=f"{where}.settleAmount")
        status = str(row.get("transactionStatus", ""))
        signed = amount if kind == "charge" or status == "chargebackReversal" else -amount
        dispute = trans_id if kind == "dispute" else ""
        lines.append(SettlementLine(len(lines) + 1, kind, trans_id, trans_id, signed, 0, signed, dispute))
    if not lines:
        raise SettlementFileError("no transaction of the batch moved money", column="transactions")
    return ParsedSettlement("authorize_net", batch_id, None, currency, tuple(lines))


@dataclass(frozen=True)
class Recorded:
    """A capture or refund as Ordersmith recorded it, by the processor's transaction reference."""

    transaction_id: str
    kind: str  # capture | refund
    amount_minor: int
    currency: str


def match(
    line: SettlementLine, currency: str, found: Mapping[str, Sequence[Recorded]]
) -> tuple[str, str | None]:
    """(status, our transaction id) for one line: `matched`, `amount_differs`, `unmatched`, `fee` or `other`. A
    dispute line is matched to its dispute by the caller."""
    if line.kind in ("fee", "other", "dispute"):
        return line.kind, None
    wanted = "capture" if line.kind == "charge" else "refund"
    candidates = [r for r in found.get(line.reference, ()) if r.kind == wanted]
    if not candidates:
        return "unmatched", None
    amount = abs(line.gross_minor)
    exact = next((r for r in candidates if r.amount_minor == amount and r.currency == currency), None)
    if exact is not None:
        return "matched", exact.transaction_id
    return "amount_differs", candidates[0].transaction_id

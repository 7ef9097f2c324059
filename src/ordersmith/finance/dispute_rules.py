"""Posting rules for card disputes (chargebacks), pure (ADR 0040).

A dispute takes the disputed amount, and the processor's dispute fee, out of what the processor owes us: when it
opens, Dr disputed card payments (role `disputes`, an asset: money we may still get back) and Dr chargeback fees
(role `dispute_fees`) / Cr the capture's clearing account. Won, the processor puts the amount back (Dr clearing /
Cr disputes; a fee it returns too: Dr clearing / Cr chargeback fees). Lost, the amount is a loss (Dr chargeback
losses / Cr disputes). The processor's payout (`settlement.imported`) then moves what clearing holds to the bank,
so clearing nets to zero whether the dispute or the settlement is recorded first. Accounts receivable is never
touched: a disputed card payment was never on account.

Invariant: every posting here is balanced, and the `disputes` account of a dispute returns to zero when it closes
(won or lost), so the account's balance equals the amounts of the open disputes.

The rules join `finance.rules.RULES` when the `ordersmith.finance` package is imported (its `__init__`), so
plugins and the posting subscriber see them beside the built-in rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ordersmith.finance.rules import Line, Mappings, Posting, PostingRule, resolve
from ordersmith.kernel.money import Money


def _minor(payload: Mapping[str, Any], name: str) -> int:
    value = payload.get(name)
    if value in (None, ""):
        return 0
    return Money(Decimal(str(value)), str(payload["currency"])).minor


def _clearing(payload: Mapping[str, Any], mappings: Mappings) -> str:
    return resolve(mappings, "tender", str(payload.get("method") or "card"))


def post_dispute_opened(
    payload: Mapping[str, Any], facts: Mapping[str, Any], mappings: Mappings
) -> Posting | None:
    """A dispute opened against a capture: Dr disputed card payments (the amount) and Dr chargeback fees (the
    processor's fee) / Cr the capture's clearing account (both: the processor keeps them out of its payouts)."""
    amount, fee = _minor(payload, "amount"), _minor(payload, "fee")
    if amount <= 0 and fee <= 0:
        return None
    lines = [
        Line(resolve(mappings, "role", "disputes"), debit_minor=amount),
        Line(resolve(mappings, "role", "dispute_fees"), debit_minor=fee),
        Line(_clearing(payload, mappings), credit_minor=amount + fee),
    ]
    return Posting(
        "dispute.opened",
        str(payload["currency"]),
        tuple(line for line in lines if line.debit_minor or line.credit_minor),
        f"dispute {payload.get('number', '')} opened on {payload.get('processor', '')} "
        f"{payload.get('capture_reference', '')}".strip(),
        str(payload.get("number", "")),
    )


def post_dispute_won(
    payload: Mapping[str, Any], facts: Mapping[str, Any], mappings: Mappings
) -> Posting | None:
    """A dispute won: the processor reinstates the amount (Dr clearing / Cr disputed card payments), and the fee
    when it gives that back too (`fee_returned`: Dr clearing / Cr chargeback fees)."""
    amount, returned = _minor(payload, "amount"), _minor(payload, "fee_returned")
    clearing = _clearing(payload, mappings)
    lines = [
        Line(clearing, debit_minor=amount + returned),
        Line(resolve(mappings, "role", "disputes"), credit_minor=amount),
        Line(resolve(mappings, "role", "dispute_fees"), credit_minor=returned),
    ]
    kept = tuple(line for line in lines if line.debit_minor or line.credit_minor)
    if len(kept) < 2:
        return None
    number = str(payload.get("number", ""))
    return Posting("dispute.won", str(payload["currency"]), kept, f"dispute {number} won", number)


def post_dispute_lost(
    payload: Mapping[str, Any], facts: Mapping[str, Any], mappings: Mappings
) -> Posting | None:
    """A dispute lost: the amount the processor took back is a loss (Dr chargeback losses / Cr disputed card
    payments); the fee stays an expense."""
    amount = _minor(payload, "amount")
    if amount <= 0:
        return None
    number = str(payload.get("number", ""))
    lines = (
        Line(resolve(mappings, "role", "dispute_losses"), debit_minor=amount),
        Line(resolve(mappings, "role", "disputes"), credit_minor=amount),
    )
    return Posting("dispute.lost", str(payload["currency"]), lines, f"dispute {number} lost", number)


RULES: dict[str, PostingRule] = {
    "dispute.opened": post_dispute_opened,
    "dispute.won": post_dispute_won,
    "dispute.lost": post_dispute_lost,
}

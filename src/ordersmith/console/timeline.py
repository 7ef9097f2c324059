"""An order's timeline in words, for people: "Placed through the web shop (3 units, $64.50)", "Held: fraud —
several orders from one card", "Shipped 2 of 3 units, 1Z999…". Each moment once: an audit entry that only
repeats the order's own event of the same kind (a release, a placement) is left out.

Pure presentation over the order's events and audit entries (`orders.order_timeline`): no reads of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

# Hold reasons as an agent says them (the codes stay in the API).
HOLD_WORDS = {
    "manual": "held by hand",
    "fraud_country_mismatch": "fraud check — billing and shipping countries differ",
    "fraud_velocity": "fraud check — several orders from one card or address",
    "fraud_first_order": "fraud check — a large first order",
    "credit_limit": "over the credit limit",
    "undeliverable": "the address cannot be right",
    "personalization_review": "personalization to review",
    "payment_review": "payment to review",
    "payment_declined": "payment declined",
    "pending_payment": "waiting for payment",
    "check_clearance": "check to clear",
    "check_bounced": "check bounced",
    "customer_request": "customer asked to wait",
}
_SAME_MOMENT = timedelta(seconds=2)


@dataclass(frozen=True)
class Said:
    """One line of the timeline: when, what happened in words, and who did it."""

    at: datetime
    text: str
    actor: str
    kind: str


def _units(lines: Mapping[str, Any] | Sequence[Any] | None) -> int:
    if isinstance(lines, Mapping):
        return sum(int(v) for v in lines.values())
    return sum(int(line.get("quantity", 0)) for line in lines or [] if isinstance(line, Mapping))


def _reasons(reasons: Iterable[str]) -> str:
    return "; ".join(HOLD_WORDS.get(r, r.replace("_", " ")) for r in reasons)


def sentence(kind: str, detail: Mapping[str, Any], *, channel_name: str, ordered_units: int) -> str:
    """What one event or audit entry says, in words."""
    match kind:
        case "order.placed":
            units = _units(detail.get("lines"))
            total = detail.get("total", "")
            return f"Placed through {channel_name}" + (f" ({units} units, {total})" if units else "")
        case "order.held":
            return "Held: " + (_reasons(detail.get("reasons", [])) or "on hold")
        case "order.released":
            if detail.get("window_ended"):
                return "Released to the warehouse when the edit window ended"
            if detail.get("at_placement"):
                return "Released to the warehouse at once"
            held = detail.get("holds") or []
            note = str(detail.get("note", "")).strip()
            text = "Released" + (f" from hold ({_reasons(held)})" if held else " to the warehouse")
            return text + (f": “{note}”" if note else "")
        case "order.allocated":
            why = detail.get("explanation") or []
            return "Stock held: " + ("; ".join(str(w) for w in why) if why else "at the chosen locations")
        case "order.backordered":
            units = _units(detail.get("lines"))
            return f"{units} unit(s) backordered until stock arrives"
        case "order.backorder_released":
            return "Backordered units allocated as stock arrived"
        case "order.shipped" | "order.shipped_in_part":
            units = _units(detail.get("lines"))
            how = "carried out of the store" if detail.get("taken") else ""
            tracking = str(detail.get("tracking") or detail.get("tracking_number") or "").strip()
            shipment = str(detail.get("shipment") or "").strip()
            text = f"Shipped {units} of {ordered_units} units" if units else "Shipped"
            extras = [x for x in (how, f"shipment {shipment}" if shipment else "", tracking) if x]
            return text + (", " + ", ".join(extras) if extras else "")
        case "order.cancelled":
            reason = str(detail.get("reason", "")).strip()
            return "Cancelled" + (f": “{reason}”" if reason else "")
        case "order.lines_cancelled":
            return f"{_units(detail.get('lines'))} unit(s) cancelled" + (
                f": “{detail['reason']}”" if detail.get("reason") else ""
            )
        case "order.changed":
            change = str(detail.get("change", "")).replace("_", " ")
            return "Changed" + (f": {change}" if change else " (lines, quantities or addresses)")
        case "order.short_picked":
            return "The picker found fewer units: the rest is allocated again"
        case "order.payment_status":
            return "Payment " + str(detail.get("to") or detail.get("status") or "changed").replace("_", " ")
        case "return.authorized" | "return.received":
            number = detail.get("number") or detail.get("rma") or ""
            verb = "authorized" if kind.endswith("authorized") else "received"
            return f"Return {number} {verb}".replace("  ", " ")
    return kind.replace(".", " ").replace("_", " ").capitalize()


def in_words(entries: Iterable[Any], *, channel_name: str, ordered_units: int) -> list[Said]:
    """The timeline's entries in words, oldest first, each moment once (see the module docstring)."""
    entries = list(entries)
    events = [(e.kind, e.at) for e in entries if e.source == "event"]
    said: list[Said] = []
    for entry in entries:
        if entry.source != "event" and any(
            kind == entry.kind and abs(at - entry.at) <= _SAME_MOMENT for kind, at in events
        ):
            continue  # the audit entry of a change the order's own event already tells
        text = sentence(
            entry.kind, entry.detail or {}, channel_name=channel_name, ordered_units=ordered_units
        )
        said.append(Said(at=entry.at, text=text, actor=entry.actor, kind=entry.kind))
    return said

"""The order timeline in words: each kind of moment said as an agent would say it, and each moment once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ordersmith.console.timeline import in_words, sentence

AT = datetime(2026, 12, 7, 15, tzinfo=UTC)


@dataclass
class Entry:
    kind: str
    source: str
    at: datetime = AT
    actor: str = "api-key:web"
    detail: dict[str, Any] = field(default_factory=dict)


@pytest.mark.parametrize(
    ("kind", "detail", "said"),
    [
        ("order.placed", {"lines": [{"line": 1, "sku": "TEE", "quantity": 2}, {"line": 2, "quantity": 1}],
                          "total": "64.50 USD"}, "Placed through the Web shop (3 units, 64.50 USD)"),
        ("order.held", {"reasons": ["fraud_velocity", "credit_limit"]},
         "Held: fraud check — several orders from one card or address; over the credit limit"),
        ("order.released", {"from": "pending", "at_placement": True}, "Released to the warehouse at once"),
        ("order.released", {"window_ended": True}, "Released to the warehouse when the edit window ended"),
        ("order.released", {"holds": ["manual"], "note": "called the customer"},
         "Released from hold (held by hand): “called the customer”"),
        ("order.shipped_in_part", {"lines": {"1": 2}, "tracking": "1Z999", "shipment": "100234-1"},
         "Shipped 2 of 3 units, shipment 100234-1, 1Z999"),
        ("order.allocated", {"explanation": ["EAST: every line"]}, "Stock held: EAST: every line"),
        ("order.cancelled", {"reason": "customer changed their mind"}, "Cancelled: “customer changed their mind”"),
        ("order.something_new", {}, "Order something new"),
    ],
    ids=["placed", "held", "released-at-once", "window", "released-note", "shipped", "allocated", "cancelled", "other"],
)  # fmt: skip
def test_each_moment_is_said_in_words(kind: str, detail: dict[str, Any], said: str) -> None:
    assert sentence(kind, detail, channel_name="the Web shop", ordered_units=3) == said


def test_an_audit_entry_repeating_the_orders_own_event_is_said_once() -> None:
    # given the release's event, its audit entry a moment later, and an audit entry of its own
    entries = [
        Entry("order.released", "event", detail={"holds": ["manual"], "note": "ok"}),
        Entry("order.released", "audit", at=AT + timedelta(milliseconds=3), actor="manager@x"),
        Entry("order.payment_status", "audit", at=AT + timedelta(minutes=1), detail={"to": "captured"}),
    ]
    # when it is put in words
    said = in_words(entries, channel_name="the Web shop", ordered_units=1)
    # then the release is said once and the audit-only entry stays
    assert [s.text for s in said] == ["Released from hold (held by hand): “ok”", "Payment captured"]

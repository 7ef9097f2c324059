"""Domain events: a stable id, a dotted past-tense type, when it happened, a JSON-ready payload, and the sales
channel whose records it is about (None: no one channel's — stock, catalog, staff work)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ordersmith.kernel.clock import ensure_utc
from ordersmith.kernel.ids import new_id

_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


@dataclass(frozen=True)
class Event:
    type: str
    payload: dict[str, Any]
    occurred_at: datetime
    id: uuid.UUID = field(default_factory=new_id)
    channel: str | None = None

    def __post_init__(self) -> None:
        if not _TYPE.match(self.type):
            raise ValueError(f"event type must be dotted lower case, e.g. order.placed: {self.type!r}")
        object.__setattr__(self, "occurred_at", ensure_utc(self.occurred_at))

    @classmethod
    def stored(
        cls, type: str, payload: dict[str, Any], occurred_at: datetime, id: uuid.UUID, channel: str | None
    ) -> Event:
        """An event as the outbox stored it: its type was checked when it was emitted and `occurred_at` is
        already UTC, so it is not checked again (the relay reads hundreds a batch)."""
        event = object.__new__(cls)
        for name, value in (
            ("type", type),
            ("payload", payload),
            ("occurred_at", occurred_at),
            ("id", id),
            ("channel", channel),
        ):
            object.__setattr__(event, name, value)
        return event


def matches(event_type: str, pattern: str) -> bool:
    """True when a type matches a filter: exact (`order.placed`), prefix (`order.*`) or everything (`*`)."""
    if pattern in ("*", ""):
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return event_type == pattern

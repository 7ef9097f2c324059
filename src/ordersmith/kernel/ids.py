"""UUIDv7 identifiers (RFC 9562): time-ordered, so inserts stay local in indexes and no global sequence is hot."""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_last_counter = 0


def new_id() -> uuid.UUID:
    """Return a fresh UUIDv7, monotonic within this process even within one millisecond."""
    global _last_ms, _last_counter
    entropy = int.from_bytes(os.urandom(10), "big")  # 62 random bits for rand_b, 10 to seed the counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            ms = _last_ms
            _last_counter += 1
            if _last_counter > 0xFFF:  # counter overflow: borrow the next millisecond
                ms += 1
                _last_counter = 0
        else:
            _last_counter = (entropy >> 62) & 0x3FF  # leave headroom to count up
        _last_ms = ms
        counter = _last_counter
    rand_b = entropy & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (counter & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand_b
    return uuid.UUID(int=value)


def id_timestamp_ms(value: uuid.UUID) -> int:
    """The Unix time in milliseconds embedded in a UUIDv7."""
    if value.version != 7:
        raise ValueError("not a UUIDv7")
    return value.int >> 80


def id_floor(ms: int) -> uuid.UUID:
    """The smallest UUIDv7 at a given millisecond, for range scans by time."""
    return uuid.UUID(int=((ms & ((1 << 48) - 1)) << 80) | (0x7 << 76) | (0b10 << 62))


def parse_id(text: str) -> uuid.UUID:
    """Parse a UUID from text, raising ValueError on anything else."""
    return uuid.UUID(str(text))

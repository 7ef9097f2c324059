"""UUIDv7 identifiers (RFC 9562): time-ordered, so inserts stay local in indexes and no global sequence is hot."""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_last_counter = 0
_ENTROPY_BYTES = 10  # 62 random bits for rand_b, 10 to seed the counter
_pool = b""  # os.urandom read 4 KiB at a time (one system call per 409 ids, not one per id)
_used = 0


def _forget_pool() -> None:
    """A forked child must never hand out its parent's unused random bytes again."""
    global _pool, _used
    _pool, _used = b"", 0


os.register_at_fork(after_in_child=_forget_pool)

_UUID_NEW = object.__new__
_SET = object.__setattr__
_UNKNOWN = uuid.SafeUUID.unknown


def new_id() -> uuid.UUID:
    """Return a fresh UUIDv7, monotonic within this process even within one millisecond."""
    global _last_ms, _last_counter, _pool, _used
    with _lock:
        if _used + _ENTROPY_BYTES > len(_pool):
            _pool, _used = os.urandom(4096), 0
        entropy = int.from_bytes(_pool[_used : _used + _ENTROPY_BYTES], "big")
        _used += _ENTROPY_BYTES
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
    # What `uuid.UUID(int=value)` builds, without its range check (the value is 128 bits by construction):
    # ids are made for every row an order writes.
    made = _UUID_NEW(uuid.UUID)
    _SET(made, "int", value)
    _SET(made, "is_safe", _UNKNOWN)
    return made


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

"""Caches of what the retailer configures (custom field definitions, policy settings), valid in every process at
once without a read of their own on a hot path.

Invariant: a cached value is used only while the `config` number series (bumped in the transaction of every
change) equals the value this request saw. The request learns it inside a statement it runs anyway: the API key's
revocation check reads both counters in one `SELECT` (`identity.revocations_version`), so an API call costs no
extra statement; a call without one (a console session, a job, the CLI) reads the counter once per unit of work.
A change committed before the request's first read is therefore seen by that request, in every process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.numbers import current_number, next_number

CONFIG_SERIES = "config"
T = TypeVar("T")
# Other contexts' cache counters (number series) read in the same statement, e.g. pricing's rule set version.
_WATCHED: list[str] = []


def watch(series: str) -> None:
    """Read `series` with the configuration's version wherever a request learns it (the API key's revocation
    check), into `uow.versions[series]`: a cache checked against it then costs such a request no read of its own.
    Called once at import by the owner of the series."""
    if series not in _WATCHED:
        _WATCHED.append(series)


def watched() -> tuple[str, ...]:
    """The series read beside the configuration's version, the configuration's first."""
    return (CONFIG_SERIES, *_WATCHED)


@use_case(readonly=True)
def _read_version(uow: UnitOfWork) -> int:
    return current_number(uow, CONFIG_SERIES)


def config_version(uow: UnitOfWork) -> int:
    """The configuration's version as this unit of work knows it (read once when it does not yet)."""
    seen = uow.versions.get(CONFIG_SERIES)
    if seen is None:
        seen = _read_version(uow)
        if uow.active or uow.versions_per_request:  # else it would outlive the transaction it was read in
            uow.versions[CONFIG_SERIES] = seen
    return seen


def bump(uow: UnitOfWork) -> None:
    """Record a configuration change in the caller's transaction: every process's caches reload on next use."""
    uow.versions[CONFIG_SERIES] = next_number(uow, CONFIG_SERIES)


def cached(uow: UnitOfWork, name: str, load: Callable[[], T]) -> T:
    """`load()`, kept per database while the configuration's version stays the one this request saw."""
    version = config_version(uow)
    entry = uow.db.caches.get(name)
    if entry is not None and entry[0] == version:
        return entry[1]  # type: ignore[no-any-return]
    value = load()
    uow.db.caches[name] = (version, value)
    return value


def peek(uow: UnitOfWork, name: str, load: Callable[[], T]) -> T:
    """The cached value whatever its version (loaded when absent): for a check made before the transaction that
    re-checks it with `cached` (an order's custom fields are checked before its cards are asked, again inside)."""
    entry = uow.db.caches.get(name)
    if entry is not None:
        return entry[1]  # type: ignore[no-any-return]
    return cached(uow, name, load)

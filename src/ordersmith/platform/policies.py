"""Policies the retailer sets in the console instead of in code (hold thresholds, return window and restocking fee,
…): each is declared by the context that applies it (`register`: its key, its default, how a value is checked) and
stored in `policy_settings` as JSON when changed.

Invariant: a change is checked by its policy's own rule, audited with its before and after, and bumps the `config`
version in the same transaction, so every process applies it from its next request on (`platform.config_cache`:
the version rides on a statement an API call makes anyway; the policies themselves are cached per process, so the
order intake reads no row for them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa

from ordersmith.kernel.errors import NotFound, PreconditionFailed
from ordersmith.platform import config_cache
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.tables import PolicySettingRow


@dataclass(frozen=True)
class PolicySpec:
    key: str  # "<context>.<policy>", e.g. orders.returns
    label: str
    description: str
    default: Mapping[str, Any]
    # The value as stored (normalised), or ValidationFailed naming `value.<field>`.
    check: Callable[[Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Policy:
    key: str
    label: str
    description: str
    value: dict[str, Any]
    default: dict[str, Any]
    changed: bool  # set in the console (else the default)
    version: int  # 0: never set


_SPECS: dict[str, PolicySpec] = {}
T = TypeVar("T")


def register(spec: PolicySpec) -> PolicySpec:
    """Declare a policy (at import of the context that applies it)."""
    assert spec.key not in _SPECS or _SPECS[spec.key] == spec, spec.key
    spec.check(spec.default)  # a default its own rule refuses is a bug
    _SPECS[spec.key] = spec
    return spec


def _spec(key: str) -> PolicySpec:
    spec = _SPECS.get(key)
    if spec is None:
        raise NotFound(f"no policy {key!r}")
    return spec


@use_case(readonly=True)
def _load(uow: UnitOfWork) -> dict[str, tuple[dict[str, Any], int]]:
    rows = uow.session.scalars(sa.select(PolicySettingRow))
    return {r.key: (dict(r.value), r.version) for r in rows}


def _stored(uow: UnitOfWork) -> dict[str, tuple[dict[str, Any], int]]:
    return config_cache.cached(uow, "policies", lambda: _load(uow))


def current(uow: UnitOfWork, key: str) -> dict[str, Any]:
    """The policy's value now (its default until set): cached, so no statement while the configuration stands."""
    spec = _spec(key)
    found = _stored(uow).get(key)
    return dict(found[0]) if found is not None else dict(spec.default)


def derived(uow: UnitOfWork, name: str, build: Callable[[], T]) -> T:
    """Something built from policies (a lookup table), kept per process while the configuration stands."""
    return config_cache.cached(uow, name, build)


def _policy(spec: PolicySpec, found: tuple[dict[str, Any], int] | None) -> Policy:
    value, version = found if found is not None else (dict(spec.default), 0)
    return Policy(key=spec.key, label=spec.label, description=spec.description, value=dict(value),
                  default=dict(spec.default), changed=found is not None, version=version)  # fmt: skip


@use_case(readonly=True)
def list_policies(uow: UnitOfWork) -> list[Policy]:
    """Every declared policy with its value now, by key."""
    stored = _load(uow)
    return [_policy(_SPECS[key], stored.get(key)) for key in sorted(_SPECS)]


@use_case(readonly=True)
def get_policy(uow: UnitOfWork, *, key: str) -> Policy:
    spec = _spec(key)
    return _policy(spec, _load(uow).get(key))


@use_case
def set_policy(
    uow: UnitOfWork, *, key: str, value: Mapping[str, Any], expected_version: int | None = None
) -> Policy:
    """Set a policy, checked by its own rule, audited with before and after; applied by every process from its next
    request on.

    Raises:
        NotFound: no such policy. ValidationFailed: the rule refuses the value (naming `value.<field>`).
        PreconditionFailed: it changed since `expected_version` (0: never set).
    """
    spec = _spec(key)
    checked = spec.check(value)
    row = uow.session.get(PolicySettingRow, key, with_for_update=True)
    version = row.version if row is not None else 0
    if expected_version is not None and expected_version != version:
        raise PreconditionFailed(f"{key} changed since version {expected_version}; it is now {version}",
                                 current_version=version)  # fmt: skip
    before = dict(row.value) if row is not None else dict(spec.default)
    if row is None:
        row = PolicySettingRow(
            key=key, value=checked, updated_at=uow.now(), updated_by=uow.actor.label, version=1
        )
        uow.session.add(row)
    else:
        row.value, row.updated_at, row.updated_by, row.version = (
            checked,
            uow.now(),
            uow.actor.label,
            row.version + 1,
        )
    uow.session.flush()
    config_cache.bump(uow)
    uow.audit("policy.changed", object_type="policy", object_id=key, before=before, after=checked)
    return _policy(spec, (checked, row.version))

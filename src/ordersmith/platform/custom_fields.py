"""Custom fields: a retailer's own typed fields on items, customers and orders (ADR 0051).

An admin defines a field per record kind (name, label, type, required, choices, maximum length); the record's own
use cases check the values sent with it (`check_values`: every bad one named `custom_fields.<name>`, before
anything is written) and store them (`write_values`) in the same transaction as the record. Values live in
`custom_field_values`, one row per (kind, record, field), each in the column of its type, so a filter
(`?custom.<name>=value`) is an index lookup on `(kind, field, value)` and never a scan of JSON.

Invariant: a stored value always satisfied its definition when written (type, length, choices, integer range);
definitions are cached per process and checked against the `config` version (`platform.config_cache`), so an order
sent without custom fields costs no statement for them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from ordersmith.kernel.errors import FieldError, NotFound, PreconditionFailed, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.platform import config_cache
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.tables import CustomFieldRow, CustomValueRow

KINDS = ("item", "customer", "order")
TYPES = ("text", "number", "decimal", "date", "boolean", "choice")
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
# A text value is in a B-tree index: 500 characters (at most 2,000 bytes of UTF-8) stay under PostgreSQL's limit
# of about 2,700 bytes per index entry, so no value can fail the insert with a 500.
TEXT_LIMIT = 500
DEFAULT_TEXT_LENGTH = 255
MOST_CHOICES = 200
MOST_FIELDS_PER_KIND = 100
INTEGER_MIN, INTEGER_MAX = -(2**63), 2**63 - 1  # BIGINT on both databases
DECIMAL_DIGITS, DECIMAL_PLACES = 18, 6
FILTER_PREFIX = "custom."
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
_INTEGER = re.compile(r"^[+-]?\d{1,19}$")
_VALUES: sa.Table = CustomValueRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Definition:
    id: uuid.UUID
    kind: str
    name: str
    label: str
    type: str
    required: bool
    choices: tuple[str, ...]
    max_length: int | None
    position: int
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Stored:
    """A checked value in the columns it is stored in (all None: the value is cleared)."""

    text: str | None = None
    integer: int | None = None
    day: date | None = None
    boolean: bool | None = None

    @property
    def empty(self) -> bool:
        return self.text is None and self.integer is None and self.day is None and self.boolean is None


# --- definitions ------------------------------------------------------------------------------------------------


def _definition(row: CustomFieldRow) -> Definition:
    return Definition(id=row.id, kind=row.kind, name=row.name, label=row.label, type=row.type, required=row.required,
                      choices=tuple(row.choices or ()), max_length=row.max_length, position=row.position,
                      version=row.version, created_at=row.created_at, updated_at=row.updated_at)  # fmt: skip


def _load_all(uow: UnitOfWork) -> dict[str, tuple[Definition, ...]]:
    rows = uow.session.scalars(
        sa.select(CustomFieldRow).order_by(CustomFieldRow.kind, CustomFieldRow.position, CustomFieldRow.name)
    )
    found: dict[str, list[Definition]] = {kind: [] for kind in KINDS}
    for row in rows:
        found[row.kind].append(_definition(row))
    return {kind: tuple(items) for kind, items in found.items()}


@use_case(readonly=True)
def _load(uow: UnitOfWork) -> dict[str, tuple[Definition, ...]]:
    return _load_all(uow)


def definitions(uow: UnitOfWork, kind: str) -> tuple[Definition, ...]:
    """The fields of a record kind in display order (cached; no statement while the configuration is unchanged)."""
    return config_cache.cached(uow, "custom_fields", lambda: _load(uow))[kind]


def _definitions_peek(uow: UnitOfWork, kind: str) -> tuple[Definition, ...]:
    return config_cache.peek(uow, "custom_fields", lambda: _load(uow))[kind]


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise NotFound(f"no record kind {kind!r} (kinds: {', '.join(KINDS)})")


def _check_shape(
    *, type_: str, choices: list[str], max_length: int | None, label: str
) -> tuple[list[str], int | None]:
    errors: list[FieldError] = []
    if not label.strip() or len(label) > 100:
        errors.append(FieldError("label", "1 to 100 characters"))
    if type_ == "choice":
        cleaned = [c.strip() for c in choices]
        if not cleaned:
            errors.append(FieldError("choices", "a choice field needs at least one choice"))
        elif len(cleaned) > MOST_CHOICES:
            errors.append(FieldError("choices", f"at most {MOST_CHOICES} choices"))
        elif any(not c or len(c) > TEXT_LIMIT for c in cleaned):
            errors.append(FieldError("choices", f"each choice is 1 to {TEXT_LIMIT} characters"))
        elif len(set(cleaned)) != len(cleaned):
            errors.append(FieldError("choices", "a choice is listed twice"))
        choices = cleaned
    elif choices:
        errors.append(FieldError("choices", "only choice fields have choices"))
    if type_ == "text":
        if max_length is not None and not 1 <= max_length <= TEXT_LIMIT:
            errors.append(FieldError("max_length", f"between 1 and {TEXT_LIMIT}"))
    elif max_length is not None:
        errors.append(FieldError("max_length", "only text fields have a maximum length"))
    if errors:
        raise ValidationFailed("; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)
    return choices, max_length


def _snapshot(d: Definition) -> dict[str, Any]:
    return {"kind": d.kind, "name": d.name, "label": d.label, "type": d.type, "required": d.required,
            "choices": list(d.choices), "max_length": d.max_length, "position": d.position}  # fmt: skip


@use_case
def create_definition(
    uow: UnitOfWork, *, kind: str, name: str, label: str, type: str, required: bool = False,
    choices: list[str] | None = None, max_length: int | None = None, position: int = 0,
) -> Definition:  # fmt: skip
    """Define a custom field on a record kind, audited. Required applies to records created from now on.

    Raises:
        NotFound: an unknown record kind.
        ValidationFailed: a bad name, type, label, choices or maximum length (naming it).
        AlreadyExists: the kind has a field of this name.
    """
    _check_kind(kind)
    if not re.fullmatch(NAME_PATTERN, name):
        raise ValidationFailed.on(
            "name", "a lower-case letter, then up to 39 lower-case letters, digits or '_'"
        )
    if type not in TYPES:
        raise ValidationFailed.on("type", f"must be one of {', '.join(TYPES)}")
    checked_choices, max_length = _check_shape(
        type_=type, choices=choices or [], max_length=max_length, label=label
    )
    count = uow.session.scalar(sa.select(sa.func.count()).where(CustomFieldRow.kind == kind)) or 0
    if count >= MOST_FIELDS_PER_KIND:
        raise ValidationFailed.on("name", f"a record kind has at most {MOST_FIELDS_PER_KIND} custom fields")
    now = uow.now()
    row = CustomFieldRow(id=new_id(), kind=kind, name=name, label=label.strip(), type=type, required=required,
                         choices=checked_choices, max_length=max_length, position=position, created_at=now,
                         updated_at=now, version=1)  # fmt: skip
    uow.insert_unique(CustomFieldRow, row, f"{kind} already has a custom field {name!r}")
    config_cache.bump(uow)
    created = _definition(row)
    uow.audit("custom_field.created", object_type="custom_field", object_id=f"{kind}.{name}",
              after=_snapshot(created))  # fmt: skip
    return created


def _row(uow: UnitOfWork, kind: str, name: str) -> CustomFieldRow:
    _check_kind(kind)
    row = uow.session.scalar(
        sa.select(CustomFieldRow).where(CustomFieldRow.kind == kind, CustomFieldRow.name == name)
    )
    if row is None:
        raise NotFound(f"no custom field {name!r} on {kind}s")
    return row


@use_case
def update_definition(
    uow: UnitOfWork, *, kind: str, name: str, changes: Mapping[str, Any], expected_version: int | None = None,
) -> Definition:  # fmt: skip
    """Change a field's label, required flag, choices, maximum length or position (its name and type stay: stored
    values were checked against them). Values already stored are kept.

    Raises:
        NotFound: no such field. PreconditionFailed: it changed since `expected_version`.
        ValidationFailed: a bad value, or a field that cannot be changed (naming it).
    """
    unknown = sorted(set(changes) - {"label", "required", "choices", "max_length", "position"})
    if unknown:
        raise ValidationFailed.on(unknown[0], "cannot be changed (define a new field instead)")
    row = _row(uow, kind, name)
    if expected_version is not None and row.version != expected_version:
        raise PreconditionFailed(f"the field changed since version {expected_version}; it is now {row.version}",
                                 current_version=row.version)  # fmt: skip
    before = _definition(row)
    label = changes.get("label", row.label)
    choices, max_length = _check_shape(
        type_=row.type, choices=list(changes.get("choices", row.choices or [])),
        max_length=changes.get("max_length", row.max_length), label=label,
    )  # fmt: skip
    row.label, row.choices, row.max_length = label.strip(), choices, max_length
    row.required = bool(changes.get("required", row.required))
    row.position = int(changes.get("position", row.position))
    row.version += 1
    row.updated_at = uow.now()
    uow.session.flush()
    config_cache.bump(uow)
    after = _definition(row)
    uow.audit("custom_field.updated", object_type="custom_field", object_id=f"{kind}.{name}",
              before=_snapshot(before), after=_snapshot(after))  # fmt: skip
    return after


@use_case
def delete_definition(uow: UnitOfWork, *, kind: str, name: str) -> None:
    """Remove a field and every value stored in it (audited with the definition and how many values went)."""
    row = _row(uow, kind, name)
    before = _definition(row)
    removed = uow.execute_core(
        sa.delete(_VALUES).where(_VALUES.c.kind == kind, _VALUES.c.field == name)
    ).rowcount
    uow.session.delete(row)
    uow.session.flush()
    config_cache.bump(uow)
    uow.audit("custom_field.deleted", object_type="custom_field", object_id=f"{kind}.{name}",
              before={**_snapshot(before), "values": removed})  # fmt: skip


@use_case(readonly=True)
def list_definitions(uow: UnitOfWork, *, kind: str | None = None) -> list[Definition]:
    """Every field (of one kind), kind by kind in display order."""
    if kind is not None:
        _check_kind(kind)
    every = _load_all(uow)
    return [d for k in KINDS if kind in (None, k) for d in every[k]]


@use_case(readonly=True)
def get_definition(uow: UnitOfWork, *, kind: str, name: str) -> Definition:
    return _definition(_row(uow, kind, name))


# --- values -----------------------------------------------------------------------------------------------------


def _parse(d: Definition, value: Any) -> Stored:
    """`value` as stored for `d`, or ValueError with the reason (None and "" clear it)."""
    if value is None or (isinstance(value, str) and not value.strip() and d.type != "text"):
        return Stored()
    if d.type in ("text", "choice"):
        if not isinstance(value, str):
            raise ValueError("must be a string")
        if "\x00" in value:
            raise ValueError("must not contain NUL (\\u0000) characters")
        if d.type == "choice":
            if value.strip() not in d.choices:
                raise ValueError(f"must be one of {', '.join(d.choices)}")
            return Stored(text=value.strip())
        if value == "":
            return Stored()
        limit = d.max_length or DEFAULT_TEXT_LENGTH
        if len(value) > limit:
            raise ValueError(f"at most {limit} characters")
        return Stored(text=value)
    if d.type == "number":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError("must be a whole number")
        if isinstance(value, str):
            if not _INTEGER.fullmatch(value.strip()):
                raise ValueError("must be a whole number")
            value = int(value.strip())
        if not INTEGER_MIN <= value <= INTEGER_MAX:
            raise ValueError(f"must be between {INTEGER_MIN} and {INTEGER_MAX}")
        return Stored(integer=value)
    if d.type == "decimal":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError('must be a decimal number as a string, e.g. "12.50"')
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError('must be a decimal number, e.g. "12.50"') from None
        if not number.is_finite():
            raise ValueError('must be a decimal number, e.g. "12.50"')
        _sign, digits, exponent = number.normalize().as_tuple()
        places, whole = max(0, -int(exponent)), max(0, len(digits) + int(exponent))
        if places > DECIMAL_PLACES or whole > DECIMAL_DIGITS:
            raise ValueError(f"at most {DECIMAL_DIGITS} digits before the point and {DECIMAL_PLACES} after")
        return Stored(text=_canonical(number))
    if d.type == "date":
        if not isinstance(value, str):
            raise ValueError("must be a date, YYYY-MM-DD")
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("must be a date, YYYY-MM-DD") from None
        return Stored(day=day)
    assert d.type == "boolean"
    if isinstance(value, bool):
        return Stored(boolean=value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return Stored(boolean=value.strip().lower() in _TRUE)
    raise ValueError("must be true or false")


def _canonical(number: Decimal) -> str:
    """One text per number (12.50 and 12.5 are one value), without an exponent."""
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _shown(d: Definition, v: Stored) -> Any:
    if d.type == "number":
        return v.integer
    if d.type == "date":
        return v.day.isoformat() if v.day else None
    if d.type == "boolean":
        return v.boolean
    return v.text


def _check_against(
    found: tuple[Definition, ...], values: Mapping[str, Any], *, creating: bool, prefix: str
) -> dict[str, Stored]:
    by_name = {d.name: d for d in found}
    errors: list[FieldError] = []
    checked: dict[str, Stored] = {}
    for name, value in values.items():
        d = by_name.get(name)
        if d is None:
            errors.append(FieldError(f"{prefix}.{name}", "no such custom field"))
            continue
        try:
            stored = _parse(d, value)
        except ValueError as exc:
            errors.append(FieldError(f"{prefix}.{name}", str(exc)))
            continue
        if stored.empty and d.required:
            errors.append(FieldError(f"{prefix}.{name}", "is required"))
            continue
        checked[name] = stored
    if creating:
        errors += [FieldError(f"{prefix}.{d.name}", "is required") for d in found
                   if d.required and d.name not in values]  # fmt: skip
    if errors:
        raise ValidationFailed("; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)
    return checked


def check_values(
    uow: UnitOfWork, *, kind: str, values: Mapping[str, Any], creating: bool, prefix: str = "custom_fields",
    early: bool = False,
) -> dict[str, Stored]:  # fmt: skip
    """The values checked against the kind's fields (`creating`: required ones must be there). `early`: with the
    cached definitions whatever their version, for a check made before the transaction that checks again.

    Raises:
        ValidationFailed: every unknown field and bad value, each named `<prefix>.<name>`.
    """
    found = _definitions_peek(uow, kind) if early else definitions(uow, kind)
    if not values and not (creating and any(d.required for d in found)):
        return {}
    return _check_against(found, values, creating=creating, prefix=prefix)


def write_values(uow: UnitOfWork, *, kind: str, record_id: uuid.UUID, checked: Mapping[str, Stored]) -> None:
    """Store checked values on a record in the caller's transaction (a cleared one is deleted)."""
    if not checked:
        return
    names = list(checked)
    uow.execute_core(
        sa.delete(_VALUES).where(
            _VALUES.c.kind == kind, _VALUES.c.record_id == record_id, _VALUES.c.field.in_(names)
        )
    )
    rows = [{"kind": kind, "record_id": record_id, "field": name, "value_text": v.text, "value_integer": v.integer,
             "value_date": v.day, "value_boolean": v.boolean}
            for name, v in checked.items() if not v.empty]  # fmt: skip
    if rows:
        uow.execute_core(sa.insert(_VALUES), rows)


def write_values_many(
    uow: UnitOfWork, *, kind: str, checked: Mapping[uuid.UUID, Mapping[str, Stored]], new: bool = False
) -> None:
    """Store checked values on many records in the caller's transaction (a bulk import's chunk): one DELETE per
    set of field names (none for `new` records) and one multi-row INSERT, whatever the number of records."""
    if not any(checked.values()):
        return
    if not new:
        by_names: dict[frozenset[str], list[uuid.UUID]] = {}
        for record_id, values in checked.items():
            if values:
                by_names.setdefault(frozenset(values), []).append(record_id)
        for names, ids in by_names.items():
            uow.execute_core(
                sa.delete(_VALUES).where(
                    _VALUES.c.kind == kind, _VALUES.c.record_id.in_(ids), _VALUES.c.field.in_(sorted(names))
                )
            )
    rows = [{"kind": kind, "record_id": record_id, "field": name, "value_text": v.text,
             "value_integer": v.integer, "value_date": v.day, "value_boolean": v.boolean}
            for record_id, values in checked.items() for name, v in values.items() if not v.empty]  # fmt: skip
    if rows:
        uow.execute_core(sa.insert(_VALUES), rows)


def differences(
    uow: UnitOfWork, *, kind: str, current: Mapping[str, Any], checked: Mapping[str, Stored]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(before, after) of the fields that `checked` would change on a record whose values are `current` (as
    `read_values` answers them; a cleared value reads None): empty when writing them would change nothing."""
    by_name = {d.name: d for d in definitions(uow, kind)}
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name, v in checked.items():
        wanted = None if v.empty or name not in by_name else _shown(by_name[name], v)
        if current.get(name) != wanted:
            before[name], after[name] = current.get(name), wanted
    return before, after


def shown(uow: UnitOfWork, *, kind: str, checked: Mapping[str, Stored]) -> dict[str, Any]:
    """How checked values read back in the API (as `read_values` would answer after writing them)."""
    by_name = {d.name: d for d in definitions(uow, kind)}
    return {name: _shown(by_name[name], v) for name, v in checked.items() if not v.empty and name in by_name}


@use_case(readonly=True)
def read_values_many(
    uow: UnitOfWork, *, kind: str, record_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """Each record's values by field name (fields whose definition is gone are left out): one statement."""
    ids = list(record_ids)
    found: dict[uuid.UUID, dict[str, Any]] = {i: {} for i in ids}
    by_name = {d.name: d for d in definitions(uow, kind)}
    if not ids or not by_name:
        return found
    rows = uow.execute_core(sa.select(_VALUES).where(_VALUES.c.kind == kind, _VALUES.c.record_id.in_(ids)))
    for r in rows:
        d = by_name.get(r.field)
        if d is not None:
            found[r.record_id][r.field] = _shown(
                d,
                Stored(text=r.value_text, integer=r.value_integer, day=r.value_date, boolean=r.value_boolean),
            )
    return {i: dict(sorted(v.items(), key=lambda kv: _order(by_name, kv[0]))) for i, v in found.items()}


def _order(by_name: Mapping[str, Definition], name: str) -> tuple[int, str]:
    return (by_name[name].position, name)


@use_case(readonly=True)
def read_values(uow: UnitOfWork, *, kind: str, record_id: uuid.UUID) -> dict[str, Any]:
    """One record's values by field name."""
    return read_values_many(uow, kind=kind, record_ids=[record_id])[record_id]


def delete_record_values(uow: UnitOfWork, *, kind: str, record_id: uuid.UUID) -> None:
    """Forget a record's values (an anonymized customer keeps none)."""
    uow.execute_core(sa.delete(_VALUES).where(_VALUES.c.kind == kind, _VALUES.c.record_id == record_id))


# --- filters ----------------------------------------------------------------------------------------------------


def filters_from(query: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The `custom.<name>=value` pairs of a query string, by field name."""
    return {key[len(FILTER_PREFIX) :]: value for key, value in query if key.startswith(FILTER_PREFIX)}


def matching(uow: UnitOfWork, *, kind: str, filters: Mapping[str, str]) -> list[sa.Select[Any]]:
    """One sub-select of record ids per filter (AND them with `id IN (…)`), each an index lookup on
    `(kind, field, value)`. A filter on an unknown field or with a value its type refuses is a 422 naming
    `custom.<name>`, as is an empty value."""
    by_name = {d.name: d for d in definitions(uow, kind)}
    errors: list[FieldError] = []
    selects: list[sa.Select[Any]] = []
    for name, text in filters.items():
        d = by_name.get(name)
        if d is None:
            errors.append(FieldError(f"{FILTER_PREFIX}{name}", f"no custom field {name!r} on {kind}s"))
            continue
        try:
            stored = _parse(d, text)
        except ValueError as exc:
            errors.append(FieldError(f"{FILTER_PREFIX}{name}", str(exc)))
            continue
        if stored.empty:
            errors.append(FieldError(f"{FILTER_PREFIX}{name}", "give a value to look for"))
            continue
        column, wanted = (
            (_VALUES.c.value_integer, stored.integer) if d.type == "number"
            else (_VALUES.c.value_date, stored.day) if d.type == "date"
            else (_VALUES.c.value_boolean, stored.boolean) if d.type == "boolean"
            else (_VALUES.c.value_text, stored.text)
        )  # fmt: skip
        selects.append(
            sa.select(_VALUES.c.record_id).where(
                _VALUES.c.kind == kind, _VALUES.c.field == name, column == wanted
            )
        )
    if errors:
        raise ValidationFailed("; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)
    return selects

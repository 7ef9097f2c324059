"""What every import kind shares: a row's outcome, the kind's shape, and reading cells as the API's JSON would
carry them (card numbers and NUL characters refused as the API refuses them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ordersmith.data.imports.rules import (
    CUSTOM_PREFIX,
    Spec,
    is_custom,
    parse_boolean,
    parse_components,
    parse_list,
)
from ordersmith.kernel.cards import may_hold_card_number
from ordersmith.kernel.errors import NotFound, OrdersmithError
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.input_guard import text_refusal


@dataclass
class Outcome:
    """What one row does or would do: created | updated | unchanged | invalid, with (column, reason) errors."""

    action: str
    errors: list[tuple[str, str]] = field(default_factory=list)


Row = tuple[int, dict[str, str]]  # row number, cells by column
# (unit of work, rows, write, the uploader's scopes or None, a memo the kind keeps across one run's chunks)
Check = Callable[[UnitOfWork, list[Row], bool, frozenset[str] | None, dict[str, Any]], list[Outcome]]


@dataclass(frozen=True)
class Kind:
    spec: Spec
    # a row's natural key and the column it comes from (a repeat in one file is an error)
    key: Callable[[dict[str, str]], tuple[str, str] | None]
    # Check (and with write=True, apply) a chunk, inside the caller's unit of work. A dry run passes write=False
    # and rolls the transaction back: a kind may write anyway when only writing tells (customers do).
    check: Check
    # A kind whose record spans several rows (a purchase order's lines): the record's reference, taken by its
    # consecutive rows. A chunk never splits a record, and the record stands or falls with all its rows.
    group: Callable[[dict[str, str]], str] | None = None
    # A kind whose rows may name records that later rows create (a kit's new components): the pass (0, 1, …) a
    # row belongs to. The dry run and the apply take the file's rows pass by pass, each in file order, so a kit
    # finds a component created anywhere in the file. Only asked when the file has one of `phase_columns`.
    phase: Callable[[dict[str, str]], int] | None = None
    phase_columns: frozenset[str] = frozenset()
    # The record kind whose custom fields the file may carry as `custom.<name>` columns (ADR 0051), checked and
    # written by the target's use case with the API's own rules (`platform.custom_fields.check_values`).
    custom_kind: str | None = None


# --- reading cells ------------------------------------------------------------------------------------------


def _typed(spec: Spec, cells: dict[str, str], errors: list[tuple[str, str]]) -> dict[str, Any]:
    """The non-blank cells as the API's JSON would carry them (lists split, booleans read); card numbers and
    NUL characters refused as the API refuses them."""
    data: dict[str, Any] = {}
    # One look at the whole row first: a row with no NUL and no 13-digit run has no cell to refuse.
    joined = "\x1f".join(cells.values())
    suspect = "\x00" in joined or may_hold_card_number(joined)
    for name, text in cells.items():
        if not text:
            continue
        column = spec.column(name)
        if suspect:
            reason = text_refusal(text, (name,))
            if reason is not None:
                errors.append((name, reason))
                continue
        if column.format == "boolean":
            value = parse_boolean(text)
            if value is None:
                errors.append((name, "must be true or false (yes/no, 1/0 also do)"))
                continue
            data[name] = value
        elif column.format == "list":
            data[name] = parse_list(text)
        elif column.format == "components":
            data[name] = parse_components(text)
        else:
            data[name] = text
    return data


def split_custom(
    cells: dict[str, str], errors: list[tuple[str, str]]
) -> tuple[dict[str, str], dict[str, str | None]]:
    """A row's cells without its `custom.<name>` columns, and those columns' values by field name as the API's
    JSON would carry them: a blank cell is null (it clears the value, as null does in `PUT …/custom-fields`).
    NUL characters and card numbers are refused as the API refuses them (naming the column)."""
    if not any(is_custom(name) for name in cells):
        return cells, {}
    plain: dict[str, str] = {}
    values: dict[str, str | None] = {}
    for name, text in cells.items():
        if not is_custom(name):
            plain[name] = text
            continue
        field = name[len(CUSTOM_PREFIX) :]
        reason = text_refusal(text, ("custom_fields", field)) if text else None
        if reason is not None:
            errors.append((name, reason))
            continue
        values[field] = text or None
    return plain, values


def custom_column(field: str) -> str:
    """The file's column of an error the API names `custom_fields.<name>` (else the field as given)."""
    head, _, name = field.partition(".")
    return f"{CUSTOM_PREFIX}{name}" if head == "custom_fields" and name else field


def _schema_errors(
    exc: ValidationError, column_of: Callable[[tuple[Any, ...]], str]
) -> list[tuple[str, str]]:
    found = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        found.append((column_of(tuple(error["loc"])), message))
    return found


def _first(loc: tuple[Any, ...]) -> str:
    return str(loc[0]) if loc else "row"


# --- records over several rows --------------------------------------------------------------------------------


def groups_of(rows: list[Row], group: Callable[[dict[str, str]], str]) -> list[list[int]]:
    """The positions of each record's consecutive rows in a chunk."""
    found: list[list[int]] = []
    last: str | None = None
    for n, (_, cells) in enumerate(rows):
        reference = group(cells)
        if found and reference == last:
            found[-1].append(n)
        else:
            found.append([n])
        last = reference
    return found


def fail_together(rows: list[Row], outcomes: list[Outcome], positions: list[int], what: str) -> bool:
    """When a row of a record has errors, every other row of it is invalid too (naming the row that has them): the
    record is written whole or not at all. True when no row of the record has errors."""
    bad = next((n for n in positions if outcomes[n].errors), None)
    if bad is None:
        return True
    for n in positions:
        outcomes[n].action = "invalid"
        if not outcomes[n].errors:
            outcomes[n].errors.append(("row", f"{what} is refused: see row {rows[bad][0]}"))
    return False


def row_named(datas: list[dict[str, Any]], positions: list[int], column: str, detail: str) -> int:
    """The position of the record's row whose `column` the refusal `detail` quotes (else its first row)."""
    for n, data in zip(positions, datas, strict=True):
        value = str(data.get(column, ""))
        if value and f"'{value}'".lower() in detail.lower():
            return n
    return positions[0]


def in_savepoint(uow: UnitOfWork, run: Callable[[], str]) -> str:
    """Run one record's use case in a savepoint: a refusal leaves no trace (its events and audit rows too)."""
    mark = uow.checkpoint()
    savepoint = uow.session.begin_nested()
    try:
        action = run()
    except OrdersmithError:
        savepoint.rollback()
        uow.rewind(mark)
        raise
    savepoint.commit()
    return action


def refusal(
    exc: OrdersmithError, columns: dict[str, str], not_found: Callable[[str], str]
) -> tuple[str, str]:
    """(column, reason) of a use case's refusal: a field error's field through `columns` (the field's first part
    when unlisted), a NotFound through `not_found(detail)`, anything else on the row."""
    if exc.errors:
        name = exc.errors[0].field
        parts = [p for p in name.split(".") if not p.isdigit()]
        return columns.get(name, columns.get(".".join(parts), parts[-1] if parts else "row")), exc.errors[
            0
        ].message
    if isinstance(exc, NotFound):
        return not_found(exc.detail), exc.detail
    return "row", exc.detail

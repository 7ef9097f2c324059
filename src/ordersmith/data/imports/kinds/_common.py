"""What every import kind shares: a row's outcome, the kind's shape, and reading cells as the API's JSON would
carry them (card numbers and NUL characters refused as the API refuses them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ordersmith.data.imports.rules import Spec, parse_boolean, parse_components, parse_list
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.input_guard import text_refusal


@dataclass
class Outcome:
    """What one row does or would do: created | updated | unchanged | invalid, with (column, reason) errors."""

    action: str
    errors: list[tuple[str, str]] = field(default_factory=list)


Row = tuple[int, dict[str, str]]  # row number, cells by column
Check = Callable[[UnitOfWork, list[Row], bool, frozenset[str] | None], list[Outcome]]


@dataclass(frozen=True)
class Kind:
    spec: Spec
    # a row's natural key and the column it comes from (a repeat in one file is an error)
    key: Callable[[dict[str, str]], tuple[str, str] | None]
    # Check (and with write=True, apply) a chunk, inside the caller's unit of work. A dry run passes write=False
    # and rolls the transaction back: a kind may write anyway when only writing tells (customers do).
    check: Check


# --- reading cells ------------------------------------------------------------------------------------------


def _typed(spec: Spec, cells: dict[str, str], errors: list[tuple[str, str]]) -> dict[str, Any]:
    """The non-blank cells as the API's JSON would carry them (lists split, booleans read); card numbers and
    NUL characters refused as the API refuses them."""
    data: dict[str, Any] = {}
    for name, text in cells.items():
        column = spec.column(name)
        reason = text_refusal(text, (name,))
        if reason is not None:
            errors.append((name, reason))
            continue
        if not text:
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

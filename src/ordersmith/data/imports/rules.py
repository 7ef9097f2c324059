"""Pure rules of an import: column specs, matching a file's header to them, reading cells into values, and how
the rows of a file split into chunks.

Invariant: a file's columns are known before any row is read: a missing required column or an unknown one stops
the import at once, naming the column (a file of the wrong kind is refused, never half-read). A kind with custom
fields (ADR 0051) has one column `custom.<name>` per field defined when the file is uploaded.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass

LIST_SEPARATOR = "|"
CUSTOM_PREFIX = "custom."
# How exports name a custom field's column (`custom_<name>`): accepted as `custom.<name>`, so an export imports back
EXPORTED_CUSTOM_PREFIX = "custom_"
_CUSTOM_FORMATS = {"text": "text", "choice": "text", "number": "integer", "decimal": "decimal", "date": "date",
                   "boolean": "boolean"}  # fmt: skip
_CUSTOM_EXAMPLES = {"number": "1", "decimal": "12.50", "date": "2026-01-31", "boolean": "false"}
TRUE_WORDS = frozenset({"true", "yes", "y", "1", "x"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", ""})


@dataclass(frozen=True)
class Column:
    """One column of an import kind: its header, whether a row needs it, the format, and an example value."""

    name: str
    description: str
    example: str = ""
    required: bool = False
    format: str = "text"  # text | integer | decimal | boolean | date | list | components
    scope: str | None = None  # a column only callers holding this scope may import


@dataclass(frozen=True)
class Spec:
    kind: str
    title: str
    key: str  # how a row finds its existing record
    columns: tuple[Column, ...]
    scope: str  # what the target's own API needs to write these records

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return self._by_name[name]

    @functools.cached_property
    def _by_name(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}

    def with_columns(self, extra: Sequence[Column]) -> Spec:
        """The spec with `extra` columns after its own (a kind's custom field columns)."""
        return dataclasses.replace(self, columns=(*self.columns, *extra)) if extra else self


def custom_column(
    *, name: str, label: str, type: str, required: bool, choices: Sequence[str], max_length: int | None
) -> Column:
    """The import column of a custom field: `custom.<name>`, its example a value the field accepts (so a filled-in
    template imports). A blank cell clears the value, as null does in the API."""
    facts = [f"custom field: {label}", type]
    if choices:
        facts.append(f"one of {', '.join(choices)}")
    if max_length is not None:
        facts.append(f"at most {max_length} characters")
    example = _CUSTOM_EXAMPLES.get(type, "")
    if type == "choice" and choices:
        example = choices[0]
    elif type == "text" and required:
        example = label[: max_length or len(label)]
    return Column(
        f"{CUSTOM_PREFIX}{name}", "; ".join(facts), example, required=False, format=_CUSTOM_FORMATS[type]
    )


def is_custom(column: str) -> bool:
    return column.startswith(CUSTOM_PREFIX)


class HeaderProblem(ValueError):
    """The header does not fit the kind; `column` names the culprit."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


def normalize_header(text: str) -> str:
    """`Country of origin ` → `country_of_origin` (a spreadsheet's headers are typed by people)."""
    return "_".join(text.strip().lower().replace("-", " ").split())


def match_header(spec: Spec, header: list[str]) -> list[str]:
    """Each position's column name; raises HeaderProblem for an unknown, repeated or missing required column."""
    names = [_custom_alias(normalize_header(h)) for h in header]
    known = set(spec.names)
    seen: set[str] = set()
    for name, raw in zip(names, header, strict=True):
        if not name:
            raise HeaderProblem("header", "a column has no name in the first row")
        if is_custom(name) and name not in known:
            custom = sorted(n for n in spec.names if is_custom(n))
            raise HeaderProblem(
                raw,
                f"unknown column {raw.strip()!r}: no custom field {name[len(CUSTOM_PREFIX) :]!r} is defined for "
                f"{spec.kind} (defined: {', '.join(custom) or 'none'})",
            )
        if name not in known:
            raise HeaderProblem(
                raw,
                f"unknown column {raw.strip()!r} for a {spec.kind} import; its columns are "
                f"{', '.join(spec.names)}",
            )
        if name in seen:
            raise HeaderProblem(raw, f"column {raw.strip()!r} appears twice")
        seen.add(name)
    missing = [c.name for c in spec.columns if c.required and c.name not in seen]
    if missing:
        raise HeaderProblem(
            missing[0],
            f"missing required column(s) {', '.join(missing)} for a {spec.kind} import "
            "(is this a file of another kind?)",
        )
    return names


def _custom_alias(name: str) -> str:
    """`custom_<name>` (an export's column) is `custom.<name>`: no column of a kind starts with `custom_`."""
    if name.startswith(EXPORTED_CUSTOM_PREFIX) and len(name) > len(EXPORTED_CUSTOM_PREFIX):
        return CUSTOM_PREFIX + name[len(EXPORTED_CUSTOM_PREFIX) :]
    return name


def refused_columns(spec: Spec, names: list[str], granted: frozenset[str] | None) -> list[tuple[str, str]]:
    """(column, scope) for each column of the file the caller may not import (None: a trusted caller)."""
    if granted is None:
        return []
    return [
        (name, column.scope)
        for name in names
        if (column := spec.column(name)).scope is not None and column.scope not in granted
    ]


def cells_by_column(names: list[str], row: list[str]) -> dict[str, str] | str:
    """The row's cells by column name, trimmed; or why the row cannot be read (more cells than columns)."""
    if len(row) > len(names) and any(cell.strip() for cell in row[len(names) :]):
        return f"the row has {len(row)} cells but the header names {len(names)} columns"
    return {name: (row[i].strip() if i < len(row) else "") for i, name in enumerate(names)}


def parse_boolean(text: str) -> bool | None:
    """true/yes/y/1/x or false/no/n/0/blank; None when it is neither."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def parse_list(text: str) -> list[str]:
    """`a|b|c` → ["a", "b", "c"] (blank parts dropped)."""
    return [part.strip() for part in text.split(LIST_SEPARATOR) if part.strip()]


def parse_components(text: str) -> list[dict[str, str]]:
    """`MUG-1:2|TEA-3` → [{"sku": "MUG-1", "quantity": "2"}, {"sku": "TEA-3", "quantity": "1"}]."""
    parts = []
    for part in parse_list(text):
        sku, _, quantity = part.partition(":")
        parts.append({"sku": sku.strip(), "quantity": quantity.strip() or "1"})
    return parts


def chunks_of(total: int, size: int) -> list[tuple[int, int]]:
    """[start, end) offsets of the data rows in pieces of `size`."""
    assert size > 0
    return [(start, min(start + size, total)) for start in range(0, total, size)]

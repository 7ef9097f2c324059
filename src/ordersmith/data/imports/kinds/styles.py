"""Styles with their variant axes (size x colour …): created through catalog's `create_style` (one stocked item
per combination), or, for an existing style, grown by the axis values the file adds (`add_axis_value`). An import
never removes a value nor renames or reorders an axis: the variants already sold keep their SKUs."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ordersmith.catalog import service as catalog
from ordersmith.catalog import styles
from ordersmith.catalog.schemas import StyleIn
from ordersmith.data.imports.kinds._common import (
    Kind,
    Outcome,
    Row,
    _schema_errors,
    _typed,
    in_savepoint,
    refusal,
)
from ordersmith.data.imports.rules import Column, Spec
from ordersmith.kernel.errors import NotFound, OrdersmithError, ValidationFailed
from ordersmith.platform.db import UnitOfWork

AXES = 4  # as many as the API takes
_EXAMPLE_AXES = {1: ("size", "S|M|L"), 2: ("colour", "navy|white")}

STYLE_SPEC = Spec(
    kind="styles",
    title="Styles",
    key="style code",
    scope="catalog:write",
    columns=(
        Column(
            "style",
            "the style's code (variant SKUs are CODE-VALUE-VALUE); an existing code is grown",
            "OXF",
            required=True,
        ),
        Column("name", "the style's name (its variants are named after it)", "Oxford shirt", required=True),
        *(
            column
            for n in range(1, AXES + 1)
            for column in (
                Column(
                    f"axis_{n}",
                    f"axis {n}'s name: lower-case letters, digits, _",
                    _EXAMPLE_AXES.get(n, ("", ""))[0],
                    required=n == 1,
                ),
                Column(
                    f"values_{n}",
                    f"axis {n}'s values, separated by |",
                    _EXAMPLE_AXES.get(n, ("", ""))[1],
                    format="list",
                    required=n == 1,
                ),
            )
        ),
        Column("divisions", "division codes, separated by | (new styles)", "web", format="list"),
        Column("tax_class", "the tax class (default standard; new styles)", "standard"),
        Column(
            "category",
            "the merchandise category's code for the style and all its variants, e.g. TOPS (active; blank: none)",
            "",
        ),
    ),
)


def _key(cells: dict[str, str]) -> tuple[str, str] | None:
    code = cells.get("style", "").strip()
    return ("style", code.upper()) if code else None


def _axes(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"name": data.get(f"axis_{n}", ""), "values": data.get(f"values_{n}", [])}
        for n in range(1, AXES + 1)
        if f"axis_{n}" in data or f"values_{n}" in data
    ]


def _column(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts[:1] == ["axes"] and len(parts) > 2 and parts[1].isdigit():
        return f"{'axis' if parts[2] == 'name' else 'values'}_{int(parts[1]) + 1}"
    if parts[:1] == ["code"]:
        return "style"
    return parts[0] if parts and parts[0] in STYLE_SPEC.names else "axis_1"


def _check(
    uow: UnitOfWork, rows: list[Row], write: bool, granted: frozenset[str] | None, memo: dict[str, Any]
) -> list[Outcome]:
    outcomes = []
    for _, cells in rows:
        outcome = Outcome("invalid")
        outcomes.append(outcome)
        data = _typed(STYLE_SPEC, cells, outcome.errors)
        if outcome.errors:
            continue
        try:
            body = StyleIn.model_validate(
                {
                    "code": data.get("style", ""),
                    "name": data.get("name", ""),
                    "axes": _axes(data),
                    **{k: data[k] for k in ("divisions", "tax_class", "category") if k in data},
                }
            )
        except ValidationError as exc:
            outcome.errors += _schema_errors(exc, _column)
            continue
        sets_category = "category" in cells
        try:
            outcome.action = in_savepoint(
                uow,
                lambda body=body, sets_category=sets_category: _write(uow, body, sets_category),  # type: ignore[misc]
            )
        except OrdersmithError as exc:
            outcome.action = "invalid"
            column, reason = refusal(exc, {"axes": "axis_1"}, lambda detail: "style")
            outcome.errors.append((_column((column,)) if column not in STYLE_SPEC.names else column, reason))
    return outcomes


def _write(uow: UnitOfWork, body: StyleIn, sets_category: bool) -> str:
    """Create the style, or add the values the file has that it lacks and, when the file has a category column, put
    it (and its variants) in that category; created | updated | unchanged."""
    wanted = [(axis.name, list(axis.values)) for axis in body.axes]
    try:
        existing = styles.get_style(uow, code=body.code)
    except NotFound:
        styles.create_style(
            uow,
            code=body.code,
            name=body.name,
            axes=wanted,
            divisions=body.divisions,
            tax_class=body.tax_class,
            category=body.category,
        )
        return "created"
    if [name for name, _ in existing.axes] != [name for name, _ in wanted]:
        have = ", ".join(name for name, _ in existing.axes)
        raise _refused("axis_1", f"style {existing.code} has the axes {have}: an import cannot change them")
    added = 0
    for n, ((name, values), (_, had)) in enumerate(zip(wanted, existing.axes, strict=True), start=1):
        known = {v.upper() for v in had}
        if missing := [v for v in had if v.upper() not in {w.upper() for w in values}]:
            raise _refused(f"values_{n}", f"an import cannot remove {', '.join(missing)} from {name}")
        for value in values:
            if value.upper() not in known:
                styles.add_axis_value(uow, code=existing.code, axis=name, value=value)
                added += 1
    wanted_category = body.category.upper() if body.category else None
    if sets_category and wanted_category != existing.category:
        catalog.set_style_category(uow, code=existing.code, category=wanted_category)
        added += 1
    return "updated" if added else "unchanged"


def _refused(column: str, reason: str) -> OrdersmithError:
    return ValidationFailed.on(column, reason)


KIND = Kind(spec=STYLE_SPEC, key=_key, check=_check)

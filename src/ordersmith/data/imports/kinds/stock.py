"""Stock counts and adjustments per location, through inventory's own use cases (`record_count`,
`adjust_stock`): each row a conditional stock update and its movement, refused as the API refuses it (an unknown
SKU or location, a count below what is reserved, an adjustment taking on-hand below zero).

A count sets on-hand (a row whose count matches is unchanged); an adjustment adds or removes units, so the same
adjustment file must not be applied twice — an applied file uploaded again is refused, and a resumed apply never
writes a chunk twice.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ordersmith.data.imports.kinds._common import Kind, Outcome, Row, _schema_errors, _typed
from ordersmith.data.imports.rules import Column, Spec
from ordersmith.inventory import service as inventory
from ordersmith.inventory.schemas import AdjustmentIn, CountIn
from ordersmith.kernel.errors import NotFound, OrdersmithError
from ordersmith.platform.db import UnitOfWork

COUNT_SPEC = Spec(
    kind="stock_counts",
    title="Stock counts",
    key="location and SKU",
    scope="inventory:write",
    columns=(
        Column("location", "the location's code", "WH1", required=True),
        Column("sku", "the counted item's SKU", "MUG-001", required=True),
        Column(
            "counted", "units counted there (on hand becomes this)", "24", required=True, format="integer"
        ),
        Column("reference", "count sheet or task reference", "cycle count 12"),
    ),
)
ADJUSTMENT_SPEC = Spec(
    kind="stock_adjustments",
    title="Stock adjustments",
    key="nothing: every row is a change",
    scope="inventory:write",
    columns=(
        Column("location", "the location's code", "WH1", required=True),
        Column("sku", "the item's SKU", "MUG-001", required=True),
        Column("quantity", "units to add (negative: to remove)", "-2", required=True, format="integer"),
        Column(
            "reason",
            "adjustment, receipt, count, damage, return, transfer or shrinkage (default adjustment)",
            "damage",
        ),
        Column("reference", "why, for the movement ledger", "broken in aisle 4"),
    ),
)


def _count_key(cells: dict[str, str]) -> tuple[str, str] | None:
    if not (cells.get("location") and cells.get("sku")):
        return None
    return "sku", f"{cells['location'].upper()}/{cells['sku'].upper()}"


def _each(uow: UnitOfWork, rows: list[Row], spec: Spec, run: object, quantity: str) -> list[Outcome]:
    """Each row in a savepoint: a refused row leaves no trace, the others stand. A refusal naming no field is put
    on the SKU or location it names (not found), else on the `quantity` column (too few units)."""
    outcomes = []
    for _, cells in rows:
        outcome = Outcome("invalid")
        outcomes.append(outcome)
        data = _typed(spec, cells, outcome.errors)
        if outcome.errors:
            continue
        mark = uow.checkpoint()
        savepoint = uow.session.begin_nested()
        try:
            outcome.action = run(data)  # type: ignore[operator]
            savepoint.commit()
        except ValidationError as exc:
            savepoint.rollback()
            uow.rewind(mark)
            outcome.action = "invalid"
            outcome.errors += _schema_errors(exc, _count_column)
        except OrdersmithError as exc:
            savepoint.rollback()
            uow.rewind(mark)
            outcome.action = "invalid"
            outcome.errors.append(_refusal(exc, quantity))
    return outcomes


def _refusal(exc: OrdersmithError, quantity: str) -> tuple[str, str]:
    if exc.errors:
        return _count_column(tuple(exc.errors[0].field.split("."))), exc.errors[0].message
    if isinstance(exc, NotFound):
        return ("sku" if "SKU" in exc.detail else "location"), exc.detail
    return quantity, exc.detail


def _count_column(loc: tuple[object, ...]) -> str:
    names = [str(part) for part in loc if not str(part).isdigit()]
    last = names[-1] if names else "row"
    return {"lines": "counted"}.get(last, last)


def _check_counts(
    uow: UnitOfWork, rows: list[Row], write: bool, granted: frozenset[str] | None, memo: dict[str, Any]
) -> list[Outcome]:
    def count(data: dict[str, str]) -> str:
        sheet = CountIn.model_validate(
            {
                "location": data.get("location", ""),
                "reference": data.get("reference", ""),
                "lines": [{"sku": data.get("sku", ""), "counted": data.get("counted")}],
            }
        )
        line = inventory.record_count(
            uow,
            location=sheet.location,
            reference=sheet.reference,
            counts={sheet.lines[0].sku: sheet.lines[0].counted},
        )[0]
        return "updated" if line.variance else "unchanged"

    return _each(uow, rows, COUNT_SPEC, count, "counted")


def _check_adjustments(
    uow: UnitOfWork, rows: list[Row], write: bool, granted: frozenset[str] | None, memo: dict[str, Any]
) -> list[Outcome]:
    def adjust(data: dict[str, str]) -> str:
        body = AdjustmentIn.model_validate(data)
        inventory.adjust_stock(
            uow,
            sku=body.sku,
            location=body.location,
            quantity=body.quantity,
            reason=body.reason,
            reference=body.reference,
        )
        return "updated"

    return _each(uow, rows, ADJUSTMENT_SPEC, adjust, "quantity")


COUNTS = Kind(spec=COUNT_SPEC, key=_count_key, check=_check_counts)
ADJUSTMENTS = Kind(spec=ADJUSTMENT_SPEC, key=lambda cells: None, check=_check_adjustments)

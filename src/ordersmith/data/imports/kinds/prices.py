"""Prices: one row per price of an existing price list (with quantity breaks), through pricing's `set_list_price`."""

from __future__ import annotations

from pydantic import ValidationError

from ordersmith.data.imports.kinds._common import Kind, Outcome, Row, _schema_errors, _typed
from ordersmith.data.imports.rules import Column, Spec
from ordersmith.kernel.errors import NotFound, OrdersmithError
from ordersmith.platform.db import UnitOfWork
from ordersmith.pricing import service as pricing
from ordersmith.pricing.schemas import PriceIn

PRICES = Spec(
    kind="prices",
    title="Prices",
    key="price list, SKU and quantity break",
    scope="pricing:write",
    columns=(
        Column("price_list", "an existing price list's code", "WHOLESALE", required=True),
        Column("sku", "the item's SKU", "MUG-001", required=True),
        Column(
            "unit_price",
            "the unit price from this quantity on, in the list's currency",
            "7.50",
            required=True,
            format="decimal",
        ),
        Column(
            "min_quantity",
            "the quantity break: the price applies from this many units (default 1)",
            "12",
            format="integer",
        ),
        Column("currency", "the price's currency (default USD; must be the list's)", "USD"),
    ),
)


def _key(cells: dict[str, str]) -> tuple[str, str] | None:
    if not (cells.get("price_list") and cells.get("sku")):
        return None
    return (
        "sku",
        f"{cells['price_list'].upper()}/{cells['sku'].upper()} from {cells.get('min_quantity') or '1'}",
    )


def _column(loc: tuple[object, ...]) -> str:
    names = [str(part) for part in loc]
    return "currency" if names[-1:] == ["currency"] else ("unit_price" if "unit_price" in names else names[0])


def _check(uow: UnitOfWork, rows: list[Row], write: bool, granted: frozenset[str] | None) -> list[Outcome]:
    outcomes = []
    for _, cells in rows:
        outcome = Outcome("invalid")
        outcomes.append(outcome)
        data = _typed(PRICES, cells, outcome.errors)
        if outcome.errors:
            continue
        try:
            price = PriceIn.model_validate(
                {
                    "sku": data.get("sku", ""),
                    "min_quantity": data.get("min_quantity", "1"),
                    "unit_price": {
                        "amount": data.get("unit_price", ""),
                        "currency": data.get("currency", "USD"),
                    },
                }
            )
        except ValidationError as exc:
            outcome.errors += _schema_errors(exc, _column)
            continue
        entry = pricing.PriceEntry(
            sku=price.sku, unit_price=price.unit_price.to_money(), min_quantity=price.min_quantity
        )
        mark = uow.checkpoint()
        savepoint = uow.session.begin_nested()
        try:
            outcome.action = pricing.set_list_price(uow, code=data["price_list"], entry=entry)
            savepoint.commit()
        except OrdersmithError as exc:
            savepoint.rollback()
            uow.rewind(mark)
            outcome.action = "invalid"
            if exc.errors:
                outcome.errors.append((_column(tuple(exc.errors[0].field.split("."))), exc.errors[0].message))
            elif isinstance(exc, NotFound):
                outcome.errors.append(("price_list" if "price list" in exc.detail else "sku", exc.detail))
            else:
                outcome.errors.append(("row", exc.detail))
    return outcomes


KIND = Kind(spec=PRICES, key=_key, check=_check)

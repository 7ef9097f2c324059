"""Prices: one row per price of an existing price list (with quantity breaks), through pricing's `set_list_price`;
new price lists: the rows of one list consecutive under its code, created whole through `create_price_list`."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ordersmith.data.imports.kinds._common import (
    Kind,
    Outcome,
    Row,
    _schema_errors,
    _typed,
    fail_together,
    groups_of,
    in_savepoint,
    refusal,
    row_named,
)
from ordersmith.data.imports.rules import Column, Spec
from ordersmith.kernel.errors import NotFound, OrdersmithError
from ordersmith.platform.db import UnitOfWork
from ordersmith.pricing import service as pricing
from ordersmith.pricing.schemas import PriceIn, PriceListIn

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


def _check(
    uow: UnitOfWork, rows: list[Row], write: bool, granted: frozenset[str] | None, memo: dict[str, Any]
) -> list[Outcome]:
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


# --- new price lists -----------------------------------------------------------------------------------------

PRICE_LIST_SPEC = Spec(
    kind="price_lists",
    title="New price lists",
    key="price list code (one list per code; its rows one after another)",
    scope="pricing:write",
    columns=(
        Column(
            "price_list",
            "the new list's code: consecutive rows with one code are one list's prices",
            "SPRING",
            required=True,
        ),
        Column("name", "the list's name (the first row's)", "Spring trade prices", required=True),
        Column("currency", "the list's currency (default USD)", "USD"),
        Column("priority", "higher wins among the lists that apply (default 0)", "10", format="integer"),
        Column(
            "customer_groups",
            "customer groups it applies to, separated by | (blank: all)",
            "trade",
            format="list",
        ),
        Column("channels", "channels it applies to, separated by | (blank: all)", "", format="list"),
        Column("starts_at", "when it starts (ISO 8601 date and time, UTC)", "2026-03-01T00:00:00Z"),
        Column("ends_at", "when it ends (ISO 8601 date and time, UTC)", ""),
        Column("sku", "the item's SKU", "MUG-001", required=True),
        Column("unit_price", "the unit price from min_quantity on", "7.50", required=True, format="decimal"),
        Column("min_quantity", "the quantity break (default 1)", "1", format="integer"),
    ),
)

_LIST_FIELDS = ("name", "currency", "priority", "customer_groups", "channels", "starts_at", "ends_at")


def _list_code(cells: dict[str, str]) -> str:
    return cells.get("price_list", "").strip().upper()


def _list_key(cells: dict[str, str]) -> tuple[str, str] | None:
    code = _list_code(cells)
    return ("price_list", code) if code else None


def _list_column(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if not str(p).isdigit()]
    if parts[:1] == ["prices"]:
        parts = parts[1:]
    if not parts:
        return "row"
    if parts[0] == "unit_price":
        return "unit_price"
    return "price_list" if parts[0] == "code" else parts[0]


def _check_price_lists(
    uow: UnitOfWork, rows: list[Row], write: bool, granted: frozenset[str] | None, memo: dict[str, Any]
) -> list[Outcome]:
    outcomes = [Outcome("invalid") for _ in rows]
    for positions in groups_of(rows, _list_code):
        _check_one_list(uow, rows, outcomes, positions)
    return outcomes


def _check_one_list(uow: UnitOfWork, rows: list[Row], outcomes: list[Outcome], positions: list[int]) -> None:
    datas = [_typed(PRICE_LIST_SPEC, rows[n][1], outcomes[n].errors) for n in positions]
    first, code = datas[0], _list_code(rows[positions[0]][1])
    what = f"price list {code}"
    if any(outcomes[n].errors for n in positions):
        fail_together(rows, outcomes, positions, what)
        return
    currency = first.get("currency", "USD")
    body_data = {
        "code": first.get("price_list", ""),
        **{name: first[name] for name in _LIST_FIELDS if name in first},
        "prices": [
            {
                "sku": data.get("sku", ""),
                "min_quantity": data.get("min_quantity", "1"),
                "unit_price": {"amount": data.get("unit_price", ""), "currency": currency},
            }
            for data in datas
        ],
    }
    try:
        body = PriceListIn.model_validate(body_data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            at = positions[int(loc[1])] if loc[:1] == ("prices",) and len(loc) > 1 else positions[0]
            outcomes[at].errors.append((_list_column(loc), str(error["msg"]).removeprefix("Value error, ")))
        fail_together(rows, outcomes, positions, what)
        return
    entries = [pricing.PriceEntry(p.sku, p.unit_price.to_money(), p.min_quantity) for p in body.prices]
    fields = body.model_dump(exclude={"prices"})
    try:
        in_savepoint(uow, lambda: pricing.create_price_list(uow, prices=entries, **fields))
    except OrdersmithError as exc:
        at, problem = positions[0], refusal(exc, {}, lambda detail: "sku")
        if exc.errors:
            parts = exc.errors[0].field.split(".")
            if parts[0] == "prices" and len(parts) > 1 and parts[1].isdigit():
                at = positions[int(parts[1])]
            problem = (_list_column(tuple(parts)), exc.errors[0].message)
            if problem[0] == "prices":
                problem = ("min_quantity", problem[1])
        elif isinstance(exc, NotFound):
            at = row_named(datas, positions, "sku", exc.detail)
        elif "exists" in exc.detail:
            problem = ("price_list", f"{exc.detail}: change its prices with a prices import")
        outcomes[at].errors.append(problem)
        fail_together(rows, outcomes, positions, what)
        return
    for n in positions:
        outcomes[n].action = "created"


PRICE_LISTS = Kind(spec=PRICE_LIST_SPEC, key=_list_key, check=_check_price_lists, group=_list_code)

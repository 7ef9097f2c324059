"""Historical orders (a migration): one row per line, the rows of one order consecutive under its number in the old
system, each order checked by the order API's own input schema (`OrderIn`: channel, customer, lines, ship-to,
`placed_at` with its time zone) and written by orders' `import_order`: placed in the past, at the prices it was sold
at, marked imported, with no stock moved and no payment taken. Importing needs the scope that lets a caller set
`placed_at` at all (`orders:import`, checkout's rule); an order already imported (its channel and number) is left
unchanged, so the same history imported twice adds nothing.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from ordersmith.checkout.rules import IMPORT_SCOPE
from ordersmith.data.imports.kinds._common import (
    Kind,
    Outcome,
    Row,
    _typed,
    custom_column,
    fail_together,
    groups_of,
    in_savepoint,
    refusal,
    row_named,
    split_custom,
)
from ordersmith.data.imports.rules import Column, Spec
from ordersmith.kernel.errors import OrdersmithError
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.orders.schemas import OrderIn
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.sales_channels import find_channel

_ADDRESS = (
    ("name", "the addressee", "Ada Lovelace"),
    ("line1", "street and number", "12 Harbour Street"),
    ("line2", "more", ""),
    ("city", "city", "Portland"),
    ("region", "state or region", "ME"),
    ("postal_code", "postal code", "04101"),
    ("country", "two-letter country code", "US"),
)

ORDER_SPEC = Spec(
    kind="orders",
    title="Historical orders",
    key="channel and order number (one order per number; its rows one after another)",
    scope=IMPORT_SCOPE,
    columns=(
        Column(
            "order",
            "the order's number in the old system: consecutive rows with one number are one order's lines",
            "W-88121",
            required=True,
        ),
        Column(
            "channel", "the channel it was sold through (an existing channel's code)", "web", required=True
        ),
        Column(
            "placed_at",
            "when it was placed: ISO 8601 with a time zone, in the past",
            "2024-11-29T14:05:00Z",
            required=True,
        ),
        Column("status", "completed (shipped and paid, the default) or cancelled", "completed"),
        Column("customer", "an existing customer's number", ""),
        Column("email", "the buyer's e-mail", "ada@example.com"),
        *(
            Column(f"ship_to_{part}", f"{label} of the ship-to address", example)
            for part, label, example in _ADDRESS
        ),
        Column("shipping_method", "how it was shipped (default standard)", "standard"),
        Column(
            "shipping",
            "shipping charged, in the channel's currency (the first row's)",
            "5.00",
            format="decimal",
        ),
        Column("source_code", "the source (key) code of the sale", ""),
        Column("sku", "the line's SKU", "MUG-001", required=True),
        Column("quantity", "units sold", "2", required=True, format="integer"),
        Column("unit_price", "the unit price it was sold at", "12.00", required=True, format="decimal"),
        Column("discount", "the line's discount", "0.00", format="decimal"),
        Column("tax", "the line's tax charged", "1.92", format="decimal"),
        Column(
            "line_source_code",
            "the line's own source (key) code, when it came from another offer than the order's (checked like the "
            "order's: valid on placed_at, or the channel's default)",
            "",
        ),
    ),
)

_HEADER = (
    "channel",
    "placed_at",
    "status",
    "customer",
    "email",
    "shipping",
    "source_code",
    "shipping_method",
)


def _number(cells: dict[str, str]) -> str:
    return f"{cells.get('channel', '').strip().lower()}/{cells.get('order', '').strip()}"


def _key(cells: dict[str, str]) -> tuple[str, str] | None:
    return ("order", _number(cells)) if cells.get("order", "").strip() else None


def _column(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if not str(p).isdigit()]
    if not parts:
        return "row"
    if parts[0] == "custom_fields" and len(parts) > 1:
        return custom_column(".".join(parts[:2]))
    if parts[0] == "ship_tos" and len(parts) > 1:
        return "shipping_method" if parts[1] == "method" else f"ship_to_{parts[1]}"
    if parts[0] == "lines" and len(parts) > 1:
        if parts[1] == "source_code":
            return "line_source_code"
        return parts[1] if parts[1] in ORDER_SPEC.names else "sku"
    return {"external_id": "order", "ship_tos": "ship_to_line1", "lines": "sku"}.get(parts[0], parts[0])


def _check(
    uow: UnitOfWork, rows: list[Row], write: bool, granted: frozenset[str] | None, memo: dict[str, Any]
) -> list[Outcome]:
    outcomes = [Outcome("invalid") for _ in rows]
    for positions in groups_of(rows, _number):
        _check_one(uow, rows, outcomes, positions)
    return outcomes


def _amount(data: dict[str, Any], name: str, currency: str, errors: list[tuple[str, str]]) -> Money | None:
    if name not in data:
        return None
    try:
        return Money(Decimal(data[name]), currency)
    except (InvalidOperation, ValueError, ArithmeticError):
        errors.append((name, "must be an amount such as 12.50"))
        return None


def _check_one(uow: UnitOfWork, rows: list[Row], outcomes: list[Outcome], positions: list[int]) -> None:
    split = [split_custom(rows[n][1], outcomes[n].errors) for n in positions]
    datas = [
        _typed(ORDER_SPEC, cells, outcomes[n].errors) for n, (cells, _) in zip(positions, split, strict=True)
    ]
    first, custom = datas[0], split[0][1]  # the order's custom values are its first row's
    what = f"order {first.get('order', '')}"
    for n, data, (_, own) in zip(positions[1:], datas[1:], split[1:], strict=True):
        for name in _HEADER:
            if name in data and data[name] != first.get(name):
                outcomes[n].errors.append(
                    (name, f"differs from the first row of {what}: leave it blank or the same")
                )
        for name, value in own.items():
            if value is not None and value != custom.get(name):
                outcomes[n].errors.append(
                    (f"custom.{name}", f"differs from the first row of {what}: leave it blank or the same")
                )
    if not fail_together(rows, outcomes, positions, what):
        return
    body = {
        "channel": first.get("channel"),
        "customer": first.get("customer"),
        "email": first.get("email", ""),
        "external_id": first.get("order"),
        "placed_at": first.get("placed_at"),
        "source_code": first.get("source_code"),
        "lines": [
            {"sku": d.get("sku", ""), "quantity": d.get("quantity"), "source_code": d.get("line_source_code")}
            for d in datas
        ],
        "ship_tos": [
            {
                "method": first.get("shipping_method", "standard"),
                **{part: first[f"ship_to_{part}"] for part, _, _ in _ADDRESS if f"ship_to_{part}" in first},
            }
        ],
    }
    try:
        order = OrderIn.model_validate(body)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            at = positions[int(loc[1])] if loc[:1] == ("lines",) and len(loc) > 1 else positions[0]
            outcomes[at].errors.append((_column(loc), str(error["msg"]).removeprefix("Value error, ")))
        fail_together(rows, outcomes, positions, what)
        return
    currency = _currency(uow, order.channel or "")
    lines = []
    for n, data, checked in zip(positions, datas, order.lines, strict=True):
        errors = outcomes[n].errors
        unit_price = _amount(data, "unit_price", currency, errors)
        discount, tax = _amount(data, "discount", currency, errors), _amount(data, "tax", currency, errors)
        if unit_price is not None:
            line = orders.HistoricalLine(
                sku=data["sku"],
                quantity=int(data["quantity"]),
                unit_price=unit_price,
                discount=discount,
                tax=tax,
                source_code=checked.source_code,
            )
            lines.append(line)
    shipping = _amount(first, "shipping", currency, outcomes[positions[0]].errors)
    if not fail_together(rows, outcomes, positions, what):
        return
    ship_to = order.ship_tos[0]
    historical = orders.HistoricalOrder(
        external_id=order.external_id or "",
        placed_at=order.placed_at,  # type: ignore[arg-type]  # required by the spec: never None here
        lines=lines,
        ship_to=orders.ShipToRequest(**ship_to.model_dump()),
        status=first.get("status", "completed").lower(),
        customer=order.customer,
        email=order.email,
        shipping=shipping,
        source_code=order.source_code,
        custom_fields=custom,
    )
    try:
        action = in_savepoint(
            uow, lambda: orders.import_order(uow, channel=order.channel or "", order=historical)[0]
        )
    except OrdersmithError as exc:
        at, problem = positions[0], refusal(exc, {}, lambda detail: "sku")
        if exc.errors:
            parts = exc.errors[0].field.split(".")
            if parts[0] == "lines" and len(parts) > 1 and parts[1].isdigit():
                at = positions[int(parts[1])]
            problem = (_column(tuple(parts)), exc.errors[0].message)
        else:
            at = row_named(datas, positions, "sku", exc.detail)
        outcomes[at].errors.append(problem)
        fail_together(rows, outcomes, positions, what)
        return
    for n in positions:
        outcomes[n].action = action


def _currency(uow: UnitOfWork, channel: str) -> str:
    found = find_channel(uow, code=channel)
    return found.currency if found is not None else "USD"  # an unknown channel is refused by import_order


KIND = Kind(spec=ORDER_SPEC, key=_key, check=_check, group=_number, custom_kind="order")

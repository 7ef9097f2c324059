"""Vendor items (vendor SKU, cost, lead time) through purchasing's `import_vendor_item`, and open purchase orders
(one row per line, the rows of one PO consecutive under its reference) through `create_purchase_order`, then
`approve` and `send` as the file's status asks.

A purchase order is written whole or not at all: a bad line refuses its PO's every row.
"""

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
from ordersmith.purchasing import service as purchasing
from ordersmith.purchasing.schemas import PurchaseOrderIn, VendorItemIn

VENDOR_ITEM_SPEC = Spec(
    kind="vendor_items",
    title="Vendor items",
    key="vendor and SKU",
    scope="purchasing:write",
    columns=(
        Column("vendor", "an existing vendor's code", "ACME", required=True),
        Column("sku", "the item's SKU (a stocked or drop-ship item)", "MUG-001", required=True),
        Column("vendor_sku", "the vendor's own code for it", "AC-7731", required=True),
        Column("cost", "what the vendor charges per unit", "3.20", required=True, format="decimal"),
        Column("currency", "the cost's currency (default: the vendor's; must be the vendor's)", "USD"),
        Column("min_order_qty", "minimum order quantity (default 1)", "24", format="integer"),
        Column("pack_size", "units per pack (default 1)", "6", format="integer"),
        Column(
            "lead_time_days",
            "days from order to arrival (blank: the vendor's lead time)",
            "21",
            format="integer",
        ),
        Column(
            "preferred", "make the vendor the item's default for replenishment", "false", format="boolean"
        ),
    ),
)

_VENDOR_ITEM_COLUMNS = {"cost.amount": "cost", "cost.currency": "currency", "cost": "cost"}


def _vendor_item_key(cells: dict[str, str]) -> tuple[str, str] | None:
    if not (cells.get("vendor") and cells.get("sku")):
        return None
    return "sku", f"{cells['vendor'].upper()}/{cells['sku'].upper()}"


def _vendor_item_column(loc: tuple[Any, ...]) -> str:
    return _VENDOR_ITEM_COLUMNS.get(".".join(str(p) for p in loc), str(loc[0]) if loc else "row")


def _not_found(detail: str) -> str:
    return "vendor" if detail.startswith("no vendor") else "location" if "location" in detail else "sku"


def _check_vendor_items(
    uow: UnitOfWork, rows: list[Row], write: bool, granted: frozenset[str] | None, memo: dict[str, Any]
) -> list[Outcome]:
    outcomes = []
    currencies: dict[str, str] = {}
    for _, cells in rows:
        outcome = Outcome("invalid")
        outcomes.append(outcome)
        data = _typed(VENDOR_ITEM_SPEC, cells, outcome.errors)
        if outcome.errors:
            continue
        try:
            vendor = data["vendor"].upper()
            if vendor not in currencies:
                currencies[vendor] = purchasing.get_vendor(uow, code=vendor).currency
            body = VendorItemIn.model_validate(
                {
                    **{k: v for k, v in data.items() if k not in ("vendor", "cost", "currency")},
                    "cost": {"amount": data["cost"], "currency": data.get("currency", currencies[vendor])},
                }
            )
        except ValidationError as exc:
            outcome.errors += _schema_errors(exc, _vendor_item_column)
            continue
        except OrdersmithError as exc:
            outcome.errors.append(refusal(exc, _VENDOR_ITEM_COLUMNS, _not_found))
            continue
        try:
            outcome.action = in_savepoint(
                uow,
                lambda body=body, vendor=vendor: purchasing.import_vendor_item(  # type: ignore[misc]
                    uow,
                    vendor=vendor,
                    cost=body.cost.to_money(),
                    **body.model_dump(exclude={"cost"}),
                ),
            )
        except OrdersmithError as exc:
            outcome.action = "invalid"
            outcome.errors.append(refusal(exc, _VENDOR_ITEM_COLUMNS, _not_found))
    return outcomes


VENDOR_ITEMS = Kind(spec=VENDOR_ITEM_SPEC, key=_vendor_item_key, check=_check_vendor_items)


# --- open purchase orders --------------------------------------------------------------------------------------

PURCHASE_ORDER_SPEC = Spec(
    kind="purchase_orders",
    title="Open purchase orders",
    key="reference (one purchase order per reference; its rows one after another)",
    scope="purchasing:write",
    columns=(
        Column(
            "reference",
            "the PO's number in the old system (at most 60 characters): consecutive rows with one reference are "
            "one PO's lines; a reference imported before is refused (change that PO in Ordersmith)",
            "OLD-4471",
            required=True,
        ),
        Column("vendor", "an existing vendor's code", "ACME", required=True),
        Column("location", "the location it is received at", "WH1", required=True),
        Column("sku", "the line's SKU", "MUG-001", required=True),
        Column("quantity", "units ordered", "48", required=True, format="integer"),
        Column(
            "unit_cost",
            "cost per unit in the vendor's currency (blank: the vendor's listed cost)",
            "3.20",
            format="decimal",
        ),
        Column(
            "expected_on", "expected arrival (YYYY-MM-DD; blank: today plus the lead time)", "", format="date"
        ),
        Column(
            "status",
            "draft, approved or sent (default draft; approved and sent need purchasing:approve)",
            "sent",
            scope="purchasing:approve",
        ),
        Column("notes", "notes for the PO (the first row's)", ""),
    ),
)

PO_STATUSES = ("draft", "approved", "sent")


def _reference(cells: dict[str, str]) -> str:
    return cells.get("reference", "").strip().upper()


def _po_key(cells: dict[str, str]) -> tuple[str, str] | None:
    reference = _reference(cells)
    return ("reference", reference) if reference else None


def _po_column(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if not str(p).isdigit()]
    if parts[:1] == ["lines"]:
        parts = parts[1:]
    if not parts:
        return "row"
    return {"unit_cost": "unit_cost", "amount": "unit_cost", "currency": "unit_cost"}.get(parts[-1], parts[0])


def _po_line(data: dict[str, Any], currency: str) -> dict[str, Any]:
    line: dict[str, Any] = {"sku": data.get("sku", ""), "quantity": data.get("quantity")}
    if "unit_cost" in data:
        line["unit_cost"] = {"amount": data["unit_cost"], "currency": currency}
    if "expected_on" in data:
        line["expected_on"] = data["expected_on"]
    return line


def _check_purchase_orders(
    uow: UnitOfWork, rows: list[Row], write: bool, granted: frozenset[str] | None, memo: dict[str, Any]
) -> list[Outcome]:
    outcomes = [Outcome("invalid") for _ in rows]
    for positions in groups_of(rows, _reference):
        _check_one_po(uow, rows, outcomes, positions)
    return outcomes


def _check_one_po(uow: UnitOfWork, rows: list[Row], outcomes: list[Outcome], positions: list[int]) -> None:
    datas = [_typed(PURCHASE_ORDER_SPEC, rows[n][1], outcomes[n].errors) for n in positions]
    first, reference = datas[0], _reference(rows[positions[0]][1])
    status = first.get("status", "draft").lower()
    if status not in PO_STATUSES:
        outcomes[positions[0]].errors.append(("status", f"must be one of {', '.join(PO_STATUSES)}"))
    for n, data in zip(positions, datas, strict=True):
        for name in ("vendor", "location"):
            if data.get(name, "").upper() != first.get(name, "").upper():
                outcomes[n].errors.append((name, f"every row of {reference} must name the same {name}"))
    if len(reference) > 60:
        outcomes[positions[0]].errors.append(("reference", "must be at most 60 characters"))
    elif (earlier := purchasing.find_purchase_order(uow, source_reference=reference)) is not None:
        # Refused, not updated: the PO may be approved, sent or received by now, and a second one would order
        # its goods twice. The buyer changes it in Ordersmith.
        outcomes[positions[0]].errors.append(
            (
                "reference",
                f"{reference} was imported already as purchase order {earlier.number} ({earlier.status}): "
                "change that PO in Ordersmith",
            )
        )
    if any(outcomes[n].errors for n in positions):
        fail_together(rows, outcomes, positions, f"purchase order {reference}")
        return
    try:
        currency = purchasing.get_vendor(uow, code=first.get("vendor", "").upper()).currency
        body = PurchaseOrderIn.model_validate(
            {
                "vendor": first["vendor"],
                "location": first["location"],
                "notes": first.get("notes", ""),
                "lines": [_po_line(data, currency) for data in datas],
            }
        )
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            at = positions[int(loc[1])] if loc[:1] == ("lines",) and len(loc) > 1 else positions[0]
            outcomes[at].errors.append((_po_column(loc), str(error["msg"]).removeprefix("Value error, ")))
        fail_together(rows, outcomes, positions, f"purchase order {reference}")
        return
    except OrdersmithError as exc:
        outcomes[positions[0]].errors.append(refusal(exc, {}, _not_found))
        fail_together(rows, outcomes, positions, f"purchase order {reference}")
        return

    def create() -> str:
        po = purchasing.create_purchase_order(
            uow,
            vendor=body.vendor,
            location=body.location,
            notes=body.notes or f"imported from {reference}",
            source_reference=reference,
            lines=[
                purchasing.NewLine(
                    sku=line.sku,
                    quantity=line.quantity,
                    unit_cost=line.unit_cost.to_money() if line.unit_cost is not None else None,
                    expected_on=line.expected_on,
                )
                for line in body.lines
            ],
        )
        if status in ("approved", "sent"):
            purchasing.approve(uow, number=po.number)
        if status == "sent":
            purchasing.send(uow, number=po.number)
        return "created"

    try:
        action = in_savepoint(uow, create)
    except OrdersmithError as exc:
        at, message = _po_refusal_row(exc, positions)
        if isinstance(exc, NotFound) and not exc.errors:
            at = row_named(datas, positions, "sku", exc.detail)
        outcomes[at].errors.append(message)
        fail_together(rows, outcomes, positions, f"purchase order {reference}")
        return
    for n in positions:
        outcomes[n].action = action


def _po_refusal_row(exc: OrdersmithError, positions: list[int]) -> tuple[int, tuple[str, str]]:
    """The row a refusal of `create_purchase_order` is about (`lines.N.…` names the line), and its column."""
    column = refusal(exc, {"source_reference": "reference"}, _not_found)  # taken since the dry run
    if exc.errors:
        parts = exc.errors[0].field.split(".")
        if parts[0] == "lines" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(positions):
            return positions[int(parts[1])], (_po_column(tuple(parts)), exc.errors[0].message)
    return positions[0], column


PURCHASE_ORDERS = Kind(spec=PURCHASE_ORDER_SPEC, key=_po_key, check=_check_purchase_orders, group=_reference)

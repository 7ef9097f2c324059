"""Vendor bills (one row per bill line, the rows of one bill consecutive under its vendor and invoice number)
through finance's `enter_vendor_bill`: each bill is matched three ways as it is entered, exactly as one entered
through the API, and lands `matched` or in the exception queue with its reasons.

A bill is written whole or not at all: a bad line (a PO line that does not exist, a price that is not an amount)
refuses its bill's every row. A bill that fails its match is not a bad row: it is entered, and waits in the queue.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ordersmith.data.imports.kinds._common import (
    Kind,
    Outcome,
    Row,
    _typed,
    fail_together,
    groups_of,
    in_savepoint,
    refusal,
)
from ordersmith.data.imports.rules import Column, Spec
from ordersmith.finance import service as finance
from ordersmith.finance.payables_schemas import VendorBillIn
from ordersmith.kernel.errors import OrdersmithError
from ordersmith.platform.db import UnitOfWork

VENDOR_BILL_SPEC = Spec(
    kind="vendor_bills",
    title="Vendor bills",
    key="vendor and invoice number (one bill per invoice; its rows one after another)",
    scope="payables:write",
    columns=(
        Column("vendor", "the vendor's code (the PO's vendor)", "ACME", required=True),
        Column(
            "vendor_invoice",
            "the vendor's invoice number: consecutive rows with one vendor and invoice are one bill's lines; an "
            "invoice entered before is refused",
            "INV-20931",
            required=True,
        ),
        Column(
            "purchase_order",
            "the PO the bill is for (every row of a bill names the same)",
            "PO-000041",
            required=True,
        ),
        Column(
            "billed_on",
            "the invoice's date (YYYY-MM-DD); due by the vendor's terms from it",
            "2026-11-02",
            required=True,
            format="date",
        ),
        Column("po_line", "the PO line this line bills (1, 2, …)", "1", required=True, format="integer"),
        Column("quantity", "units billed", "48", required=True, format="integer"),
        Column("unit_price", "price per unit in the PO's currency", "3.20", required=True, format="decimal"),
        Column("sku", "the line's SKU (optional: checked against the PO line)", "MUG-001"),
    ),
)

_PER_BILL = ("purchase_order", "billed_on")


def _bill_key(cells: dict[str, str]) -> str:
    return f"{cells.get('vendor', '').strip().upper()}/{cells.get('vendor_invoice', '').strip()}"


def _key(cells: dict[str, str]) -> tuple[str, str] | None:
    return ("vendor_invoice", _bill_key(cells)) if cells.get("vendor_invoice", "").strip() else None


def _column(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if not str(p).isdigit()]
    if parts[:1] == ["lines"]:
        parts = parts[1:]
    return parts[0] if parts else "row"


def _row_of(field: str, positions: list[int]) -> tuple[int, str]:
    """The row and column a use case's field error is about (`lines.N.x` names the bill's N-th row)."""
    parts = field.split(".")
    if parts[0] == "lines" and len(parts) > 2 and parts[1].isdigit() and int(parts[1]) < len(positions):
        return positions[int(parts[1])], parts[2]
    return positions[0], parts[0]


def _check_vendor_bills(
    uow: UnitOfWork, rows: list[Row], write: bool, granted: frozenset[str] | None, memo: dict[str, Any]
) -> list[Outcome]:
    outcomes = [Outcome("invalid") for _ in rows]
    for positions in groups_of(rows, _bill_key):
        _check_one_bill(uow, rows, outcomes, positions)
    return outcomes


def _check_one_bill(uow: UnitOfWork, rows: list[Row], outcomes: list[Outcome], positions: list[int]) -> None:
    datas = [_typed(VENDOR_BILL_SPEC, rows[n][1], outcomes[n].errors) for n in positions]
    first, what = datas[0], f"bill {_bill_key(rows[positions[0]][1])}"
    for n, data in zip(positions, datas, strict=True):
        for name in _PER_BILL:
            if str(data.get(name, "")).upper() != str(first.get(name, "")).upper():
                outcomes[n].errors.append((name, f"every row of {what} must name the same {name}"))
    if any(outcomes[n].errors for n in positions):
        fail_together(rows, outcomes, positions, what)
        return
    try:
        body = VendorBillIn.model_validate(
            {
                "purchase_order": first.get("purchase_order", ""),
                "vendor_invoice": first.get("vendor_invoice", ""),
                "vendor": first.get("vendor", ""),
                "billed_on": first.get("billed_on", ""),
                "lines": [
                    {k: d[k] for k in ("po_line", "quantity", "unit_price", "sku") if k in d} for d in datas
                ],
            }
        )
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            at = positions[int(loc[1])] if loc[:1] == ("lines",) and len(loc) > 1 else positions[0]
            outcomes[at].errors.append((_column(loc), str(error["msg"]).removeprefix("Value error, ")))
        fail_together(rows, outcomes, positions, what)
        return

    def enter() -> str:
        finance.enter_vendor_bill(
            uow,
            purchase_order=body.purchase_order,
            vendor_invoice=body.vendor_invoice,
            billed_on=body.billed_on,
            vendor=body.vendor,
            source="import",
            lines=[
                finance.NewBillLine(
                    po_line=x.po_line or 0,
                    quantity=x.quantity,
                    unit_price=x.unit_price,
                    sku=x.sku,
                    kind=x.kind,
                )
                for x in body.lines
            ],
        )
        return "created"

    try:
        action = in_savepoint(uow, enter)
    except OrdersmithError as exc:
        if exc.errors:
            for field_error in exc.errors:
                at, column = _row_of(field_error.field, positions)
                outcomes[at].errors.append((column, field_error.message))
        else:
            outcomes[positions[0]].errors.append(refusal(exc, {}, lambda detail: "row"))
        fail_together(rows, outcomes, positions, what)
        return
    for n in positions:
        outcomes[n].action = action


VENDOR_BILLS = Kind(spec=VENDOR_BILL_SPEC, key=_key, check=_check_vendor_bills, group=_bill_key)

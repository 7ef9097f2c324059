"""Inventory costing API models: landed-cost charges and their lines, the inventory valuation with its
reconciliation to the inventory account, and the costing policy (per item or per location) with what a switch
moved (ADR 0041)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field

from ordersmith.finance.schemas import AccountCode
from ordersmith.finance.service import PolicyChange
from ordersmith.kernel.money import Money
from ordersmith.platform.schemas import Input, MoneyIn, MoneyOut, Output

ChargeKind = Literal["freight", "duty", "brokerage", "other"]
ChargeBasis = Literal["value", "weight", "units"]
Text = Annotated[str, Field(max_length=200, pattern=r"^[^\x00]*$")]


class LandedCostIn(Input):
    kind: ChargeKind
    basis: ChargeBasis = Field(
        description="allocate over the receipts' lines by their value at the PO's cost, their weight (the items' "
        "weight_g) or their units"
    )
    amount: MoneyIn
    receipts: Annotated[
        list[uuid.UUID], Field(max_length=50, description="the PO receipts the charge is for (one shipment)")
    ] = []
    purchase_order: (
        Annotated[
            str,
            Field(
                min_length=1,
                max_length=40,
                pattern=r"^[A-Za-z0-9-]+$",
                description="instead of `receipts`: every receipt of this PO so far",
            ),
        ]
        | None
    ) = None
    reference: Annotated[str, Field(max_length=80, pattern=r"^[^\x00]*$")] = ""
    memo: Text = ""


class LandedCostLineOut(Output):
    line: int
    receipt_id: uuid.UUID
    purchase_order: str
    po_line: int
    sku: str
    location: str
    quantity: int
    basis_amount: int
    allocated: MoneyOut
    inventory: MoneyOut | None
    cogs: MoneyOut | None
    average_before: MoneyOut | None
    average_after: MoneyOut | None


class LandedCostOut(Output):
    id: uuid.UUID
    number: str
    kind: ChargeKind
    basis: ChargeBasis
    amount: MoneyOut
    reference: str
    memo: str
    purchase_orders: list[str]
    receipts: list[uuid.UUID]
    posted: bool
    entry_id: uuid.UUID | None
    inventory: MoneyOut | None
    cogs: MoneyOut | None
    created_by: str
    created_at: datetime
    lines: list[LandedCostLineOut]


class InventoryCheckOut(Output):
    currency: str
    subledger: MoneyOut
    control: MoneyOut
    difference: MoneyOut


class ValuationRowOut(Output):
    sku: str
    location: str
    basis: Literal["location", "item"]
    units: int
    value: MoneyOut
    average: MoneyOut


class LocationValueOut(Output):
    location: str
    currency: str
    units: int
    value: MoneyOut


class ValuationOut(Output):
    rows: list[ValuationRowOut]
    locations: list[LocationValueOut]
    reconciliation: list[InventoryCheckOut]


class TrueUpIn(Input):
    account: AccountCode = Field(
        description="the account inventory adjustments go to (not the inventory account)"
    )
    posted_on: date | None = Field(default=None, description="the entries' day; today when left out")


class TrueUpEntryOut(Output):
    currency: str
    amount: MoneyOut = Field(
        description="posted to the inventory account: above zero a debit, below zero a credit"
    )
    account: str
    entry_id: uuid.UUID


class TrueUpOut(Output):
    entries: list[TrueUpEntryOut]


class CostingPolicyOut(Output):
    by_location: bool
    items: dict[str, bool]


class CostingPolicyIn(Input):
    by_location: bool


class ItemCostingPolicyIn(Input):
    by_location: bool | None = Field(description="true: per location; false: per item; null: as every item")


class SeededLocationOut(Output):
    location: str
    units: int
    value: MoneyOut
    average: MoneyOut


class SwitchedItemOut(Output):
    sku: str
    by_location: bool
    units: int
    value: MoneyOut
    locations: list[SeededLocationOut]


class PolicyChangeOut(Output):
    policy: CostingPolicyOut
    switched: list[SwitchedItemOut]

    @classmethod
    def of(cls, change: PolicyChange) -> PolicyChangeOut:
        def money(minor: int, currency: str) -> MoneyOut:
            return MoneyOut.of(Money.from_minor(minor, currency))

        return cls(
            policy=CostingPolicyOut.model_validate(change.policy),
            switched=[
                SwitchedItemOut(
                    sku=s.sku,
                    by_location=s.by_location,
                    units=s.units,
                    value=MoneyOut.of(s.value),
                    locations=[
                        SeededLocationOut(
                            location=code,
                            units=state.units,
                            value=money(state.value_minor, s.value.currency),
                            average=money(state.average_minor, s.value.currency),
                        )
                        for code, state in sorted(s.locations.items())
                    ],
                )
                for s in change.switched
            ],
        )

"""An example Ordersmith plugin: a PO-box hold rule, a flat-rate tax provider for one region and an `order.placed`
subscriber. Settings come from the environment (read once, when the plugin registers)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ordersmith.kernel.events import Event
from ordersmith.kernel.money import Money
from ordersmith.orders.rules import Hold, HoldView
from ordersmith.platform.plugins import Registry
from ordersmith.pricing.rules import ShipTo, TaxRate

# "PO Box 12", "P.O. Box 12", "POB 12", "Post Office Box 12", "Postfach 12"
PO_BOX = re.compile(r"\b(p\.?\s*o\.?\s*b(ox)?|post\s+office\s+box|postfach)\b\.?\s*\d", re.IGNORECASE)


@dataclass(frozen=True)
class PoBoxRule:
    """Hold an order above `limit` that ships to a PO box: a parcel carrier cannot deliver there, and a large
    order to one is a common fraud pattern."""

    limit: Decimal

    def __call__(self, order: HoldView) -> Hold | None:
        boxes = [s.ref for s in order.ship_tos if PO_BOX.search(f"{s.line1} {s.line2}")]
        if not boxes or order.total <= Money(self.limit, order.currency):
            return None
        return Hold(
            "example:po_box", f"{order.total} to a PO box (ship-to {', '.join(boxes)}), over {self.limit}"
        )


@dataclass(frozen=True)
class FlatRegionTax:
    """One flat rate for one region (`country-region`), on goods and shipping; elsewhere None (not mine)."""

    country: str
    region: str
    flat_rate: Decimal

    def rate(self, ship_to: ShipTo, tax_class: str) -> TaxRate | None:  # the TaxProvider interface
        if ship_to.country != self.country or ship_to.region != self.region:
            return None  # not this provider's: the next provider, or Ordersmith's own table, answers
        return TaxRate(country=self.country, region=self.region, rate=self.flat_rate, on_shipping=True,
                       name=f"{self.country}-{self.region} flat")  # fmt: skip


@dataclass(frozen=True)
class PlacedOrdersFile:
    """Appends `<event id> <order number>` for each placed order (delivery is at least once: a line may repeat)."""

    path: Path

    def __call__(self, event: Event) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(f"{event.id} {event.payload['number']}\n")


def register(registry: Registry) -> None:
    country, _, region = os.environ.get("EXAMPLE_TAX_REGION", "US-NY").upper().partition("-")
    registry.add_hold_rule("po_box", PoBoxRule(Decimal(os.environ.get("EXAMPLE_PO_BOX_LIMIT", "250.00"))))
    registry.add_tax_provider(
        "flat_region", FlatRegionTax(country, region, Decimal(os.environ.get("EXAMPLE_TAX_RATE", "0.04")))
    )
    registry.subscribe(
        "order.placed",
        PlacedOrdersFile(Path(os.environ.get("EXAMPLE_ORDERS_FILE", "var/example-placed-orders.txt"))),
    )

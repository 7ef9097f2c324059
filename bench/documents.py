"""Document rendering speed: packing slips per second (5 lines, a gift message, two barcodes and a QR code) and
the time of one 200-stop pick list, on one core. No database.

    python -m bench.documents [--seconds 10]

Prints one figure per line (`name: value unit`) and a summary line.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, date, datetime

from ordersmith.fulfillment.documents import (
    DocumentLine,
    PackingSlip,
    Party,
    PickList,
    PickStop,
    ToteAllocation,
    packing_slip_pdf,
    pick_list_pdf,
)


def _party(name: str) -> Party:
    return Party(
        name=name,
        lines=("12 Analytical Row",),
        city="Portland",
        region="OR",
        postal_code="97201",
        country="US",
    )


def _slip(number: int) -> PackingSlip:
    lines = tuple(
        DocumentLine(
            line_no=n,
            sku=f"SKU-{n:04d}",
            name=f"Walnut desk organiser no. {n}",
            quantity=n,
            personalization={"Engraving": "A.L."} if n == 1 else {},
        )
        for n in range(1, 6)
    )
    return PackingSlip(
        retailer=_party("Northwind Goods"),
        order_number=str(100000 + number),
        ordered_on=date(2026, 3, 4),
        shipment_number=f"S-{100000 + number}-1",
        ship_to=_party("Zoë Łukasiewicz"),
        lines=lines,
        gift_message="Happy birthday! Love, Ada",
        return_instructions="Return unworn items within 30 days in their original box.",
        returns_url=f"https://shop.example/returns?order={100000 + number}",
        returns_code=f"R-{number}",
    )


def _pick_list() -> PickList:
    stops = tuple(
        PickStop(
            sequence=n,
            bin=f"A-{n:03d}-2",
            sku=f"SKU-{n:04d}",
            name=f"Ceramic mug, speckled glaze no. {n}",
            quantity=2,
            allocations=(ToteAllocation(f"T-{n % 24:02d}", str(100000 + n), f"S-{100000 + n}-1", 2),),
            zone="A",
            aisle=str(n // 20),
            bay=str(n % 20),
            level="2",
        )
        for n in range(1, 201)
    )
    return PickList(
        wave_number="W-2041", location="Main DC", created_at=datetime(2026, 3, 4, 9, tzinfo=UTC), stops=stops
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    packing_slip_pdf(_slip(0))  # warm caches (fonts, barcode and QR patterns are per value, so not shared)
    rendered, started = 0, time.perf_counter()
    while time.perf_counter() - started < args.seconds:
        rendered += 1
        packing_slip_pdf(_slip(rendered))
    slips_per_second = rendered / (time.perf_counter() - started)
    started = time.perf_counter()
    pick_list_pdf(_pick_list())
    pick_list_s = time.perf_counter() - started
    print(f"packing_slips: {slips_per_second:.1f} slips/s")
    print(f"pick_list_200_stops: {pick_list_s:.2f} s")
    print(
        f"summary: {slips_per_second:.1f} packing slips/s, 200-stop pick list in {pick_list_s:.2f} s (one core)"
    )


if __name__ == "__main__":
    main()

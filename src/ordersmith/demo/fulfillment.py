"""Demo warehouse: where each location ships from (its dock, with the sandbox carrier), bins along a walk in the
three warehouses and the stores, and each stocked item's primary pick bin, so pick lists come out in walk order."""

from __future__ import annotations

from ordersmith.catalog import service as catalog
from ordersmith.demo._framework import DemoReport, loader
from ordersmith.demo.catalog import DEMO_LOCATIONS
from ordersmith.fulfillment import service as fulfillment
from ordersmith.platform.db import Actor, Database
from ordersmith.platform.settings import Settings

_DOCKS = {
    "DC-EAST": ("East distribution center", "200 Harbor Way", "Boston", "MA", "02110", "pdf"),
    "DC-WEST": ("West distribution center", "4100 Logistics Pkwy", "Reno", "NV", "89502", "zpl"),
    "MKT-3PL": ("Marketplace fulfilment", "77 Commerce Dr", "Memphis", "TN", "38118", "zpl"),
    "STORE-NYC": ("New York store", "350 5th Ave", "New York", "NY", "10118", "pdf"),
    "STORE-SF": ("San Francisco store", "865 Market St", "San Francisco", "CA", "94103", "pdf"),
}
_PER_AISLE = 24  # bins per aisle: 4 bays x 3 levels, both sides of the aisle walked in one pass


def _skus(db: Database) -> list[str]:
    uow = db.unit_of_work(Actor.system("demo"))
    found, cursor = [], None
    while True:
        page = catalog.list_items(uow, limit=200, cursor=cursor)
        found += [item.sku for item in page.items if item.keeps_stock]
        cursor = page.next_cursor
        if cursor is None:
            return found


@loader("fulfillment: docks, bins and pick bins", stage=45)
def _warehouse(db: Database, settings: Settings, report: DemoReport) -> None:
    uow = db.unit_of_work(Actor.system("demo"))
    if fulfillment.list_bins(uow, location="DC-EAST", limit=1).items:
        return
    skus = _skus(db)
    with uow:  # one transaction per load: every dock, bin and assignment, or none
        for code, *_ in DEMO_LOCATIONS:
            name, line1, city, region, postal, label_format = _DOCKS[code]
            fulfillment.set_dock(
                uow,
                location=code,
                label_format=label_format,
                address={
                    "name": name,
                    "company": settings.retailer_name,
                    "line1": line1,
                    "city": city,
                    "region": region,
                    "postal_code": postal,
                    "country": "US",
                    "phone": "800-555-0100",
                },
            )
            for n, sku in enumerate(skus):
                aisle, slot = divmod(n, _PER_AISLE)
                bay, level = divmod(slot, 3)
                code_of_bin = f"{chr(65 + aisle // 10)}{aisle % 10 + 1:02d}-{bay + 1:02d}-{level + 1}"
                fulfillment.put_bin(
                    uow,
                    location=code,
                    code=code_of_bin,
                    walk_sequence=n * 10,
                    zone=code_of_bin[0],
                    aisle=code_of_bin[:3],
                    bay=f"{bay + 1:02d}",
                    level=str(level + 1),
                )
                fulfillment.assign_bin(uow, location=code, sku=sku, bin_code=code_of_bin)
    report.say(f"docks for {len(DEMO_LOCATIONS)} locations (sandbox carrier), {len(skus)} pick bins at each")

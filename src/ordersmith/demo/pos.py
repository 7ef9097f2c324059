"""Demo store POS: the two demo stores' tills (their POS channel `store-pos`, their own addresses so a sale pays the
store's tax) with a register each, so `store@…` can ring up sales at `/pos` right away. Adds only what is missing."""

from __future__ import annotations

from ordersmith.channels.pos import service as pos
from ordersmith.demo._framework import DemoReport, loader
from ordersmith.kernel.errors import NotFound
from ordersmith.platform.db import Actor, Database
from ordersmith.platform.settings import Settings

_STORES = {  # location: (name, street, city, state, postal code, register)
    "STORE-NYC": ("Demo Outfitters New York", "350 5th Ave", "New York", "NY", "10118", "NYC-1"),
    "STORE-SF": ("Demo Outfitters San Francisco", "865 Market St", "San Francisco", "CA", "94103", "SF-1"),
}


@loader("pos: the stores' tills and a register each", stage=60)
def _tills(db: Database, settings: Settings, report: DemoReport) -> None:
    uow = db.unit_of_work(Actor.system("demo"))
    for location, (name, line1, city, region, postal_code, register) in _STORES.items():
        try:
            pos.get_store(uow, location=location, principal=None)
        except NotFound:
            pos.put_store(
                uow,
                location=location,
                settings=pos.StoreSettings(
                    channel="store-pos",
                    name=name,
                    line1=line1,
                    city=city,
                    region=region,
                    postal_code=postal_code,
                    country="US",
                    receipt_footer="Returns within 60 days with this receipt.",
                ),
            )
            report.say(f"store {location}: its till sells through store-pos")
        if not pos.list_registers(uow, principal=None, store=location):
            pos.create_register(uow, code=register, store=location, name=f"{name}, front till")
            report.say(f"register {register} at {location}")

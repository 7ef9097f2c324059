"""Custom fields in the services (ADR 0051): exports carry them as typed columns in every format, and a change of
definitions made through one process is seen by another at once (the `config` version), on SQLite and
PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from ordersmith.catalog import service as catalog
from ordersmith.customers import service as customers
from ordersmith.customers.service import Details
from ordersmith.data.exports import service as exports
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.orders import service as orders
from ordersmith.platform import custom_fields, policies
from ordersmith.platform.db import Actor, Database, UnitOfWork
from tests.builders import channel, make_order_shop, order_request
from tests.integration.test_exports import read_csv, read_parquet, read_xlsx


def test_exports_carry_custom_fields_as_typed_columns(uow: UnitOfWork, tmp_path: Path) -> None:
    # given fields on items, customers and orders, and records with values
    make_order_shop(uow)
    custom_fields.create_definition(uow, kind="item", name="season", label="Season", type="choice",
                                    choices=["spring", "autumn"])  # fmt: skip
    custom_fields.create_definition(uow, kind="item", name="gsm", label="Weight", type="number")
    custom_fields.create_definition(uow, kind="customer", name="vip", label="VIP", type="boolean")
    custom_fields.create_definition(uow, kind="order", name="due_on", label="Due", type="date")
    catalog.create_item(uow, sku="COAT", name="Coat", custom_fields={"season": "autumn", "gsm": 380})
    ann = customers.create_customer(uow, details=Details(first_name="Ann"), custom_fields={"vip": True})
    placed = orders.place_order(uow, channel=channel(uow, "web"), request=order_request(("TEE", 1))).order
    orders.set_order_custom_fields(uow, ref=placed.number, values={"due_on": "2027-01-31"})
    for format, reader in (("csv", read_csv), ("xlsx", read_xlsx), ("parquet", read_parquet)):
        # when each kind is exported
        found = {}
        for kind in ("items", "customers", "orders"):
            path = tmp_path / f"{kind}.{format}"
            exports.stream_to_file(uow.db, kind=kind, format=format, filters={}, path=path)
            rows = reader(path)
            found[kind] = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
        # then the values are columns of their own, empty where a record has none
        coat = next(r for r in found["items"] if r["sku"] == "COAT")
        assert (coat["custom_season"], coat["custom_gsm"]) == ("autumn", "380"), format
        assert next(r for r in found["items"] if r["sku"] == "TEE")["custom_gsm"] == ""
        assert next(r for r in found["customers"] if r["number"] == ann.number)["custom_vip"] == "true"
        due = next(r for r in found["orders"] if r["number"] == placed.number)["custom_due_on"]
        assert due[:10] == "2027-01-31" and due[10:] in ("", "T00:00:00+00:00"), (
            format
        )  # XLSX keeps a datetime


def test_a_new_definition_is_seen_at_once_by_another_process(db: Database) -> None:
    # given two processes on one database (two Database objects, two caches), the second having cached the fields
    other = Database(db.url, pool_size=2)
    try:
        here = db.unit_of_work(Actor.system("test"))
        there = other.unit_of_work(Actor.system("test"))
        assert custom_fields.check_values(there, kind="item", values={}, creating=True) == {}
        # when a required field is defined through the first
        custom_fields.create_definition(
            here, kind="item", name="brand", label="Brand", type="text", required=True
        )
        # then the second refuses an item without it on its very next use, and accepts one with it
        with pytest.raises(ValidationFailed) as refused:
            catalog.create_item(there, sku="X1", name="X")
        assert [e.field for e in refused.value.errors] == ["custom_fields.brand"]
        made = catalog.create_item(there, sku="X2", name="X", custom_fields={"brand": "Acme"})
        assert custom_fields.read_values(there, kind="item", record_id=made.id) == {"brand": "Acme"}
    finally:
        other.dispose()


def test_a_policy_changed_through_one_process_applies_in_another_at_once(db: Database) -> None:
    # given a second process that has read (and cached) the return policy
    other = Database(db.url, pool_size=2)
    try:
        here, there = db.unit_of_work(Actor.system("test")), other.unit_of_work(Actor.system("test"))
        assert orders.return_policy(there).window.days == 60
        assert orders.hold_policy(there, currency="USD", channel="web") is not None
        # when the first sets a 14-day window and stops screening USD
        policies.set_policy(
            here, key="orders.returns", value={"window_days": 14, "restocking_fee_percent": 5}
        )
        policies.set_policy(here, key="orders.hold_thresholds", value={"thresholds": []})
        # then the second applies both on its next use
        assert orders.return_policy(there).window.days == 14
        assert orders.return_policy(there).restocking_fee_percent == 5
        assert orders.hold_policy(there, currency="USD", channel="web") is None
    finally:
        other.dispose()

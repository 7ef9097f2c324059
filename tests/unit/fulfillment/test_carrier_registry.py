"""`carriers_from`: a carrier appears only when it is configured, and the configuration never prints a key."""

from __future__ import annotations

from pathlib import Path

from ordersmith.fulfillment.carriers import CarrierConfig, carriers_from
from ordersmith.fulfillment.carriers.easypost import EasyPostCarrier
from ordersmith.fulfillment.carriers.sandbox import SandboxCarrier
from ordersmith.fulfillment.carriers.shippo import ShippoCarrier


def test_only_configured_carriers_are_built(tmp_path: Path) -> None:
    # given the sandbox and EasyPost configured, Shippo not
    config = CarrierConfig(sandbox_path=str(tmp_path / "carrier.db"), easypost_api_key="EZTK_key")
    # when the carriers are built
    carriers = carriers_from(config)
    # then there are exactly those two, by name
    assert sorted(carriers) == ["easypost", "sandbox"]
    assert isinstance(carriers["sandbox"], SandboxCarrier)
    assert isinstance(carriers["easypost"], EasyPostCarrier)


def test_nothing_configured_builds_no_carrier() -> None:
    assert carriers_from(CarrierConfig()) == {}


def test_the_configuration_and_the_adapters_never_print_a_key() -> None:
    config = CarrierConfig(easypost_api_key="EZTK_key", shippo_api_key="shippo_live_key")
    carriers = carriers_from(config)
    assert repr(config) == "CarrierConfig(configured=['easypost', 'shippo'], timeout_s=10.0)"
    assert isinstance(carriers["shippo"], ShippoCarrier)
    assert "key" not in repr(carriers["shippo"]) + repr(carriers["easypost"])

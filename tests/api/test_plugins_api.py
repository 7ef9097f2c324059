"""The example plugin (examples/ordersmith-example-plugin) loaded through ORDERSMITH_PLUGINS, through the real API:
its hold rule holds a large order to a PO box, its tax provider taxes its region (the built-in table everywhere
else), its subscriber sees every placed order; admins list the plugins, nobody else may."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ordersmith import plugin_host
from ordersmith.platform import plugins
from ordersmith.platform.settings import Settings
from tests.api.conftest import bearer, login
from tests.builders import make_api_key, make_order_shop

EXAMPLE_SRC = Path(__file__).resolve().parents[2] / "examples" / "ordersmith-example-plugin" / "src"
NY = {"ref": "main", "name": "Ann Buyer", "line1": "PO Box 4411", "city": "Albany", "region": "NY",
      "postal_code": "12201", "country": "US", "method": "ground"}  # fmt: skip
CA = {"ref": "main", "name": "Ann Buyer", "line1": "P.O. Box 12", "city": "San Francisco", "region": "CA",
      "postal_code": "94105", "country": "US", "method": "ground"}  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def example_plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The example plugin importable without installing it, its subscriber writing to a file of this module's; the
    plugins unloaded again after the module."""
    placed = tmp_path_factory.mktemp("example-plugin") / "placed.txt"
    sys.path.insert(0, str(EXAMPLE_SRC))
    os.environ["EXAMPLE_ORDERS_FILE"] = str(placed)
    plugins.reset()
    try:
        yield placed
    finally:
        os.environ.pop("EXAMPLE_ORDERS_FILE", None)
        sys.path.remove(str(EXAMPLE_SRC))
        plugin_host.start(Settings(plugins="", plugins_entry_points=False, _env_file=None))  # type: ignore[call-arg]


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url,
        vault_database_url=f"sqlite:///{tmp_path}/vault.db",
        sandbox_gateway_path=str(tmp_path / "sandbox_gateway.db"),
        sandbox_carrier_path=str(tmp_path / "sandbox_carrier.db"),
        sandbox_wallet_path=str(tmp_path / "sandbox_wallet.db"),
        env="test",
        relay_poll_interval_ms=50,
        plugins="ordersmith_example_plugin",
        plugins_entry_points=False,
        plugin_hold_budget_ms=5000,  # what is tested here is the rule's effect, not its time on a loaded machine
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def web_key(admin_db) -> str:  # type: ignore[no-untyped-def]
    make_order_shop(admin_db)
    return make_api_key(admin_db, scopes=["orders:read", "orders:write"], channel="web", name="web").secret


def _order(client: TestClient, key: str, ship_to: dict[str, str], lamps: int) -> dict[str, Any]:
    body = {"lines": [{"sku": "LAMP", "quantity": lamps}], "ship_tos": [ship_to]}
    response = client.post("/api/v1/orders", json=body, headers=bearer(key))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_the_example_hold_rule_holds_a_large_order_to_a_po_box_and_its_tax_provider_taxes_new_york(
    client: TestClient, web_key: str
) -> None:
    # when 4 lamps (338.00 with shipping and tax) go to a PO box in New York, over the rule's 250.00
    order = _order(client, web_key, NY, lamps=4)
    # then the plugin's rule holds it, naming why
    assert order["status"] == "on_hold"
    assert [(h["reason"], h["detail"]) for h in order["holds"]] == [
        ("example:po_box", "338.00 USD to a PO box (ship-to main), over 250.00")
    ]
    # and its flat 4 % New York rate taxes goods and shipping (the shop's own table has only California)
    assert order["total"] == {"amount": "338.00", "currency": "USD"}  # 320 + 5 + 12.80 + 0.20
    taxes = [(a["source"], a["amount"]) for a in order["pricing"]["adjustments"] if a["kind"] == "tax"]
    assert sorted(taxes) == [("US-NY flat", "0.20"), ("US-NY flat", "12.80")]


def test_below_the_limit_or_outside_the_region_the_built_in_rules_apply(
    client: TestClient, web_key: str
) -> None:
    # when 2 lamps (171.60 with shipping and tax) go to a PO box in New York: under the limit
    small = _order(client, web_key, NY, lamps=2)
    # then nothing holds it, and the plugin's rate still taxes it
    assert small["status"] == "released" and small["holds"] == []
    assert small["total"]["amount"] == "171.60"  # 160 + 5 + 6.40 + 0.20
    # when 4 lamps go to a PO box in California: the plugin has no rate there, the built-in 10 % on goods applies
    california = _order(client, web_key, CA, lamps=4)
    assert california["status"] == "on_hold" and [h["reason"] for h in california["holds"]] == [
        "example:po_box"
    ]
    assert california["total"]["amount"] == "357.00"  # 320 + 5 + 32.00 (no tax on shipping in the table)


def test_the_example_subscriber_sees_each_placed_order(
    client: TestClient, web_key: str, example_plugin: Path
) -> None:
    # when an order is placed
    order = _order(client, web_key, NY, lamps=1)
    # then, after commit, the subscriber appends its number (the relay delivers within moments)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if example_plugin.exists() and order["number"] in example_plugin.read_text().split():
            break
        time.sleep(0.05)
    assert order["number"] in example_plugin.read_text().split()


def test_an_admin_lists_the_plugins_and_what_they_contribute(client: TestClient, admin_db) -> None:  # type: ignore[no-untyped-def]
    # given an admin signed in
    login(client, admin_db)
    # when they list the plugins
    response = client.get("/api/v1/plugins")
    # then the example plugin is loaded with its three contributions
    assert response.status_code == 200, response.text
    [example] = response.json()["items"]
    assert (example["name"], example["source"], example["status"], example["error"]) == (
        "ordersmith_example_plugin",
        "setting",
        "loaded",
        None,
    )
    assert [(c["kind"], c["name"]) for c in example["contributions"]] == [
        ("hold_rule", "po_box"),
        ("tax_provider", "flat_region"),
        ("subscriber", "order.placed"),
    ]
    deliveries = client.get("/api/v1/plugins/deliveries?status=dead")
    assert deliveries.status_code == 200 and deliveries.json() == {"items": [], "next_cursor": None}
    bad = client.get("/api/v1/plugins/deliveries?status=lost")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "status"


@pytest.mark.parametrize("role", ["manager", "agent", "warehouse", "accountant", "marketing", "readonly"])
def test_only_admins_list_plugins(client: TestClient, admin_db, role: str) -> None:  # type: ignore[no-untyped-def]
    # given a staff member who is not an admin
    login(client, admin_db, role=role)
    # when they ask for the plugins, then they are refused
    assert client.get("/api/v1/plugins").status_code == 403
    assert client.get("/api/v1/plugins/deliveries").status_code == 403

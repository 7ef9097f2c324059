"""Loading plugins in isolation and the guards around each extension point (docs/guides/plugins.md)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

from ordersmith import plugin_host
from ordersmith.channels import connectors
from ordersmith.channels.connectors.generic import GenericConnector
from ordersmith.finance import rules as finance_rules
from ordersmith.fulfillment.carriers import CarrierConfig, carriers_from
from ordersmith.fulfillment.carriers.sandbox import SandboxCarrier
from ordersmith.kernel.money import Money
from ordersmith.orders import rules as order_rules
from ordersmith.payments.gateways import build_gateway
from ordersmith.payments.gateways.sandbox import SandboxGateway, SandboxProcessor
from ordersmith.platform import plugins
from ordersmith.platform.settings import Settings
from ordersmith.pricing import rules as pricing_rules
from ordersmith.pricing.service.quoting import PluginTaxes

HERE = "tests.unit.test_plugins"


# --- plugins used by these tests ---------------------------------------------------------------------------------


def hold_big(order: order_rules.HoldView) -> order_rules.Hold | None:
    return (
        order_rules.Hold("test:big", "big") if order.total > Money("100.00", order.total.currency) else None
    )


class Good:
    @staticmethod
    def register(registry: plugins.Registry) -> None:
        registry.add_hold_rule("big", hold_big)
        registry.subscribe("order.*", lambda event: None)


def as_function(registry: plugins.Registry) -> None:
    registry.add_hold_rule("function_rule", hold_big)


class Clashing:
    @staticmethod
    def register(registry: plugins.Registry) -> None:
        registry.add_hold_rule("big", hold_big)  # Good's name


not_a_plugin = 42


class HalfRegistered:
    @staticmethod
    def register(registry: plugins.Registry) -> None:
        registry.add_hold_rule("half", hold_big)
        raise RuntimeError("then fails")


class ShopConnector(GenericConnector):
    kind = "example_shop"


class Everything:
    """One of each extension point the registries below take."""

    @staticmethod
    def register(registry: plugins.Registry) -> None:
        registry.add_connector("example_shop", ShopConnector())
        registry.add_connector("not_a_connector", object())
        registry.add_carrier("plugin_post", lambda: SandboxCarrier(":memory:"))
        registry.add_carrier("broken_post", _raise)
        registry.add_carrier("odd_post", lambda: object())
        registry.add_payment_gateway(
            "plugin_pay", lambda settings, reveal: SandboxGateway(SandboxProcessor(":memory:"), reveal)
        )
        registry.add_posting_rule("order.shipped", _raising_rule)
        registry.add_posting_rule("gift_card.issued", _gift_card_rule)


def _raise() -> Any:
    raise ConnectionError("no carrier today")


def _raising_rule(payload: Any, facts: Any, mappings: Any) -> Any:
    raise KeyError("a field the plugin expected")


def _gift_card_rule(payload: Any, facts: Any, mappings: Any) -> finance_rules.Posting:
    lines = (finance_rules.Line("1000", debit_minor=500), finance_rules.Line("2400", credit_minor=500))
    return finance_rules.Posting("gift_card.issued", "USD", lines, "gift card sold")


@pytest.fixture(autouse=True)
def no_plugins_after() -> Iterator[None]:
    plugins.reset()
    yield
    plugin_host.start(Settings(plugins="", plugins_entry_points=False, _env_file=None))  # type: ignore[call-arg]


def _settings(references: str, **extra: Any) -> Settings:
    return Settings(plugins=references, plugins_entry_points=False, _env_file=None, **extra)  # type: ignore[call-arg]


# --- loading -----------------------------------------------------------------------------------------------------


def test_each_plugin_loads_on_its_own_and_a_failure_is_listed_not_raised() -> None:
    # when good plugins and broken ones load together
    loaded = plugin_host.start(_settings(",".join([
        f"{HERE}:Good", f"{HERE}:as_function", f"{HERE}:Clashing", f"{HERE}:not_a_plugin", f"{HERE}:HalfRegistered",
        "ordersmith_missing_plugin", f"{HERE}:no_such_attribute",
    ])))  # fmt: skip
    # then each is listed with its outcome, and only the loaded ones contribute
    assert [(p.name, p.status, (p.error or "").split(":")[0]) for p in loaded.plugins] == [
        ("Good", "loaded", ""),
        ("as_function", "loaded", ""),
        ("Clashing", "failed", "PluginError"),
        ("not_a_plugin", "failed", "PluginError"),
        ("HalfRegistered", "failed", "RuntimeError"),
        ("ordersmith_missing_plugin", "failed", "ModuleNotFoundError"),
        ("no_such_attribute", "failed", "AttributeError"),
    ]
    assert [(c.plugin, c.name) for c in plugins.contributions("hold_rule")] == [
        ("Good", "big"),
        ("as_function", "function_rule"),
    ]
    assert [c.name for c in plugins.contributions("subscriber")] == ["order.*"]


def test_installed_entry_points_are_discovered(monkeypatch: pytest.MonkeyPatch) -> None:
    # given an installed distribution declaring an ordersmith.plugins entry point
    found = [EntryPoint(name="good", value=f"{HERE}:Good", group=plugins.ENTRY_POINT_GROUP)]
    monkeypatch.setattr(
        plugins, "entry_points", lambda group: found if group == plugins.ENTRY_POINT_GROUP else []
    )
    # when the plugins load with entry points on
    loaded = plugins.load("", use_entry_points=True)
    # then it is loaded under its entry point's name
    assert [(p.name, p.source, p.reference, p.status) for p in loaded.plugins] == [
        ("good", "entry_point", f"{HERE}:Good", "loaded")
    ]


def test_loading_happens_once_per_configuration() -> None:
    first = plugins.load(f"{HERE}:Good", use_entry_points=False)
    assert plugins.load(f"{HERE}:Good", use_entry_points=False) is first
    assert plugins.load("", use_entry_points=False).plugins == ()


def test_without_plugins_every_extension_point_is_an_empty_tuple() -> None:
    plugin_host.start(_settings(""))
    assert all(plugins.contributions(kind) == () for kind in plugins.KINDS)
    assert finance_rules.RULES == plugin_host._BUILT_IN_POSTING_RULES


# --- guards ------------------------------------------------------------------------------------------------------


def test_a_hold_rule_that_raises_runs_late_or_answers_nonsense_is_skipped_and_counted() -> None:
    contribution = plugins.Contribution("p", "hold_rule", "r", None)

    def slow() -> str:
        time.sleep(0.5)
        return "late"

    def raises() -> str:
        raise ValueError("bug")

    assert plugins.within_budget(contribution, lambda: "fine", budget_s=1, what="t") == "fine"
    started = time.monotonic()
    assert plugins.within_budget(contribution, slow, budget_s=0.05, what="t") is None
    assert time.monotonic() - started < 0.4
    assert plugins.within_budget(contribution, raises, budget_s=1, what="t") is None
    assert (contribution.calls, contribution.failures, contribution.timeouts) == (3, 2, 1)
    assert contribution.last_error == "ValueError: bug"
    # a hung call never keeps the process from exiting: the plugin threads are daemons
    import threading

    assert all(t.daemon for t in threading.enumerate() if t.name.startswith("ordersmith-plugin"))
    # a rule's answer is checked: a Hold with a usable reason, or None
    assert order_rules.plugin_hold(None) is None
    assert order_rules.plugin_hold(order_rules.Hold("ok:reason", "")) == order_rules.Hold(
        "ok:reason", "ok:reason"
    )
    for bad in ("not a hold", order_rules.Hold("Upper Case", "x"), order_rules.Hold("x" * 41, "x")):
        with pytest.raises((TypeError, ValueError)):
            order_rules.plugin_hold(bad)


class _Provider:
    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def rate(self, ship_to: pricing_rules.ShipTo, tax_class: str) -> Any:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_tax_providers_answer_in_order_and_the_table_answers_when_they_fail_or_pass() -> None:
    table = pricing_rules.TableTaxProvider(
        (pricing_rules.TaxRate("US", Decimal("0.1"), region="CA", name="CA"),)
    )
    ca = pricing_rules.ShipTo("main", "US", "ground", region="CA")
    flat = pricing_rules.TaxRate("US", Decimal("0.05"), region="CA", name="plugin")

    def taxes(*answers: Any) -> PluginTaxes:
        return PluginTaxes(
            tuple(
                plugins.Contribution("p", "tax_provider", f"t{n}", _Provider(a))
                for n, a in enumerate(answers)
            ),
            table,
        )

    assert taxes(flat).rate(ca, "standard") == flat
    assert taxes(None, flat).rate(ca, "standard") == flat  # None: not mine, the next one answers
    failing = taxes(ConnectionError("down"), "nonsense", pricing_rules.TaxRate("US", Decimal("1.5")))
    assert failing.rate(ca, "standard") == table.rates[0]  # every provider failed: the built-in table
    assert [(c.failures, (c.last_error or "").split(":")[0]) for c in failing.providers] == [
        (1, "ConnectionError"),
        (1, "TypeError"),
        (1, "ValueError"),
    ]


def test_posting_rule_overrides_replace_or_add_and_fall_back_to_the_built_in_rule_on_failure() -> None:
    built_in = finance_rules.RULES["order.shipped"]
    # when a plugin overrides order.shipped (with a rule that raises) and adds gift_card.issued
    plugin_host.start(_settings(f"{HERE}:Everything"))
    # then the new rule posts, and the failing override answers with the built-in rule's posting
    added = finance_rules.RULES["gift_card.issued"]({}, {}, {})
    assert added is not None and added.memo == "gift card sold"
    facts = {"currency": "USD", "merchandise": "10.00", "surcharges": "0.00", "discounts": "0.00", "shipping": "0.00",
             "tax": "0.00", "total": "10.00", "division": "web", "channel": "web", "jurisdiction": ""}  # fmt: skip
    mappings = {(kind, key): code for kind, key, code in finance_rules.DEFAULT_MAPPINGS}
    expected = built_in({}, facts, mappings)
    assert expected is not None and expected.rule == "order.shipped"
    assert finance_rules.RULES["order.shipped"]({}, facts, mappings) == expected
    [override] = [c for c in plugins.contributions("posting_rule") if c.name == "order.shipped"]
    assert override.failures == 1
    # and without plugins the built-in table is back
    plugin_host.start(_settings(""))
    assert finance_rules.RULES == plugin_host._BUILT_IN_POSTING_RULES


def test_plugin_connectors_carriers_and_gateways_join_the_registries(tmp_path: Path) -> None:
    # when a plugin brings a connector, carriers and a payment gateway
    plugin_host.start(_settings(f"{HERE}:Everything"))
    # then its connector kind can be created and resolved; a value that is not a Connector is left out
    assert connectors.kinds() == (
        "generic",
        "shopify",
        "woocommerce",
        "amazon",
        "ebay",
        "csv_sftp",
        "example_shop",
    )
    assert isinstance(connectors.for_kind("example_shop"), ShopConnector)
    with pytest.raises(KeyError):
        connectors.for_kind("not_a_connector")
    # and its carrier joins the configured ones; one whose factory raises or builds something else is skipped
    built = carriers_from(CarrierConfig(sandbox_path=str(tmp_path / "carrier.db")))
    assert sorted(built) == ["plugin_post", "sandbox"]
    # and the gateway is used when named; a name no plugin registered stops the start-up with a clear message
    gateway = build_gateway(_settings("", payment_gateway_plugin="plugin_pay"), reveal=lambda token: None)  # type: ignore[arg-type,return-value]
    assert isinstance(gateway, SandboxGateway)
    with pytest.raises(RuntimeError, match="no loaded plugin registered that gateway"):
        build_gateway(_settings("", payment_gateway_plugin="missing"), reveal=lambda token: None)  # type: ignore[arg-type,return-value]


def test_the_retry_job_is_scheduled_only_while_a_plugin_subscribes() -> None:
    from ordersmith.platform import jobs, plugin_deliveries

    plugin_host.start(_settings(f"{HERE}:Good"))
    assert plugin_deliveries.REDELIVER_SCHEDULE in jobs._schedules
    plugin_host.start(_settings(""))
    assert plugin_deliveries.REDELIVER_SCHEDULE not in jobs._schedules

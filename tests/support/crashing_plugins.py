"""Plugins that misbehave, for the isolation tests (docs/guides/plugins.md): every extension point they fill
raises or runs late, and some fail while loading."""

from __future__ import annotations

import time
from typing import Any

from ordersmith.kernel.events import Event
from ordersmith.orders.rules import Hold, HoldView
from ordersmith.platform.plugins import Registry


def raising_rule(order: HoldView) -> Hold | None:
    raise RuntimeError("the hold rule's own bug")


def slow_rule(order: HoldView) -> Hold | None:
    time.sleep(3)
    return Hold("crash:slow", "answered too late to count")


def nonsense_rule(order: HoldView) -> Any:
    return "hold it"  # not a Hold


class RaisingTax:
    def rate(self, ship_to: Any, tax_class: str) -> Any:
        raise ConnectionError("tax service unreachable")


def raising_subscriber(event: Event) -> None:
    raise RuntimeError(f"subscriber broke on {event.type}")


def register(registry: Registry) -> None:
    registry.add_hold_rule("raises", raising_rule)
    registry.add_hold_rule("slow", slow_rule)
    registry.add_hold_rule("nonsense", nonsense_rule)
    registry.add_tax_provider("raises", RaisingTax())
    registry.subscribe("order.placed", raising_subscriber)


class BrokenRegister:
    """Registers a rule that would hold every order, then raises: nothing of it may be kept."""

    @staticmethod
    def register(registry: Registry) -> None:
        registry.add_hold_rule(
            "hold_everything", lambda order: Hold("crash:everything", "should never apply")
        )
        raise ValueError("registration fails half-way")


broken_register = BrokenRegister()

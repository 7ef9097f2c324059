"""Plugins: discovery, isolated loading, and the registry of what each plugin contributes (docs/guides/plugins.md).

A plugin is any importable object with a `register(registry)` function (a module, a class, an instance) or a plain
callable taking the registry. It is found through the `ordersmith.plugins` entry-point group of installed
distributions and through `ORDERSMITH_PLUGINS` ("module:object,…"). Loading happens once per process at start-up,
never per request.

Invariant: a plugin never takes the service down. An import error or a `register` that raises is logged and the
plugin is listed as failed, with nothing it registered kept (registration is all or nothing); at run time each
contribution is called through a guard that catches, logs and counts its failures (and, for hold rules, a time
budget), so the caller goes on as if the plugin had nothing to say. With no plugin configured the contributions
are empty tuples: the hot paths test one tuple and do nothing else.
"""

from __future__ import annotations

import importlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Literal, TypeVar

from ordersmith.kernel.events import Event
from ordersmith.platform.settings import Settings

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "ordersmith.plugins"
Kind = Literal[
    "hold_rule", "tax_provider", "carrier", "payment_gateway", "connector", "posting_rule", "subscriber"
]
KINDS: tuple[Kind, ...] = (
    "hold_rule", "tax_provider", "carrier", "payment_gateway", "connector", "posting_rule", "subscriber",
)  # fmt: skip
EventHandler = Callable[[Event], None]
T = TypeVar("T")


class PluginError(Exception):
    """A plugin registered something unusable (a duplicate name, a value of the wrong shape)."""


@dataclass
class Contribution:
    """One thing a plugin added, with its run-time record (per process)."""

    plugin: str
    kind: Kind
    name: str  # the hold rule's, carrier's, gateway's name; the connector kind; the event type or pattern
    value: Any
    calls: int = 0
    failures: int = 0
    timeouts: int = 0
    last_error: str | None = None

    def failed(self, error: str, *, timeout: bool = False) -> None:
        with _lock:
            self.failures += 1
            self.timeouts += 1 if timeout else 0
            self.last_error = error[:500]


@dataclass(frozen=True)
class PluginInfo:
    name: str
    source: str  # "entry_point" | "setting"
    reference: str  # module:object
    status: str  # "loaded" | "failed"
    error: str | None
    contributions: tuple[Contribution, ...]


class Registry:
    """What a plugin's `register(registry)` receives. Each method records one contribution; the interfaces are
    documented in docs/guides/plugins.md and typed where they live (named in each method)."""

    def __init__(self, plugin: str) -> None:
        self.plugin = plugin
        self.added: list[Contribution] = []

    def _add(self, kind: Kind, name: str, value: Any) -> None:
        if not isinstance(name, str) or not name.strip() or len(name) > 100 or "\x00" in name:
            raise PluginError(f"a {kind} needs a name of 1 to 100 characters")
        if len(self.plugin) > 100:
            raise PluginError(
                "a plugin's name (entry point, or the reference's last part): at most 100 characters"
            )
        if any(c.kind == kind and c.name == name for c in self.added):  # a subscriber: once per pattern
            raise PluginError(f"{kind} {name!r} registered twice")
        self.added.append(Contribution(self.plugin, kind, name, value))

    def add_hold_rule(self, name: str, rule: Callable[[Any], Any]) -> None:
        """`rule(order: orders.rules.HoldView) -> orders.rules.Hold | None` (`orders.rules.HoldRule`): pure and
        fast, it runs inside the order's write under a time budget."""
        if not callable(rule):
            raise PluginError(f"hold rule {name!r} is not callable")
        self._add("hold_rule", name, rule)

    def add_tax_provider(self, name: str, provider: Any) -> None:
        """A `pricing.rules.TaxProvider`: `rate(ship_to, tax_class) -> TaxRate | None` (None: not mine, the next
        provider or the built-in table answers)."""
        if not callable(getattr(provider, "rate", None)):
            raise PluginError(f"tax provider {name!r} has no rate(ship_to, tax_class)")
        self._add("tax_provider", name, provider)

    def add_carrier(self, name: str, factory: Callable[[], Any]) -> None:
        """`factory() -> fulfillment.carriers.Carrier`, called when the carriers are built."""
        if not callable(factory):
            raise PluginError(f"carrier {name!r} needs a factory")
        self._add("carrier", name, factory)

    def add_payment_gateway(self, name: str, factory: Callable[[Any, Any], Any]) -> None:
        """`factory(settings, reveal) -> payments.gateways.Gateway`; chosen by ORDERSMITH_PAYMENT_GATEWAY_PLUGIN."""
        if not callable(factory):
            raise PluginError(f"payment gateway {name!r} needs a factory")
        self._add("payment_gateway", name, factory)

    def add_connector(self, kind: str, connector: Any) -> None:
        """A `channels.connectors.Connector` for connectors of `kind` (a new platform; built-in kinds stay)."""
        self._add("connector", kind, connector)

    def add_posting_rule(self, event_type: str, rule: Callable[..., Any]) -> None:
        """`finance.rules.PostingRule` for `event_type`: replaces the built-in rule or adds one."""
        if not callable(rule):
            raise PluginError(f"posting rule for {event_type!r} is not callable")
        self._add("posting_rule", event_type, rule)

    def subscribe(self, pattern: str, handler: EventHandler) -> None:
        """`handler(event)` after commit for events matching `pattern` ("order.placed", "order.*", "*"). One that
        raises is retried with back-off and dead-lettered, on its own: other subscribers never wait for it."""
        if not callable(handler):
            raise PluginError(f"subscriber for {pattern!r} is not callable")
        self._add("subscriber", pattern, handler)


@dataclass(frozen=True)
class Loaded:
    config: tuple[str, bool]
    plugins: tuple[PluginInfo, ...] = ()
    by_kind: dict[str, tuple[Contribution, ...]] = field(default_factory=dict)

    def of(self, kind: Kind) -> tuple[Contribution, ...]:
        return self.by_kind.get(kind, ())


_lock = threading.Lock()
_loaded = Loaded(config=("", False))


def references(setting: str) -> list[str]:
    return [part.strip() for part in setting.split(",") if part.strip()]


def _discovered(use_entry_points: bool, setting: str) -> list[tuple[str, str, str, Callable[[], Any]]]:
    found: list[tuple[str, str, str, Callable[[], Any]]] = []
    if use_entry_points:
        try:
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                found.append((ep.name, "entry_point", ep.value, ep.load))
        except Exception:  # a broken distribution's metadata must not stop the start-up either
            log.exception("listing the %s entry points failed", ENTRY_POINT_GROUP)
    for reference in references(setting):
        found.append((reference.rpartition(":")[2] or reference, "setting", reference, _importer(reference)))
    return found


def _importer(reference: str) -> Callable[[], Any]:
    def load() -> Any:
        module_name, _, attribute = reference.partition(":")
        target: Any = importlib.import_module(module_name)
        for part in attribute.split(".") if attribute else ():
            target = getattr(target, part)
        return target

    return load


def _register(target: Any, registry: Registry) -> None:
    register = getattr(target, "register", None)
    if callable(register):
        register(registry)
    elif callable(target):
        target(registry)
    else:
        raise PluginError("neither a register(registry) function nor a callable")


def load(setting: str, *, use_entry_points: bool = True) -> Loaded:
    """Discover and load every plugin (once per process and configuration; later calls return the same set)."""
    global _loaded
    config = (setting, use_entry_points)
    with _lock:
        if _loaded.config == config:
            return _loaded
    infos: list[PluginInfo] = []
    names: set[tuple[str, str]] = set()
    by_kind: dict[str, list[Contribution]] = {}
    for name, source, reference, loader in _discovered(use_entry_points, setting):
        registry = Registry(name)
        error: str | None = None
        try:
            _register(loader(), registry)
            clash = next(
                (c for c in registry.added if c.kind != "subscriber" and (c.kind, c.name) in names), None
            )
            if clash is not None:
                raise PluginError(f"{clash.kind} {clash.name!r} is already registered by another plugin")
        except BaseException as exc:  # SystemExit from a plugin's import must not stop us either
            if isinstance(exc, KeyboardInterrupt):
                raise
            error = f"{type(exc).__name__}: {exc}"[:500]
            log.error("plugin %s (%s) failed to load: %s", name, reference, error, exc_info=True)
        kept = () if error else tuple(registry.added)
        for contribution in kept:
            names.add((contribution.kind, contribution.name))
            by_kind.setdefault(contribution.kind, []).append(contribution)
        infos.append(PluginInfo(name, source, reference, "failed" if error else "loaded", error, kept))
        if not error:
            log.info("plugin %s loaded: %s", name, ", ".join(f"{c.kind} {c.name}" for c in kept) or "nothing")
    fresh = Loaded(config, tuple(infos), {kind: tuple(found) for kind, found in by_kind.items()})
    with _lock:
        _loaded = fresh
    return fresh


hold_budget_s = 0.1  # set from ORDERSMITH_PLUGIN_HOLD_BUDGET_MS by `load_from`
max_attempts = 8  # a failed subscriber delivery is dead after this many (ORDERSMITH_WEBHOOK_MAX_ATTEMPTS)


def load_from(settings: Settings) -> Loaded:
    """`load` as the settings say (the service's and the CLI's start-up)."""
    global hold_budget_s, max_attempts
    hold_budget_s = settings.plugin_hold_budget_ms / 1000
    max_attempts = settings.webhook_max_attempts
    return load(settings.plugins, use_entry_points=settings.plugins_entry_points)


def loaded() -> Loaded:
    return _loaded


def contributions(kind: Kind) -> tuple[Contribution, ...]:
    """What the loaded plugins added of `kind` (an empty tuple without plugins: free to test on a hot path)."""
    return _loaded.by_kind.get(kind, ())


def reset() -> None:
    """Forget the loaded plugins (tests)."""
    load("", use_entry_points=False)


def guarded(contribution: Contribution, call: Callable[[], T], *, what: str) -> T | None:
    """`call()`, or None when it raises (logged and counted against the contribution)."""
    with _lock:
        contribution.calls += 1
    try:
        return call()
    except Exception as exc:
        contribution.failed(f"{type(exc).__name__}: {exc}")
        log.warning("plugin %s %s %s failed (skipped): %s", contribution.plugin, contribution.kind,
                    contribution.name, exc, exc_info=True, extra={"what": what})  # fmt: skip
        return None


class _DaemonPool:
    """A few daemon threads running plugin calls. Not `ThreadPoolExecutor`: its threads are joined when the
    interpreter exits, so one hung plugin call would keep the process from stopping."""

    def __init__(self, workers: int) -> None:
        self._work: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        for n in range(workers):
            threading.Thread(target=self._run, name=f"ordersmith-plugin-{n}", daemon=True).start()

    def _run(self) -> None:
        while True:
            call, future = self._work.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as exc:
                future.set_exception(exc)

    def submit(self, call: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        self._work.put((call, future))
        return future


_executor: _DaemonPool | None = None


def _pool() -> _DaemonPool:
    global _executor
    with _lock:
        if _executor is None:
            _executor = _DaemonPool(workers=4)
        return _executor


def within_budget(
    contribution: Contribution, call: Callable[[], T], *, budget_s: float, what: str
) -> T | None:
    """`call()` on a plugin thread, or None when it raises or takes longer than `budget_s` (the caller goes on;
    a late answer is dropped). Both are logged and counted against the contribution."""
    with _lock:
        contribution.calls += 1
    started = time.perf_counter()
    future = _pool().submit(call)
    try:
        return future.result(timeout=budget_s)
    except FutureTimeout:
        future.cancel()
        contribution.failed(f"took more than {budget_s * 1000:.0f} ms", timeout=True)
        log.warning("plugin %s %s %s exceeded its %.0f ms budget on %s (skipped)", contribution.plugin,
                    contribution.kind, contribution.name, budget_s * 1000, what)  # fmt: skip
        return None
    except Exception as exc:
        contribution.failed(f"{type(exc).__name__}: {exc}")
        log.warning("plugin %s %s %s failed on %s after %.1f ms (skipped): %s", contribution.plugin,
                    contribution.kind, contribution.name, what, (time.perf_counter() - started) * 1000, exc,
                    exc_info=True)  # fmt: skip
        return None


def summary(plugins: Iterable[PluginInfo]) -> list[dict[str, Any]]:
    """The loaded plugins as plain data (the API's and the CLI's listing)."""
    return [
        {
            "name": p.name,
            "source": p.source,
            "reference": p.reference,
            "status": p.status,
            "error": p.error,
            "contributions": [
                {
                    "kind": c.kind,
                    "name": c.name,
                    "calls": c.calls,
                    "failures": c.failures,
                    "timeouts": c.timeouts,
                    "last_error": c.last_error,
                }
                for c in p.contributions
            ],
        }
        for p in plugins
    ]

"""Start-up of the plugins (docs/guides/plugins.md, ADR 0034): load them once per process and hand each context
what it takes from them.

Most contexts read their contributions where they already keep a registry (orders' hold rules, pricing's tax
step, fulfillment's carriers, payments' gateway, channels' connectors: `platform.plugins.contributions`). Two are
installed here because their registry is a table other code reads: the outbox subscribers and finance's posting
rules. This module sits above every context (as `app` and `cli` do) so that no context imports another for it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ordersmith.finance import rules as finance_rules
from ordersmith.platform import plugin_deliveries, plugins
from ordersmith.platform.settings import Settings

log = logging.getLogger(__name__)

_BUILT_IN_POSTING_RULES = dict(finance_rules.RULES)


def start(settings: Settings) -> plugins.Loaded:
    """Load the plugins the settings name (and the installed entry points) and install their contributions.
    Never raises for a plugin's fault: a failed plugin is listed as such."""
    plugin_deliveries.register()
    loaded = plugins.load_from(settings)
    plugin_deliveries.install(loaded)
    _install_posting_rules(loaded)
    failed = [p.name for p in loaded.plugins if p.status == "failed"]
    if failed:
        log.error("plugins that failed to load (the service runs without them): %s", ", ".join(failed))
    return loaded


def _install_posting_rules(loaded: plugins.Loaded) -> None:
    """A plugin's rule replaces the built-in one for its event type or adds one. One that raises falls back to the
    built-in rule (or posts nothing where there is none), logged and counted: a plugin's bug never holds the
    relay's other subscribers back."""
    finance_rules.RULES.clear()
    finance_rules.RULES.update(_BUILT_IN_POSTING_RULES)
    for contribution in loaded.of("posting_rule"):
        finance_rules.RULES[contribution.name] = _guarded_rule(
            contribution, _BUILT_IN_POSTING_RULES.get(contribution.name)
        )


def _guarded_rule(
    contribution: plugins.Contribution, built_in: finance_rules.PostingRule | None
) -> finance_rules.PostingRule:
    def rule(
        payload: Mapping[str, Any], facts: Mapping[str, Any], mappings: Any
    ) -> finance_rules.Posting | None:
        answered = plugins.guarded(
            contribution, lambda: (_checked(contribution.value(payload, facts, mappings)),), what="posting"
        )
        if answered is not None:  # the plugin's answer, "nothing to post" (None) included
            return answered[0]
        return built_in(payload, facts, mappings) if built_in is not None else None

    return rule


def _checked(answer: object) -> finance_rules.Posting | None:
    if answer is None:
        return None
    if not isinstance(answer, finance_rules.Posting):
        raise TypeError(f"a posting rule returns Posting or None, not {type(answer).__name__}")
    return answer

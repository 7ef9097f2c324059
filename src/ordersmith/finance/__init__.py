"""Finance: the general ledger posted from business events (chart of accounts, journal, periods)."""

# The dispute rules (ADR 0040) live in their own module and join the built-in posting rules here, so every import
# of `finance.rules` (the subscriber, plugins' host) sees them whichever module is imported first.
from ordersmith.finance import dispute_rules as _dispute_rules
from ordersmith.finance import rules as _rules

_rules.RULES.update(_dispute_rules.RULES)

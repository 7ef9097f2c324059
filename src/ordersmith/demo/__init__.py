"""Demo data: `ordersmith demo load` runs every loader in order; each adds only what is missing, so running it
twice changes nothing. It refuses to run in production.

Loaders register on import, in the order below (later contexts build on earlier ones).
"""

from ordersmith.demo import catalog, platform, purchasing  # noqa: F401 - registers the loaders, in order
from ordersmith.demo._framework import DemoReport, load

__all__ = ["DemoReport", "load"]

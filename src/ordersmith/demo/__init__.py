"""Demo data: `ordersmith demo load` runs every loader in order; each adds only what is missing, so running it
twice changes nothing. It refuses to run in production.

Loaders register on import and run by stage (platform, catalog, customers, purchasing, pricing, orders).
"""

from ordersmith.demo import catalog, customers, orders, platform, pricing, purchasing  # noqa: F401 - registers
from ordersmith.demo._framework import DemoReport, load

__all__ = ["DemoReport", "load"]

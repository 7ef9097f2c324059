"""Demo data: `ordersmith demo load` runs every loader in order; each adds only what is missing, so running it
twice changes nothing. It refuses to run in production.

Loaders register on import and run by stage (platform, catalog, customers, purchasing, pricing, fulfillment and
marketing, orders, continuity, finance, the reports' daily facts).
"""

from ordersmith.demo import (  # noqa: F401 - registers
    catalog,
    continuity,
    customers,
    finance,
    fulfillment,
    marketing,
    orders,
    platform,
    pos,
    pricing,
    purchasing,
    reports,
)
from ordersmith.demo._framework import DemoReport, load

__all__ = ["DemoReport", "load"]

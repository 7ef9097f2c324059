"""The process's long-lived heap kept out of the cyclic garbage collector's full sweeps.

A started Ordersmith process holds a few hundred thousand objects that live as long as it does: modules, the ORM's
mappers, every table's metadata, pydantic's schemas, compiled statements, the routes. CPython's collector walks all
of them in each full (oldest-generation) collection, and a busy request path or relay batch, allocating many
short-lived containers, sets such a collection off again and again: in `bench.finance` one full collection took
0.19 s per 20,000 events, about a tenth of the relay's time. `settle()` — called once a server or worker has
started, before it takes work — collects what start-up left behind and then moves everything still alive to the
collector's permanent generation (`gc.freeze`), where no sweep looks. Objects made afterwards are collected as
before; reference counting frees the frozen ones as usual, and only a reference cycle among start-up objects that
later becomes garbage stays until the process ends.
"""

from __future__ import annotations

import gc
import threading

_settled = threading.Event()


def settle() -> None:
    """Collect start-up's garbage, then freeze what is left (once per process; later calls do nothing)."""
    if _settled.is_set():
        return
    gc.collect()
    gc.freeze()
    _settled.set()


def settled() -> bool:
    """Whether this process froze its start-up heap (a bulk run then has nothing more to freeze)."""
    return _settled.is_set()

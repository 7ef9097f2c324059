"""Test support modules. Importing any of them (the conftest does, and so does the fork server every test server is
forked from) makes httpx build its default TLS context once per process: the tests open thousands of
`httpx.Client`s (race threads, readiness polls, `httpx.get`), and each one built the same context anew, parsing
the CA bundle (about 20 ms of CPU each, measured). Ordersmith's own clients share one
context by design (`ordersmith.platform.tls`); this is the same for the tests' calls, which pass none."""

from __future__ import annotations

import ssl
from typing import Any

import httpx._transports.default as _transports

from ordersmith.platform import tls

_build = _transports.create_ssl_context


def _create_ssl_context(verify: Any = True, cert: Any = None, trust_env: bool = True) -> ssl.SSLContext:
    if verify is True and cert is None and trust_env:
        return tls.client_context()  # the same context httpx builds by default, built once
    return _build(verify=verify, cert=cert, trust_env=trust_env)


_transports.create_ssl_context = _create_ssl_context  # type: ignore[assignment]

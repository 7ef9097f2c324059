"""One TLS context for every outbound HTTP client of a process.

Building the default context (httpx's: the certifi bundle, or `SSL_CERT_FILE` / `SSL_CERT_DIR` when set) parses a
few hundred CA certificates, about 20 ms of CPU; an `httpx.Client` built without one builds it anew, so a connector
or processor session opened per call paid that on every call (and the relay on every start). A context is made to
be shared: its settings and trust store are read-only once built, and each connection gets its own TLS state."""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def client_context() -> ssl.SSLContext:
    """The process's verifying client context (built at first use, as httpx would build its own)."""
    return httpx.create_ssl_context()

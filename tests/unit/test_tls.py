"""Every outbound HTTP client of a process shares one verifying TLS context (`ordersmith.platform.tls`)."""

from __future__ import annotations

import ssl

from ordersmith.platform import tls


def test_the_context_is_built_once_and_verifies_certificates_and_host_names() -> None:
    context = tls.client_context()
    assert tls.client_context() is context
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.get_ca_certs() or context.cert_store_stats()["x509_ca"] > 0  # a trust store was loaded

"""TLS termination in the service itself, with optional client certificates (mTLS)."""

from __future__ import annotations

import ssl

from bank_adapter.settings import Settings


def server_context(settings: Settings) -> ssl.SSLContext | None:
    """None for plain HTTP (loopback, or behind a TLS-terminating proxy)."""
    if settings.tls_cert_file is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
    if settings.tls_client_ca_file is not None:
        context.load_verify_locations(settings.tls_client_ca_file)
        context.verify_mode = ssl.CERT_REQUIRED
    return context

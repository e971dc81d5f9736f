"""TLS termination in the service itself, with optional client certificates (mTLS)."""

from __future__ import annotations

import ssl

from bank_adapter.settings import Settings, SettingsError


def server_context(settings: Settings) -> ssl.SSLContext | None:
    """None for plain HTTP (loopback, or behind a TLS-terminating proxy)."""
    if settings.tls_cert_file is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
    except (OSError, ValueError) as exc:
        raise SettingsError(
            f"BANK_ADAPTER_TLS_CERT/BANK_ADAPTER_TLS_KEY: cannot load {settings.tls_cert_file} "
            f"with its key: {exc}; give a PEM certificate chain and its unencrypted private key"
        ) from exc
    if settings.tls_client_ca_file is not None:
        try:
            context.load_verify_locations(settings.tls_client_ca_file)
        except (OSError, ValueError) as exc:
            raise SettingsError(
                f"BANK_ADAPTER_TLS_CLIENT_CA: cannot load {settings.tls_client_ca_file}: {exc}; "
                "give the PEM certificates of the CAs that issue client certificates"
            ) from exc
        context.verify_mode = ssl.CERT_REQUIRED
    return context

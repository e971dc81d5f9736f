"""The service terminating TLS itself, with client certificates required (mTLS)."""

from __future__ import annotations

import dataclasses
import ipaddress
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bank_adapter.core.keys import private_pem
from bank_adapter.store import migrate
from bank_adapter.web.app import build_app
from bank_adapter.web.runtime import build_runtime
from bank_adapter.web.tls import server_context


def certificate(path: Path, name: str, issuer_key=None, issuer_name=None, ca=False):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name or subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    (path / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (path / f"{name}.key").write_bytes(private_pem(key))
    return key, subject


@pytest.fixture
async def tls_service(tmp_path, settings, clock):
    ca_key, ca_name = certificate(tmp_path, "ca", ca=True)
    certificate(tmp_path, "server", ca_key, ca_name)
    certificate(tmp_path, "bank", ca_key, ca_name)
    tls = dataclasses.replace(
        settings,
        tls_cert_file=tmp_path / "server.crt",
        tls_key_file=tmp_path / "server.key",
        tls_client_ca_file=tmp_path / "ca.crt",
    )
    runtime = build_runtime(tls, clock)
    await migrate.upgrade(runtime.store.engine)
    runner = web.AppRunner(build_app(runtime), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context(tls))
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"https://127.0.0.1:{port}", tmp_path
    await runner.cleanup()


def client_context(directory: Path, with_certificate: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(directory / "ca.crt"))
    if with_certificate:
        context.load_cert_chain(directory / "bank.crt", directory / "bank.key")
    return context


async def test_a_client_certificate_from_the_ca_gets_through(tls_service):
    url, directory = tls_service
    context = client_context(directory, True)
    async with aiohttp.ClientSession() as http, http.get(url + "/healthz", ssl=context) as response:
        assert response.status == 200


async def test_without_a_client_certificate_the_handshake_fails(tls_service):
    url, directory = tls_service
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientError):
            async with http.get(url + "/healthz", ssl=client_context(directory, False)) as response:
                await response.read()

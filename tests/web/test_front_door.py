"""What a visitor who is not a bank sees: `GET /` (a page in sandbox mode, a signed 404
in production), and a `Server` header that names the product, not the framework and
its version, on every kind of answer.

Nothing here touches the database (the page is static, the routing errors are answered
before any storage), so the service runs on an SQLite file only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bank_adapter.clock import system_clock
from bank_adapter.core.keys import generate, private_pem
from bank_adapter.settings import Settings
from bank_adapter.web.app import build_app
from bank_adapter.web.runtime import build_runtime

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Running:
    url: str
    http: aiohttp.ClientSession


async def serve(settings: Settings) -> AsyncIterator[Running]:
    runner = web.AppRunner(build_app(build_runtime(settings, system_clock)), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    async with aiohttp.ClientSession() as http:
        yield Running(f"http://127.0.0.1:{port}", http)
    await runner.cleanup()


def environ(tmp_path: Path, partners_dir: Path, **extra: str) -> dict[str, str]:
    return {
        "BANK_ADAPTER_DATABASE_URL": f"sqlite:///{tmp_path / 'adapter.db'}",
        "BANK_ADAPTER_PARTNERS_DIR": str(partners_dir),
        "BANK_ADAPTER_VAR_DIR": str(tmp_path / "var"),
        "BANK_ADAPTER_FEES_FILE": str(ROOT / "fees.toml"),
    } | extra


@pytest.fixture
async def sandbox(tmp_path: Path, partners_dir: Path) -> AsyncIterator[Running]:
    settings = Settings.from_env(environ(tmp_path, partners_dir, BANK_ADAPTER_SANDBOX="1"))
    async for running in serve(settings):
        yield running


@pytest.fixture
async def production(tmp_path: Path, partners_dir: Path) -> AsyncIterator[Running]:
    key = tmp_path / "adapter.key.pem"
    key.write_bytes(private_pem(generate("EC-P256")))
    settings = Settings.from_env(environ(tmp_path, partners_dir, BANK_ADAPTER_SIGNING_KEY=str(key)))
    async for running in serve(settings):
        yield running


async def test_the_sandbox_home_page_points_to_the_console_the_docs_and_openapi(sandbox):
    async with sandbox.http.get(sandbox.url + "/") as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        page = await response.text()
    for link in ['href="/console/"', 'href="/v1/openapi.json"', "docs/operator-guide.md"]:
        assert link in page
    for linked in ["/v1/openapi.json", "/v1/keys", "/healthz"]:
        async with sandbox.http.get(sandbox.url + linked) as response:
            assert response.status == 200, linked


async def test_with_an_admin_port_the_console_link_names_it(tmp_path, partners_dir):
    """The console and /metrics are served on the admin listener only: the page's links
    must lead there, not to this listener's 404."""
    env = environ(tmp_path, partners_dir, BANK_ADAPTER_SANDBOX="1", BANK_ADAPTER_ADMIN_PORT="9321")
    async for running in serve(Settings.from_env(env)):
        async with running.http.get(running.url + "/") as response:
            page = await response.text()
    assert 'href="http://127.0.0.1:9321/console/"' in page
    assert 'href="http://127.0.0.1:9321/metrics"' in page
    assert 'href="/console/"' not in page


async def test_in_production_the_root_is_a_signed_404(production):
    async with production.http.get(production.url + "/") as response:
        assert response.status == 404
        assert "X-JWS-Signature" in response.headers
        assert response.content_type != "text/html"
        assert (await response.json(content_type=None))["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 200),
        ("GET", "/healthz", 200),
        ("GET", "/metrics", 200),
        ("GET", "/v1/keys", 200),
        ("GET", "/nope", 404),
        ("DELETE", "/metrics", 405),
        ("POST", "/v1/payments", 401),
        ("GET", "/internal/v1/events", 401),
    ],
)
async def test_no_answer_names_the_framework_or_its_version(sandbox, method, path, status):
    async with sandbox.http.request(method, sandbox.url + path) as response:
        assert response.status == status
        assert response.headers.getall("Server") == ["bank-adapter"]
        for name, value in response.headers.items():
            assert "aiohttp" not in value.lower(), name
            assert "python" not in value.lower(), name

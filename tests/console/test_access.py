"""Who gets in: the login form, the session cookie, CSRF, the idle timeout and logout,
against the real server (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import urlsplit

import aiohttp
import pytest

from tests.console.conftest import Console, running_instance

PAGES = [
    "/console/today",
    "/console/partners",
    "/console/day-close",
    "/console/payments",
    "/console/events",
    "/console/audit",
]


@pytest.mark.parametrize("path", PAGES)
async def test_every_page_needs_a_session(console_client, path):
    async with console_client.http.get(
        console_client.url + path, allow_redirects=False
    ) as response:
        assert response.status == 303
        assert response.headers["Location"] == "/console/login?next=" + path


async def test_login_sets_a_hardened_session_cookie_and_goes_where_asked(console_client):
    form = await console_client.get("/console/login?next=/console/partners")
    nonce = form.text.split('name="nonce" value="')[1].split('"')[0]
    fields = {"operator": "Noura", "token": "test-admin-token-0123456789", "nonce": nonce}
    async with console_client.http.post(
        console_client.url + "/console/login",
        data=fields | {"next": "/console/partners"},
        allow_redirects=False,
    ) as response:
        assert response.status == 303
        assert response.headers["Location"] == "/console/partners"
        cookie = response.cookies["bank_adapter_console"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/console"
    assert not cookie["secure"]  # plain HTTP here; tests/console/test_tls covers TLS
    page = await console_client.get("/console/partners")
    assert page.status == 200
    assert "Noura" in page.text


async def test_a_wrong_token_is_refused_and_gives_no_session(console_client):
    page = await console_client.login(token="test-admin-token-0123456788")
    assert page.status == 401
    assert "Wrong admin token" in page.text
    assert console_client.cookie("bank_adapter_console") is None


async def test_login_without_the_forms_own_value_is_refused(console_client):
    """Login CSRF: a form posted from elsewhere lacks the double-submit value."""
    fields = {"operator": "Noura", "token": "test-admin-token-0123456789", "nonce": "x" * 32}
    page = await console_client.post("/console/login", fields)
    assert page.status == 403
    assert console_client.cookie("bank_adapter_console") is None


async def test_an_unusable_operator_name_is_refused(console_client):
    page = await console_client.login(operator="<script>")
    assert page.status == 400
    assert "<script>" not in page.text


async def test_the_login_form_never_redirects_to_another_site(console_client):
    form = await console_client.get("/console/login?next=//evil.example/console/")
    assert 'name="next" value="/console/today"' in form.text


async def test_pages_forbid_framing_sniffing_caching_and_foreign_content(console):
    page = await console.get("/console/today")
    headers = page.headers
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert re.search(r'(src|href|action)="(https?:)?//', page.text) is None  # nothing foreign
    assert "<script" not in page.text


async def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(console, service):
    page = await console.post("/console/partners/JWSA/suspend", {"reason": "no token"})
    assert page.status == 403
    assert "did not come from this console" in page.text
    page = await console.post(
        "/console/partners/JWSA/suspend", {"reason": "forged", "csrf": "A" * 43}
    )
    assert page.status == 403
    assert not service.runtime.partner_states.suspended(service.runtime.partners["JWSA"])


async def test_a_cross_site_post_is_refused_even_with_the_token(console, service):
    token = (await console.get("/console/partners")).csrf
    page = await console.post(
        "/console/partners/JWSA/suspend",
        {"reason": "cross-site", "csrf": token},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert page.status == 403
    assert not service.runtime.partner_states.suspended(service.runtime.partners["JWSA"])


async def test_the_csrf_token_of_one_session_does_not_serve_another(console, service):
    stolen = (await console.get("/console/partners")).csrf
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        other = Console(service.url, http)
        await other.login(operator="Other")
        page = await other.post("/console/partners/JWSA/suspend", {"reason": "x", "csrf": stolen})
    assert page.status == 403


async def test_an_idle_session_ends(console, clock):
    clock.advance(minutes=14)
    assert (await console.get("/console/today")).url.endswith("/console/today")
    clock.advance(minutes=14)  # 14 minutes after the last request: still in
    assert (await console.get("/console/today")).url.endswith("/console/today")
    clock.advance(minutes=16)
    page = await console.get("/console/today")
    assert urlsplit(page.url).path == "/console/login"


async def test_logout_ends_the_session_even_for_a_copy_of_the_cookie(console, service):
    kept = console.cookie("bank_adapter_console")
    token = (await console.get("/console/today")).csrf
    page = await console.post("/console/logout", {"csrf": token})
    assert urlsplit(page.url).path == "/console/login"
    assert await status_with_cookie(service, kept or "") == 303


async def test_a_forged_or_altered_cookie_is_no_session(console, service):
    kept = console.cookie("bank_adapter_console") or ""
    payload, mac = kept.split(".")
    altered = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + mac
    assert await status_with_cookie(service, kept) == 200
    for value in (altered, "x.y", ""):
        assert await status_with_cookie(service, value) == 303


async def status_with_cookie(service, value: str) -> int:
    """GET /console/today presenting exactly this session cookie, nothing else."""
    headers = {"Cookie": f"bank_adapter_console={value}"}
    async with service.http.get(
        service.url + "/console/today", headers=headers, allow_redirects=False
    ) as response:
        return response.status


async def test_unknown_console_paths_get_a_page_not_a_stack_trace(console):
    page = await console.get("/console/nowhere")
    assert page.status == 404
    assert "There is no such page" in page.text


@pytest.mark.parametrize("token", [None, ""])
async def test_without_an_admin_token_the_console_is_closed(tmp_path, settings, clock, token):
    """An empty configured token must never match an empty typed one."""
    closed = replace(settings, admin_token=token)
    async with (
        running_instance(closed, clock) as (url, _),
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http,
    ):
        browser = Console(url, http)
        form = await browser.get("/console/login")
        assert "The console is closed" in form.text
        page = await browser.login(token="")
        assert page.status == 403
        assert browser.cookie("bank_adapter_console") is None

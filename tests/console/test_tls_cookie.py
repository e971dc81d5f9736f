"""Served over TLS, the console's cookies are Secure: a browser never sends them in clear."""

from __future__ import annotations

import re

import aiohttp

from tests.conftest import ADMIN_TOKEN
from tests.e2e.test_tls import client_context, tls_service

__all__ = ["tls_service"]  # the fixture, shared with the partner API's TLS tests


async def test_the_session_cookie_is_secure_over_tls(tls_service):
    url, directory = tls_service
    context = client_context(directory, True)
    async with aiohttp.ClientSession() as http:
        async with http.get(url + "/console/login", ssl=context) as response:
            form = await response.text()
            assert response.cookies["bank_adapter_console_login"]["secure"] is True
        nonce = re.search(r'name="nonce" value="([^"]+)"', form)
        assert nonce is not None
        fields = {"operator": "Noura", "token": ADMIN_TOKEN, "nonce": nonce.group(1), "next": ""}
        headers = {"Cookie": f"bank_adapter_console_login={nonce.group(1)}"}
        async with http.post(
            url + "/console/login",
            data=fields,
            headers=headers,
            ssl=context,
            allow_redirects=False,
        ) as response:
            assert response.status == 303
            cookie = response.cookies["bank_adapter_console"]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"

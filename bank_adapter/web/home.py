"""`GET /` in sandbox mode: a small page that points a newcomer to the console, the docs
and the OpenAPI document. In production `/` stays what every unknown path is, a signed
404: the service has nothing to say to a visitor who is not a bank.

With an admin listener (BANK_ADAPTER_ADMIN_PORT) the console and /metrics are served
there only, so their links name that port on the host the visitor used."""

from __future__ import annotations

import html

from aiohttp import web

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bank-adapter sandbox</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 42rem; margin: 2rem auto;
       padding: 0 1rem; line-height: 1.5; color: #1b1b1b; }
code { background: #f2f2f2; padding: 0 .25rem; }
</style>
</head>
<body>
<h1>bank-adapter sandbox</h1>
<p>This service runs in <strong>sandbox mode</strong>: the sandbox partners sign with
public test keys, OTPs go to the sandbox SMS outbox, and the data is demo data.</p>
<ul>
<li><a href="{admin}/console/">The operator console</a>: sign in with the admin token.</li>
<li><a href="/v1/openapi.json">/v1/openapi.json</a>: the partner API as OpenAPI 3.1;
<a href="/v1/keys">/v1/keys</a>: the adapter's public keys.</li>
<li>The docs, in the repository: <code>docs/integration-guide.md</code> for a bank's
engineers, <code>docs/partner-api.md</code> (the contract) and
<code>docs/operator-guide.md</code> for operators.</li>
<li><a href="/healthz">/healthz</a>, <a href="/readyz">/readyz</a> and
<a href="{admin}/metrics">/metrics</a>.</li>
</ul>
<p>Drive a simulated day through every sandbox bank with
<code>.venv/bin/bank-adapter demo</code>.</p>
</body>
</html>
"""
# The page loads nothing and runs nothing; its only style is inline.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}


def add_routes(app: web.Application, *, sandbox: bool, admin_port: int | None = None) -> None:
    if not sandbox:
        return

    async def home(request: web.Request) -> web.Response:
        admin = "" if admin_port is None else _origin(request, admin_port)
        page = PAGE.replace("{admin}", html.escape(admin, quote=True))
        return web.Response(text=page, content_type="text/html", headers=HEADERS)

    app.router.add_get("/", home)


def _origin(request: web.Request, port: int) -> str:
    return str(request.url.origin().with_port(port))

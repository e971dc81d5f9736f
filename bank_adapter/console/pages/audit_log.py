"""The audit log: every state change made through the console or the internal API."""

from __future__ import annotations

from aiohttp import web

from bank_adapter.console import audit
from bank_adapter.console.html import el
from bank_adapter.console.layout import document, key_values, ltr, moment, table
from bank_adapter.console.pages.paging import optional_cursor
from bank_adapter.console.reads import read_only
from bank_adapter.console.shell import View, html_response
from bank_adapter.web.runtime import RUNTIME


async def audit_page(request: web.Request, view: View) -> web.StreamResponse:
    rt = request.app[RUNTIME]
    t = view.texts
    before = optional_cursor(request.query.get("before"))
    async with read_only(rt.store.engine) as conn:
        entries = await audit.entries(conn, before)
    rows = [
        [
            moment(entry.at),
            [entry.actor, el("div", ltr(entry.via), class_="muted small")],
            ltr(entry.action),
            ltr(entry.subject),
            entry.reason or "—",
            key_values(entry.detail),
        ]
        for entry in entries
    ]
    headers = [t("when"), t("who"), t("action"), t("subject"), t("reason"), t("detail")]
    links = [el("a", t("latest"), href="/console/audit")]
    if len(entries) == audit.PAGE_SIZE:
        links.append(el("a", t("older"), href=f"/console/audit?before={entries[-1].id}"))
    body = [
        el("p", t("audit_help"), class_="hint"),
        table(headers, rows, empty=t("no_audit")),
        el("nav", links, class_="pager"),
    ]
    return html_response(document(view, t("audit"), body, active="audit"))

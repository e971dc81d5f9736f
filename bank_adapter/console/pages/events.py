"""The events outbox, paged by its cursor (`seq`), as the platform reads it."""

from __future__ import annotations

from aiohttp import web

from bank_adapter.console import reads
from bank_adapter.console.html import Html, el
from bank_adapter.console.layout import document, key_values, ltr, moment, table
from bank_adapter.console.pages.paging import cursor
from bank_adapter.console.shell import View, html_response
from bank_adapter.web.runtime import RUNTIME


async def events_page(request: web.Request, view: View) -> web.StreamResponse:
    rt = request.app[RUNTIME]
    t = view.texts
    async with reads.read_only(rt.store.engine) as conn:
        last = await reads.last_event_seq(conn)
        after = cursor(request.query.get("after"), default=max(0, last - reads.EVENTS_PAGE))
        found = await reads.events_after(conn, after)
    rows = [
        [
            ltr(str(event.seq), class_="num"),
            ltr(event.type),
            moment(event.occurred_at),
            key_values(event.data),
        ]
        for event in found
    ]
    body = [
        el(
            "p",
            t("events_cursor"),
            " ",
            ltr(str(after), class_="num"),
            " · ",
            t("events_last"),
            " ",
            ltr(str(last), class_="num"),
            class_="lead",
        ),
        el("p", t("events_help"), class_="hint"),
        table([t("seq"), t("type"), t("occurred_at"), t("data")], rows, empty=t("no_events")),
        _pager(view, after, found, last),
    ]
    return html_response(document(view, t("events"), body, active="events"))


def _pager(view: View, after: int, found: list[reads.EventRecord], last: int) -> Html:
    t = view.texts
    links = [el("a", t("first"), href="/console/events?after=0")]
    if after > 0:
        back = max(0, after - reads.EVENTS_PAGE)
        links.append(el("a", t("previous"), href=f"/console/events?after={back}"))
    if found and found[-1].seq < last:
        links.append(el("a", t("next"), href=f"/console/events?after={found[-1].seq}"))
    links.append(el("a", t("latest"), href="/console/events"))
    return el("nav", links, class_="pager")

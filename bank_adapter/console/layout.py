"""The page frame (head, navigation, language switch, logout) and small shared widgets.

Technical values (references, ids, amounts, times, codes) are set in `ltr` spans: in an
Arabic (right-to-left) page they keep their own reading order instead of being reordered
with the text around them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final
from urllib.parse import quote

from bank_adapter.clock import RIYADH
from bank_adapter.console.html import Html, Node, el
from bank_adapter.console.shell import View
from bank_adapter.core.money import format_amount, from_halalas

NAV: Final = (
    ("today", "/console/today"),
    ("partners", "/console/partners"),
    ("day_close", "/console/day-close"),
    ("payments", "/console/payments"),
    ("events", "/console/events"),
    ("audit", "/console/audit"),
)
STYLESHEET: Final = "/console/static/console.css"


def document(
    view: View, title: str, *body: Node, active: str | None = None, refresh_s: int | None = None
) -> Html:
    t = view.texts
    head = el(
        "head",
        el("meta", charset="utf-8"),
        el("meta", name="viewport", content="width=device-width, initial-scale=1"),
        el("meta", http_equiv="refresh", content=str(refresh_s)) if refresh_s else None,
        el("title", f"{title} · {t('console')}"),
        el("link", rel="stylesheet", href=STYLESHEET),
    )
    page = el(
        "body",
        _header(view, active) if view.session is not None else _bare_header(view),
        el("main", el("h1", title), *body, id="main"),
    )
    return Html("<!DOCTYPE html>\n" + el("html", head, page, lang=t.lang, dir=t.direction))


def _bare_header(view: View) -> Html:
    return el(
        "header",
        el("div", el("span", view.texts("console"), class_="brand"), _language_switch(view)),
        class_="top",
    )


def _header(view: View, active: str | None) -> Html:
    t = view.texts
    links = [
        el("a", t(key), href=href, aria_current="page" if key == active else None)
        for key, href in NAV
    ]
    logout = post_form(
        view,
        "/console/logout",
        el("button", t("logout"), type="submit", class_="link"),
        class_="logout",
    )
    return el(
        "header",
        el(
            "div",
            el("a", t("console"), href="/console/today", class_="brand"),
            el("nav", links, aria_label=t("navigation")),
            el(
                "div",
                el("span", view.operator, class_="operator"),
                _language_switch(view),
                logout,
                class_="tools",
            ),
        ),
        class_="top",
    )


def _language_switch(view: View) -> Html:
    other = "ar" if view.texts.lang == "en" else "en"
    label = "العربية" if other == "ar" else "English"
    href = f"/console/lang/{other}?next={quote(view.path, safe='/')}"
    return el("a", label, href=href, lang=other, class_="lang", hreflang=other)


def post_form(
    view: View, action: str, *children: Node, class_: str | None = None, upload: bool = False
) -> Html:
    """A POST form carrying the session's CSRF token (first, so an upload handler reads
    it before the file)."""
    token = el("input", type="hidden", name="csrf", value=view.csrf)
    enctype = "multipart/form-data" if upload else None
    return el(
        "form", token, *children, method="post", action=action, class_=class_, enctype=enctype
    )


def table(headers: Sequence[Node], rows: Sequence[Sequence[Node]], *, empty: str) -> Html:
    """A table that scrolls sideways on a narrow screen instead of breaking the page."""
    if not rows:
        return el("p", empty, class_="empty")
    return el(
        "div",
        el(
            "table",
            el("thead", el("tr", [el("th", header, scope="col") for header in headers])),
            el("tbody", [el("tr", [el("td", cell) for cell in row]) for row in rows]),
        ),
        class_="table-wrap",
        tabindex="0",
    )


def ltr(value: Node, *, class_: str = "code") -> Html:
    return el("bdi", value, dir="ltr", class_=class_)


def money(view: View, halalas: int) -> Html:
    """The amount isolated left to right, the currency in the page's direction."""
    amount = ltr(format_amount(from_halalas(halalas)), class_="num")
    return el("span", amount, " ", view.texts("sar"), class_="money")


def moment(value: datetime | None) -> Html | str:
    """A time as Riyadh local time, to the second."""
    if value is None:
        return "—"
    local = value.astimezone(RIYADH)
    return ltr(local.strftime("%Y-%m-%d %H:%M:%S"), class_="num")


def notice(text: Node, kind: str = "info") -> Html:
    return el("p", text, class_=f"notice {kind}", role="status")


def card(label: str, value: Node, detail: Node = None, *, small: bool = False) -> Html:
    return el(
        "div",
        el("div", label, class_="label"),
        el("div", value, class_="value small" if small else "value"),
        el("div", detail, class_="detail") if detail is not None else None,
        class_="card",
    )


def badge(text: str, kind: str) -> Html:
    return el("span", text, class_=f"badge {kind}")


def key_values(data: Mapping[str, Any] | None) -> Html | str:
    """A small JSON object as `key value` pairs; a PaymentId links to its payment."""
    if not data:
        return ""
    items = []
    for key, value in data.items():
        shown = ltr(value if isinstance(value, str) else json.dumps(value))
        if key == "paymentId" and isinstance(value, str):
            shown = el("a", shown, href=f"/console/payments/{value}")
        items.append(el("li", el("span", key, class_="muted"), " ", shown))
    return el("ul", items, class_="kv")

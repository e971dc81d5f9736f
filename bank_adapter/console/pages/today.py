"""Today: per partner, the day's money and activations (database), this instance's
request codes, signature failures and latency (metrics), and the day by hour."""

from __future__ import annotations

from collections import Counter
from typing import Final

from aiohttp import web

from bank_adapter.console import today
from bank_adapter.console.charts import Series, hourly_bars, legend
from bank_adapter.console.html import Html, el
from bank_adapter.console.layout import card, document, ltr, moment, money, table
from bank_adapter.console.reads import read_only
from bank_adapter.console.shell import CONSOLE, View, html_response
from bank_adapter.web.runtime import RUNTIME

OK: Final = "OK"


async def today_page(request: web.Request, view: View) -> web.StreamResponse:
    rt, state = request.app[RUNTIME], request.app[CONSOLE]
    t = view.texts
    window = today.Window.of(view.now)
    async with read_only(rt.store.engine) as conn:
        found = await today.activity(conn, list(rt.partners), window)
    codes = today.request_codes(rt.metrics)
    partner_ids = sorted(set(rt.partners) | set(found.partners) | set(codes) - {"-"})
    series = [
        Series(t("payments_posted"), found.posted_by_hour),
        Series(t("payments_reversed"), found.reversed_by_hour),
        Series(t("activations"), found.activations_by_hour),
    ]
    body = [
        el("p", t("today_scope"), " ", ltr(window.day.isoformat(), class_="num"), class_="lead"),
        _cards(view, found, codes),
        el("h2", t("by_partner")),
        _partners_table(view, found, partner_ids),
        el("h2", t("by_hour")),
        el(
            "figure",
            hourly_bars(series, title=t("by_hour"), rtl=t.direction == "rtl"),
            legend(series),
            class_="chart-box",
        ),
        el("h2", t("requests_this_instance")),
        el("p", t("since_start"), " ", moment(state.started_at), class_="hint"),
        _codes_table(view, codes),
        el("h2", t("signature_failures")),
        _signature_table(view, codes),
        el("h2", t("latency")),
        el("p", t("latency_scope"), class_="hint"),
        _latency_table(view, today.latencies(rt.metrics)),
    ]
    return html_response(document(view, t("today"), body, active="today"))


def _cards(view: View, found: today.Activity, codes: dict[str, Counter[str]]) -> Html:
    t = view.texts
    days = list(found.partners.values())
    posted = sum(day.posted_halalas for day in days)
    reversed_ = sum(day.reversed_halalas for day in days)
    return el(
        "div",
        card(t("payments_posted"), str(sum(day.posted_count for day in days)), money(view, posted)),
        card(
            t("payments_reversed"),
            str(sum(day.reversed_count for day in days)),
            money(view, reversed_),
        ),
        card(t("activations"), str(sum(day.activations for day in days))),
        card(t("requests_this_instance"), str(sum(sum(c.values()) for c in codes.values()))),
        class_="cards",
    )


def _partners_table(view: View, found: today.Activity, partner_ids: list[str]) -> Html:
    t = view.texts
    rows = []
    for pid in partner_ids:
        day = found.partners.get(pid, today.PartnerDay())
        rows.append(
            [
                ltr(pid),
                str(day.posted_count),
                money(view, day.posted_halalas),
                str(day.reversed_count),
                money(view, day.reversed_halalas),
                str(day.activations),
            ]
        )
    headers = [
        t("partner"),
        t("posted_count"),
        t("posted_amount"),
        t("reversed_count"),
        t("reversed_amount"),
        t("activations"),
    ]
    return table(headers, rows, empty=t("nothing_yet"))


def _codes_table(view: View, codes: dict[str, Counter[str]]) -> Html:
    t = view.texts
    rows = [
        [
            ltr(pid),
            str(sum(counts.values())),
            str(counts.get(OK, 0)),
            el(
                "ul",
                [
                    el("li", ltr(code), " ", str(n))
                    for code, n in sorted(counts.items())
                    if code != OK
                ],
                class_="codes",
            ),
        ]
        for pid, counts in sorted(codes.items())
    ]
    headers = [t("partner"), t("requests"), t("answered_ok"), t("by_outcome_code")]
    return table(headers, rows, empty=t("nothing_yet"))


def _signature_table(view: View, codes: dict[str, Counter[str]]) -> Html:
    t = view.texts
    rows = [
        [ltr(pid), ltr(code), str(n)]
        for pid, counts in sorted(codes.items())
        for code, n in sorted(counts.items())
        if code in today.SIGNATURE_CODES
    ]
    return table([t("partner"), t("reason"), t("count")], rows, empty=t("no_signature_failures"))


def _latency_table(view: View, found: list[today.Latency]) -> Html:
    t = view.texts
    rows = [[ltr(one.operation), str(one.count), _ms(one.p50), _ms(one.p99)] for one in found]
    return table([t("operation"), t("requests"), "p50", "p99"], rows, empty=t("nothing_yet"))


def _ms(seconds: float | None) -> Html | str:
    return "—" if seconds is None else ltr(f"{seconds * 1000:.1f} ms", class_="num")

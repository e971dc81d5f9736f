"""Day close: a bank's statement figures for a date, and reconciliation runs (upload a
settlement file, see the breaks by class, download the report)."""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Final

from aiohttp import BodyPartReader, web

from bank_adapter.clock import riyadh_date
from bank_adapter.console.html import Html, Node, el
from bank_adapter.console.layout import (
    badge,
    card,
    document,
    ltr,
    moment,
    money,
    notice,
    post_form,
    table,
)
from bank_adapter.console.reconcile_runs import BreakLine, Run, UploadTooLarge
from bank_adapter.console.reconcile_worker import BREAKS, REPORT
from bank_adapter.console.shell import CONSOLE, Problem, View, check_csrf, html_response, redirect
from bank_adapter.domain.payments import day_is_final, reversal_deadline
from bank_adapter.partners import Partner
from bank_adapter.reconcile.matching import BreakClass
from bank_adapter.web.runtime import RUNTIME, Runtime

BREAKS_PAGE: Final = 100
MAX_FIELD_BYTES: Final = 1024
DOWNLOADS: Final = {BREAKS: "text/csv", REPORT: "application/json"}


async def day_close_page(request: web.Request, view: View) -> web.StreamResponse:
    rt = request.app[RUNTIME]
    t = view.texts
    partner = rt.partners.get(request.query.get("partner", ""))
    day = _date(request.query.get("date")) or riyadh_date(view.now)
    body = [
        el("h2", t("statement_figures")),
        _figures_form(view, rt, partner, day),
        await _figures(view, rt, partner, day) if partner is not None else None,
        el("h2", t("reconcile")),
        el("p", t("reconcile_help"), class_="hint"),
        _upload_form(view, rt, partner, day),
        el("h2", t("recent_runs")),
        _runs_table(view, request.app[CONSOLE].runs.recent()),
    ]
    return html_response(document(view, t("day_close"), body, active="day_close"))


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text and len(text) == 10 else None
    except ValueError:
        return None


def _partner_select(view: View, rt: Runtime, chosen: Partner | None) -> Html:
    options = [
        el("option", f"{pid} — {partner.name}", value=pid, selected=chosen is partner)
        for pid, partner in sorted(rt.partners.items())
    ]
    return el("label", view.texts("partner"), el("select", options, name="partner", required=True))


def _date_input(view: View, day: date) -> Html:
    return el(
        "label",
        view.texts("business_date"),
        el("input", type="date", name="date", value=day.isoformat(), required=True),
    )


def _figures_form(view: View, rt: Runtime, partner: Partner | None, day: date) -> Html:
    return el(
        "form",
        _partner_select(view, rt, partner),
        _date_input(view, day),
        el("button", view.texts("show"), type="submit"),
        method="get",
        action="/console/day-close",
        class_="inline",
    )


async def _figures(view: View, rt: Runtime, partner: Partner, day: date) -> Html:
    t = view.texts
    async with rt.store.read() as tx:  # read-only: a day without payments stays without a row
        figures = await tx.day_figures(partner.id, day)
    final = day_is_final(day, partner.cutoff, view.now)
    closes = reversal_deadline(day, partner.cutoff)
    return el(
        "div",
        card(t("count"), ltr(str(figures.count), class_="num")),
        card(t("total"), money(view, figures.total_halalas)),
        card(
            t("final"),
            badge(t("yes"), "good") if final else badge(t("no"), "warn"),
            el("span", t("closes_at"), " ", moment(closes)),
        ),
        card(t("checksum"), ltr(figures.checksum_hex, class_="code wrap"), small=True),
        class_="cards",
    )


def _upload_form(view: View, rt: Runtime, partner: Partner | None, day: date) -> Html:
    t = view.texts
    # The file goes last: the fields before it are read, and checked, before the upload
    # is streamed to disk.
    form: Html = post_form(
        view,
        "/console/reconcile",
        _partner_select(view, rt, partner),
        _date_input(view, day),
        el(
            "label",
            t("settlement_file"),
            el("input", type="file", name="bank_file", accept=".csv,text/csv", required=True),
        ),
        el("button", t("run_reconciliation"), type="submit"),
        class_="inline upload",
        upload=True,
    )
    return form


def _runs_table(view: View, runs: list[Run]) -> Html:
    t = view.texts
    rows = [
        [
            el(
                "a",
                ltr(run.partner_id),
                " ",
                ltr(run.day.isoformat(), class_="num"),
                href=f"/console/reconcile/{run.id}",
            ),
            run.file_name,
            _status(view, run),
            run.operator,
            moment(run.started_at),
        ]
        for run in runs
    ]
    headers = [t("run"), t("settlement_file"), t("status"), t("operator"), t("started")]
    return table(headers, rows, empty=t("no_runs"))


def _status(view: View, run: Run) -> Html:
    kinds = {"matched": "good", "breaks": "warn", "running": "info"}
    return badge(view.texts(f"run_{run.status}"), kinds.get(run.status, "bad"))


async def upload(request: web.Request, view: View) -> web.StreamResponse:
    """Stream the settlement file to the run's directory, start the job, show the run."""
    rt, state = request.app[RUNTIME], request.app[CONSOLE]
    reader = await request.multipart()
    fields: dict[str, str] = {}
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise Problem(400, "form_invalid")
        if part.name != "bank_file":
            fields[part.name or ""] = await _small_text(part)
            continue
        check_csrf(state.key, view, fields.get("csrf", ""))
        partner, day = _target(rt, fields)
        run_id, directory = state.runs.new_dir()
        try:
            await state.runs.receive(part, directory)
        except UploadTooLarge:
            state.runs.discard(directory)
            raise Problem(413, "upload_too_large") from None
        except BaseException:
            state.runs.discard(directory)
            raise
        name = (part.filename or "settlement.csv")[:200]
        run = Run(run_id, partner.id, day, name, view.operator, view.now, "running")
        state.runs.start(run, final=day_is_final(day, partner.cutoff, view.now))
        return redirect(f"/console/reconcile/{run_id}")
    raise Problem(400, "file_required")


async def _small_text(part: BodyPartReader) -> str:
    data = bytearray()
    while chunk := await part.read_chunk(MAX_FIELD_BYTES):
        data += chunk
        if len(data) > MAX_FIELD_BYTES:
            raise Problem(400, "form_invalid")
    return data.decode("utf-8", "replace")


def _target(rt: Runtime, fields: dict[str, str]) -> tuple[Partner, date]:
    partner = rt.partners.get(fields.get("partner", ""))
    day = _date(fields.get("date"))
    if partner is None or day is None:
        raise Problem(400, "partner_and_date_required")
    return partner, day


async def run_page(request: web.Request, view: View) -> web.StreamResponse:
    rt, state = request.app[RUNTIME], request.app[CONSOLE]
    t = view.texts
    run = state.runs.get(request.match_info["run"])
    if run is None:
        raise Problem(404, "run_not_found")
    title = f"{t('reconciliation')} {run.partner_id} {run.day.isoformat()}"
    head: list[Node] = [
        el(
            "p",
            _status(view, run),
            " ",
            run.file_name,
            " · ",
            run.operator,
            " · ",
            moment(run.started_at),
            class_="lead",
        ),
    ]
    if run.status == "running":
        running = notice(t("run_running"), "info")
        return html_response(document(view, title, head, running, active="day_close", refresh_s=2))
    partner = rt.partners.get(run.partner_id)
    if partner is not None and not day_is_final(run.day, partner.cutoff, view.now):
        head.append(notice(t("day_not_final"), "warn"))
    if run.error is not None:
        problems = el("pre", run.error, class_="problems")
        failed = notice(t("run_" + run.status), "error")
        return html_response(document(view, title, head, failed, problems, active="day_close"))
    kind = request.query.get("class")
    chosen = kind if kind in BreakClass.__members__ else None
    offset = _offset(request.query.get("from"))
    breaks = state.runs.breaks(run, chosen, offset, BREAKS_PAGE)
    body: list[Node] = [
        _run_figures(view, run),
        el("h2", t("breaks_by_class")),
        _break_counts(view, run, chosen),
        _downloads(view, run),
        _breaks_table(view, breaks),
        _pager(view, run, chosen, offset, len(breaks)),
    ]
    return html_response(document(view, title, head, body, active="day_close"))


def _offset(text: str | None) -> int:
    with contextlib.suppress(ValueError):
        return max(0, min(int(text or 0), 10**9))
    return 0


def _run_figures(view: View, run: Run) -> Html:
    t = view.texts
    head = run.head or {}
    sides = [head.get("bank", {}), head.get("adapter", {})]
    shown = {"count": "num", "total": "num", "checksum": "code wrap"}
    rows = [
        [t(name)] + [ltr(str(side.get(name, "—")), class_=kind) for side in sides]
        for name, kind in shown.items()
    ]
    return table([t("figure"), t("bank_side"), t("adapter_side")], rows, empty="")


def _break_counts(view: View, run: Run, chosen: str | None) -> Html:
    counts: dict[str, int] = (run.head or {}).get("breakCounts", {})
    base = f"/console/reconcile/{run.id}"
    every = (view.texts("all_breaks"), sum(counts.values()), base, chosen is None)
    choices = [(ltr(kind), n, f"{base}?class={kind}", kind == chosen) for kind, n in counts.items()]
    cards = [
        el(
            "a",
            el("span", label, class_="label"),
            el("span", str(n), class_="value"),
            href=href,
            class_="card" + (" chosen" if selected else "") + (" zero" if not n else ""),
        )
        for label, n, href, selected in [every, *choices]
    ]
    return el("div", cards, class_="cards breaks")


def _downloads(view: View, run: Run) -> Html:
    base = f"/console/reconcile/{run.id}"
    return el(
        "p",
        el(
            "a", view.texts("download_csv"), href=f"{base}/{BREAKS}", download=True, class_="button"
        ),
        " ",
        el(
            "a",
            view.texts("download_json"),
            href=f"{base}/{REPORT}",
            download=True,
            class_="button",
        ),
        class_="downloads",
    )


def _breaks_table(view: View, breaks: list[BreakLine]) -> Html:
    t = view.texts
    rows = [
        [
            ltr(line.kind),
            ltr(line.bank_payment_ref, class_="code wrap"),
            ltr(line.field),
            ltr(line.bank_value or "—", class_="code wrap"),
            ltr(line.adapter_value or "—", class_="code wrap"),
            ltr(line.bank_line or "—", class_="num"),
            el(
                "a",
                ltr(line.payment_id, class_="code wrap"),
                href=f"/console/payments/{line.payment_id}",
            )
            if line.payment_id
            else "—",
        ]
        for line in breaks
    ]
    headers = [
        t("class"),
        t("bank_payment_ref"),
        t("field"),
        t("bank_value"),
        t("adapter_value"),
        t("bank_line"),
        t("payment_id"),
    ]
    return table(headers, rows, empty=t("no_breaks"))


def _pager(view: View, run: Run, chosen: str | None, offset: int, shown: int) -> Html | None:
    base = f"/console/reconcile/{run.id}?" + (f"class={chosen}&" if chosen else "")
    links = []
    if offset > 0:
        links.append(
            el("a", view.texts("previous"), href=f"{base}from={max(0, offset - BREAKS_PAGE)}")
        )
    if shown == BREAKS_PAGE:
        links.append(el("a", view.texts("next"), href=f"{base}from={offset + BREAKS_PAGE}"))
    return el("nav", links, class_="pager") if links else None


async def download(request: web.Request, view: View) -> web.StreamResponse:
    state = request.app[CONSOLE]
    run = state.runs.get(request.match_info["run"])
    name = request.match_info["file"]
    if run is None or name not in DOWNLOADS or not state.runs.file(run, name).is_file():
        raise Problem(404, "run_not_found")
    stem = f"reconciliation-{run.partner_id}-{run.day.isoformat()}"
    response = web.FileResponse(state.runs.file(run, name))
    response.content_type = DOWNLOADS[name]
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}-{name}"'
    return response

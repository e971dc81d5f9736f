"""Payments: find one by BankPaymentRef, PaymentId or bill number; its history, its bill
(the payer's ID masked) and the signed requests kept as evidence, downloadable as sent."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from bank_adapter.console import reads
from bank_adapter.console.html import Html, el
from bank_adapter.console.layout import badge, document, ltr, moment, money, table
from bank_adapter.console.shell import Problem, View, html_response
from bank_adapter.web.runtime import RUNTIME

MAX_QUERY: Final = 64
SHOWN_BODY: Final = 16 * 1024


async def search_page(request: web.Request, view: View) -> web.StreamResponse:
    rt = request.app[RUNTIME]
    t = view.texts
    query = request.query.get("q", "").strip()[:MAX_QUERY]
    found: list[reads.PaymentRecord] = []
    if query:
        async with reads.read_only(rt.store.engine) as conn:
            found = await reads.find_payments(conn, query, list(rt.partners))
    form = el(
        "form",
        el(
            "label",
            t("search_payment"),
            el(
                "input",
                type="search",
                name="q",
                value=query,
                maxlength=str(MAX_QUERY),
                placeholder="BPR-…, P000…, 1000…",
                dir="ltr",
            ),
        ),
        el("button", t("search"), type="submit"),
        method="get",
        action="/console/payments",
        class_="inline",
        role="search",
    )
    body = [form, _results(view, found) if query else el("p", t("search_help"), class_="hint")]
    return html_response(document(view, t("payments"), body, active="payments"))


def _results(view: View, found: list[reads.PaymentRecord]) -> Html:
    t = view.texts
    rows = [
        [
            el(
                "a", ltr(p.payment_id, class_="code wrap"), href=f"/console/payments/{p.payment_id}"
            ),
            [
                el("div", ltr(p.partner_id), class_="muted small"),
                ltr(p.bank_payment_ref, class_="code wrap"),
            ],
            ltr(p.bill_number),
            money(view, p.amount_halalas),
            _status(view, p.status),
            [
                ltr(p.business_date.isoformat(), class_="num"),
                el("div", t("recorded_at"), " ", moment(p.recorded_at), class_="muted small"),
            ],
        ]
        for p in found
    ]
    headers = [
        t("payment_id"),
        t("partner_and_ref"),
        t("bill_number"),
        t("amount"),
        t("status"),
        t("business_date"),
    ]
    return table(headers, rows, empty=t("no_payment_found"))


def _status(view: View, status: str) -> Html:
    return badge(view.texts(status.lower()), "good" if status == "POSTED" else "warn")


async def payment_page(request: web.Request, view: View) -> web.StreamResponse:
    rt = request.app[RUNTIME]
    t = view.texts
    async with reads.read_only(rt.store.engine) as conn:
        found = await reads.payment(conn, request.match_info["payment_id"])
        if found is None:
            raise Problem(404, "payment_not_found")
        bill = await reads.bill(conn, found.bill_number)
        evidence = await reads.evidence_of(conn, found.partner_id, found.bank_payment_ref)
    facts = [
        (t("partner"), ltr(found.partner_id)),
        (t("bank_payment_ref"), ltr(found.bank_payment_ref)),
        (t("bill_number"), ltr(found.bill_number)),
        (t("amount"), money(view, found.amount_halalas)),
        (t("status"), _status(view, found.status)),
        (t("business_date"), ltr(found.business_date.isoformat(), class_="num")),
        (
            t("channel"),
            ltr(found.channel + (f" / {found.terminal_id}" if found.terminal_id else "")),
        ),
        (t("paid_at_bank"), moment(found.paid_at)),
    ]
    body = [
        el("dl", [(el("dt", name), el("dd", value)) for name, value in facts], class_="facts"),
        el("h2", t("history")),
        _history(view, found),
        el("h2", t("bill")),
        _bill(view, bill) if bill is not None else el("p", t("bill_not_found"), class_="empty"),
        el("h2", t("evidence")),
        el("p", t("evidence_help"), class_="hint"),
        [_evidence(view, item) for item in evidence] or el("p", t("no_evidence"), class_="empty"),
    ]
    return html_response(document(view, found.payment_id, body, active="payments"))


def _history(view: View, found: reads.PaymentRecord) -> Html:
    t = view.texts
    steps = [el("li", el("strong", t("posted")), " ", moment(found.recorded_at))]
    if found.reversed_at is not None:
        steps.append(
            el(
                "li",
                el("strong", t("reversed")),
                " ",
                moment(found.reversed_at),
                " · ",
                t("reason"),
                ": ",
                el("q", found.reversal_reason or ""),
            )
        )
    return el("ol", steps, class_="timeline")


def _bill(view: View, bill: reads.BillSummary) -> Html:
    t = view.texts
    description = bill.description_ar if t.lang == "ar" else bill.description_en
    facts = [
        (t("bill_number"), ltr(bill.bill_number)),
        (t("id_number"), ltr(bill.masked_id)),
        (t("mobile"), ltr(bill.masked_mobile or "—")),
        (t("service"), [description, " ", ltr(bill.service_code, class_="muted code")]),
        (t("amount"), money(view, bill.amount_halalas)),
        (t("status"), ltr(bill.status)),
    ]
    return el("dl", [(el("dt", name), el("dd", value)) for name, value in facts], class_="facts")


def _evidence(view: View, item: reads.EvidenceRecord) -> Html:
    t = view.texts
    shown = item.body[:SHOWN_BODY].decode("utf-8", "replace")
    base = f"/console/evidence/{item.id}"
    return el(
        "section",
        el("h3", ltr(item.operation), " · ", moment(item.received_at)),
        el("p", t("message_id"), " ", ltr(item.message_id)),
        table(
            [t("header"), t("value")],
            [[ltr(name), ltr(value, class_="code wrap")] for name, value in item.headers],
            empty="",
        ),
        el("pre", shown, class_="body", dir="ltr"),
        el(
            "p",
            el(
                "a",
                t("download_request"),
                href=f"{base}/request.http",
                download=True,
                class_="button",
            ),
            " ",
            el("a", t("download_body"), href=f"{base}/body", download=True, class_="button"),
            class_="downloads",
        ),
        class_="evidence panel",
    )


async def evidence_download(request: web.Request, view: View) -> web.StreamResponse:
    rt = request.app[RUNTIME]
    try:
        evidence_id = int(request.match_info["id"])
    except ValueError:
        raise Problem(404, "not_found") from None
    async with reads.read_only(rt.store.engine) as conn:
        item = await reads.evidence(conn, evidence_id)
    if item is None:
        raise Problem(404, "not_found")
    name = f"evidence-{item.partner_id}-{item.id}"
    if request.match_info["part"] == "request.http":
        body, content_type, file_name = item.as_http_message(), "message/http", f"{name}.http"
    else:
        content_type = dict((k.lower(), v) for k, v in item.headers).get(
            "content-type", "application/octet-stream"
        )
        body, file_name = item.body, f"{name}.body"
    return web.Response(
        body=body,
        headers={
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="{file_name}"',
        },
    )

"""Partners: each bank's set-up and keys, and suspending or resuming it at runtime."""

from __future__ import annotations

from aiohttp import web

from bank_adapter.console import audit
from bank_adapter.console.html import Html, el
from bank_adapter.console.keyinfo import KeyExpiry
from bank_adapter.console.layout import badge, document, ltr, moment, notice, post_form, table
from bank_adapter.console.partner_state import MAX_REASON, PartnerState, change
from bank_adapter.console.shell import CONSOLE, Problem, View, html_response, redirect
from bank_adapter.partners import Partner
from bank_adapter.web.runtime import RUNTIME, Runtime


async def partners_page(request: web.Request, view: View) -> web.StreamResponse:
    rt, state = request.app[RUNTIME], request.app[CONSOLE]
    t = view.texts
    changed = request.query.get("changed")
    body = [
        notice(t("partner_changed"), "ok") if changed in rt.partners else None,
        el("p", t("partners_scope"), class_="hint"),
        _summary(view, rt, state.keys),
        [
            _partner(view, rt, partner, state.keys.get(pid, []))
            for pid, partner in sorted(rt.partners.items())
        ],
    ]
    return html_response(document(view, t("partners"), body, active="partners"))


def _partner(view: View, rt: Runtime, partner: Partner, keys: list[KeyExpiry]) -> Html:
    t = view.texts
    suspended = rt.partner_states.suspended(partner)
    decision = rt.partner_states.decision(partner.id)
    status = badge(t("suspended"), "bad") if suspended else badge(t("active"), "good")
    facts = [
        (t("format"), ltr(partner.format.upper())),
        (t("signature_profile"), ltr(partner.signature)),
        (t("algorithms"), ltr(", ".join(sorted(partner.algorithms)))),
        (t("channels"), ltr(", ".join(sorted(partner.channels)))),
        (t("strong_auth_channels"), ltr(", ".join(sorted(partner.strong_auth_channels)) or "—")),
        (t("cutoff"), ltr(partner.cutoff.strftime("%H:%M"), class_="num")),
        (t("rate_limit"), _rate_limit(view, partner)),
        (t("file_default"), t("suspended") if partner.suspended else t("active")),
    ]
    return el(
        "section",
        el("h2", ltr(partner.id), " ", el("span", partner.name, class_="muted"), " ", status),
        _decision(view, decision) if decision is not None else None,
        el(
            "div",
            el("dl", [(el("dt", name), el("dd", value)) for name, value in facts], class_="facts"),
            el(
                "div",
                el("h3", t("keys")),
                _keys(view, keys),
                _suspend_form(view, partner, suspended),
            ),
            class_="columns",
        ),
        class_="partner panel",
        id=partner.id,
    )


def _summary(view: View, rt: Runtime, keys: dict[str, list[KeyExpiry]]) -> Html:
    t = view.texts
    rows = []
    for pid, partner in sorted(rt.partners.items()):
        suspended = rt.partner_states.suspended(partner)
        warnings = {w for key in keys.get(pid, []) if (w := key.warning(view.now)) is not None}
        rows.append(
            [
                el("a", ltr(pid), href=f"#{pid}"),
                partner.name,
                ltr(f"{partner.format.upper()} · {partner.signature}"),
                ltr(partner.cutoff.strftime("%H:%M"), class_="num"),
                badge(t("suspended"), "bad") if suspended else badge(t("active"), "good"),
                [badge(t(w), "bad" if w == "expired" else "warn") for w in sorted(warnings)]
                or t("keys_ok"),
            ]
        )
    headers = [t("partner"), t("name"), t("format"), t("cutoff"), t("state"), t("keys")]
    return table(headers, rows, empty=t("nothing_yet"))


def _rate_limit(view: View, partner: Partner) -> Html | str:
    limit = partner.rate_limit
    if limit is None:
        return view.texts("none")
    return ltr(f"{limit.requests_per_second:g}/s, burst {limit.burst}", class_="num")


def _decision(view: View, decision: PartnerState) -> Html:
    t = view.texts
    what = t("suspended_by") if decision.suspended else t("resumed_by")
    return el(
        "p",
        what,
        " ",
        el("strong", decision.changed_by),
        " · ",
        moment(decision.changed_at),
        " · ",
        t("reason"),
        ": ",
        el("q", decision.reason),
        class_="decision",
    )


def _keys(view: View, keys: list[KeyExpiry]) -> Html:
    t = view.texts
    rows = []
    for key in keys:
        days = key.days_left(view.now)
        warning = key.warning(view.now)
        rows.append(
            [
                ltr(key.kid),
                ltr(key.kind),
                [
                    moment(key.expires) if key.expires is not None else t("no_expiry"),
                    el(
                        "div",
                        t("certificate_until"),
                        " ",
                        moment(key.certificate_not_after),
                        class_="muted small",
                    )
                    if key.certificate_not_after
                    else None,
                ],
                [
                    ltr(str(days), class_="num") if days is not None else "—",
                    " ",
                    badge(t(warning), "bad" if warning == "expired" else "warn")
                    if warning
                    else None,
                ],
            ]
        )
    headers = [t("kid"), t("key_kind"), t("valid_until"), t("days_left")]
    return table(headers, rows, empty=t("no_keys"))


def _suspend_form(view: View, partner: Partner, suspended: bool) -> Html:
    t = view.texts
    action = "resume" if suspended else "suspend"
    return post_form(
        view,
        f"/console/partners/{partner.id}/{action}",
        el(
            "label",
            t("reason"),
            el(
                "input",
                name="reason",
                required=True,
                maxlength=str(MAX_REASON),
                placeholder=t(f"{action}_reason_hint"),
            ),
        ),
        el("button", t(action), type="submit", class_="danger" if action == "suspend" else "ok"),
        class_="inline",
    )


async def suspend(request: web.Request, view: View) -> web.StreamResponse:
    return await _change(request, view, suspend=True)


async def resume(request: web.Request, view: View) -> web.StreamResponse:
    return await _change(request, view, suspend=False)


async def _change(request: web.Request, view: View, *, suspend: bool) -> web.StreamResponse:
    rt = request.app[RUNTIME]
    partner = rt.partners.get(request.match_info["partner"])
    if partner is None:
        raise Problem(404, "not_found")
    reason = " ".join(view.field("reason").split())
    if not reason or len(reason) > MAX_REASON:
        raise Problem(400, "reason_required")
    await change(
        rt.store,
        rt.partner_states,
        partner,
        suspend=suspend,
        reason=reason,
        actor=view.operator,
        via=audit.CONSOLE,
        now=view.now,
    )
    return redirect(f"/console/partners?changed={partner.id}#{partner.id}")

"""Login, logout, the language switch and the error page."""

from __future__ import annotations

import structlog
from aiohttp import web

from bank_adapter.console import session as sessions
from bank_adapter.console.html import el
from bank_adapter.console.i18n import LANGUAGES, Texts
from bank_adapter.console.layout import document, notice
from bank_adapter.console.shell import (
    CONSOLE,
    COOKIE_PATH,
    HOME,
    LANG_COOKIE,
    Problem,
    View,
    clear_session_cookie,
    harden,
    html_response,
    language,
    login_nonce_ok,
    new_login_nonce,
    redirect,
    safe_next,
    set_session_cookie,
)
from bank_adapter.web.runtime import RUNTIME

log = structlog.get_logger("bank_adapter.console")


async def login_form(request: web.Request) -> web.StreamResponse:
    return _login_page(request, status=200, error=None)


async def login(request: web.Request) -> web.StreamResponse:
    rt, state = request.app[RUNTIME], request.app[CONSOLE]
    form = await request.post()
    fields = {name: form.get(name) for name in ("operator", "token", "nonce", "next")}
    text = {name: value if isinstance(value, str) else "" for name, value in fields.items()}
    operator = sessions.valid_operator(text["operator"])
    if state.key is None:
        return _login_page(request, status=403, error="console_closed")
    if not login_nonce_ok(request, text["nonce"]):
        return _login_page(request, status=403, error="csrf_refused")
    if operator is None:
        return _login_page(request, status=400, error="operator_invalid")
    if not sessions.token_matches(rt.settings.admin_token, text["token"]):
        log.warning("console_login_refused", operator=operator)
        return _login_page(request, status=401, error="login_refused")
    log.info("console_login", operator=operator)
    response = redirect(safe_next(text["next"]))
    set_session_cookie(request, response, state.key, sessions.new_session(operator, rt.clock()))
    return harden(response)


def _login_page(request: web.Request, *, status: int, error: str | None) -> web.StreamResponse:
    state = request.app[CONSOLE]
    texts = Texts(language(request))
    view = View(texts, request.app[RUNTIME].clock(), request.path_qs)
    response = web.Response(status=status, content_type="text/html", charset="utf-8")
    nonce = new_login_nonce(request, response)
    closed = state.key is None
    body = [
        notice(texts(error), "error") if error else None,
        notice(texts("console_closed"), "error") if closed and error is None else None,
        el(
            "form",
            el("input", type="hidden", name="nonce", value=nonce),
            el("input", type="hidden", name="next", value=safe_next(request.query.get("next"))),
            el(
                "label",
                texts("operator_name"),
                el(
                    "input", name="operator", required=True, autocomplete="username", maxlength="64"
                ),
            ),
            el(
                "label",
                texts("admin_token"),
                el(
                    "input",
                    name="token",
                    type="password",
                    required=True,
                    autocomplete="current-password",
                ),
            ),
            el("button", texts("log_in"), type="submit", disabled=closed),
            el("p", texts("login_help"), class_="hint"),
            method="post",
            action="/console/login",
            class_="login",
        ),
    ]
    response.text = document(view, texts("log_in"), body)
    return harden(response)


async def logout(request: web.Request, view: View) -> web.StreamResponse:
    assert view.session is not None
    request.app[CONSOLE].revoke(view.session)
    log.info("console_logout", operator=view.operator)
    response = redirect("/console/login")
    clear_session_cookie(response)
    return response


async def switch_language(request: web.Request) -> web.StreamResponse:
    lang = request.match_info["lang"]
    if lang not in LANGUAGES:
        lang = "en"
    response = redirect(safe_next(request.query.get("next")))
    response.set_cookie(
        LANG_COOKIE,
        lang,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
        max_age=365 * 86400,
    )
    return harden(response)


async def root(_request: web.Request) -> web.StreamResponse:
    return harden(redirect(HOME))


def error_page(view: View, problem: Problem) -> web.StreamResponse:
    t = view.texts
    body = [notice(t(problem.message_key), "error"), el("p", el("a", t("back_home"), href=HOME))]
    return html_response(document(view, t("error_title"), body), problem.status)


async def not_found(_request: web.Request, _view: View) -> web.StreamResponse:
    raise Problem(404, "not_found")

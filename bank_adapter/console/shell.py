"""The console's aiohttp shell: sessions, CSRF, language, security headers, error pages.

Every console page is wrapped by `page`: no session (or an idle one) goes to the login
form; a POST must come from this console's own pages (`Sec-Fetch-Site`, when the browser
sends it) and carry the session's CSRF token; every answer re-issues the session cookie
(the idle timeout runs from the last request) and carries headers that forbid framing,
sniffing, referrers, caching and anything not served by the console itself (CSP).

Cookies: Path=/console, HttpOnly, SameSite=Strict, and Secure whenever the request came
over TLS (the service terminating TLS itself: BANK_ADAPTER_TLS_CERT). Behind a proxy
that terminates TLS, have the proxy mark them Secure (nginx: `proxy_cookie_flags`).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final
from urllib.parse import quote

import structlog
from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy.exc import SQLAlchemyError

from bank_adapter.console import session as sessions
from bank_adapter.console.html import Html
from bank_adapter.console.i18n import LANGUAGES, Texts
from bank_adapter.console.keyinfo import KeyExpiry
from bank_adapter.console.reconcile_runs import Runs
from bank_adapter.services.storage import StorageUnavailable
from bank_adapter.web.runtime import RUNTIME

SESSION_COOKIE: Final = "bank_adapter_console"
LANG_COOKIE: Final = "bank_adapter_console_lang"
LOGIN_COOKIE: Final = "bank_adapter_console_login"
COOKIE_PATH: Final = "/console"
HOME: Final = "/console/today"
_NEXT: Final = re.compile(r"/console/[A-Za-z0-9/_.?=&%+-]{0,400}")
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

log = structlog.get_logger("bank_adapter.console")


@dataclass
class ConsoleState:
    """What the console keeps per instance (nothing that must survive a restart)."""

    key: bytes | None  # None: no admin token configured, the console is closed
    idle_s: int
    started_at: datetime
    runs: Runs
    keys: dict[str, list[KeyExpiry]]  # by partner id, read at start-up
    # Logged-out session ids, until they would have expired anyway.
    revoked: dict[str, int] = field(default_factory=dict)

    def revoke(self, session: sessions.Session) -> None:
        until = session.issued + sessions.MAX_LIFETIME_S
        self.revoked = {sid: end for sid, end in self.revoked.items() if end > session.seen}
        self.revoked[session.sid] = until


CONSOLE = web.AppKey("console", ConsoleState)


@dataclass(frozen=True, slots=True)
class View:
    """What a page handler needs to know about the request it renders."""

    texts: Texts
    now: datetime
    path: str  # this page, with its query, for the language switch
    session: sessions.Session | None = None
    csrf: str = ""
    form: MultiDictProxy[str | bytes | bytearray | web.FileField] | None = None

    @property
    def operator(self) -> str:
        return self.session.operator if self.session is not None else ""

    def field(self, name: str) -> str:
        """A text field of the posted form ('' if absent)."""
        value = self.form.get(name) if self.form is not None else None
        return value if isinstance(value, str) else ""


class Problem(Exception):
    """A request the console refuses; rendered as an error page with `status`."""

    def __init__(self, status: int, message_key: str) -> None:
        super().__init__(message_key)
        self.status = status
        self.message_key = message_key


Page = Callable[[web.Request, View], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ErrorPage = Callable[[View, Problem], web.StreamResponse]


def page(handler: Page, error_page: ErrorPage, *, parse_form: bool = True) -> Handler:
    """`handler` behind the session, CSRF and headers; `parse_form=False` leaves a POST
    body unread (a streamed upload checks the token itself, see `check_csrf`)."""

    async def serve(request: web.Request) -> web.StreamResponse:
        state = request.app[CONSOLE]
        now = request.app[RUNTIME].clock()
        current = current_session(request, state, now)
        texts = Texts(language(request))
        if current is None or state.key is None:
            return harden(redirect(login_path(request)))
        view = View(
            texts, now, request.path_qs, current, sessions.csrf_token(state.key, current.sid)
        )
        try:
            if request.method == "POST":
                view = await _checked_post(request, state.key, view, parse_form)
            response = await handler(request, view)
        except Problem as problem:
            response = error_page(view, problem)
        except (SQLAlchemyError, StorageUnavailable, OSError) as exc:
            log.error("storage_unavailable", error=type(exc).__name__)
            response = error_page(view, Problem(503, "storage_unavailable"))
        if SESSION_COOKIE not in response.cookies:  # a logout has cleared it
            set_session_cookie(request, response, state.key, current.touched(now))
        return harden(response)

    return serve


async def _checked_post(request: web.Request, key: bytes, view: View, parse_form: bool) -> View:
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        raise Problem(403, "csrf_refused")
    if not parse_form:
        return view
    form = await request.post()
    token = form.get("csrf")
    assert view.session is not None
    if not isinstance(token, str) or not sessions.csrf_ok(key, view.session.sid, token):
        raise Problem(403, "csrf_refused")
    return View(view.texts, view.now, view.path, view.session, view.csrf, form)


def check_csrf(key: bytes | None, view: View, token: str) -> None:
    """For handlers that read their own body (uploads): the token or a 403 page."""
    if key is None or view.session is None or not sessions.csrf_ok(key, view.session.sid, token):
        raise Problem(403, "csrf_refused")


def current_session(
    request: web.Request, state: ConsoleState, now: datetime
) -> sessions.Session | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if state.key is None or cookie is None:
        return None
    found = sessions.decode(state.key, cookie, now, state.idle_s)
    if found is None or found.sid in state.revoked:
        return None
    return found


def set_session_cookie(
    request: web.Request, response: web.StreamResponse, key: bytes, value: sessions.Session
) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        sessions.encode(key, value),
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )


def clear_session_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path=COOKIE_PATH)


def new_login_nonce(request: web.Request, response: web.StreamResponse) -> str:
    """The double-submit value of the login form (there is no session to bind it to)."""
    nonce = secrets.token_urlsafe(24)
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
        max_age=3600,
    )
    return nonce


def login_nonce_ok(request: web.Request, given: str) -> bool:
    expected = request.cookies.get(LOGIN_COOKIE, "")
    return bool(expected) and secrets.compare_digest(expected.encode(), given.encode())


def language(request: web.Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE, "en")
    return chosen if chosen in LANGUAGES else "en"


def safe_next(value: str | None) -> str:
    """A console path to go back to, never another site (open redirects)."""
    if value and _NEXT.fullmatch(value) and "//" not in value and ".." not in value:
        return value
    return HOME


def login_path(request: web.Request) -> str:
    target = request.path_qs if request.method == "GET" else HOME
    return "/console/login?next=" + quote(safe_next(target), safe="/")


def redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def harden(response: web.StreamResponse) -> web.StreamResponse:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def html_response(body: Html, status: int = 200) -> web.Response:
    return web.Response(
        status=status, body=body.encode("utf-8"), content_type="text/html", charset="utf-8"
    )


def static_file(path: Path, content_type: str) -> Handler:
    body = path.read_bytes()

    async def serve(_request: web.Request) -> web.StreamResponse:
        response = web.Response(body=body, content_type=content_type, charset="utf-8")
        response.headers["Cache-Control"] = "max-age=300"
        return harden(response)

    return serve

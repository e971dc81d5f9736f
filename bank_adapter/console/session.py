"""Console sessions and CSRF tokens: signed values, no server-side session store.

Why a signed cookie. The service may run as several instances behind a load balancer.
A session id kept in one instance's memory would log the operator out whenever the
balancer picks another instance; a session table would cost a database write per page.
So the cookie carries the session itself, `base64url(JSON) "." base64url(HMAC-SHA256)`,
under a key derived from the admin token: every instance derives the same key, nothing
needs sharing, and changing the admin token ends every session at once.

What the session holds: a random id (binds the CSRF token and a logout), the operator's
name (who, in the audit log), when it was issued and when it was last used. A session
not used for `idle_s` seconds is refused; one older than `MAX_LIFETIME_S` is refused
however busy. Each answer re-issues the cookie with the new "last used" time.

Logout clears the browser's cookie, and the instance that served the logout refuses
that session id until it would have expired anyway. Another instance would still take a
copy of the cookie taken before the logout, until its idle timeout: the cost of having
no shared store, and bounded by the (short) idle timeout.

CSRF: every state change is a POST carrying `csrf_token(key, sid)` in a form field
(synchronizer token bound to the session), compared in constant time. The login form,
having no session yet, uses a double-submit value: a random cookie repeated in a field.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

MAX_LIFETIME_S: Final = 12 * 3600
OPERATOR_NAME: Final = re.compile(r"[\w .@'-]{1,64}")
_SESSION_CONTEXT: Final = b"bank-adapter/console-session/v1\x00"
_CSRF_CONTEXT: Final = b"bank-adapter/console-csrf/v1\x00"
_SHAPE: Final = re.compile(r"[A-Za-z0-9_-]{1,2048}\.[A-Za-z0-9_-]{43}")


@dataclass(frozen=True, slots=True)
class Session:
    sid: str
    operator: str
    issued: int  # Unix seconds
    seen: int

    def touched(self, now: datetime) -> Session:
        return replace(self, seen=int(now.timestamp()))


def session_key(admin_token: str | None) -> bytes | None:
    """The signing key, or None when no admin token is configured (the console is closed)."""
    if not admin_token:
        return None
    return hmac.digest(admin_token.encode("utf-8"), _SESSION_CONTEXT, "sha256")


def token_matches(admin_token: str | None, given: str) -> bool:
    """Constant-time comparison; an unset or empty configured token never matches."""
    if not admin_token:
        return False
    return hmac.compare_digest(given.encode("utf-8"), admin_token.encode("utf-8"))


def valid_operator(name: str) -> str | None:
    """The operator's name as the audit log will show it, or None if unusable."""
    cleaned = " ".join(name.split())
    return cleaned if OPERATOR_NAME.fullmatch(cleaned) else None


def new_session(operator: str, now: datetime) -> Session:
    moment = int(now.timestamp())
    return Session(secrets.token_urlsafe(16), operator, moment, moment)


def encode(key: bytes, session: Session) -> str:
    payload = json.dumps(
        [session.sid, session.operator, session.issued, session.seen],
        separators=(",", ":"),
        ensure_ascii=True,
    ).encode("ascii")
    return f"{_b64(payload)}.{_b64(_mac(key, payload))}"


def decode(key: bytes, cookie: str, now: datetime, idle_s: int) -> Session | None:
    """The session in `cookie`, or None: forged, malformed, idle too long or too old."""
    session = _verified(key, cookie)
    moment = int(now.timestamp())
    if session is None or moment - session.seen > idle_s:
        return None
    if moment - session.issued > MAX_LIFETIME_S or session.seen > moment + 60:
        return None
    return session


def csrf_token(key: bytes, sid: str) -> str:
    return _b64(hmac.digest(key, _CSRF_CONTEXT + sid.encode("ascii"), "sha256"))


def csrf_ok(key: bytes, sid: str, given: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), csrf_token(key, sid).encode("ascii"))


def _verified(key: bytes, cookie: str) -> Session | None:
    if _SHAPE.fullmatch(cookie) is None:
        return None
    payload_text, mac_text = cookie.split(".")
    payload, mac = _unb64(payload_text), _unb64(mac_text)
    if payload is None or mac is None or not hmac.compare_digest(mac, _mac(key, payload)):
        return None
    try:
        fields = json.loads(payload)
    except ValueError:
        return None
    match fields:
        case [str(sid), str(operator), int(issued), int(seen)]:
            return Session(sid, operator, issued, seen)
    return None


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.digest(key, _SESSION_CONTEXT + payload, hashlib.sha256)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None

"""Logging set-up: structlog, JSON lines without a terminal, secrets never written.

The only module-level state of the package lives here (structlog's configuration).
Every event passes `redact` last before rendering: fields named like secrets are dropped
and any ID-number-shaped run of digits in any string is masked, so a careless
`log.info(..., path=request.path)` cannot leak an ID number. Values the renderer would
print by their repr (bytes, dataclasses, UUIDs) are turned into masked text first, and
records of other libraries' standard `logging` (aiohttp's "Error handling request" quotes
the raw request line) go through the same redaction and renderer.

Records of other libraries are also summarised before that (`summarize_foreign`): their
exception text is whatever the library put there, and aiohttp's quotes the raw bytes of a
request line or header line it could not parse, tokens and codes included. So a foreign
exception is logged as its class, status and where it was raised, never its message; and
aiohttp's own messages keep their text with only numbers and addresses filled in.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
import traceback
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

import structlog

from bank_adapter.domain.ids import mask_ids_in_text

REDACTED = "[redacted]"
# A field is secret when any word of its name is one of these: `otp`, `admin_token`,
# `otpCode`, `X-Api-Key`, `private_key` all are.
_SECRET_WORDS = frozenset(
    {"otp", "token", "authorization", "password", "passphrase", "secret", "key", "pin", "cookie"}
)
_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_HANDLER_NAME = "bank_adapter"
_OWN_LOGGERS = "bank_adapter"
_VERBATIM_ARG = re.compile(r"[0-9A-Fa-f:.\[\]]{1,64}")  # numbers and IP addresses
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


@functools.lru_cache(maxsize=4096)
def is_secret_name(name: object) -> bool:
    # Cached: a log line's field names come from a small fixed set, and the check was a
    # third of the cost of every line.
    words = _NON_WORD.split(_CAMEL_HUMP.sub("_", str(name)).lower())
    return any(word in _SECRET_WORDS for word in words)


def _mask(value: Any) -> Any:
    if isinstance(value, str):  # the common case first
        return mask_ids_in_text(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, dict):
        return {
            mask_ids_in_text(str(k)): REDACTED if is_secret_name(k) else _mask(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_mask(item) for item in value]
    if isinstance(value, int | float):
        text = str(value)
        masked = mask_ids_in_text(text)
        return value if masked == text else masked
    # The renderer would print anything else by its repr, digits and all.
    return mask_ids_in_text(str(value))


def redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for field in list(event):
        event[field] = REDACTED if is_secret_name(field) else _mask(event[field])
    return event


def summarize_foreign(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Another library's record: its exception summarised, aiohttp's arguments filtered."""
    record: logging.LogRecord | None = event.get("_record")
    args = event.pop("positional_args", ())
    if record is None or _is_own(record.name):
        return event
    exc_info = event.pop("exc_info", None)
    if isinstance(exc_info, tuple) and exc_info[0] is not None:
        event["exception"] = exception_summary(exc_info)
    if record.name == "aiohttp" or record.name.startswith("aiohttp."):
        event["event"] = _with_safe_args(str(record.msg), args)
    return event


def exception_summary(exc_info: ExcInfo) -> str:
    """`BadHttpMessage (status 400) at _http_parser.pyx:723 in feed_data`: no message."""
    kind, exc, tb = exc_info
    summary = kind.__name__
    status = getattr(exc, "code", getattr(exc, "status", None))
    if isinstance(status, int) and not isinstance(status, bool):
        summary += f" (status {status})"
    frames = traceback.extract_tb(tb)
    if frames:
        last = frames[-1]
        summary += f" at {Path(last.filename).name}:{last.lineno} in {last.name}"
    return summary


def _is_own(logger_name: str) -> bool:
    return logger_name == _OWN_LOGGERS or logger_name.startswith(_OWN_LOGGERS + ".")


def _with_safe_args(template: str, args: object) -> str:
    if not isinstance(args, tuple) or not args:
        return template
    shown = tuple(arg if _verbatim(arg) else REDACTED for arg in args)
    try:
        return template % shown
    except (TypeError, ValueError):
        return template


def _verbatim(arg: object) -> bool:
    if isinstance(arg, int | float):
        return True
    return isinstance(arg, str) and _VERBATIM_ARG.fullmatch(arg) is not None


def configure(
    *,
    level: str = "INFO",
    stream: TextIO | None = None,
    json: bool | None = None,
    fields: Mapping[str, Any] | None = None,
) -> None:
    """JSON lines unless `stream` is a terminal; stderr by default (stdout stays clean).
    `fields` go on every line (a `serve` worker's index and pid)."""
    out = stream or sys.stderr
    as_json = (not out.isatty()) if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    enrich: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    if fields:
        enrich.append(_add_fields(dict(fields)))
    structlog.configure(
        processors=[*enrich, redact, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        # One write per line (print() writes the newline apart): the workers of
        # `serve --workers` share one stderr, and their lines must not interleave.
        logger_factory=structlog.WriteLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    _route_stdlib_logging(out, level, [structlog.stdlib.add_logger_name, *enrich], renderer)


def _add_fields(fields: dict[str, Any]) -> Any:
    def add(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        event.update(fields)
        return event

    return add


def _route_stdlib_logging(out: TextIO, level: str, enrich: list[Any], renderer: Any) -> None:
    """Without this, Python's last-resort handler would print other libraries' warnings
    and errors as plain text: not JSON, and not redacted."""
    handler = logging.StreamHandler(out)
    handler.set_name(_HANDLER_NAME)
    handler.setLevel(level)
    formatter = structlog.stdlib.ProcessorFormatter
    handler.setFormatter(
        formatter(
            foreign_pre_chain=[summarize_foreign, *enrich],
            processors=[formatter.remove_processors_meta, redact, renderer],
            pass_foreign_args=True,
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)

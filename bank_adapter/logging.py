"""Logging set-up: structlog, JSON lines without a terminal, secrets never written.

The only module-level state of the package lives here (structlog's configuration).
Every event passes `redact` last before rendering: fields named like secrets are dropped
and any ID-number-shaped run of digits in any string is masked, so a careless
`log.info(..., path=request.path)` cannot leak an ID number.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from bank_adapter.domain.ids import mask_ids_in_text

_SECRET_FIELDS = frozenset(
    {"otp", "token", "authorization", "password", "secret", "key", "private_key", "otp_key"}
)


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return mask_ids_in_text(value)
    if isinstance(value, dict):
        return {
            k: "[redacted]" if k.lower() in _SECRET_FIELDS else _mask(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_mask(item) for item in value]
    return value


def redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for field in list(event):
        if field.lower() in _SECRET_FIELDS:
            event[field] = "[redacted]"
        else:
            event[field] = _mask(event[field])
    return event


def configure(
    *, level: str = "INFO", stream: TextIO | None = None, json: bool | None = None
) -> None:
    """JSON lines unless `stream` is a terminal; stderr by default (stdout stays clean)."""
    out = stream or sys.stderr
    as_json = (not out.isatty()) if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)

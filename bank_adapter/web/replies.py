"""Turning answers into signed wire responses, in the partner's format and profile.

Errors for a request whose partner is unknown are JSON problem details signed with a
detached JWS (contract section 2); all others follow the partner's configuration.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from bank_adapter.core import codec_json, codec_xml
from bank_adapter.core.messages import Answer, ErrorResponse, Operation, Problem
from bank_adapter.core.wire import WireResponse
from bank_adapter.errors import AdapterError, Code, http_status, title
from bank_adapter.partners import Partner
from bank_adapter.web.runtime import Runtime

PROBLEM_JSON = "application/problem+json"
ERROR_TYPE = "urn:bank-adapter:v1:error:"


def success(
    rt: Runtime, partner: Partner, op: Operation[Any], model: Answer, now: datetime
) -> WireResponse:
    if partner.format == "xml":
        body = codec_xml.encode_xml(model, op.response_root)
    else:
        body = codec_json.encode_json(model)
    return sign(rt, partner, 200, partner.content_type, body, now)


def failure(
    rt: Runtime, partner: Partner | None, err: AdapterError, in_reply_to: UUID | None, now: datetime
) -> WireResponse:
    status = http_status(err.code)
    if partner is not None and partner.format == "xml":
        error = ErrorResponse(
            message_id=uuid4(),
            in_reply_to=in_reply_to,
            timestamp=now,
            code=err.code.value,
            description=err.detail,
        )
        body = codec_xml.encode_xml(error, "Error")
        content_type = partner.content_type
    else:
        body = codec_json.encode_json(problem(err, in_reply_to, now))
        content_type = PROBLEM_JSON
    response = sign(rt, partner, status, content_type, body, now)
    if err.retry_after is not None:
        extra = (("Retry-After", str(err.retry_after)),)
        return WireResponse(
            response.status, response.content_type, response.body, response.headers + extra
        )
    return response


def problem(err: AdapterError, in_reply_to: UUID | None, now: datetime) -> Problem:
    return Problem(
        type=ERROR_TYPE + err.code.value,
        title=title(err.code),
        status=http_status(err.code),
        detail=err.detail,
        code=err.code.value,
        message_id=uuid4(),
        in_reply_to=in_reply_to,
        timestamp=now,
    )


def sign(
    rt: Runtime, partner: Partner | None, status: int, content_type: str, body: bytes, now: datetime
) -> WireResponse:
    profile = rt.profiles[partner.signature if partner is not None else "jws"]
    signed = profile.sign_response(status, content_type, body, rt.signing_key, now)
    return WireResponse(status, content_type, signed.body, signed.headers)


def unsigned_problem(code: Code, detail: str, now: datetime) -> WireResponse:
    """For the internal API, which is not signed (it is guarded by the bearer token)."""
    err = AdapterError(code, detail)
    body = codec_json.encode_json(problem(err, None, now))
    return WireResponse(http_status(code), PROBLEM_JSON, body)

"""What the SDK raises: one exception per family of contract codes (section 5), one root.

An exception made from an answer carries the HTTP `status`, the contract `code`, `problem`
(the signed error body, decoded: problem+json members, or the XML `Error` elements under
the same lowerCamelCase names) and `reply` (the whole verified answer, bytes and headers
included, to keep as evidence). The families follow the contract's status table, so a
code added to a family later is still caught by the family's class.

`RetryableError` marks what is safe to send again (with a new MessageId and Timestamp,
the same BankPaymentRef): 429 after `retry_after` seconds, 5xx, and the two transport
failures the contract's retry rule names, a timeout and a lost answer. The SDK's opt-in
automatic retries follow that rule exactly: timeouts, lost answers and 5xx, never a 4xx
(a 429 included: its wait is the bank's to schedule).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bank_adapter.client.replies import Reply


class BankAdapterError(Exception):
    """The root: anything the SDK raises about an exchange with the adapter."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        problem: Mapping[str, Any] | None = None,
        reply: Reply | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.problem: Mapping[str, Any] = problem or {}
        self.reply = reply


class InvalidRequestError(BankAdapterError):
    """400, 413, 415: the message as sent is wrong (malformed, schema, stale, ID, mobile,
    size, format). Fix the message; sending it again unchanged gets the same answer."""


class SignatureError(BankAdapterError):
    """401: the adapter did not accept the request's signature, key, algorithm or partner."""


class ForbiddenError(BankAdapterError):
    """403: channel not allowed, or the partner is suspended."""


class NotFoundError(BankAdapterError):
    """404: account, activation, bill or payment not found."""


class ConflictError(BankAdapterError):
    """409: MessageId reused, duplicate payment reference, already active/paid/reversed..."""


class RejectedError(BankAdapterError):
    """422: understood and refused by a business rule (OTP, amount, expiry, window...)."""


class RetryableError(BankAdapterError):
    """Safe to send again with a new MessageId, after `retry_after` seconds when given."""

    def __init__(self, message: str, *, retry_after: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class RateLimitedError(RetryableError):
    """429 RATE_LIMITED or OTP_LIMIT_REACHED; `retry_after` is the adapter's Retry-After."""


class ServiceUnavailableError(RetryableError):
    """5xx: the adapter's storage or the adapter failed; nothing was recorded."""


class AnswerLostError(RetryableError):
    """The connection closed before an answer came: the request may have been processed.
    Send it again (same BankPaymentRef) or ask `/v1/payments/status`."""


class RequestTimeoutError(RetryableError):
    """No answer within the timeout: the request may have been processed (as lost)."""


class ConnectFailedError(RetryableError):
    """The adapter could not be reached: nothing was sent."""


class UnverifiedReply(BankAdapterError):
    """The answer does not carry a valid adapter signature, or answers another message.
    Never act on it: ask `/v1/payments/status` for what became of a payment."""


_FAMILIES: Mapping[int, type[BankAdapterError]] = {
    400: InvalidRequestError,
    401: SignatureError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    413: InvalidRequestError,
    415: InvalidRequestError,
    422: RejectedError,
    429: RateLimitedError,
}


def error_for(reply: Reply) -> BankAdapterError:
    """The exception a verified error answer raises."""
    code = reply.code
    detail = reply.error.get("detail") or reply.error.get("description") or ""
    message = f"{reply.status} {code}: {detail}" if detail else f"{reply.status} {code}"
    fields: dict[str, Any] = {
        "status": reply.status,
        "code": code,
        "problem": reply.error,
        "reply": reply,
    }
    if reply.status >= 500:
        return ServiceUnavailableError(message, retry_after=reply.retry_after, **fields)
    family = _FAMILIES.get(reply.status, BankAdapterError)
    if issubclass(family, RetryableError):
        return family(message, retry_after=reply.retry_after, **fields)
    return family(message, **fields)

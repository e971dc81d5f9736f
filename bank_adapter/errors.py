"""The one error tree: every failure the contract names, with its HTTP status.

Handlers and the core raise `AdapterError(code, detail)`; one middleware turns it into a
signed problem/Error body. No code path picks an HTTP status by itself.
"""

from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    MALFORMED_MESSAGE = "MALFORMED_MESSAGE"
    SCHEMA_INVALID = "SCHEMA_INVALID"
    STALE_MESSAGE = "STALE_MESSAGE"
    INVALID_ID_NUMBER = "INVALID_ID_NUMBER"
    INVALID_MOBILE = "INVALID_MOBILE"
    SIGNATURE_MISSING = "SIGNATURE_MISSING"
    SIGNATURE_INVALID = "SIGNATURE_INVALID"
    UNKNOWN_PARTNER = "UNKNOWN_PARTNER"
    UNKNOWN_KEY = "UNKNOWN_KEY"
    ALGORITHM_NOT_ALLOWED = "ALGORITHM_NOT_ALLOWED"
    UNAUTHORIZED = "UNAUTHORIZED"
    CHANNEL_NOT_ALLOWED = "CHANNEL_NOT_ALLOWED"
    PARTNER_SUSPENDED = "PARTNER_SUSPENDED"
    NOT_FOUND = "NOT_FOUND"
    ACCOUNT_NOT_FOUND = "ACCOUNT_NOT_FOUND"
    ACTIVATION_NOT_FOUND = "ACTIVATION_NOT_FOUND"
    BILL_NOT_FOUND = "BILL_NOT_FOUND"
    PAYMENT_NOT_FOUND = "PAYMENT_NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    MESSAGE_ID_REUSED = "MESSAGE_ID_REUSED"
    DUPLICATE_CONFLICT = "DUPLICATE_CONFLICT"
    ACCOUNT_ALREADY_ACTIVE = "ACCOUNT_ALREADY_ACTIVE"
    BILL_ALREADY_PAID = "BILL_ALREADY_PAID"
    BILL_CANCELLED = "BILL_CANCELLED"
    ALREADY_REVERSED = "ALREADY_REVERSED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    FORMAT_NOT_ALLOWED = "FORMAT_NOT_ALLOWED"
    MOBILE_MISMATCH = "MOBILE_MISMATCH"
    BIOMETRIC_NOT_ENROLLED = "BIOMETRIC_NOT_ENROLLED"
    ID_EXPIRED = "ID_EXPIRED"
    ID_BLOCKED = "ID_BLOCKED"
    OTP_INVALID = "OTP_INVALID"
    OTP_EXPIRED = "OTP_EXPIRED"
    OTP_ATTEMPTS_EXCEEDED = "OTP_ATTEMPTS_EXCEEDED"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    BILL_EXPIRED = "BILL_EXPIRED"
    REVERSAL_WINDOW_CLOSED = "REVERSAL_WINDOW_CLOSED"
    SERVICE_NOT_APPLICABLE = "SERVICE_NOT_APPLICABLE"
    RATE_LIMITED = "RATE_LIMITED"
    OTP_LIMIT_REACHED = "OTP_LIMIT_REACHED"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"


# The contract's table (section 5), plus the few codes only the internal API and the
# router use (UNAUTHORIZED, NOT_FOUND, METHOD_NOT_ALLOWED, INTERNAL_ERROR).
_STATUS: dict[Code, int] = {
    Code.MALFORMED_MESSAGE: 400,
    Code.SCHEMA_INVALID: 400,
    Code.STALE_MESSAGE: 400,
    Code.INVALID_ID_NUMBER: 400,
    Code.INVALID_MOBILE: 400,
    Code.SIGNATURE_MISSING: 401,
    Code.SIGNATURE_INVALID: 401,
    Code.UNKNOWN_PARTNER: 401,
    Code.UNKNOWN_KEY: 401,
    Code.ALGORITHM_NOT_ALLOWED: 401,
    Code.UNAUTHORIZED: 401,
    Code.CHANNEL_NOT_ALLOWED: 403,
    Code.PARTNER_SUSPENDED: 403,
    Code.NOT_FOUND: 404,
    Code.ACCOUNT_NOT_FOUND: 404,
    Code.ACTIVATION_NOT_FOUND: 404,
    Code.BILL_NOT_FOUND: 404,
    Code.PAYMENT_NOT_FOUND: 404,
    Code.METHOD_NOT_ALLOWED: 405,
    Code.MESSAGE_ID_REUSED: 409,
    Code.DUPLICATE_CONFLICT: 409,
    Code.ACCOUNT_ALREADY_ACTIVE: 409,
    Code.BILL_ALREADY_PAID: 409,
    Code.BILL_CANCELLED: 409,
    Code.ALREADY_REVERSED: 409,
    Code.PAYLOAD_TOO_LARGE: 413,
    Code.FORMAT_NOT_ALLOWED: 415,
    Code.MOBILE_MISMATCH: 422,
    Code.BIOMETRIC_NOT_ENROLLED: 422,
    Code.ID_EXPIRED: 422,
    Code.ID_BLOCKED: 422,
    Code.OTP_INVALID: 422,
    Code.OTP_EXPIRED: 422,
    Code.OTP_ATTEMPTS_EXCEEDED: 422,
    Code.AMOUNT_MISMATCH: 422,
    Code.BILL_EXPIRED: 422,
    Code.REVERSAL_WINDOW_CLOSED: 422,
    Code.SERVICE_NOT_APPLICABLE: 422,
    Code.RATE_LIMITED: 429,
    Code.OTP_LIMIT_REACHED: 429,
    Code.SERVICE_UNAVAILABLE: 503,
    Code.INTERNAL_ERROR: 500,
}

_TITLES: dict[Code, str] = {code: code.value.replace("_", " ").capitalize() for code in Code}


def http_status(code: Code) -> int:
    return _STATUS[code]


def title(code: Code) -> str:
    return _TITLES[code]


class AdapterError(Exception):
    """A failure with its contract code; `detail` is safe to show to the bank."""

    def __init__(self, code: Code, detail: str = "", *, retry_after: int | None = None) -> None:
        super().__init__(f"{code.value}: {detail}" if detail else code.value)
        self.code = code
        self.detail = detail or title(code)
        self.retry_after = retry_after

    @property
    def status(self) -> int:
        return http_status(self.code)

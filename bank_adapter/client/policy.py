"""Timeouts and the opt-in retry policy of the SDK.

Default timeouts: 5 s to connect, 30 s for the whole exchange. A payment is answered in
milliseconds; 30 s leaves room for a 5,000-entry statement page on a busy adapter, and
stays below what a customer waits at a counter or an ATM. Both are per send: a retried
call may take up to `attempts` times as long, plus the waits in between.

Retries are off unless a `Retries` is given. They follow the contract's retry rule
exactly (section 3): a new MessageId and Timestamp each time, the same fields (so the
same BankPaymentRef), and only after a timeout, a lost answer (the connection closed
without a status line) or a 5xx; never after a 4xx, and never after an answer whose
signature does not verify. Only calls the contract makes safe to repeat are retried
(see `calls`).
"""

from __future__ import annotations

from dataclasses import dataclass

from bank_adapter.client.errors import (
    AnswerLostError,
    BankAdapterError,
    RequestTimeoutError,
    ServiceUnavailableError,
)

RETRIED = (RequestTimeoutError, AnswerLostError, ServiceUnavailableError)


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect_s: float = 5.0
    total_s: float = 30.0


@dataclass(frozen=True, slots=True)
class Retries:
    """Send at most `attempts` times in all, waiting `backoff_s`, then twice that, ... (at
    most `max_backoff_s`, or the adapter's Retry-After when it gives one) in between."""

    attempts: int = 3
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.backoff_s < 0 or self.max_backoff_s < 0:
            raise ValueError("attempts must be at least 1 and waits not negative")

    def wait_before(self, attempt: int, error: BankAdapterError) -> float | None:
        """Seconds to wait before send number `attempt + 1` after `error`; None: give up."""
        if attempt >= self.attempts or not isinstance(error, RETRIED):
            return None
        if error.retry_after is not None:
            return float(error.retry_after)
        return min(self.backoff_s * 2.0 ** (attempt - 1), self.max_backoff_s)


NO_RETRIES = Retries(attempts=1)
DEFAULT_TIMEOUTS = Timeouts()

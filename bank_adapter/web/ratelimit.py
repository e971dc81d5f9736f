"""Per-partner token buckets (off unless a partner file sets `rate_limit`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bank_adapter.partners import RateLimit


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class RateLimiter:
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def retry_after(self, partner_id: str, limit: RateLimit, now: float) -> int | None:
        """None if a request may pass now (and take a token), else seconds to wait."""
        bucket = self._buckets.setdefault(partner_id, _Bucket(float(limit.burst), now))
        elapsed = max(0.0, now - bucket.updated)
        bucket.tokens = min(float(limit.burst), bucket.tokens + elapsed * limit.requests_per_second)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - bucket.tokens) / limit.requests_per_second))

"""What a service call knows besides its message: who asks, when, and with which secrets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from bank_adapter.domain.fees import FeeSchedule
from bank_adapter.partners import Partner


@dataclass(frozen=True, slots=True)
class CallContext:
    partner: Partner
    now: datetime
    in_reply_to: UUID
    otp_key: bytes
    fees: FeeSchedule
    page_token_key: bytes
    otp_max_per_hour: int = 5

    def reply_fields(self) -> dict[str, Any]:
        """The common response fields (contract section 4)."""
        return {"message_id": uuid4(), "in_reply_to": self.in_reply_to, "timestamp": self.now}

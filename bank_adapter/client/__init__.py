"""The bank-side SDK: sign requests in the partner's profile, verify every answer, get typed
results or typed errors. `docs/sdk.md` is its guide.

    from bank_adapter.client import PartnerClient, PartnerConfig

    config = PartnerConfig.from_key_file("RJHI", format="json", signature="jws",
                                         algorithm="ES256", kid="rjhi-2026-01",
                                         key_file="rjhi-2026-01.key.pem")
    async with PartnerClient("https://adapter.example", config) as bank:
        ack = await bank.pay(bank_payment_ref="R-1", bill_number="1000000000010",
                             amount="300.00", channel="APP")   # PaymentAck, or raises

`SyncPartnerClient` offers the same operations to synchronous code. Importing this
package loads neither lxml nor xmlsec: XML partners need the `xml` extra.
"""

from bank_adapter.client.aio import PartnerClient, Replies
from bank_adapter.client.calls import Call
from bank_adapter.client.config import RESPONSE_ALGORITHMS, PartnerConfig, profile_for
from bank_adapter.client.errors import (
    AnswerLostError,
    BankAdapterError,
    ConflictError,
    ConnectFailedError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    RejectedError,
    RequestTimeoutError,
    RetryableError,
    ServiceUnavailableError,
    SignatureError,
    UnverifiedReply,
)
from bank_adapter.client.keyring import fetch_adapter_keys
from bank_adapter.client.policy import Retries, Timeouts
from bank_adapter.client.replies import Reply
from bank_adapter.client.sync import SyncPartnerClient
from bank_adapter.core.messages import (
    ActivationResponse,
    Bill,
    BillInquiryResponse,
    PaymentAck,
    Statement,
    StatementEntry,
)

__all__ = [
    "RESPONSE_ALGORITHMS",
    "ActivationResponse",
    "AnswerLostError",
    "BankAdapterError",
    "Bill",
    "BillInquiryResponse",
    "Call",
    "ConflictError",
    "ConnectFailedError",
    "ForbiddenError",
    "InvalidRequestError",
    "NotFoundError",
    "PartnerClient",
    "PartnerConfig",
    "PaymentAck",
    "RateLimitedError",
    "RejectedError",
    "Replies",
    "Reply",
    "RequestTimeoutError",
    "Retries",
    "RetryableError",
    "ServiceUnavailableError",
    "SignatureError",
    "Statement",
    "StatementEntry",
    "SyncPartnerClient",
    "Timeouts",
    "UnverifiedReply",
    "fetch_adapter_keys",
    "profile_for",
]

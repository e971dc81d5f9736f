"""The conformance rules (contract section 10) and their verdicts. Pure: no I/O.

The kit records one `Outcome` per partner request, in arrival order, and judges each
rule over the whole record when a report is asked for: a rule is `fail` if any of its
fail conditions occurred, else `pass` if its pass condition occurred, else
`not_exercised`. `evidence` lists the MessageIds the verdict rests on (the failing
requests, or the ones that passed it).

Which check failed for a 401/415 is named as the signature diagnostics name it
(`partner`, `format`, `signature_header`, `key`, `algorithm`, `digest`, `binding`,
`signature`), read from the code and the detail the pipeline answered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

PASS, FAIL, NOT_EXERCISED = "pass", "fail", "not_exercised"
MAX_EVIDENCE: Final = 50

PAYMENTS, STATUS, REVERSAL = "/v1/payments", "/v1/payments/status", "/v1/payments/reversal"
CONFIRM, STATEMENT = "/v1/activations/confirm", "/v1/reconciliation/statement"
UNVERIFIED_STATUSES: Final = frozenset({401, 415})
# Errors another rule judges (signature, MessageId, clock) or that are not the bank's
# doing (rate limits, outages): they never fail an operation's own rule.
NOT_THE_OPERATIONS: Final = frozenset(
    {
        "SIGNATURE_MISSING", "SIGNATURE_INVALID", "UNKNOWN_PARTNER", "UNKNOWN_KEY",
        "ALGORITHM_NOT_ALLOWED", "FORMAT_NOT_ALLOWED", "PAYLOAD_TOO_LARGE",
        "PARTNER_SUSPENDED", "MESSAGE_ID_REUSED", "STALE_MESSAGE", "RATE_LIMITED",
        "SERVICE_UNAVAILABLE", "INTERNAL_ERROR",
    }
)  # fmt: skip
_CHECK_BY_CODE: Final = {
    "FORMAT_NOT_ALLOWED": "format",
    "UNKNOWN_PARTNER": "partner",
    "SIGNATURE_MISSING": "signature_header",
    "UNKNOWN_KEY": "key",
    "ALGORITHM_NOT_ALLOWED": "algorithm",
}
# SIGNATURE_INVALID covers several checks; its detail says which (core/jws.py,
# core/httpsig.py, core/xmldsig.py word them).
_CHECK_BY_DETAIL: Final = (
    (("Content-Digest", "digest"), "digest"),
    (("htm ", "htu ", "another operation"), "binding"),
    (("does not verify", "signature value"), "signature"),
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One partner request to a section 4 path and how it was answered.

    `request` and `answer` hold the messages' fields under their JSON names (also for
    XML partners); `request` is empty when the body could not be read, `answer` for an
    error holds the problem's members (`code`, `detail`, `inReplyTo`).
    """

    path: str
    status: int
    request: Mapping[str, Any] = field(default_factory=dict)
    answer: Mapping[str, Any] = field(default_factory=dict)

    @property
    def code(self) -> str | None:
        value = self.answer.get("code") if self.status >= 300 else None
        return str(value) if value is not None else None

    @property
    def message_id(self) -> str | None:
        value = self.request.get("messageId") or self.answer.get("inReplyTo")
        return str(value) if value else None

    @property
    def detail(self) -> str:
        return str(self.answer.get("detail") or self.answer.get("description") or "")

    @property
    def verified(self) -> bool:
        return self.status not in UNVERIFIED_STATUSES

    def field(self, name: str) -> str | None:
        value = self.request.get(name)
        return str(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class Targets:
    """The fixtures the rules are about."""

    payment_bill: str
    lost_answer_bill: str


@dataclass
class Record:
    """Everything the kit saw: outcomes in order, the key fetch, the lost answer."""

    targets: Targets
    outcomes: list[Outcome] = field(default_factory=list)
    keys_fetched: bool = False
    lost_at: int | None = None  # index in `outcomes` of the request whose answer was lost

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)

    def should_lose(self, outcome: Outcome) -> bool:
        """True for the first notification of the `lost_answer` bill that posts."""
        return (
            self.lost_at is None
            and outcome.path == PAYMENTS
            and outcome.status == 200
            and outcome.answer.get("status") == "POSTED"
            and outcome.field("billNumber") == self.targets.lost_answer_bill
        )

    def lose(self) -> None:
        self.lost_at = len(self.outcomes) - 1

    @property
    def lost_ref(self) -> str | None:
        return None if self.lost_at is None else self.outcomes[self.lost_at].field("bankPaymentRef")


@dataclass(frozen=True, slots=True)
class Verdict:
    status: str
    detail: str
    evidence: tuple[str, ...] = ()


def _ids(outcomes: Sequence[Outcome]) -> tuple[str, ...]:
    return tuple(o.message_id for o in outcomes if o.message_id)[:MAX_EVIDENCE]


def _judge(
    failed: Sequence[Outcome], passed: Sequence[Outcome], fail_detail: str, pass_detail: str
) -> Verdict:
    if failed:
        return Verdict(FAIL, fail_detail, _ids(failed))
    if passed:
        return Verdict(PASS, pass_detail, _ids(passed))
    return Verdict(NOT_EXERCISED, "not exercised yet")


def failed_check(outcome: Outcome) -> str:
    """The diagnostics check a 401/415 answer stopped at."""
    if outcome.code in _CHECK_BY_CODE:
        return _CHECK_BY_CODE[outcome.code or ""]
    for words, check in _CHECK_BY_DETAIL:
        if any(word in outcome.detail for word in words):
            return check
    return "signature_header"


def signature(record: Record) -> Verdict:
    refused = [o for o in record.outcomes if not o.verified]
    reasons = "; ".join(
        f"{o.path}: {o.status} {o.code} at check '{failed_check(o)}': {o.detail}"
        for o in refused[:5]
    )
    verified = [o for o in record.outcomes if o.verified]
    return _judge(
        refused,
        verified,
        f"{len(refused)} request(s) refused before processing: {reasons}",
        f"{len(verified)} request(s), every one verified",
    )


def _verified_without(record: Record, code: str, what: str, ok: str) -> Verdict:
    failed = [o for o in record.outcomes if o.code == code]
    verified = [o for o in record.outcomes if o.verified]
    return _judge(failed, verified, f"{len(failed)} request(s) answered {code}: {what}", ok)


def message_ids(record: Record) -> Verdict:
    return _verified_without(
        record,
        "MESSAGE_ID_REUSED",
        "a MessageId was sent again with another body",
        "no MessageId was reused with another body",
    )


def clock(record: Record) -> Verdict:
    return _verified_without(
        record,
        "STALE_MESSAGE",
        "the Timestamp was more than the allowed skew from the adapter's clock",
        "every new message was fresh",
    )


def keys(record: Record) -> Verdict:
    if record.keys_fetched:
        return Verdict(PASS, "GET /v1/keys was fetched")
    return Verdict(NOT_EXERCISED, "GET /v1/keys was never fetched")


def activation(record: Record) -> Verdict:
    confirms = [o for o in record.outcomes if o.path == CONFIRM]
    failed = [o for o in confirms if o.code in {"OTP_ATTEMPTS_EXCEEDED", "OTP_EXPIRED"}]
    activated = [o for o in confirms if o.answer.get("status") == "ACTIVATED"]
    codes = sorted({str(o.code) for o in failed})
    return _judge(
        failed,
        activated,
        f"an activation ended {', '.join(codes)}",
        "the activation account was activated with its OTP",
    )


def payment(record: Record) -> Verdict:
    payments = [o for o in record.outcomes if o.path == PAYMENTS]
    wrong = {"AMOUNT_MISMATCH", "SCHEMA_INVALID", "DUPLICATE_CONFLICT"}
    failed = [o for o in payments if o.code in wrong]
    posted = [
        o
        for o in payments
        if o.answer.get("status") == "POSTED"
        and o.field("billNumber") == record.targets.payment_bill
    ]
    codes = sorted({str(o.code) for o in failed})
    return _judge(
        failed,
        posted,
        f"payments answered {', '.join(codes)}",
        "the payment bill was paid (POSTED)",
    )


def retry(record: Record) -> Verdict:
    if record.lost_at is None:
        return Verdict(NOT_EXERCISED, "the lost_answer bill has not been paid yet")
    later = record.outcomes[record.lost_at + 1 :]
    lost_ref = record.lost_ref
    failed = [
        o
        for o in later
        if o.path == PAYMENTS
        and o.field("billNumber") == record.targets.lost_answer_bill
        and o.field("bankPaymentRef") != lost_ref
    ]
    asked = [
        o
        for o in later
        if o.path in {PAYMENTS, STATUS} and o.verified and o.field("bankPaymentRef") == lost_ref
    ]
    return _judge(
        failed,
        asked,
        "after the lost answer the bill was notified under another BankPaymentRef: "
        "a real customer would have been charged twice",
        "after the lost answer the bank asked again with the same BankPaymentRef",
    )


def reversal(record: Record) -> Verdict:
    reversals = [o for o in record.outcomes if o.path == REVERSAL]
    failed = [
        o
        for o in reversals
        if o.code is not None and o.code not in NOT_THE_OPERATIONS | {"REVERSAL_WINDOW_CLOSED"}
    ]
    done = [o for o in reversals if o.answer.get("status") == "REVERSED"]
    codes = sorted({str(o.code) for o in failed})
    return _judge(failed, done, f"reversals answered {', '.join(codes)}", "a payment was reversed")


def statement_walk(record: Record) -> Verdict:
    pages = [o for o in record.outcomes if o.path == STATEMENT]
    refused = [
        o
        for o in pages
        if o.code == "SCHEMA_INVALID" and o.field("pageToken") and o.detail.startswith("pageToken")
    ]
    last = [o for o in pages if o.status == 200 and not o.answer.get("nextPageToken")]
    return _judge(
        refused,
        last,
        "a PageToken was refused: " + "; ".join(o.detail for o in refused[:3]),
        "a statement was read to its last page",
    )


def schema(record: Record) -> Verdict:
    wrong = {"MALFORMED_MESSAGE", "SCHEMA_INVALID"}
    failed = [o for o in record.outcomes if o.code in wrong]
    verified = [o for o in record.outcomes if o.verified]
    return _judge(
        failed,
        verified,
        "; ".join(f"{o.path}: {o.code}: {o.detail}" for o in failed[:5]),
        "no request was malformed or schema-invalid",
    )


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    judge: Callable[[Record], Verdict]


RULES: Final = (
    Rule("SIG-REQUEST", "Requests are signed as the contract says", signature),
    Rule("MSG-UNIQUE", "A MessageId is never reused for another message", message_ids),
    Rule("CLOCK", "Timestamps are within the allowed clock skew", clock),
    Rule("KEYS-FETCHED", "The adapter's keys are fetched from /v1/keys", keys),
    Rule("ACTIVATION-OTP", "An account is activated with its OTP", activation),
    Rule("PAYMENT-POSTED", "A bill is paid with its exact amount", payment),
    Rule(
        "PAYMENT-RETRY-SAME-REF",
        "After a lost answer the payment is retried with the same BankPaymentRef",
        retry,
    ),
    Rule("REVERSAL", "A payment is reversed on its business date", reversal),
    Rule("STATEMENT-WALK", "A statement is walked to its last page", statement_walk),
    Rule("SCHEMA", "Every message is well-formed and valid", schema),
)


def report(partner_id: str, record: Record) -> dict[str, Any]:
    """The report of section 10: every rule's verdict, and the counts."""
    rules = []
    for rule in RULES:
        verdict = rule.judge(record)
        rules.append(
            {
                "id": rule.id,
                "title": rule.title,
                "status": verdict.status,
                "detail": verdict.detail,
                "evidence": list(verdict.evidence),
            }
        )
    statuses = [rule["status"] for rule in rules]
    return {
        "partner": partner_id,
        "rules": rules,
        "passed": statuses.count(PASS),
        "failed": statuses.count(FAIL),
        "notExercised": statuses.count(NOT_EXERCISED),
    }

"""The rules as a table: which outcomes fail, pass or leave each rule unexercised."""

from __future__ import annotations

import pytest

from bank_adapter.conformance.rules import Outcome, Record, Targets, failed_check, report

PAY_BILL, LOST_BILL = "1000000000010", "1000000000029"


def record(*outcomes: Outcome, keys: bool = True, lost_at: int | None = None) -> Record:
    rec = Record(Targets(PAY_BILL, LOST_BILL), list(outcomes), keys, lost_at)
    return rec


def ok(path: str, *, answer: dict | None = None, **request: str) -> Outcome:
    return Outcome(path, 200, {"messageId": "m-ok", **request}, answer or {})


def error(path: str, status: int, code: str, detail: str = "", **request: str) -> Outcome:
    answer = {"code": code, "detail": detail, "inReplyTo": "m-" + code}
    return Outcome(path, status, request, answer)


def verdict(rec: Record, rule_id: str) -> dict:
    return next(rule for rule in report("RJHI", rec)["rules"] if rule["id"] == rule_id)


def test_nothing_sent_is_nothing_exercised():
    rep = report("RJHI", record(keys=False))
    assert (rep["passed"], rep["failed"], rep["notExercised"]) == (0, 0, 10)


def test_a_fail_wins_over_a_pass():
    rec = record(ok("/v1/bills/inquiry"), error("/v1/bills/inquiry", 400, "STALE_MESSAGE"))
    rule = verdict(rec, "CLOCK")
    assert rule["status"] == "fail"
    assert rule["evidence"] == ["m-STALE_MESSAGE"]


@pytest.mark.parametrize(
    ("code", "detail", "check"),
    [
        ("FORMAT_NOT_ALLOWED", "", "format"),
        ("SIGNATURE_MISSING", "", "signature_header"),
        ("UNKNOWN_KEY", "", "key"),
        ("ALGORITHM_NOT_ALLOWED", "", "algorithm"),
        ("SIGNATURE_INVALID", "Content-Digest does not match the body", "digest"),
        ("SIGNATURE_INVALID", "htu does not match the request path", "binding"),
        ("SIGNATURE_INVALID", "the message was signed for another operation than x", "binding"),
        ("SIGNATURE_INVALID", "the signature does not verify", "signature"),
        ("SIGNATURE_INVALID", "X-JWS-Signature is not canonical base64url", "signature_header"),
    ],
)
def test_a_refused_signature_names_the_check_diagnostics_would(code, detail, check):
    status = 415 if code == "FORMAT_NOT_ALLOWED" else 401
    outcome = error("/v1/payments", status, code, detail)
    assert failed_check(outcome) == check
    assert verdict(record(outcome), "SIG-REQUEST")["status"] == "fail"


def test_a_reversal_fails_on_its_own_errors_only():
    window = error("/v1/payments/reversal", 422, "REVERSAL_WINDOW_CLOSED")
    stale = error("/v1/payments/reversal", 400, "STALE_MESSAGE")
    assert verdict(record(window, stale), "REVERSAL")["status"] == "not_exercised"
    twice = error("/v1/payments/reversal", 409, "ALREADY_REVERSED")
    assert verdict(record(twice), "REVERSAL")["status"] == "fail"


def test_the_retry_rule_waits_for_the_lost_answer():
    lost = ok("/v1/payments", answer={"status": "POSTED"}, billNumber=LOST_BILL, bankPaymentRef="A")
    other_ref = error(
        "/v1/payments", 409, "BILL_ALREADY_PAID", billNumber=LOST_BILL, bankPaymentRef="B"
    )
    status = ok("/v1/payments/status", bankPaymentRef="A")
    assert verdict(record(lost), "PAYMENT-RETRY-SAME-REF")["status"] == "not_exercised"
    assert verdict(record(lost, status, lost_at=0), "PAYMENT-RETRY-SAME-REF")["status"] == "pass"
    failing = record(lost, status, other_ref, lost_at=0)
    assert verdict(failing, "PAYMENT-RETRY-SAME-REF")["status"] == "fail"
    # Before the answer was lost, another reference for the bill is no retry at all.
    assert (
        verdict(record(other_ref, lost, status, lost_at=1), "PAYMENT-RETRY-SAME-REF")["status"]
        == "pass"
    )


def test_only_a_refused_page_token_fails_the_walk():
    bad_date = error("/v1/reconciliation/statement", 400, "SCHEMA_INVALID", "businessDate: x")
    assert verdict(record(bad_date), "STATEMENT-WALK")["status"] == "not_exercised"
    refused = error(
        "/v1/reconciliation/statement", 400, "SCHEMA_INVALID", "pageToken: not issued",
        pageToken="abc",
    )  # fmt: skip
    assert verdict(record(refused), "STATEMENT-WALK")["status"] == "fail"
    first = ok("/v1/reconciliation/statement", answer={"nextPageToken": "t"})
    assert verdict(record(first), "STATEMENT-WALK")["status"] == "not_exercised"
    assert (
        verdict(record(first, ok("/v1/reconciliation/statement")), "STATEMENT-WALK")["status"]
        == "pass"
    )


def test_payment_posted_is_about_the_payment_bill():
    other = ok("/v1/payments", answer={"status": "POSTED"}, billNumber=LOST_BILL)
    assert verdict(record(other), "PAYMENT-POSTED")["status"] == "not_exercised"
    mine = ok("/v1/payments", answer={"status": "POSTED"}, billNumber=PAY_BILL)
    wrong_amount = error("/v1/payments", 422, "AMOUNT_MISMATCH")
    assert verdict(record(mine), "PAYMENT-POSTED")["status"] == "pass"
    assert verdict(record(mine, wrong_amount), "PAYMENT-POSTED")["status"] == "fail"


def test_activation_fails_when_the_otp_runs_out():
    spent = error("/v1/activations/confirm", 422, "OTP_ATTEMPTS_EXCEEDED")
    wrong_once = error("/v1/activations/confirm", 422, "OTP_INVALID")
    assert verdict(record(wrong_once), "ACTIVATION-OTP")["status"] == "not_exercised"
    assert verdict(record(wrong_once, spent), "ACTIVATION-OTP")["status"] == "fail"

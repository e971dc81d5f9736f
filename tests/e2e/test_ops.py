"""Operator and discovery endpoints (contract sections 2, 8 and 9) on the real server:
health, readiness against a really unavailable database, metrics, keys, OpenAPI, and the
signed answer to a path that does not exist."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from prometheus_client.parser import text_string_to_metric_families

from bank_adapter.core.jws import JwsProfile
from bank_adapter.core.keys import PublicKey, jwk, load_public_pem
from bank_adapter.core.messages import OPERATIONS
from bank_adapter.core.signing import VerifyPolicy
from bank_adapter.domain.ids import luhn_complete
from bank_adapter.errors import AdapterError
from bank_adapter.store.repository import Store

UNKNOWN_ID = luhn_complete("199999999")  # valid, never registered
ADAPTER_ALGORITHMS = frozenset({"ES256", "RS256", "PS256", "EdDSA"})
PARTNER_PATHS = [
    "/v1/activations",
    "/v1/activations/confirm",
    "/v1/bills/inquiry",
    "/v1/fees/quote",
    "/v1/payments",
    "/v1/payments/reversal",
    "/v1/payments/status",
    "/v1/reconciliation/statement",
]


async def get(service: Any, path: str, **kwargs: Any) -> tuple[int, dict[str, str], bytes]:
    async with service.http.request(kwargs.pop("method", "GET"), service.url + path, **kwargs) as r:
        return r.status, {k.lower(): v for k, v in r.headers.items()}, await r.read()


def verify_jws(
    keys: dict[str, PublicKey], status: int, headers: dict[str, str], body: bytes
) -> str:
    policy = VerifyPolicy(keys, ADAPTER_ALGORITHMS, datetime.now(UTC))
    return JwsProfile().verify_response(status, headers, body, policy).kid


async def published_keys(service: Any) -> dict[str, PublicKey]:
    """The adapter's keys, read from the `pem` members of GET /v1/keys only."""
    status, _, body = await get(service, "/v1/keys")
    assert status == 200
    return {
        entry["kid"]: PublicKey(entry["kid"], load_public_pem(entry["pem"].encode("ascii")))
        for entry in json.loads(body)["keys"]
    }


# --- health and readiness ------------------------------------------------------------


async def test_healthz_answers_without_credentials(service):
    status, headers, body = await get(service, "/healthz")
    assert status == 200
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body) == {"status": "ok"}


async def test_readyz_when_everything_is_there(service):
    status, _, body = await get(service, "/readyz")
    assert status == 200
    assert json.loads(body) == {
        "ready": True,
        "checks": {"partners": True, "signing_key": True, "database": True},
        "suspendedPartners": ["HSUS", "SUSP", "XSUS"],  # their partner files say so
    }


async def test_readyz_when_the_database_does_not_answer(service, tmp_path):
    # A real SQLite URL whose directory is gone by the time the service connects:
    # every connection attempt fails with "unable to open database file".
    gone = tmp_path / "gone"
    broken = Store.open(f"sqlite:///{gone / 'adapter.db'}")
    gone.rmdir()
    await service.runtime.store.close()
    service.runtime.store = broken

    status, _, body = await get(service, "/readyz")

    assert status == 503
    assert json.loads(body) == {
        "ready": False,
        "checks": {"partners": True, "signing_key": True, "database": False},
        "suspendedPartners": ["HSUS", "SUSP", "XSUS"],
    }
    # Liveness is not readiness: the process still serves.
    status, _, _ = await get(service, "/healthz")
    assert status == 200
    _, _, metrics = await get(service, "/metrics")
    assert "bank_adapter_ready 0.0" in metrics.decode()


async def test_readyz_without_partners(service):
    service.runtime.partners = {}
    status, _, body = await get(service, "/readyz")
    assert status == 503
    assert json.loads(body)["checks"]["partners"] is False


async def test_ready_gauge_follows_readyz(service):
    await get(service, "/readyz")
    _, _, metrics = await get(service, "/metrics")
    assert "bank_adapter_ready 1.0" in metrics.decode()


async def test_partner_request_with_the_database_down_is_503(service, tmp_path):
    gone = tmp_path / "gone"
    broken = Store.open(f"sqlite:///{gone / 'adapter.db'}")
    gone.rmdir()
    await service.runtime.store.close()
    service.runtime.store = broken

    reply = await service.client("JWSA").replies.activate(
        id_number=UNKNOWN_ID, mobile="0500000001", channel="APP", bank_customer_ref="c"
    )

    assert (reply.status, reply.code) == (503, "SERVICE_UNAVAILABLE")


# --- metrics -------------------------------------------------------------------------


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_count_partner_requests_by_partner_operation_and_code(service):
    id_number, mobile = await service.register()
    client = service.client("JWSA")
    ok = await client.replies.activate(
        id_number=id_number, mobile=mobile, channel="ATM", bank_customer_ref="c"
    )
    assert ok.status == 200
    for _ in range(2):
        missing = await service.client("XMLA").replies.activate(
            id_number=UNKNOWN_ID, mobile=mobile, channel="APP", bank_customer_ref="c"
        )
        assert missing.code == "ACCOUNT_NOT_FOUND"

    status, headers, body = await get(service, "/metrics")

    assert status == 200
    assert headers["content-type"].startswith("text/plain")
    assert "version=" in headers["content-type"]
    values = samples(body.decode())
    ok_labels = (("code", "OK"), ("operation", "activation"), ("partner", "JWSA"))
    assert values[("bank_adapter_requests_total", ok_labels)] == 1.0
    missing_labels = (
        ("code", "ACCOUNT_NOT_FOUND"),
        ("operation", "activation"),
        ("partner", "XMLA"),
    )
    assert values[("bank_adapter_requests_total", missing_labels)] == 2.0
    activation = (("operation", "activation"),)
    assert values[("bank_adapter_request_duration_seconds_count", activation)] == 3.0
    assert values[("bank_adapter_request_duration_seconds_sum", activation)] > 0
    buckets = sorted(
        (float(dict(labels)["le"]), value)
        for (name, labels), value in values.items()
        if name == "bank_adapter_request_duration_seconds_bucket"
        and dict(labels)["operation"] == "activation"
    )
    assert len(buckets) > 2
    assert buckets[-1] == (float("inf"), 3.0)
    assert [value for _, value in buckets] == sorted(value for _, value in buckets)


async def test_metrics_hold_no_internal_api_or_secret_labels(service):
    await service.register()
    _, _, body = await get(service, "/metrics")
    text = body.decode()
    assert "test-admin-token" not in text
    requests = [
        sample
        for family in text_string_to_metric_families(text)
        if family.name == "bank_adapter_requests"
        for sample in family.samples
        if sample.name == "bank_adapter_requests_total"
    ]
    assert requests == []


async def test_an_unknown_partner_is_counted_without_a_partner_label(service):
    body, headers = service.client("JWSA").sign("/v1/activations", b"{}")
    headers["X-Partner-Id"] = "NOPE"
    async with service.http.post(service.url + "/v1/activations", data=body, headers=headers) as r:
        assert r.status == 401
    _, _, text = await get(service, "/metrics")
    labels = (("code", "UNKNOWN_PARTNER"), ("operation", "activation"), ("partner", "-"))
    assert samples(text.decode())[("bank_adapter_requests_total", labels)] == 1.0


async def test_metrics_count_money_otps_and_signature_failures_once_each(service):
    client = service.client("JWSA")
    id_number, mobile = await service.register()
    bill_number = await service.bill(id_number, amount="650.25")
    reference = "metrics-ref-1"
    for _ in range(2):  # the second, a retry with a new MessageId, posts nothing new
        paid = await client.replies.pay(
            bank_payment_ref=reference, bill_number=bill_number, amount="650.25", channel="APP"
        )
        assert paid.status == 200
    reversed_ = await client.replies.reverse(
        bank_payment_ref=reference, reason="customer cancelled", channel="APP"
    )
    assert reversed_.status == 200
    started = await client.replies.activate(
        id_number=id_number, mobile=mobile, channel="APP", bank_customer_ref="c"
    )
    assert started.status == 200
    body, headers = client.sign("/v1/payments/status", b'{"tampered": true}')
    async with service.http.post(
        service.url + "/v1/payments/status", data=body + b" ", headers=headers
    ) as response:
        assert response.status == 401

    _, _, text = await get(service, "/metrics")

    values = samples(text.decode())
    partner = (("partner", "JWSA"),)
    assert values[("bank_adapter_payments_posted_total", partner)] == 1.0
    assert values[("bank_adapter_payments_posted_halalas_total", partner)] == 65025.0
    assert values[("bank_adapter_payments_reversed_total", partner)] == 1.0
    assert values[("bank_adapter_payments_reversed_halalas_total", partner)] == 65025.0
    assert values[("bank_adapter_otps_sent_total", partner)] == 1.0
    failure = (("partner", "JWSA"), ("reason", "SIGNATURE_INVALID"))
    assert values[("bank_adapter_signature_failures_total", failure)] == 1.0
    # Every decision above went through a group commit of at least one unit.
    assert values[("bank_adapter_store_batch_size_count", ())] >= 4
    assert values[("bank_adapter_store_commit_seconds_count", ())] >= 4


async def test_metrics_count_database_errors_by_the_drivers_error(service, tmp_path):
    gone = tmp_path / "gone"
    broken = Store.open(f"sqlite:///{gone / 'adapter.db'}")
    broken.observe(service.runtime.metrics)
    gone.rmdir()
    await service.runtime.store.close()
    service.runtime.store = broken

    reply = await service.client("JWSA").replies.activate(
        id_number=UNKNOWN_ID, mobile="0500000001", channel="APP", bank_customer_ref="c"
    )

    assert reply.status == 503
    _, _, text = await get(service, "/metrics")
    errors = samples(text.decode())
    assert errors[("bank_adapter_database_errors_total", (("error", "OperationalError"),))] >= 1


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("trace-7f3a.b_c:1", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ('a" b', False),
        ("id=1; level=error", False),
        ("", False),
    ],
)
async def test_a_request_id_is_echoed_only_when_it_is_a_plain_token(service, given, kept):
    async with service.http.get(service.url + "/healthz", headers={"X-Request-Id": given}) as r:
        answered = r.headers["X-Request-Id"]
    assert (answered == given) is kept
    assert re.fullmatch(r"[A-Za-z0-9._:-]{1,64}", answered)


# --- keys ----------------------------------------------------------------------------


async def test_keys_is_a_jwks_with_pem(service):
    status, headers, body = await get(service, "/v1/keys")

    assert status == 200
    assert headers["content-type"].startswith("application/json")
    document = json.loads(body)
    assert set(document) == {"keys"}
    assert len(document["keys"]) >= 1
    signing = service.runtime.signing_key
    for entry in document["keys"]:
        assert {"kid", "kty", "pem"} <= set(entry)
        assert entry["pem"].startswith("-----BEGIN PUBLIC KEY-----")
        key = load_public_pem(entry["pem"].encode("ascii"))
        # The JWK members describe the same key as the PEM.
        assert entry == jwk(PublicKey(entry["kid"], key))
    [entry] = [e for e in document["keys"] if e["kid"] == signing.kid]
    assert entry["kty"] == "EC"
    public = load_public_pem(entry["pem"].encode("ascii"))
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert public.public_numbers() == signing.private_key.public_key().public_numbers()


async def test_keys_needs_no_credentials_and_is_not_signed(service):
    status, headers, _ = await get(service, "/v1/keys")
    assert status == 200
    assert "x-jws-signature" not in headers


async def test_the_published_pem_verifies_a_partner_response(service):
    keys = await published_keys(service)
    client = service.client("JWSA")
    body, headers = client.sign(
        "/v1/activations",
        json.dumps(
            {
                "messageId": "6f1c2a57-6c1e-4a8e-9d7e-0c3b8f9a1d22",
                "timestamp": service.runtime.clock().isoformat(),
                "channel": "APP",
                "idNumber": UNKNOWN_ID,
                "mobile": "0500000001",
                "bankCustomerRef": "c-1",
            }
        ).encode(),
    )
    status, response_headers, response_body = await get(
        service, "/v1/activations", method="POST", data=body, headers=headers
    )
    assert status == 404

    assert (
        verify_jws(keys, status, response_headers, response_body) == service.runtime.signing_key.kid
    )
    with pytest.raises(AdapterError) as refused:
        verify_jws(keys, status, response_headers, response_body.replace(b"404", b"405"))
    assert refused.value.code.value == "SIGNATURE_INVALID"


# --- OpenAPI -------------------------------------------------------------------------


async def test_openapi_document(service):
    status, headers, body = await get(service, "/v1/openapi.json")

    assert status == 200
    assert headers["content-type"].startswith("application/json")
    document = json.loads(body)
    assert document["openapi"].startswith("3.1")
    assert set(PARTNER_PATHS) == set(OPERATIONS)
    for path in PARTNER_PATHS:
        assert "post" in document["paths"][path], path
    assert "get" in document["paths"]["/v1/keys"]
    assert set(document["paths"]) == {*PARTNER_PATHS, "/v1/keys"}
    # Every $ref resolves inside the document.
    refs = set(_refs(document))
    assert refs
    for ref in refs:
        assert ref.startswith("#/"), ref
        node: Any = document
        for part in ref[2:].split("/"):
            node = node[part]


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


# --- routing errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/nope", 404, "NOT_FOUND"),
        ("GET", "/v1/payments/nope", 404, "NOT_FOUND"),
        ("POST", "/v1/unknown", 404, "NOT_FOUND"),
        ("GET", "/internal/v1/nope", 404, "NOT_FOUND"),
        ("POST", "/healthz", 405, "METHOD_NOT_ALLOWED"),
        ("DELETE", "/v1/keys", 405, "METHOD_NOT_ALLOWED"),
    ],
)
async def test_routing_errors_are_problems_signed_with_a_detached_jws(
    service, method, path, status, code
):
    keys = await published_keys(service)

    answer, headers, body = await get(service, path, method=method)

    assert answer == status
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert (problem["status"], problem["code"]) == (status, code)
    assert {"type", "title", "detail", "messageId", "timestamp"} <= set(problem)
    assert "inReplyTo" not in problem
    protected, empty, _signature = headers["x-jws-signature"].split(".")
    assert empty == ""
    assert protected
    assert verify_jws(keys, answer, headers, body) == service.runtime.signing_key.kid
    with pytest.raises(AdapterError):
        verify_jws(keys, answer, headers, body + b" ")

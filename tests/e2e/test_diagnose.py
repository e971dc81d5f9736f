"""`POST /sandbox/v1/diagnose` on a real server: the contract's answer, unsigned; 400 for a
missing or unknown X-Diagnose-Path; nothing recorded, no rate limit spent; 404 outside
sandbox mode.

Diagnosis touches no database, so these tests run on SQLite only.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bank_adapter.core import codec_json, codec_xml
from bank_adapter.core.diagnose import CHECKS
from bank_adapter.core.keys import generate, private_pem
from bank_adapter.core.messages import OPERATIONS, ActivationRequest, Channel
from bank_adapter.core.profiles import new_profiles
from bank_adapter.settings import Settings
from bank_adapter.store import migrate
from bank_adapter.web.app import build_app
from bank_adapter.web.runtime import build_runtime
from tests import conftest
from tests.conftest import ROOT, Service

DIAGNOSE = "/sandbox/v1/diagnose"
ACTIVATIONS = "/v1/activations"
SIGNATURE_HEADERS = ("X-JWS-Signature", "Signature", "Signature-Input", "Content-Digest")
COMPUTED = {
    "jws": {"protectedHeader", "signingInput"},
    "http-sig": {"signatureBase", "contentDigest"},
    "xmldsig": {"canonicalSignedInfo", "referenceDigest"},
}


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'adapter.db'}"


def signed_activation(
    partner: conftest.TestPartner,
    now: datetime,
    id_number: str = "1000000016",
    mobile: str = "0500000001",
) -> tuple[bytes, dict[str, str]]:
    """An activation request exactly as the bank would send it to /v1/activations."""
    message = ActivationRequest(
        message_id=uuid.uuid4(), timestamp=now, channel=Channel.APP,
        id_number=id_number, mobile=mobile, bank_customer_ref="cust-1",
    )  # fmt: skip
    if partner.format == "json":
        body, content_type = codec_json.encode_json(message), "application/json"
    else:
        body = codec_xml.encode_xml(message, OPERATIONS[ACTIVATIONS].request_root)
        content_type = "application/xml"
    signed = new_profiles()[partner.signature].sign_request(
        "POST", ACTIVATIONS, content_type, body, (("X-Partner-Id", partner.id),),
        partner.key, partner.algorithm, now,
    )  # fmt: skip
    headers = {"Content-Type": content_type, "X-Partner-Id": partner.id, **dict(signed.headers)}
    return signed.body, headers


async def post(
    service: Service, path: str, body: bytes, headers: dict[str, str]
) -> tuple[aiohttp.ClientResponse, Any]:
    async with service.http.post(service.url + path, data=body, headers=headers) as response:
        return response, json.loads(await response.read())


async def diagnose(
    service: Service, body: bytes, headers: dict[str, str], path: str | None = ACTIVATIONS
) -> tuple[aiohttp.ClientResponse, Any]:
    extra = {"X-Diagnose-Path": path} if path is not None else {}
    return await post(service, DIAGNOSE, body, headers | extra)


@pytest.mark.parametrize("partner_id", ["JWSA", "XMLA", "XMLR", "HSJA", "HSXA"])
async def test_a_good_request_passes_every_check_and_the_answer_is_unsigned_json(
    service: Service, partner_id: str
) -> None:
    partner = service.partners[partner_id]
    body, headers = signed_activation(partner, service.runtime.clock())

    response, answer = await diagnose(service, body, headers)

    assert response.status == 200, answer
    assert response.content_type == "application/json"
    assert not any(name in response.headers for name in SIGNATURE_HEADERS)
    assert answer["ok"] is True, answer
    assert (answer["partner"], answer["profile"]) == (partner_id, partner.signature)
    assert [check["name"] for check in answer["checks"]] == list(CHECKS)
    assert set(answer["computed"]) == COMPUTED[partner.signature]


@pytest.mark.parametrize(
    ("partner_id", "check"),
    [("JWSA", "signature"), ("XMLA", "digest"), ("HSJA", "digest")],
)
async def test_a_body_changed_after_signing_fails_its_check(
    service: Service, partner_id: str, check: str
) -> None:
    body, headers = signed_activation(service.partners[partner_id], service.runtime.clock())
    changed = body.replace(b"cust-1", b"cust-2")

    response, answer = await diagnose(service, changed, headers)

    assert response.status == 200
    assert answer["ok"] is False
    assert answer["failedCheck"] == check
    assert answer["checks"][-1] == {
        "name": check,
        "ok": False,
        "detail": answer["checks"][-1]["detail"],
    }
    assert answer["detail"].startswith(answer["checks"][-1]["detail"])


async def test_the_path_the_request_is_for_decides_the_binding(service: Service) -> None:
    body, headers = signed_activation(service.partners["JWSA"], service.runtime.clock())

    _, answer = await diagnose(service, body, headers, path="/v1/payments")

    assert answer["failedCheck"] == "binding"


@pytest.mark.parametrize("path", [None, "/v1/unknown", "/sandbox/v1/diagnose"])
async def test_a_missing_or_unknown_diagnose_path_is_400_problem(
    service: Service, path: str | None
) -> None:
    body, headers = signed_activation(service.partners["JWSA"], service.runtime.clock())

    response, problem = await diagnose(service, body, headers, path=path)

    assert response.status == 400
    assert response.content_type == "application/problem+json"
    assert problem["code"] == "SCHEMA_INVALID"
    assert "X-Diagnose-Path" in problem["detail"]


async def test_an_unknown_or_suspended_partner_is_a_failed_check_not_an_error(
    service: Service,
) -> None:
    body, headers = signed_activation(service.partners["SUSP"], service.runtime.clock())
    _, suspended = await diagnose(service, body, headers)
    _, unknown = await diagnose(service, body, headers | {"X-Partner-Id": "NOPE"})

    assert (suspended["failedCheck"], suspended["profile"]) == ("partner", "jws")
    assert (unknown["failedCheck"], unknown["profile"], unknown["computed"]) == (
        "partner",
        None,
        {},
    )


async def test_diagnosis_records_nothing(service: Service) -> None:
    id_number, mobile = await service.register()
    body, headers = signed_activation(
        service.partners["JWSA"], service.runtime.clock(), id_number, mobile
    )

    _, answer = await diagnose(service, body, headers)
    assert answer["ok"] is True
    async with service.runtime.store.read() as tx:
        assert await tx.count("messages") == 0
    # The same bytes, sent for real, are a new message: processed, not replayed.
    response, reply = await post(service, ACTIVATIONS, body, headers)
    assert response.status == 200
    assert reply["status"] == "OTP_SENT"
    async with service.runtime.store.read() as tx:
        assert await tx.count("messages") == 1
        assert await tx.count("sms_outbox") == 1


async def test_diagnosis_spends_no_rate_limit(service: Service) -> None:
    partner = service.partners["LIMT"]  # 1 request per second, bursts of 2
    for _ in range(5):
        body, headers = signed_activation(partner, service.runtime.clock())
        response, answer = await diagnose(service, body, headers)
        assert (response.status, answer["ok"]) == (200, True)

    for _ in range(2):  # the burst is still whole
        body, headers = signed_activation(partner, service.runtime.clock())
        response, reply = await post(service, ACTIVATIONS, body, headers)
        assert reply["code"] != "RATE_LIMITED", reply


async def test_a_body_over_the_limit_is_413(service: Service) -> None:
    body, headers = signed_activation(service.partners["JWSA"], service.runtime.clock())
    big = body + b" " * service.runtime.settings.max_body_bytes

    response, problem = await diagnose(service, big, headers)

    assert response.status == 413
    assert problem["code"] == "PAYLOAD_TOO_LARGE"


@pytest.fixture
async def production(tmp_path: Path, partners_dir: Path) -> AsyncIterator[str]:
    """The service outside sandbox mode, on its own port."""
    key_file = tmp_path / "adapter.key.pem"
    key_file.write_bytes(private_pem(generate("EC-P256")))
    settings = Settings.from_env(
        {
            "BANK_ADAPTER_DATABASE_URL": f"sqlite:///{tmp_path / 'production.db'}",
            "BANK_ADAPTER_PARTNERS_DIR": str(partners_dir),
            "BANK_ADAPTER_SIGNING_KEY": str(key_file),
            "BANK_ADAPTER_VAR_DIR": str(tmp_path / "var"),
            "BANK_ADAPTER_FEES_FILE": str(ROOT / "fees.toml"),
        }
    )
    runtime = build_runtime(settings, lambda: datetime.now().astimezone())
    await migrate.upgrade(runtime.store.engine)
    runner = web.AppRunner(build_app(runtime), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_outside_sandbox_mode_the_path_is_404(
    production: str, test_partners: dict[str, conftest.TestPartner]
) -> None:
    body, headers = signed_activation(test_partners["JWSA"], datetime.now().astimezone())
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            production + DIAGNOSE, data=body, headers=headers | {"X-Diagnose-Path": ACTIVATIONS}
        ) as response,
    ):
        assert response.status == 404
        assert (await response.json(content_type=None))["code"] == "NOT_FOUND"

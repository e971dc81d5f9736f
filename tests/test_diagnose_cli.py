"""`bank-adapter diagnose --partner ID --path PATH REQUEST_FILE`, run as the installed command.

The runs are independent, so they go in one parallel batch (each start costs about a
second of imports).
"""

from __future__ import annotations

import base64
import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from bank_adapter.core.jws import JwsProfile
from bank_adapter.core.keys import SigningKey, load_private_pem
from tests.serving import PARTNERS, bank_adapter_command, clean_environ

BODY = b'{"messageId":"5b0c3f5e-2f4e-4d7b-9d61-0c5a3e2b1a10","amount":"650.00"}'
KID = "rjhi-test-2026-01"


def raw_request(signature: str, eol: str = "\r\n", partner: str = "RJHI") -> bytes:
    head = [
        "POST /v1/payments HTTP/1.1",
        "Host: 127.0.0.1:8080",
        "Content-Type: application/json",
        f"X-Partner-Id: {partner}",
        f"Content-Length: {len(BODY)}",
        f"X-JWS-Signature: {signature}",
    ]
    return (eol.join(head) + eol + eol).encode() + BODY + eol.encode()


def signature() -> str:
    key = SigningKey(KID, load_private_pem((PARTNERS / f"sandbox-keys/{KID}.key.pem").read_bytes()))
    signed = JwsProfile().sign_request(
        "POST", "/v1/payments", "application/json", BODY, (), key, "ES256", datetime.now(UTC)
    )
    return dict(signed.headers)["X-JWS-Signature"]


def as_der(value: str) -> str:
    protected, _, raw64 = value.split(".")
    raw = base64.urlsafe_b64decode(raw64 + "==")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    return f"{protected}..{base64.urlsafe_b64encode(der).rstrip(b'=').decode()}"


Case = tuple[list[str], bytes | None]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    workdir = tmp_path_factory.mktemp("diagnose")
    good = signature()
    cases: dict[str, Case] = {
        "good-crlf": (["--partner", "RJHI", "--path", "/v1/payments"], raw_request(good)),
        "good-lf": (["--partner", "RJHI", "--path", "/v1/payments"], raw_request(good, "\n")),
        "der": (["--partner", "RJHI", "--path", "/v1/payments"], raw_request(as_der(good))),
        "other-partner": (
            ["--partner", "RJHI", "--path", "/v1/payments"],
            raw_request(good, partner="NCBK"),
        ),
        "unknown-partner": (["--partner", "XXXX", "--path", "/v1/payments"], raw_request(good)),
        "bad-path": (["--partner", "RJHI", "--path", "/v1/nothing"], raw_request(good)),
        "bad-file": (["--partner", "RJHI", "--path", "/v1/payments"], b"not a request\n"),
        "missing-file": (["--partner", "RJHI", "--path", "/v1/payments"], None),
    }

    def run(name: str, case: Case) -> subprocess.CompletedProcess[str]:
        args, content = case
        request = workdir / f"{name}.http"
        if content is not None:
            request.write_bytes(content)
        command = bank_adapter_command(
            "diagnose", *args, "--partners-dir", str(PARTNERS), str(request)
        )
        return subprocess.run(
            command, env=clean_environ(), capture_output=True, text=True, timeout=120, check=False
        )

    def run_case(item: tuple[str, Case]) -> subprocess.CompletedProcess[str]:
        return run(*item)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(cases, pool.map(run_case, cases.items()), strict=True))


@pytest.mark.parametrize("name", ["good-crlf", "good-lf"])
def test_a_good_request_passes_and_exits_0(
    runs: dict[str, subprocess.CompletedProcess[str]], name: str
) -> None:
    result = runs[name]
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["ok"] is True
    assert answer["profile"] == "jws"
    assert answer["computed"]["protectedHeader"]["kid"] == KID


def test_a_der_signature_fails_the_signature_check_and_exits_1(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    result = runs["der"]
    assert result.returncode == 1
    answer = json.loads(result.stdout)
    assert answer["failedCheck"] == "signature"
    assert "DER-encoded" in answer["detail"]
    assert "converted to r||s it verifies" in answer["detail"]


def test_a_request_of_another_partner_is_noted(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    result = runs["other-partner"]
    assert result.returncode == 1
    assert json.loads(result.stdout)["failedCheck"] == "partner"
    assert "note: the request says X-Partner-Id NCBK, not RJHI" in result.stderr


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("unknown-partner", "no partner XXXX in"),
        ("bad-path", "--path '/v1/nothing' is not an operation path"),
        ("bad-file", "bad-file.http: line 1: not a request line"),
        ("missing-file", "cannot read"),
    ],
)
def test_unusable_input_is_one_line_and_exit_2(
    runs: dict[str, subprocess.CompletedProcess[str]], name: str, message: str
) -> None:
    result = runs[name]
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]

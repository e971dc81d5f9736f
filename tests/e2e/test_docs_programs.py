"""The integration guide's programs against a real `bank-adapter serve` sandbox: the shell
examples (openssl, xmlsec1, curl) and the Java ones (the JDK alone) sign a payment with
the sandbox banks' test keys, send it, and verify the adapter's signed answer.

`scripts/setup --dev` installs curl, jq, xmlsec1 and a JDK, so under `scripts/test` none
of this is skipped; when run by hand without them the tests say what is missing, and in
CI (`CI` set) a missing tool fails rather than skips.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving import REPO, ServeProcess

SHELL = REPO / "docs" / "examples" / "shell"
JAVA = REPO / "docs" / "examples" / "java"


def _require(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing and os.environ.get("CI"):
        pytest.fail(f"{', '.join(missing)} missing: scripts/setup --dev installs them")
    if missing:
        pytest.skip(f"{', '.join(missing)} missing: scripts/setup --dev installs them")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    running = ServeProcess(tmp_path_factory.mktemp("programs"))
    try:
        running.start()
        yield running
    finally:
        running.stop()


def new_bill(server: ServeProcess, amount: str) -> str:
    body = {
        "idNumber": "1000000016",
        "serviceCode": "TRAFFIC_VIOLATION",
        "amount": amount,
        "dueDate": "2031-01-01",
    }
    request = urllib.request.Request(  # noqa: S310 (the test's own loopback server)
        server.url + "/internal/v1/bills",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return str(json.loads(response.read())["billNumber"])


def run(command: list[str], server: ServeProcess, bill: str, amount: str) -> str:
    env = {**os.environ, "URL": server.url, "BILL": bill, "AMOUNT": amount}
    result = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.interop
@pytest.mark.parametrize("script", ["jws-payment.sh", "http-sig-payment.sh", "xmldsig-payment.sh"])
def test_a_shell_example_pays_a_bill_and_verifies_the_answer(
    server: ServeProcess, script: str
) -> None:
    _require("curl", "jq", "openssl", "xmlsec1")
    bill = new_bill(server, "120.00")

    output = run([str(SHELL / script)], server, bill, "120.00")

    assert output.startswith("HTTP 200\n")
    assert "POSTED" in output
    assert "answer signature verified with adapter-1" in output


@pytest.mark.interop
def test_the_shell_diagnose_example_names_the_der_signature(server: ServeProcess) -> None:
    _require("curl", "jq", "openssl")

    answer = json.loads(run([str(SHELL / "diagnose.sh")], server, "", ""))

    assert answer["failedCheck"] == "signature"
    assert "DER-encoded" in answer["detail"]
    assert answer["computed"]["protectedHeader"]["kid"] == "rjhi-test-2026-01"


@pytest.fixture(scope="module")
def java_classes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _require("javac", "java")
    out = tmp_path_factory.mktemp("java")
    sources = sorted(str(path) for path in JAVA.glob("*.java"))
    result = subprocess.run(
        ["javac", "-Xlint:all", "-Werror", "-d", str(out), *sources],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.interop
@pytest.mark.parametrize("program", ["JwsPayment", "XmlDsigPayment"])
def test_a_java_example_pays_a_bill_and_verifies_the_answer(
    server: ServeProcess, java_classes: Path, program: str
) -> None:
    bill = new_bill(server, "80.00")

    output = run(["java", "-cp", str(java_classes), program], server, bill, "80.00")

    assert output.startswith("HTTP 200\n")
    assert "POSTED" in output
    assert "answer signature verified" in output

"""The SDK as a bank uses it, against the real `bank-adapter serve` sandbox: the README's
snippet, the synchronous client, and the client distribution installed alone in a
fresh virtualenv."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bank_adapter.client import NotFoundError, SyncPartnerClient
from bank_adapter.sandbox import partner_config
from tests.serving import REPO, ServeProcess, bank_adapter_command

PARTNERS = REPO / "partners"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """`scripts/sandbox` in small: the demo data seeded, the sandbox admin token."""
    server = ServeProcess(tmp_path_factory.mktemp("sandbox"), token="sandbox-admin-token")
    server.workdir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        bank_adapter_command("sandbox", "seed"),
        env=server.environ(),
        cwd=server.workdir,
        check=True,
        capture_output=True,
        timeout=120,
    )
    server.start()
    yield server
    server.stop()


def readme_snippet() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    assert len(blocks) == 1
    return str(blocks[0])


def test_the_readme_snippet_prints_what_its_comments_say(sandbox, tmp_path):
    snippet = readme_snippet()
    (tmp_path / "snippet.py").write_text(snippet)
    promised = re.findall(r"^\s*print\(.*\)  # (.+)$", snippet, flags=re.MULTILINE)
    assert promised == ["OTP_SENT +9665*****001", "ACTIVATED"]
    result = subprocess.run(
        [sys.executable, str(tmp_path / "snippet.py")],
        cwd=REPO,  # the README says: in the repository
        env=sandbox.environ(),  # BANK_ADAPTER_PORT: where the sandbox listens
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == promised


def test_the_sync_client_serves_threads_and_raises_typed_errors(sandbox):
    with SyncPartnerClient(sandbox.url, partner_config(PARTNERS, "NCBK")) as bank:  # XML
        found = bank.inquire_bills(channel="ATM", id_number="2000000030")
        assert [(b.bill_number, str(b.amount)) for b in found.bills] == [
            ("1000000000032", "650.00")
        ]
        answers: list[str] = []

        def ask() -> None:
            try:
                bank.payment_status(bank_payment_ref="never-sent", channel="APP")
            except NotFoundError as err:
                answers.append(str(err.code))

        threads = [threading.Thread(target=ask) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert answers == ["PAYMENT_NOT_FOUND"] * 4
        pages = list(bank.statement_pages(business_date=found.bills[0].due_date))
        assert pages[-1].next_page_token is None
    assert not bank._thread.is_alive()


DISTRIBUTION_CHECK = """
import importlib.util, sys
from pathlib import Path
from bank_adapter.client import PartnerConfig, SyncPartnerClient, ConflictError

assert importlib.util.find_spec("lxml") is None, "the client distribution pulled in lxml"
assert importlib.util.find_spec("sqlalchemy") is None, "... and SQLAlchemy"
keys = Path(sys.argv[2])
config = PartnerConfig.from_key_file(  # RIBL: JSON with RFC 9421 HTTP message signatures
    "RIBL", format="json", signature="http-sig", algorithm="ed25519",
    kid="ribl-test-2026-01", key_file=keys / "ribl-test-2026-01.key.pem",
)
with SyncPartnerClient(sys.argv[1], config) as bank:
    ack = bank.pay(bank_payment_ref="VENV-1", bill_number="1000000000029", amount="150.00",
                   channel="APP")
    print(ack.status, bank.payment_status(bank_payment_ref="VENV-1", channel="APP").payment_id
          == ack.payment_id)
    try:
        bank.pay(bank_payment_ref="VENV-1", bill_number="1000000000029", amount="1.00",
                 channel="APP")
    except ConflictError as err:
        print(err.code)
"""


def test_the_client_distribution_installs_alone_and_talks_to_the_sandbox(sandbox, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(REPO / "clients" / "python")],
        capture_output=True,
        text=True,
        timeout=480,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    (tmp_path / "check.py").write_text(DISTRIBUTION_CHECK)
    result = subprocess.run(
        [str(python), str(tmp_path / "check.py"), sandbox.url, str(PARTNERS / "sandbox-keys")],
        cwd=tmp_path,  # not the repository: only the installed package can be imported
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["POSTED True", "DUPLICATE_CONFLICT"]
    installed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.lower()
    for server_only in ("sqlalchemy", "alembic", "structlog", "lxml", "xmlsec", "aiosqlite"):
        assert f"{server_only}==" not in installed


def test_the_distribution_ships_exactly_the_client_sources():
    package = REPO / "clients" / "python" / "bank_adapter"
    linked = sorted(path.name for path in package.iterdir())
    assert linked == [
        "__init__.py",
        "client",
        "clock.py",
        "core",
        "errors.py",
        "py.typed",
        "schemas",
    ]
    for path in package.iterdir():
        assert path.is_symlink()
        assert path.resolve().parent in {REPO / "bank_adapter", REPO}, path
    assert Path(package / "client").resolve() == REPO / "bank_adapter" / "client"

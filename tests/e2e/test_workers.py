"""`bank-adapter serve --workers 2` with the admin listener on, as an operator runs it:
real processes on real ports, on an SQLite file and on a PostgreSQL database.

- Payments sent over many fresh connections are answered by both workers (each log line
  of a worker names its pid), and every payment answered 2xx is in the ledger once,
  also when the same payment is sent twice at once.
- /metrics, whichever worker answers it, counts every worker's postings.
- The internal API, the console and /metrics answer on the admin port only, the
  partner API on the public port only; /healthz and /readyz on both.
- SIGTERM stops every worker and the parent exits 0; a worker killed stops the service
  with 128 + 9; a parent killed leaves no worker behind.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import aiohttp
import pytest
from sqlalchemy import text

from bank_adapter.client import PartnerClient, Reply, fetch_adapter_keys
from bank_adapter.domain.ids import luhn_complete
from bank_adapter.sandbox import partner_config
from bank_adapter.store.repository import Store
from tests.pg import free_port
from tests.serving import PARTNERS, ServeProcess, bank_adapter_command

WORKERS = 2
DEADLINE_S = 120.0  # generous: the CI box is busy; the loops end as soon as they can
ROUND = 20  # payments per round, each sent twice at once, each on a connection of its own


def log_lines(server: ServeProcess) -> list[dict[str, Any]]:
    lines = []
    written = server.log.read_text(errors="replace")
    complete = written[: written.rfind("\n") + 1]  # not a line still being written
    for line in complete.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def serving_pids(server: ServeProcess) -> set[int]:
    return {line["pid"] for line in log_lines(server) if line["event"] == "serving"}


def worker_pids(server: ServeProcess) -> list[int]:
    started = [line for line in log_lines(server) if line["event"] == "workers_started"]
    pids: list[int] = started[-1]["pids"]
    return pids


def until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, f"not within {DEADLINE_S} s: {what}"
        time.sleep(0.1)


def gone(pid: int) -> bool:
    """Exited: no such process, or a zombie nobody reaped yet."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return re.search(r"^State:\s+Z", status, re.MULTILINE) is not None


def start_workers(workdir: Path, database_url: str) -> ServeProcess:
    admin_port = free_port()
    server = ServeProcess(
        workdir,
        {"BANK_ADAPTER_DATABASE_URL": database_url, "BANK_ADAPTER_ADMIN_PORT": str(admin_port)},
        args=("--workers", str(WORKERS)),
    )
    server.start()
    # /healthz answered by one worker; wait for the other too, or it may take no request.
    until(lambda: len(serving_pids(server)) == WORKERS, "every worker serving")
    return server


def admin_url(server: ServeProcess) -> str:
    return f"http://127.0.0.1:{server.settings['BANK_ADAPTER_ADMIN_PORT']}"


@pytest.fixture
def workers(tmp_path: Path, database_url: str) -> Iterator[ServeProcess]:
    server = start_workers(tmp_path / "serve", database_url)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    # A connection per request: the kernel hands each to whichever worker accepts first.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        yield session


async def admin(
    http: aiohttp.ClientSession, server: ServeProcess, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {server.token}"}
    url = admin_url(server) + path
    async with http.request(method, url, json=body, headers=headers) as response:
        return response.status, await response.json(content_type=None)


async def issue_bill(http: aiohttp.ClientSession, server: ServeProcess) -> str:
    id_number = luhn_complete("1" + str(uuid4().int)[:8])
    body = {"idNumber": id_number, "serviceCode": "TRAFFIC_VIOLATION", "amount": "120.00"}
    status, data = await admin(
        http, server, "POST", "/internal/v1/bills", body | {"dueDate": "2031-01-01"}
    )
    assert status == 201, data
    return str(data["billNumber"])


def answering_pids(server: ServeProcess, path: str) -> set[int]:
    return {
        line["pid"]
        for line in log_lines(server)
        if line["event"] == "request" and line.get("path") == path and "pid" in line
    }


async def scalar(database_url: str, sql: str, **params: Any) -> Any:
    store = Store.open(database_url)
    try:
        async with store.engine.connect() as conn:
            return (await conn.execute(text(sql), params)).scalar_one()
    finally:
        await store.close()


async def test_payments_are_served_by_every_worker_and_posted_once(
    workers: ServeProcess, http: aiohttp.ClientSession, database_url: str
) -> None:
    keys = await fetch_adapter_keys(workers.url, http)
    bank = PartnerClient(
        workers.url, partner_config(PARTNERS, "RJHI"), adapter_keys=keys, session=http
    )
    posted: dict[str, str] = {}  # BankPaymentRef -> PaymentId
    deadline = time.monotonic() + DEADLINE_S
    while len(answering_pids(workers, "/v1/payments")) < WORKERS:
        assert time.monotonic() < deadline, "one worker answered every payment"
        bills = [await issue_bill(http, workers) for _ in range(ROUND)]
        refs = [f"WORK-{uuid4().hex[:20]}" for _ in bills]

        async def pay(ref: str, bill: str) -> Reply:
            return await bank.replies.pay(
                bank_payment_ref=ref, bill_number=bill, amount="120.00", channel="APP"
            )

        replies = await asyncio.gather(
            *(pay(ref, bill) for ref, bill in zip(refs * 2, bills * 2, strict=True))
        )
        assert [reply.status for reply in replies] == [200] * len(replies), [
            (reply.status, reply.code) for reply in replies
        ]
        for ref, reply in zip(refs * 2, replies, strict=True):
            payment_id = reply.message.payment_id  # type: ignore[union-attr]
            assert posted.setdefault(ref, payment_id) == payment_id  # the same posting twice

    ledger = "SELECT count(*) FROM payments WHERE bank_payment_ref = :ref AND status = 'POSTED'"
    for ref in posted:
        assert await scalar(database_url, ledger, ref=ref) == 1, ref
    all_refs = "SELECT count(*) FROM payments WHERE bank_payment_ref LIKE 'WORK-%'"
    assert await scalar(database_url, all_refs) == len(posted)

    # Whichever worker answers the scrape, it counts every worker's postings.
    for _ in range(2 * WORKERS):
        async with http.get(admin_url(workers) + "/metrics") as response:
            exposition = await response.text()
        counted = re.search(
            r'^bank_adapter_payments_posted_total\{partner="RJHI"\} (\S+)$', exposition, re.M
        )
        assert counted is not None, exposition[:2000]
        assert float(counted.group(1)) == len(posted)


async def get(http: aiohttp.ClientSession, url: str, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.get(url, headers=headers) as response:
        return response.status, await response.text()


@pytest.mark.parametrize(
    ("path", "admin_answer"),
    [
        ("/internal/v1/accounts/1000000016", "ACCOUNT_NOT_FOUND"),  # not seeded: platform 404
        ("/metrics", "bank_adapter_ready"),
        ("/console/login", "<form"),
    ],
)
async def test_admin_paths_answer_on_the_admin_port_only(
    workers: ServeProcess, http: aiohttp.ClientSession, path: str, admin_answer: str
) -> None:
    public_status, public_body = await get(http, workers.url + path, workers.token)
    admin_status, admin_body = await get(http, admin_url(workers) + path, workers.token)

    # On the public port: what any unknown path gets, the signed NOT_FOUND problem.
    _, unknown = await get(http, workers.url + "/no/such/path")
    assert public_status == 404
    assert json.loads(public_body)["code"] == json.loads(unknown)["code"] == "NOT_FOUND"
    assert admin_status in (200, 404), admin_body
    assert admin_answer in admin_body


async def test_the_partner_api_is_not_on_the_admin_port(
    workers: ServeProcess, http: aiohttp.ClientSession
) -> None:
    assert (await get(http, workers.url + "/v1/keys"))[0] == 200
    status, body = await get(http, admin_url(workers) + "/v1/keys")
    assert (status, json.loads(body)["code"]) == (404, "NOT_FOUND")
    for url in (workers.url, admin_url(workers)):
        for probe in ("/healthz", "/readyz"):
            assert (await get(http, url + probe))[0] == 200, (url, probe)


def test_the_demo_finds_the_admin_listener_from_the_settings(workers: ServeProcess) -> None:
    """`demo` with the service's own environment: partner calls on the public port, the
    internal API on the admin port (neither serves the other's paths)."""
    done = subprocess.run(
        bank_adapter_command("demo", "--partners-dir", str(PARTNERS)),
        env=workers.environ(), cwd=workers.workdir, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"demo: \d+ passed, 0 failed", done.stdout), done.stdout


def test_sigterm_stops_every_worker_and_the_parent_exits_0(workers: ServeProcess) -> None:
    pids = worker_pids(workers)
    assert len(pids) == WORKERS
    assert workers.stop() == 0
    assert all(gone(pid) for pid in pids)
    assert [line["event"] for line in log_lines(workers)].count("stopping") == WORKERS


def test_a_worker_killed_stops_the_service_with_its_signal(workers: ServeProcess) -> None:
    killed, other = worker_pids(workers)
    os.kill(killed, signal.SIGKILL)
    assert workers.reap() == 128 + signal.SIGKILL
    assert gone(other)
    exited = [line for line in log_lines(workers) if line["event"] == "worker_exited"]
    assert [(line["pid"], line["returncode"]) for line in exited] == [(killed, -signal.SIGKILL)]


def test_the_workers_stop_when_the_parent_is_killed(workers: ServeProcess) -> None:
    pids = worker_pids(workers)
    workers.kill_now()
    assert workers.reap() == -signal.SIGKILL
    until(lambda: all(gone(pid) for pid in pids), "the workers stopped")

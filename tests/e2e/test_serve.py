"""The service as an operator runs it: `bank-adapter serve` in a process of its own, on
a real port and a real SQLite file, with the shipped sandbox partners and their public
test keys. The demo drives it from another process; then the server is killed with
SIGKILL, before and during work, and restarted on the same database: every answer that
left before the crash must come back byte for byte, and nothing must happen twice.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import signal
import subprocess
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from bank_adapter.client import (
    AnswerLostError,
    ConnectFailedError,
    PartnerClient,
    Reply,
    fetch_adapter_keys,
)
from bank_adapter.core.messages import ActivationRequest
from bank_adapter.domain.ids import luhn_complete
from bank_adapter.sandbox import partner_config
from tests.serving import (
    PARTNERS,
    ServeProcess,
    bank_adapter_command,
    clean_environ,
    http_status,
)

ACTIVATIONS = "/v1/activations"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    running = ServeProcess(tmp_path_factory.mktemp("serve"))
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture
def crash_server(tmp_path: Path) -> Iterator[ServeProcess]:
    running = ServeProcess(tmp_path)
    try:
        running.start()
        yield running
    finally:
        running.stop()


# --- the running service, seen from outside -------------------------------------------------


def test_healthz_answers_without_credentials(server: ServeProcess) -> None:
    assert http_status(server.url + "/healthz") == 200


@pytest.mark.parametrize("run", [1, 2])
def test_demo_passes_every_step(server: ServeProcess, run: int) -> None:
    # Run twice: the demo registers fresh accounts, so it passes again on the same sandbox.
    args = ["--url", server.url, f"--admin-token={server.token}", "--partners-dir", str(PARTNERS)]
    done = subprocess.run(
        bank_adapter_command("demo", *args),
        env=clean_environ(),
        cwd=server.workdir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    report = f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}\nserver:\n{server.stderr()}"
    assert done.returncode == 0, report
    steps = re.findall(r"^\[(\d+)/(\d+)\] +(\S+)", done.stdout, re.MULTILINE)
    assert steps, report
    total = int(steps[0][1])
    assert [int(number) for number, _, _ in steps] == list(range(1, total + 1)), report
    assert {outcome for _, _, outcome in steps} == {"ok"}, report
    assert f"demo: {total} passed, 0 failed" in done.stdout, report


# --- crashes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """A signed request exactly as it went on the wire, and the answer it got."""

    body: bytes
    headers: dict[str, str]
    id_number: str
    mobile: str
    channel: str


@asynccontextmanager
async def rjhi(server: ServeProcess) -> AsyncIterator[tuple[PartnerClient, aiohttp.ClientSession]]:
    """A fresh connection pool per server life: no keep-alive into a killed process."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        keys = await fetch_adapter_keys(server.url, http)
        config = partner_config(PARTNERS, "RJHI")
        yield PartnerClient(server.url, config, adapter_keys=keys, session=http), http


async def admin(http: aiohttp.ClientSession, server: ServeProcess, method: str, path: str) -> Any:
    headers = {"Authorization": f"Bearer {server.token}"}
    async with http.request(method, server.url + path, headers=headers) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def register(
    http: aiohttp.ClientSession, server: ServeProcess, taken: set[str]
) -> tuple[str, str]:
    id_number = luhn_complete("1" + "".join(secrets.choice("0123456789") for _ in range(8)))
    while id_number in taken:
        id_number = luhn_complete("1" + "".join(secrets.choice("0123456789") for _ in range(8)))
    taken.add(id_number)
    mobile = "+9665" + "".join(secrets.choice("0123456789") for _ in range(8))
    account = {
        "idNumber": id_number, "mobile": mobile, "biometricEnrolled": True,
        "idExpiry": "2031-12-31", "fullNameEn": "Crash Test",
    }  # fmt: skip
    headers = {"Authorization": f"Bearer {server.token}"}
    async with http.post(
        server.url + "/internal/v1/accounts", json=account, headers=headers
    ) as response:
        assert response.status == 201, await response.text()
    return id_number, mobile


def signed_activation(client: PartnerClient, id_number: str, mobile: str, channel: str) -> Sent:
    message = ActivationRequest(
        **client.common(channel), id_number=id_number, mobile=mobile, bank_customer_ref="crash"
    )
    body, headers = client.sign(ACTIVATIONS, client.encode(ACTIVATIONS, message))
    return Sent(body, headers, id_number, mobile, channel)


async def events(http: aiohttp.ClientSession, server: ServeProcess) -> list[dict[str, Any]]:
    page = await admin(http, server, "GET", "/internal/v1/events?limit=500")
    found: list[dict[str, Any]] = page["events"]
    return found


async def sms_count(http: aiohttp.ClientSession, server: ServeProcess, mobile: str) -> int:
    outbox = await admin(http, server, "GET", f"/internal/v1/sms?mobile={quote(mobile)}")
    return len(outbox["messages"])


def assert_same_answer(again: Reply, first: Reply) -> None:
    assert again.status == first.status
    assert again.body == first.body
    assert again.headers["x-jws-signature"] == first.headers["x-jws-signature"]


async def test_answers_given_before_kill_9_are_replayed_byte_for_byte(
    crash_server: ServeProcess,
) -> None:
    server = crash_server
    taken: set[str] = set()
    async with rjhi(server) as (client, http):
        atm = signed_activation(client, *await register(http, server, taken), "ATM")
        app = signed_activation(client, *await register(http, server, taken), "APP")
        first_atm = await client.post(ACTIVATIONS, atm.body, atm.headers)
        first_app = await client.post(ACTIVATIONS, app.body, app.headers)
    assert first_atm.status == 200, first_atm.body
    assert getattr(first_atm.message, "status", None) == "ACTIVATED"
    assert first_app.status == 200, first_app.body
    assert getattr(first_app.message, "status", None) == "OTP_SENT"

    server.kill_now()
    assert server.reap() == -signal.SIGKILL
    server.start()

    async with rjhi(server) as (client, http):
        assert_same_answer(await client.post(ACTIVATIONS, atm.body, atm.headers), first_atm)
        assert_same_answer(await client.post(ACTIVATIONS, app.body, app.headers), first_app)
        atm_account = await admin(http, server, "GET", f"/internal/v1/accounts/{atm.id_number}")
        app_account = await admin(http, server, "GET", f"/internal/v1/accounts/{app.id_number}")
        outbox = await events(http, server)
        app_sms = await sms_count(http, server, app.mobile)
        atm_sms = await sms_count(http, server, atm.mobile)

    assert atm_account["status"] == "ACTIVE"
    assert app_account["status"] == "PENDING"
    assert [(event["type"], event["data"]) for event in outbox] == [
        ("ACCOUNT_ACTIVATED", {"idNumber": atm.id_number, "partnerId": "RJHI", "channel": "ATM"})
    ]
    assert (app_sms, atm_sms) == (1, 0)


POOL = 150
SENDERS = 10
KILL_AFTER_ANSWERS = 5


async def test_kill_9_during_load_loses_no_answer_and_doubles_nothing(
    crash_server: ServeProcess,
) -> None:
    server = crash_server
    taken: set[str] = set()
    answered: dict[int, Reply] = {}
    attempted: list[int] = []
    async with rjhi(server) as (client, http):
        accounts = [await register(http, server, taken) for _ in range(POOL)]
        # Even: OTP activations (an SMS each); odd: ATM activations (an event each).
        pool = [
            signed_activation(client, id_number, mobile, "APP" if i % 2 == 0 else "ATM")
            for i, (id_number, mobile) in enumerate(accounts)
        ]

        async def sender() -> None:
            # Each sender keeps one request in flight until the server is gone, so the
            # kill always lands with requests in flight, however fast the server answers.
            while len(attempted) < POOL:
                i = len(attempted)
                attempted.append(i)
                try:
                    reply = await client.post(ACTIVATIONS, pool[i].body, pool[i].headers)
                except (AnswerLostError, ConnectFailedError):
                    return  # the server died before answering
                answered[i] = reply
                if len(answered) == KILL_AFTER_ANSWERS:
                    server.kill_now()

        await asyncio.gather(*(sender() for _ in range(SENDERS)))
    assert server.reap() == -signal.SIGKILL
    assert len(answered) >= KILL_AFTER_ANSWERS
    assert len(answered) < len(attempted), "every request was answered: nothing tested"
    assert all(reply.status == 200 for reply in answered.values()), [
        (reply.status, reply.body) for reply in answered.values()
    ]
    sent = [pool[i] for i in attempted]

    server.start()
    async with rjhi(server) as (client, http):
        again = await asyncio.gather(*(client.post(ACTIVATIONS, s.body, s.headers) for s in sent))
        outbox = await events(http, server)
        sms = [await sms_count(http, server, s.mobile) if s.channel == "APP" else 0 for s in sent]

    for i, first in answered.items():
        assert_same_answer(again[i], first)
    for i, reply in enumerate(again):
        expected = "OTP_SENT" if sent[i].channel == "APP" else "ACTIVATED"
        assert reply.status == 200, (i, reply.body)
        assert getattr(reply.message, "status", None) == expected, (i, reply.body)
    activated = Counter(event["data"]["idNumber"] for event in outbox)
    assert {event["type"] for event in outbox} == {"ACCOUNT_ACTIVATED"}
    assert activated == Counter(s.id_number for s in sent if s.channel == "ATM")
    assert sms == [1 if s.channel == "APP" else 0 for s in sent]

"""The database goes away under traffic, and comes back.

PostgreSQL: the server (a cluster of this test's own) is stopped with `pg_ctl stop -m
fast`, which ends every session and rolls back what was in flight, then started again.
SQLite: another process holds the write lock (`BEGIN IMMEDIATE`) past the adapter's busy
timeout, then lets go.

Meanwhile banks keep notifying payments. The contract: every answer is either a success
that was durably recorded, or a signed 503 SERVICE_UNAVAILABLE after which nothing of
that request is in the database; /readyz says 503 while it lasts; and the same process
serves again by itself when the database is back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytest
from sqlalchemy import text

from bank_adapter.client import PartnerClient, Reply
from bank_adapter.core.messages import PaymentNotification
from bank_adapter.core.money import parse_amount
from bank_adapter.settings import Settings
from tests.pg import PgCluster

BUSY_TIMEOUT_S = 0.3
RECOVERY_WITHIN_S = 30.0
PAYMENTS = "/v1/payments"
# Holds SQLite's write lock until its stdin closes.
HOLD_WRITE_LOCK = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
db.execute("ROLLBACK")
"""


class Outage(Protocol):
    async def begin(self) -> None: ...
    async def end(self) -> None: ...


@dataclass
class PostgresStopped:
    cluster: PgCluster

    async def begin(self) -> None:
        await asyncio.to_thread(self.cluster.stop, "fast")

    async def end(self) -> None:
        await asyncio.to_thread(self.cluster.start)


@dataclass
class SqliteWriteLocked:
    path: Path
    holder: subprocess.Popen[str] | None = None

    async def begin(self) -> None:
        self.holder = await asyncio.to_thread(self._hold)
        assert self.holder.stdout is not None
        assert await asyncio.to_thread(self.holder.stdout.readline) == "locked\n"

    def _hold(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", HOLD_WRITE_LOCK, str(self.path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    async def end(self) -> None:
        assert self.holder is not None
        with self.holder:  # closes stdin (the holder rolls back and exits), then waits
            pass
        assert self.holder.returncode == 0
        self.holder = None


@dataclass
class Target:
    url: str
    outage: Outage


@pytest.fixture(params=["sqlite", "postgresql"])
def target(
    request: pytest.FixtureRequest, tmp_path: Path, pg_cluster_factory: Any
) -> Iterator[Target]:
    if request.param == "sqlite":
        path = tmp_path / "adapter.db"
        locked = SqliteWriteLocked(path)
        yield Target(f"sqlite:///{path}", locked)
        if locked.holder is not None:
            locked.holder.kill()
            locked.holder.communicate()
        return
    cluster: PgCluster = pg_cluster_factory()  # its own: this test stops it
    yield Target(cluster.url(cluster.new_database()), PostgresStopped(cluster))


@pytest.fixture
def database_url(target: Target) -> str:
    return target.url


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, db_busy_timeout_s=BUSY_TIMEOUT_S)


@dataclass
class Sent:
    """One notification: the exact bytes sent, and the verified answer."""

    reference: str
    bill_number: str
    body: bytes
    headers: dict[str, str]
    reply: Reply
    phase: str


@dataclass
class Traffic:
    """Banks notifying payments, each of a bill of its own, until told to stop."""

    clients: list[PartnerClient]
    bills: list[str]
    phase: str = "before"
    sent: list[Sent] = field(default_factory=list)
    stopped: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, workers: int) -> None:
        await asyncio.gather(*(self._worker(n) for n in range(workers)))

    async def _worker(self, n: int) -> None:
        while not self.stopped.is_set() and self.bills:
            bill_number = self.bills.pop()
            client = self.clients[n % len(self.clients)]
            await self.send(client, bill_number)
            await asyncio.sleep(0.01)

    async def send(self, client: PartnerClient, bill_number: str) -> Sent:
        reference = "OUT-" + secrets.token_hex(6)
        message = client.encode(PAYMENTS, _payment(client, reference, bill_number))
        body, headers = client.sign(PAYMENTS, message)
        # The SDK verifies the adapter's signature on every answer, 503s included;
        # an unsigned answer would raise UnverifiedReply here.
        reply = await client.post(PAYMENTS, body, headers)
        sent = Sent(reference, bill_number, body, headers, reply, self.phase)
        self.sent.append(sent)
        return sent

    def statuses(self, phase: str) -> Counter[tuple[int, str | None]]:
        return Counter((s.reply.status, s.reply.code) for s in self.sent if s.phase == phase)


def _payment(client: PartnerClient, reference: str, bill_number: str) -> PaymentNotification:
    common = client.common("APP")
    return PaymentNotification(
        **common,
        bank_payment_ref=reference,
        bill_number=bill_number,
        amount=parse_amount("10.00"),
        currency="SAR",
        paid_at=common["timestamp"],
    )


async def readyz(service: Any) -> tuple[int, Any]:
    async with service.http.get(service.url + "/readyz") as response:
        return response.status, await response.json()


async def wait_for(predicate: Any, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while not await predicate():
        assert time.monotonic() < deadline, "did not happen in time"
        await asyncio.sleep(0.05)


async def scalar(service: Any, sql: str, **params: Any) -> Any:
    async with service.runtime.store.engine.connect() as tx:
        return (await tx.execute(text(sql), params)).scalar_one()


async def test_an_outage_under_traffic_is_503_then_recovers_with_nothing_half_done(service, target):
    id_number, _ = await service.register()
    bills = [await service.bill(id_number, "10.00") for _ in range(400)]
    traffic = Traffic([service.client("JWSA"), service.client("XMLA")], list(bills))
    running = asyncio.create_task(traffic.run(workers=4))

    await wait_for(lambda: _some(traffic, "before", 200), 10)
    await target.outage.begin()
    traffic.phase = "during"
    await wait_for(lambda: _some(traffic, "during", 503), 10)
    status, ready = await readyz(service)
    assert (status, ready["checks"]["database"]) == (503, False)

    await target.outage.end()
    traffic.phase = "after"
    await wait_for(lambda: _ready(service), RECOVERY_WITHIN_S)  # same process, no restart
    await wait_for(lambda: _some(traffic, "after", 200), RECOVERY_WITHIN_S)
    traffic.stopped.set()
    await running

    # Every answer is a verified success or a verified 503 SERVICE_UNAVAILABLE.
    outcomes = Counter((s.reply.status, s.reply.code) for s in traffic.sent)
    assert set(outcomes) <= {(200, None), (503, "SERVICE_UNAVAILABLE")}, outcomes
    print(f"outage on {target.outage.__class__.__name__}:", {
        phase: dict(traffic.statuses(phase)) for phase in ("before", "during", "after")
    })  # fmt: skip
    await _check_nothing_half_done(service, traffic, bills)


async def _some(traffic: Traffic, phase: str, status: int) -> bool:
    return any(s.phase == phase and s.reply.status == status for s in traffic.sent)


async def _ready(service: Any) -> bool:
    return (await readyz(service))[0] == 200


async def _check_nothing_half_done(service: Any, traffic: Traffic, bills: list[str]) -> None:
    for sent in traffic.sent:
        if sent.reply.status == 200:
            # Answered 200: durably recorded, under the PaymentId the bank was given.
            partner = sent.headers["X-Partner-Id"]
            async with service.runtime.store.read() as tx:
                payment = await tx.payment(partner, sent.reference)
            assert payment is not None
            assert payment.payment_id == sent.reply.message.payment_id  # type: ignore[union-attr]
    failed = [sent for sent in traffic.sent if sent.reply.status == 503]
    assert failed
    # A 503 was not stored: the very same bytes are processed afresh now.
    resent = service.client(failed[0].headers["X-Partner-Id"])
    again = await resent.post(PAYMENTS, failed[0].body, failed[0].headers)
    assert again.status == 200
    # The others, retried as the contract says (new MessageId, same reference): posted
    # once each, whatever happened to the first try.
    for sent in failed[1:]:
        retry = await service.client(sent.headers["X-Partner-Id"]).replies.pay(
            bank_payment_ref=sent.reference,
            bill_number=sent.bill_number,
            amount="10.00",
            channel="APP",
        )
        assert retry.status == 200, (retry.status, retry.code)

    # The ledger agrees with itself: each payment with its PAID bill, its one event and
    # its share of the day's figures; no bill PAID without a payment; no 5xx stored.
    payments = await scalar(service, "SELECT count(*) FROM payments")
    assert payments == len({s.reference for s in traffic.sent if s.reply.status == 200} | {
        s.reference for s in failed
    })  # fmt: skip
    assert await scalar(service, "SELECT count(*) FROM bills WHERE status = 'PAID'") == payments
    assert (
        await scalar(
            service,
            "SELECT count(*) FROM payments p JOIN bills b ON b.bill_number = p.bill_number "
            "WHERE b.status = 'PAID'",
        )
        == payments
    )
    _, data = await service.admin("GET", "/internal/v1/events?limit=500")
    posted = Counter(
        event["data"]["bankPaymentRef"]
        for event in data["events"]
        if event["type"] == "PAYMENT_POSTED"
    )
    assert len(posted) == payments
    assert set(posted.values()) == {1}
    assert [event["seq"] for event in data["events"]] == list(range(1, len(data["events"]) + 1))
    assert await scalar(service, "SELECT coalesce(sum(count), 0) FROM day_figures") == payments
    assert (
        await scalar(service, "SELECT coalesce(sum(total_halalas), 0) FROM day_figures")
        == 1000 * payments
    )
    assert await scalar(service, "SELECT count(*) FROM messages WHERE status >= 500") == 0
    assert len(bills) >= payments

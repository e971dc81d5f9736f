"""What `bench/run.py` and `bench/profile.py` measure: servers, databases, signed requests.

- `Server`: `bank-adapter serve` (or the bare aiohttp app) started under `taskset -c 0`,
  as an operator starts it (sandbox partners, its own SQLite file or PostgreSQL
  database, default log level, logs to a file).
- `Postgres`: a throwaway cluster started the way the tests start theirs
  (`tests/pg.py`); it inherits this process's CPU (the client's), like a database on a
  machine of its own, so it takes no time from the server's core.
- `ROWS`: the rows of the tables. `Row.prepare` seeds what its requests need (bills,
  through the store's own SQL) and signs `count` requests just before a phase, so their
  timestamps are fresh; `Batch.check` then verifies the answers after the timed part.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bank_adapter.client import PartnerClient, fetch_adapter_keys
from bank_adapter.client import calls as client_calls
from bank_adapter.client.replies import decode
from bank_adapter.core.messages import OPERATIONS, BillStatus, ServiceCode
from bank_adapter.domain.activation import Account
from bank_adapter.domain.bills import Bill, new_bill_number
from bank_adapter.domain.ids import default_id_type, luhn_complete
from bank_adapter.sandbox import partner_config
from bank_adapter.store.repository import Store
from bench import bare

PARTNERS = ROOT / "partners"
TASKSET = shutil.which("taskset") or "/usr/bin/taskset"
SERVER_CPU = 0
CLIENT_CPU = 1
AMOUNT = "10.00"
AMOUNT_HALALAS = 1000
BILLS_PER_ACCOUNT = 50  # payments' bills are spread over accounts, as they are in life
INQUIRY_BILLS = 3  # open bills of the person a BillInquiry asks about


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- servers --------------------------------------------------------------------------


@dataclass
class Server:
    command: list[str]
    env: dict[str, str]
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        with self.log.open("ab") as stderr:
            self.process = subprocess.Popen(
                [TASKSET, "-c", str(SERVER_CPU), *self.command],
                env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=stderr,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                # The URL is http://127.0.0.1:<port>/healthz, built here.
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise SystemExit(f"{self.command[0]} did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def cpu_s(self) -> float:
        """CPU seconds used so far by the server and the worker processes it started."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in _process_tree(self.pid):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        return total


def _process_tree(pid: int) -> Iterator[int]:
    yield pid
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return
    for child in children:
        yield from _process_tree(int(child))


def adapter_command() -> list[str]:
    script = Path(sys.executable).with_name("bank-adapter")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bank_adapter.cli"]


def serve_has_workers() -> bool:
    """Whether this checkout's `bank-adapter serve` takes `--workers`."""
    done = subprocess.run(
        [*adapter_command(), "serve", "--help"], capture_output=True, text=True, check=True
    )
    return "--workers" in done.stdout


def adapter_server(workdir: Path, database_url: str, port: int, workers: int) -> Server:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANK_ADAPTER_")}
    env |= {
        "BANK_ADAPTER_SANDBOX": "1",
        "BANK_ADAPTER_ADMIN_TOKEN": secrets.token_hex(24),
        "BANK_ADAPTER_HOST": "127.0.0.1",
        "BANK_ADAPTER_PORT": str(port),
        "BANK_ADAPTER_DATABASE_URL": database_url,
        "BANK_ADAPTER_PARTNERS_DIR": str(PARTNERS),
        "BANK_ADAPTER_FEES_FILE": str(ROOT / "fees.toml"),
        "BANK_ADAPTER_VAR_DIR": str(workdir / "var"),
    }
    command = [*adapter_command(), "serve"]
    if workers > 1:
        command += ["--workers", str(workers)]
    return Server(command, env, port, workdir / "serve.log")


def bare_server(workdir: Path, port: int) -> Server:
    command = [sys.executable, str(Path(bare.__file__)), str(port)]
    return Server(command, dict(os.environ), port, workdir / "bare.log")


@contextmanager
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster with an empty database; its URL."""
    from tests.pg import PgCluster, find_bindir

    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL server binaries not found (apt-get install postgresql)")
    cluster = PgCluster.create(bindir)
    try:
        cluster.start()
        cluster.psql("CREATE DATABASE bench")
        yield cluster.url("bench")
    finally:
        cluster.destroy()


# --- requests and their checks --------------------------------------------------------


def http_request(port: int, path: str, body: bytes, headers: Mapping[str, str]) -> bytes:
    """One HTTP/1.1 request, serialised (keep-alive is HTTP/1.1's default)."""
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def split_answer(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0][9:12]), headers, body


@dataclass
class Batch:
    """Signed requests, and how to check answer i (raises AssertionError if wrong)."""

    requests: list[bytes]
    check: Callable[[int, bytes], None]

    def check_all(self, answers: Sequence[bytes], sample: int) -> int:
        """Every answer's status; `sample` answers (evenly spread) in full. How many in full.

        `answers[i]` answers `requests[i]` (a phase may end before sending them all)."""
        for i, raw in enumerate(answers):
            if raw[9:12] != b"200":
                raise AssertionError(f"answer {i}: {raw[:600]!r}")
        step = max(1, len(answers) // max(1, sample))
        checked = range(0, len(answers), step)
        for i in checked:
            self.check(i, answers[i])
        return len(checked)


@dataclass
class Context:
    """What a row needs from the running server."""

    port: int
    database_url: str
    adapter_keys: Mapping[str, Any]


@dataclass(frozen=True)
class Row:
    name: str
    kind: str  # "bare", "payment" or "inquiry"
    partner: str = ""
    kid: str | None = None

    @property
    def adapter(self) -> bool:
        return self.kind != "bare"

    def prepare(self, context: Context, count: int) -> Batch:
        if self.kind == "bare":
            return _bare_batch(context.port, count)
        return asyncio.run(self._signed_batch(context, count))

    async def _signed_batch(self, context: Context, count: int) -> Batch:
        config = partner_config(PARTNERS, self.partner, self.kid)
        client = PartnerClient(
            f"http://127.0.0.1:{context.port}", config, adapter_keys=context.adapter_keys
        )
        if self.kind == "payment":
            bills = await seed_bills(context.database_url, count)
            build = [_payment(bill) for bill in bills]
        else:
            person = (await seed_bills(context.database_url, INQUIRY_BILLS, per_account=3))[0]
            build = [_inquiry(person.id_number)] * count
        now = datetime.now(UTC)
        requests, ids = [], []
        for make in build:
            call = make(now)
            message = call.message(uuid.uuid4(), now)
            path = call.operation.path
            body, headers = client.sign(path, client.encode(path, message), now=now)
            requests.append(http_request(context.port, path, body, headers))
            ids.append(str(message.message_id))
        path = build[0](now).operation.path

        def check(i: int, raw: bytes) -> None:
            status, headers, body = split_answer(raw)
            reply = decode(OPERATIONS[path], status, headers, client.verify(status, headers, body))
            assert reply.in_reply_to == ids[i], (reply.in_reply_to, ids[i])
            if self.kind == "payment":
                assert getattr(reply.message, "status", None) == "POSTED", reply
            else:
                assert len(getattr(reply.message, "bills", [])) == INQUIRY_BILLS, reply

        return Batch(requests, check)


def _payment(bill: Bill) -> Callable[[datetime], client_calls.Call[Any]]:
    def make(now: datetime) -> client_calls.Call[Any]:
        return client_calls.payment(
            now, bank_payment_ref="B" + secrets.token_hex(10), bill_number=bill.bill_number,
            amount=AMOUNT, channel="APP",
        )  # fmt: skip

    return make


def _inquiry(id_number: str) -> Callable[[datetime], client_calls.Call[Any]]:
    def make(now: datetime) -> client_calls.Call[Any]:
        return client_calls.bill_inquiry(now, channel="APP", id_number=id_number)

    return make


def _bare_batch(port: int, count: int) -> Batch:
    ids = [str(uuid.uuid4()) for _ in range(count)]
    requests = [
        http_request(port, bare.PATH, json.dumps({"messageId": id_, "amount": AMOUNT}).encode(),
                     {"Content-Type": "application/json"})
        for id_ in ids
    ]  # fmt: skip

    def check(i: int, raw: bytes) -> None:
        assert json.loads(split_answer(raw)[2])["messageId"] == ids[i]

    return Batch(requests, check)


async def seed_bills(
    database_url: str, count: int, per_account: int = BILLS_PER_ACCOUNT
) -> list[Bill]:
    """`count` new unpaid bills of AMOUNT, over new accounts, written through the store."""
    now = datetime.now(UTC)
    bills: list[Bill] = []
    accounts: list[Account] = []
    while len(bills) < count:
        id_number = luhn_complete("1" + "".join(secrets.choice("0123456789") for _ in range(8)))
        accounts.append(Account(
            id_number=id_number, id_type=default_id_type(id_number), mobile="+966500000009",
            biometric_enrolled=True, id_expiry=date(2030, 1, 1), blocked=False,
            status="PENDING", full_name_ar="مستخدم", full_name_en="Bench User",
        ))  # fmt: skip
        for _ in range(min(per_account, count - len(bills))):
            bills.append(Bill(
                bill_number=new_bill_number(), id_number=id_number,
                service_code=ServiceCode.OTHER, description_ar="رسوم", description_en="Fee",
                amount_halalas=AMOUNT_HALALAS, due_date=date(2030, 12, 31), expires_at=None,
                status=BillStatus.UNPAID,
            ))  # fmt: skip
    store = Store.open(database_url)
    try:
        async with store.write() as tx:
            for account in accounts:
                await tx.save_account(account, now)
            await tx.add_bills(bills, now)
    finally:
        await store.close()
    return bills


async def adapter_keys(url: str) -> Mapping[str, Any]:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        return await fetch_adapter_keys(url, http)


ROWS = (
    Row("bare aiohttp handler", "bare"),
    Row("PaymentNotification json/jws ES256", "payment", "RJHI"),
    Row("PaymentNotification xml/xmldsig RSA-2048", "payment", "NCBK", "ncbk-test-2025-07"),
    Row("PaymentNotification json/http-sig Ed25519", "payment", "RIBL"),
    Row("BillInquiry json/jws ES256", "inquiry", "RJHI"),
)

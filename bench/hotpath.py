"""Request-path benchmark: signed payment notifications against a real `bank-adapter serve`.

    .venv/bin/python bench/hotpath.py [--requests 2000] [--concurrency 32] [--workers N]
                                      [--database-url postgresql://...]

Starts the service (`bank-adapter serve --workers N`, default 1) in its own process
(sandbox partners, a fresh SQLite file in a temp directory unless --database-url names
another database, which must exist; its tables are created if missing), issues bills
through the internal API, then sends signed PaymentNotification messages from this
process (one per bill, each a new BankPaymentRef) for each sandbox
profile, and prints a table: profile, requests, seconds, requests/s, p50 and p99 latency.
Every answer is verified (signature and status) so a fast wrong answer cannot count.
The client signs in this same process, so the numbers include the bank's side too:
they are a floor for the adapter, not its ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bank_adapter.client import PartnerClient, fetch_adapter_keys
from bank_adapter.domain.ids import luhn_complete
from bank_adapter.sandbox import partner_config

TOKEN = "bench-token"
PROFILES = ["RJHI", "NCBK", "RIBL", "SABB"]  # json/jws, xml/xmldsig, json/http-sig, xml/http-sig


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    workdir: Path, port: int, workers: int, database_url: str | None
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANK_ADAPTER_")}
    env |= {
        "BANK_ADAPTER_SANDBOX": "1",
        "BANK_ADAPTER_ADMIN_TOKEN": TOKEN,
        "BANK_ADAPTER_PORT": str(port),
        "BANK_ADAPTER_DATABASE_URL": database_url or f"sqlite:///{workdir / 'bench.db'}",
        "BANK_ADAPTER_PARTNERS_DIR": str(ROOT / "partners"),
        "BANK_ADAPTER_FEES_FILE": str(ROOT / "fees.toml"),
        "BANK_ADAPTER_VAR_DIR": str(workdir / "var"),
        "BANK_ADAPTER_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "bank_adapter.cli", "serve", "--workers", str(workers)]
    return subprocess.Popen(command, env=env, cwd=workdir, stderr=subprocess.DEVNULL)


async def wait_healthy(http: aiohttp.ClientSession, url: str) -> None:
    for _ in range(300):
        try:
            async with http.get(url + "/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise SystemExit("the service did not become healthy")


async def issue_bills(http: aiohttp.ClientSession, url: str, count: int) -> list[str]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    id_number = luhn_complete("1" + "".join(secrets.choice("0123456789") for _ in range(8)))
    await http.post(url + "/internal/v1/accounts", headers=headers, json={
        "idNumber": id_number, "mobile": "0500000009", "biometricEnrolled": True})  # fmt: skip
    body = {
        "idNumber": id_number,
        "serviceCode": "OTHER",
        "amount": "10.00",
        "dueDate": "2031-01-01",
    }
    numbers = []
    for _ in range(count):
        async with http.post(url + "/internal/v1/bills", headers=headers, json=body) as response:
            numbers.append((await response.json())["billNumber"])
    return numbers


async def run_profile(client: PartnerClient, bills: list[str], concurrency: int) -> list[float]:
    queue = list(bills)
    latencies: list[float] = []

    async def worker() -> None:
        while queue:
            bill = queue.pop()
            started = time.perf_counter()
            reply = await client.replies.pay(
                bank_payment_ref="B" + secrets.token_hex(8),
                bill_number=bill,
                amount="10.00",
                channel="APP",
            )
            latencies.append(time.perf_counter() - started)
            if getattr(reply.message, "status", None) != "POSTED":
                raise SystemExit(f"unexpected answer {reply.status} {reply.code}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


async def main(requests: int, concurrency: int, workers: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(Path(tmp), port, workers, database_url)
        try:
            connector = aiohttp.TCPConnector(limit=concurrency)
            async with aiohttp.ClientSession(connector=connector) as http:
                await wait_healthy(http, url)
                keys = await fetch_adapter_keys(url, http)
                rows = []
                for partner_id in PROFILES:
                    bills = await issue_bills(http, url, requests)
                    config = partner_config(ROOT / "partners", partner_id)
                    client = PartnerClient(url, config, adapter_keys=keys, session=http)
                    started = time.perf_counter()
                    latencies = await run_profile(client, bills, concurrency)
                    elapsed = time.perf_counter() - started
                    rows.append((partner_id, f"{config.format}/{config.signature}", len(latencies),
                                 elapsed, sorted(latencies)))  # fmt: skip
        finally:
            server.terminate()
            server.wait()
    header = ("partner", "profile", "requests", "seconds", "req/s", "p50 ms", "p99 ms")
    print("{:8} {:15} {:>8} {:>8} {:>8} {:>8} {:>8}".format(*header))
    for partner_id, profile, count, elapsed, latencies in rows:
        p50 = statistics.median(latencies) * 1000
        p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
        cells = (partner_id, profile, count, elapsed, count / elapsed, p50, p99)
        print("{:8} {:15} {:8d} {:8.2f} {:8.0f} {:8.1f} {:8.1f}".format(*cells))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000, help="payments per profile")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument("--workers", type=int, default=1, help="serve --workers N")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.concurrency, args.workers, args.database_url))

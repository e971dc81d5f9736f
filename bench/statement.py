"""Statement pages for a day of a million payments.

    .venv/bin/python bench/statement.py [--rows 1000000] [--workdir DIR]

Makes the day with `scripts/make-day` (partner RJHI, the sandbox JSON/JWS bank) in a fresh
SQLite file, starts `bank-adapter serve` on it, and times signed statement requests
through the bank-side SDK (signing, HTTP, verification of the answer included): the first
page at the default size (500) and at the largest (5,000), a page deep in the day reached
with a page token, and a full walk of the day at 5,000 a page. Prints a table.
A reused --workdir keeps the generated day between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bank_adapter.client import PartnerClient, fetch_adapter_keys
from bank_adapter.sandbox import partner_config

sys.path.insert(0, str(ROOT / "bench"))
from hotpath import free_port, start_server, wait_healthy

DAY = date(2026, 11, 1)


def make_day(workdir: Path, rows: int) -> None:
    marker = workdir / f"day-{rows}.done"
    if marker.exists():
        return
    command = [
        sys.executable, str(ROOT / "scripts" / "make-day"),
        "--database-url", f"sqlite:///{workdir / 'bench.db'}", "--partner", "RJHI",
        "--date", DAY.isoformat(), "--rows", str(rows), "--bank-file", str(workdir / "day.csv"),
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    print(f"made a day of {rows:,} payments in {time.perf_counter() - started:.0f} s", flush=True)
    marker.touch()


async def timed(call: object, repeat: int) -> tuple[float, object]:
    samples, reply = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        reply = await call()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
        if not reply.ok:  # type: ignore[attr-defined]
            raise SystemExit(f"statement failed: {reply.status} {reply.code}")  # type: ignore[attr-defined]
    return statistics.median(samples), reply


async def measure(url: str, rows_in_day: int) -> list[tuple[str, int, float]]:
    async with aiohttp.ClientSession() as http:
        await wait_healthy(http, url)
        keys = await fetch_adapter_keys(url, http)
        client = PartnerClient(
            url, partner_config(ROOT / "partners", "RJHI"), adapter_keys=keys, session=http
        )
        rows = []
        for size in (500, 5000):
            seconds, reply = await timed(
                lambda s=size: client.replies.statement(business_date=DAY, page_size=s), 5
            )
            rows.append((f"first page, {size} entries", len(reply.message.entries), seconds))
        token = reply.message.next_page_token
        middle = max(1, rows_in_day // 5000 // 2)
        for _ in range(middle - 1):  # walk to the middle of the day
            page = await client.replies.statement(
                business_date=DAY, page_size=5000, page_token=token
            )
            token = page.message.next_page_token
        seconds, deep = await timed(
            lambda: client.replies.statement(business_date=DAY, page_size=5000, page_token=token), 5
        )
        label = f"page {middle + 1} (after {middle * 5000:,}), 5000 entries"
        rows.append((label, len(deep.message.entries), seconds))
        started, entries = time.perf_counter(), 0
        async for page in client.replies.statement_pages(business_date=DAY, page_size=5000):
            entries += len(page.message.entries)
        rows.append(
            (f"whole day walk ({entries:,} entries)", entries, time.perf_counter() - started)
        )
        rows.append((f"figures: Count {deep.message.count:,} Total {deep.message.total}", 0, 0.0))
        return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-statement-"))
    workdir.mkdir(parents=True, exist_ok=True)
    make_day(workdir, args.rows)
    port = free_port()
    os.environ["BANK_ADAPTER_LOG_LEVEL"] = "WARNING"
    server = start_server(workdir, port, 1, None)
    try:
        rows = asyncio.run(measure(f"http://127.0.0.1:{port}", args.rows))
    finally:
        server.terminate()
        server.wait()
    print(f"{'statement request':45} {'entries':>8} {'seconds':>9}")
    for name, entries, seconds in rows:
        print(f"{name:45} {entries:8d} {seconds:9.3f}")


if __name__ == "__main__":
    main()

"""A settlement file uploaded to the console is streamed to disk, not held in memory:
measured on a real `bank-adapter serve` process, not timed.

The service's peak RSS (VmHWM) is read before and after it receives a file of tens of
megabytes and the job reconciles it. Holding the upload in memory would raise the peak
by at least the file's size; streaming adds a few buffers. The job runs in a child
process, which logs its own peak (bounded like `bank-adapter reconcile`'s; the big
numbers, 1,000,000 rows, are in docs/console.md).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from tests.serving import ServeProcess

ROOT = Path(__file__).resolve().parents[2]
ROWS = 200_000
DAY = "2026-01-15"
MB = 1024 * 1024
DONE_WITHIN_S = 300.0


def make_day(database: Path, bank_file: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make-day"), "--database-url",
         f"sqlite:///{database}", "--bank-file", str(bank_file), "--date", DAY,
         "--rows", str(ROWS), "--no-bills", "--amount-mismatch", "3", "--duplicates", "2"],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip


def peak_rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB$", status, flags=re.MULTILINE)
    assert match is not None
    return int(match.group(1)) * 1024


async def upload_and_wait(url: str, token: str, bank_file: Path) -> str:
    """Log in, upload `bank_file` for RJHI, wait for the run; the run page's text."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(url + "/console/login") as response:
            nonce = re.search(r'name="nonce" value="([^"]+)"', await response.text())
        assert nonce is not None
        fields = {"operator": "memory", "token": token, "nonce": nonce.group(1), "next": ""}
        async with http.post(url + "/console/login", data=fields) as response:
            csrf = re.search(r'name="csrf" value="([^"]+)"', await response.text())
        assert csrf is not None
        form = aiohttp.FormData()
        for name, value in (("csrf", csrf.group(1)), ("partner", "RJHI"), ("date", DAY)):
            form.add_field(name, value)
        with bank_file.open("rb") as file:
            form.add_field("bank_file", file, filename=bank_file.name, content_type="text/csv")
            async with http.post(url + "/console/reconcile", data=form) as response:
                page, run_url = await response.text(), str(response.url)
        started = time.monotonic()
        while 'http-equiv="refresh"' in page:
            assert time.monotonic() - started < DONE_WITHIN_S, "the reconciliation never finished"
            await asyncio.sleep(0.5)
            async with http.get(run_url) as response:
                page = await response.text()
        return page


async def test_an_upload_is_streamed_not_held_in_memory(tmp_path):
    database, bank_file = tmp_path / "day.db", tmp_path / "day.csv"
    await asyncio.to_thread(make_day, database, bank_file)
    size = bank_file.stat().st_size
    serve = ServeProcess(tmp_path / "serve", {"BANK_ADAPTER_DATABASE_URL": f"sqlite:///{database}"})
    await asyncio.to_thread(serve.start)
    try:
        assert serve.process is not None
        before = peak_rss(serve.process.pid)
        page = await upload_and_wait(serve.url, serve.token, bank_file)
        after = peak_rss(serve.process.pid)
    finally:
        await asyncio.to_thread(serve.stop)

    assert "Breaks found" in page
    assert size > 12 * MB, f"the file is too small to tell: {size / MB:.1f} MB"
    assert after - before < size // 3, (
        f"the service's peak grew {(after - before) / MB:.1f} MB for a {size / MB:.1f} MB upload"
    )
    [done] = [json.loads(line) for line in serve.log.read_text().splitlines()
              if "reconcile_job_done" in line]  # fmt: skip
    assert done["peak_rss_mb"] < 256

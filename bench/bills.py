"""Bill issuance: lists of bills against single bills, on a real `bank-adapter serve`.

    .venv/bin/python bench/bills.py [--lists 20] [--size 1000] [--singles 1000]

Starts the service in its own process (sandbox partners, a fresh SQLite file in a temp
directory) and issues bills through `POST /internal/v1/bills`, one request in flight:
`--lists` lists of `--size` bills, as many again each with its own `Idempotency-Key` (the
answer stored with the bills), and `--singles` single bills, interleaved (a list, a keyed
list, then `singles / lists` single bills, and again) so that every mode sees the same
load on a shared machine. Each bill has both descriptions, in Arabic and English; the bills are
made before the clock starts, their JSON is encoded within it. Every answer is checked
(201, the bills in the order sent, distinct bill numbers) and the bills table is counted
at the end, so a fast wrong answer cannot count. Prints a table: mode, bills, seconds,
bills/s, and the ratio to single bills. The client runs on the same machine, so the
numbers include the platform's side too: they are a floor for the adapter.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bank_adapter.domain.ids import luhn_complete
from bench.hotpath import TOKEN, free_port, start_server, wait_healthy

HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


def bills(count: int) -> list[dict[str, Any]]:
    """`count` bills of distinct people, as a platform job would send them."""
    return [bill(index) for index in range(count)]


def bill(index: int) -> dict[str, Any]:
    id_number = luhn_complete("1" + "".join(secrets.choice("0123456789") for _ in range(8)))
    return {
        "idNumber": id_number,
        "serviceCode": "TRAFFIC_VIOLATION",
        "amount": f"{100 + index % 900}.00",
        "dueDate": "2031-01-01",
        "expiresAt": "2031-02-01T00:00:00+03:00",
        "descriptionAr": "مخالفة مرورية: تجاوز السرعة المحددة",
        "descriptionEn": f"Traffic violation {index}: speeding",
    }


async def post(http: aiohttp.ClientSession, url: str, body: Any, key: str | None = None) -> Any:
    data = json.dumps(body).encode()
    headers = HEADERS if key is None else HEADERS | {"Idempotency-Key": key}
    async with http.post(url + "/internal/v1/bills", data=data, headers=headers) as response:
        answer = await response.json()
        if response.status != 201:
            raise SystemExit(f"unexpected answer {response.status}: {answer}")
        return answer


async def issue_list(
    http: aiohttp.ClientSession, url: str, items: list[dict[str, Any]], key: str | None = None
) -> int:
    answer = await post(http, url, items, key)
    if [bill["idNumber"] for bill in answer] != [item["idNumber"] for item in items]:
        raise SystemExit("the list's answer does not match the bills sent, in order")
    return len({bill["billNumber"] for bill in answer})


async def issue_singles(http: aiohttp.ClientSession, url: str, items: list[dict[str, Any]]) -> int:
    numbers = set()
    for item in items:
        numbers.add((await post(http, url, item))["billNumber"])
    return len(numbers)


async def timed(totals: dict[str, list[float]], mode: str, run: Awaitable[int]) -> None:
    started = time.perf_counter()
    issued = await run
    totals[mode][0] += issued
    totals[mode][1] += time.perf_counter() - started


async def main(lists: int, size: int, singles: int) -> None:
    lists_mode, keyed_mode = f"lists of {size}", f"keyed lists of {size}"
    totals = {lists_mode: [0.0, 0.0], keyed_mode: [0.0, 0.0], "single bills": [0.0, 0.0]}
    work = [(bills(size), bills(size), bills(singles // lists)) for _ in range(lists)]
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(Path(tmp), port, 1, None)  # one process, a fresh SQLite file
        try:
            async with aiohttp.ClientSession() as http:
                await wait_healthy(http, url)
                warm_up = await issue_list(http, url, bills(10))  # imports, the connection
                for n, (a_list, keyed, some_singles) in enumerate(work):  # interleaved
                    await timed(totals, lists_mode, issue_list(http, url, a_list))
                    await timed(totals, keyed_mode, issue_list(http, url, keyed, f"bench-{n}"))
                    await timed(totals, "single bills", issue_singles(http, url, some_singles))
        finally:
            server.terminate()
            server.wait()
        with sqlite3.connect(Path(tmp) / "bench.db") as db:
            stored = db.execute("SELECT COUNT(*) FROM bills").fetchone()[0]
    expected = warm_up + sum(len(a) + len(keyed) + len(some) for a, keyed, some in work)
    issued = warm_up + sum(int(count) for count, _ in totals.values())
    if not stored == issued == expected:
        raise SystemExit(f"{stored} bills stored, {issued} answered, {expected} sent")
    single_rate = totals["single bills"][0] / totals["single bills"][1]
    print("{:22} {:>8} {:>8} {:>9} {:>6}".format("mode", "bills", "seconds", "bills/s", "ratio"))
    for mode, (count, elapsed) in totals.items():
        rate = count / elapsed
        print(f"{mode:22} {int(count):8d} {elapsed:8.2f} {rate:9.0f} {rate / single_rate:6.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lists", type=int, default=20, help="lists to issue")
    parser.add_argument("--size", type=int, default=1000, help="bills per list (at most 1000)")
    parser.add_argument("--singles", type=int, default=1000, help="single bills to issue")
    args = parser.parse_args()
    asyncio.run(main(args.lists, args.size, args.singles))

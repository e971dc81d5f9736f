"""Bill issuance: lists of bills against single bills, on a real `bank-adapter serve`.

    .venv/bin/python bench/bills.py [--lists 20] [--size 1000] [--singles 1000]

Starts the service in its own process (sandbox partners, a fresh SQLite file in a temp
directory) and, side by side in the same run, issues bills through `POST
/internal/v1/bills`: `--lists` lists of `--size` bills one after the other, then
`--singles` single bills one after the other (one request in flight, as a platform job
issuing a batch would). The bills are made before the clock starts; their JSON is
encoded within it. Each bill has both descriptions, in Arabic and English. Every
answer is checked (201, one bill number per bill sent) so a fast wrong answer cannot
count, and the bills table is counted at the end. Prints a table: mode, bills, seconds,
bills/s, and the ratio to single bills. The client runs in this same process, so the
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


async def post(http: aiohttp.ClientSession, url: str, body: Any) -> Any:
    data = json.dumps(body).encode()
    async with http.post(url + "/internal/v1/bills", data=data, headers=HEADERS) as response:
        answer = await response.json()
        if response.status != 201:
            raise SystemExit(f"unexpected answer {response.status}: {answer}")
        return answer


async def issue_lists(
    http: aiohttp.ClientSession, url: str, lists: list[list[dict[str, Any]]]
) -> int:
    issued = 0
    for bills in lists:
        answer = await post(http, url, bills)
        if [item["idNumber"] for item in answer] != [item["idNumber"] for item in bills]:
            raise SystemExit("the list's answer does not match the bills sent, in order")
        issued += len({item["billNumber"] for item in answer})
    return issued


async def issue_singles(http: aiohttp.ClientSession, url: str, bills: list[dict[str, Any]]) -> int:
    numbers = set()
    for body in bills:
        numbers.add((await post(http, url, body))["billNumber"])
    return len(numbers)


async def main(lists: int, size: int, singles: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(Path(tmp), port)
        try:
            async with aiohttp.ClientSession() as http:
                await wait_healthy(http, url)
                await issue_lists(http, url, [bills(10)])  # warm up: imports, connection
                rows = []
                for mode, run, expected in (
                    (
                        f"lists of {size}",
                        issue_lists(http, url, [bills(size) for _ in range(lists)]),
                        lists * size,
                    ),
                    ("single bills", issue_singles(http, url, bills(singles)), singles),
                ):
                    started = time.perf_counter()
                    issued = await run
                    rows.append((mode, issued, time.perf_counter() - started))
                    if issued != expected:
                        raise SystemExit(f"{mode}: {issued} distinct bills, not {expected}")
        finally:
            server.terminate()
            server.wait()
        with sqlite3.connect(Path(tmp) / "bench.db") as db:
            stored = db.execute("SELECT COUNT(*) FROM bills").fetchone()[0]
    if stored != 10 + lists * size + singles:
        raise SystemExit(f"{stored} bills stored, not {10 + lists * size + singles}")
    single_rate = rows[-1][1] / rows[-1][2]
    print("{:16} {:>8} {:>8} {:>9} {:>6}".format("mode", "bills", "seconds", "bills/s", "ratio"))
    for mode, count, elapsed in rows:
        rate = count / elapsed
        print(f"{mode:16} {count:8d} {elapsed:8.2f} {rate:9.0f} {rate / single_rate:6.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lists", type=int, default=20, help="lists to issue")
    parser.add_argument("--size", type=int, default=1000, help="bills per list (at most 1000)")
    parser.add_argument("--singles", type=int, default=1000, help="single bills to issue")
    args = parser.parse_args()
    asyncio.run(main(args.lists, args.size, args.singles))

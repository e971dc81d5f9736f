"""Where a request's CPU goes: py-spy on `bank-adapter serve` at saturation, folded by area.

    .venv/bin/python bench/profile.py [--rows jws,xmldsig] [--engines sqlite,postgresql]
                                      [--seconds 8] [--native] [--keep DIR]
    .venv/bin/python bench/profile.py --fold RAW.txt [--cpu-us 770,56]

For each row and engine: the server (CPU 0) is driven at saturation by the load
generator of `bench/run.py` (CPU 1), first unprofiled, to measure its CPU time per request
(from /proc, the event loop's thread and the others apart), then with `py-spy record
--rate 500 -f raw` attached. The collapsed stacks are folded into areas, and each
area's share of a side's samples times that side's unprofiled CPU per request gives
microseconds per request (SQLite's commit thread is sampled busy while it waits in
fsync: weighing by its own CPU time keeps that wait out).

py-spy runs `--nonblocking` (it reads the server's memory without stopping it): stopping
it 500 times a second halves the rate, and `--native` slows it about fifty-fold, which
shrinks the store's group-commit batches and so overstates the store's share. `--native`
is there to see into C extensions; the areas come out the same without it, since time in
C is charged to the Python frame that called it.

An area is chosen per sample by the innermost frame that belongs to one (`AREAS`, first
pattern that matches); the cryptography of a signature is told apart by the profile's
entry point above it (verify_request/check_* versus sign_response/_sign).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import loadgen, scenarios
from bench.run import database
from bench.scenarios import ROWS, Context, Row

SAMPLE_HZ = 500
CONNECTIONS = 64
SIGNATURE_FRAME = re.compile(
    r"\(bank_adapter/(core/(jws|httpsig|xmldsig|signing|algorithms|keys)|web/replies)\.py"
)
VERIFY_ENTRY = re.compile(r"^\S*(verify|check)")
SIGN_ENTRY = re.compile(r"^(\S*\.)?_?sign(_response)? \(")
# (area, pattern on one frame "function (file:line)"), tried innermost frame first.
AREAS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (area, re.compile(pattern))
    for area, pattern in (
        ("pydantic/codec", r"\((bank_adapter/core/(codec_json|codec_xml|messages|xmlparse|wire"
                           r"|money|limits)\.py|pydantic|lxml)"),
        ("logging", r"\((bank_adapter/logging\.py|structlog/|logging/)"),
        ("store (SQL, commit)", r"\((bank_adapter/store/|sqlite3/|asyncpg/)"),
        ("metrics", r"\((bank_adapter/metrics\.py|prometheus_client/)"),
        ("pipeline glue", r"\(bank_adapter/"),
        ("aiohttp + event loop", r"\((aiohttp/|asyncio/|multidict/|yarl/|selectors\.py)"),
    )
)  # fmt: skip
# Threads waiting (the event loop in epoll, the executor's and aiosqlite's threads for
# work) are sampled too: not CPU.
IDLE = re.compile(
    r"^(EpollSelector\.select \(selectors\.py|_worker \(concurrent/futures/thread\.py:81"
    r"|_connection_worker_thread \(aiosqlite/"
    r"|PyThread_acquire_lock_timed|pthread_cond_timedwait|epoll_wait|select_epoll_poll"
    r"|_queue_SimpleQueue_get)"
)
ORDER = ("signature verify", "signing the answer", *(area for area, _ in AREAS), "other")


def area_of(frames: list[str]) -> str:
    """The area of one sample (frames root first); "idle" for a thread waiting."""
    if any(IDLE.search(frame) for frame in frames[-3:]):
        return "idle"
    for frame in reversed(frames):
        if SIGNATURE_FRAME.search(frame):
            if VERIFY_ENTRY.search(frame):
                return "signature verify"
            if SIGN_ENTRY.search(frame):
                return "signing the answer"
            continue  # a helper: its caller says whether it verifies or signs
        for area, pattern in AREAS:
            if pattern.search(frame):
                return area
    return "other"


def fold(raw: Path) -> dict[str, Counter[str]]:
    """Samples per area in a py-spy raw (collapsed stacks) file, idle threads left out,
    for the event loop's thread ("main") and the others ("threads": SQLite's commit
    thread, executors) apart: a thread waiting in fsync is sampled as busy, so each
    side's samples are weighed by that side's own CPU time."""
    samples: dict[str, Counter[str]] = {"main": Counter(), "threads": Counter()}
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        area = area_of(frames)
        if stack and area != "idle":
            side = "threads" if frames[0].startswith("Thread._bootstrap ") else "main"
            samples[side][area] += int(count)
    return samples


def thread_cpu_s(pid: int) -> dict[str, float]:
    """CPU seconds so far of process `pid`'s main thread and of its other threads."""
    tick = os.sysconf("SC_CLK_TCK")
    cpu = {"main": 0.0, "threads": 0.0}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a thread that ended meanwhile
        cpu["main" if task.name == str(pid) else "threads"] += (
            int(fields[11]) + int(fields[12])
        ) / tick
    return cpu


def split_lines(samples: dict[str, Counter[str]], cpu_us: dict[str, float]) -> Iterator[str]:
    """The table: each area's µs per request (with `cpu_us` per side) and share."""
    us = {area: 0.0 for area in ORDER}
    for side, counts in samples.items():
        total = sum(counts.values())
        for area in ORDER:
            us[area] += counts[area] / total * cpu_us.get(side, 0.0) if total else 0.0
    whole = sum(us.values())
    count = sum(sum(counts.values()) for counts in samples.values())
    yield f"{'area':24} {'share':>6} {'µs/req':>7}"
    for area in ORDER:
        yield f"{area:24} {us[area] / whole if whole else 0:6.1%} {us[area]:7.0f}"
    yield f"{'total':24} {1:6.1%} {whole:7.0f}  ({count} samples)"


def profile_row(row: Row, engine: str, seconds: float, native: bool, out: Path) -> list[str]:
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-prof-")))
        url = stack.enter_context(database(engine, workdir))
        server = scenarios.adapter_server(workdir, url, scenarios.free_port(), 1)
        server.start()
        stack.callback(server.stop)
        context = Context(server.port, url, asyncio.run(scenarios.adapter_keys(server.url)))
        address = ("127.0.0.1", server.port)
        warm = row.prepare(context, 500)
        rate = loadgen.closed_loop(address, warm.requests, CONNECTIONS, seconds).rate

        batch = row.prepare(context, int(rate * seconds * 1.5) + CONNECTIONS)
        cpu0 = thread_cpu_s(server.pid)
        plain = loadgen.closed_loop(address, batch.requests, CONNECTIONS, seconds)
        cpu1 = thread_cpu_s(server.pid)
        cpu_us = {side: (cpu1[side] - cpu0[side]) / len(plain.answers) * 1e6 for side in cpu1}
        batch.check_all(plain.answers, 200)

        batch = row.prepare(context, int(rate * seconds * 1.5) + CONNECTIONS)
        command = ["py-spy", "record", "--rate", str(SAMPLE_HZ), "-f", "raw", "-o", str(out)]
        command += ["--native"] if native else ["--nonblocking"]
        spy = subprocess.Popen([*command, "--pid", str(server.pid)], stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # attached
        profiled = loadgen.closed_loop(address, batch.requests, CONNECTIONS, seconds)
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)
        batch.check_all(profiled.answers, 200)
    title = (f"{row.name}, {engine}: {plain.rate:.0f} req/s unprofiled, CPU per request"
             f" {cpu_us['main']:.0f} µs in the event loop's thread, {cpu_us['threads']:.0f} µs"
             f" in others; {profiled.rate:.0f} req/s under py-spy")  # fmt: skip
    return [title, *split_lines(fold(out), cpu_us)]


PROFILED = {"jws": ROWS[1], "xmldsig": ROWS[2], "http-sig": ROWS[3], "inquiry": ROWS[4]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", default="jws,xmldsig", help=",".join(PROFILED))
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--seconds", type=float, default=8.0, help="each phase's length")
    parser.add_argument("--native", action="store_true", help="py-spy --native (blocking)")
    parser.add_argument("--keep", type=Path, help="keep the raw py-spy files in this directory")
    parser.add_argument("--fold", type=Path, help="only fold this raw py-spy file")
    parser.add_argument(
        "--cpu-us", default="1000,0",
        help="with --fold: CPU µs per request of the event loop's thread[,of the others]",
    )  # fmt: skip
    args = parser.parse_args()
    if args.fold:
        main_us, _, threads_us = args.cpu_us.partition(",")
        cpu_us = {"main": float(main_us), "threads": float(threads_us or 0)}
        print("\n".join(split_lines(fold(args.fold), cpu_us)))
        return
    loadgen.pin_to_cpu(scenarios.CLIENT_CPU)
    keep = args.keep or Path(tempfile.mkdtemp(prefix="bench-prof-raw-"))
    keep.mkdir(parents=True, exist_ok=True)
    for name in args.rows.split(","):
        for engine in args.engines.split(","):
            raw = keep / f"{name}-{engine}.txt"
            print("\n".join(profile_row(PROFILED[name], engine, args.seconds, args.native, raw)))
            print(flush=True)


if __name__ == "__main__":
    main()

"""The request path side by side: each operation's rate as a share of a bare aiohttp handler.

    .venv/bin/python bench/run.py [--quick] [--engines sqlite,postgresql] [--workers 1,2]

One table per `--workers` value (passed to `bank-adapter serve --workers`), one row per
operation and engine: requests/s at saturation (closed loop), its ratio to the bare
handler's (`bare`, measured again just before each row), then p50/p99 latency in an
open loop at half that rate (each request due on a fixed schedule, latency counted from
its due time). The server runs on CPU 0 (`taskset -c 0`), this process (the load
generator, and PostgreSQL) on CPU 1; `srv cpu` and `cli cpu` are each side's CPU time
over the wall time of the saturation phase: the server's core is the one that is full.
`µs/req` is the server's CPU time per request at saturation and `cpu ratio` the bare
handler's over it: the ratio that holds when other work on the machine takes part of
the server's core.

Requests are signed before each phase (so their timestamps are fresh) and never while
the clock runs. Every answer must be 200; up to 2,000 answers per phase (all in quick
mode) are checked in full after the phase: the adapter's signature, InReplyTo, and the
result (POSTED; the person's bills). `bench/README.md` has the latest tables.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import loadgen, scenarios
from bench.scenarios import ROWS, Context, Row, Server


@dataclass(frozen=True)
class Plan:
    saturate_s: float
    half_rate_s: float
    probe: int  # warm-up requests, whose rate sizes the saturation phase
    connections: int
    sample: int


FULL = Plan(saturate_s=10.0, half_rate_s=10.0, probe=1000, connections=64, sample=2000)
QUICK = Plan(saturate_s=1.5, half_rate_s=1.5, probe=300, connections=64, sample=100_000)
HALF_RATE_CONNECTIONS = 256  # enough that queueing at the client is not what is measured


@dataclass
class Result:
    row: Row
    engine: str
    rate: float
    bare_rate: float  # the bare handler's, measured just before this row
    cpu_us: float
    bare_cpu_us: float
    half_rate: float
    p50_ms: float
    p99_ms: float
    server_cpu: float
    client_cpu: float
    checked: int


@dataclass
class Saturation:
    rate: float
    cpu_us: float  # the server's CPU time per request
    server_cpu: float
    client_cpu: float
    checked: int


def saturate(row: Row, server: Server, context: Context, plan: Plan) -> Saturation:
    """A warm-up that sizes the batch, then the closed loop at saturation."""
    address = ("127.0.0.1", server.port)
    probe = row.prepare(context, plan.probe)
    warm = loadgen.closed_loop(address, probe.requests, plan.connections, plan.saturate_s)
    probe.check_all(warm.answers, plan.sample)

    batch = row.prepare(context, int(warm.rate * plan.saturate_s * 1.5) + plan.connections)
    cpu0 = server.cpu_s()
    full = loadgen.closed_loop(address, batch.requests, plan.connections, plan.saturate_s)
    server_cpu = (server.cpu_s() - cpu0) / full.elapsed_s
    checked = batch.check_all(full.answers, plan.sample)
    cpu_us = server_cpu / full.rate * 1e6
    return Saturation(full.rate, cpu_us, server_cpu, full.cpu_s / full.elapsed_s, checked)


def measure(
    row: Row, engine: str, server: Server, context: Context, plan: Plan, bare: Saturation | None
) -> Result:
    full = saturate(row, server, context, plan)
    half_rate = full.rate / 2
    batch = row.prepare(context, max(1, int(half_rate * plan.half_rate_s)))
    half = loadgen.open_loop(("127.0.0.1", server.port), batch.requests,
                             HALF_RATE_CONNECTIONS, half_rate)  # fmt: skip
    checked = full.checked + batch.check_all(half.answers, plan.sample)
    latencies = sorted(half.latencies_s)
    return Result(
        row, engine, full.rate, (bare or full).rate, full.cpu_us, (bare or full).cpu_us, half_rate,
        statistics.median(latencies) * 1000,
        latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
        full.server_cpu, full.client_cpu, checked,
    )  # fmt: skip


@contextmanager
def database(engine: str, workdir: Path) -> Iterator[str]:
    if engine == "postgresql":
        with scenarios.postgres() as url:
            yield url
    else:
        yield f"sqlite:///{workdir / 'bench.db'}"


def table(workers: int, engines: list[str], rows: tuple[Row, ...], plan: Plan) -> list[Result]:
    """The rows; the bare handler (idle meanwhile) is measured again just before each
    adapter row, so each ratio compares two runs a few seconds apart on a shared machine."""
    results = []
    with tempfile.TemporaryDirectory(prefix="bank-adapter-bench-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        bare = scenarios.bare_server(workdir, scenarios.free_port())
        bare.start()
        stack.callback(bare.stop)
        bare_context = Context(bare.port, "", {})
        results.append(measure(rows[0], "-", bare, bare_context, plan, None))
        for engine in engines:
            engine_dir = workdir / engine
            engine_dir.mkdir()
            with ExitStack() as engine_stack:
                url = engine_stack.enter_context(database(engine, engine_dir))
                server = scenarios.adapter_server(engine_dir, url, scenarios.free_port(), workers)
                server.start()
                engine_stack.callback(server.stop)
                keys = asyncio.run(scenarios.adapter_keys(server.url))
                context = Context(server.port, url, keys)
                for row in rows[1:]:
                    ceiling = saturate(rows[0], bare, bare_context, plan)
                    results.append(measure(row, engine, server, context, plan, ceiling))
    return results


def print_table(workers: int, results: list[Result]) -> None:
    print(f"\nworkers {workers}: server on CPU {scenarios.SERVER_CPU}, "
          f"client on CPU {scenarios.CLIENT_CPU}")  # fmt: skip
    header = ("row", "engine", "req/s", "bare", "ratio", "half", "p50 ms", "p99 ms", "srv cpu",
              "cli cpu", "µs/req", "cpu ratio", "checked")  # fmt: skip
    line = "{:42} {:10} {:>6} {:>6} {:>6} {:>6} {:>7} {:>7} {:>7} {:>7} {:>6} {:>9} {:>7}"
    print(line.format(*header))
    for r in results:
        print(line.format(
            r.row.name, r.engine, f"{r.rate:.0f}", f"{r.bare_rate:.0f}",
            f"{r.rate / r.bare_rate:.3f}",
            f"{r.half_rate:.0f}", f"{r.p50_ms:.2f}", f"{r.p99_ms:.2f}",
            f"{r.server_cpu:.0%}", f"{r.client_cpu:.0%}", f"{r.cpu_us:.0f}",
            f"{r.bare_cpu_us / r.cpu_us:.3f}", r.checked,
        ))  # fmt: skip
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short phases (under a minute)")
    parser.add_argument("--engines", default="sqlite,postgresql", help="sqlite,postgresql")
    parser.add_argument("--workers", default="1,2", help="tables: serve --workers values")
    args = parser.parse_args()
    engines = [name for name in args.engines.split(",") if name]
    unknown = set(engines) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown engine(s): {', '.join(sorted(unknown))}")
    workers = [int(n) for n in args.workers.split(",") if n]
    if any(n > 1 for n in workers) and not scenarios.serve_has_workers():
        print("bank-adapter serve has no --workers option yet: only the workers 1 table")
        workers = [n for n in workers if n == 1]
    loadgen.pin_to_cpu(scenarios.CLIENT_CPU)
    plan = QUICK if args.quick else FULL
    for n in workers:
        print_table(n, table(n, engines, ROWS, plan))


if __name__ == "__main__":
    main()

"""`bank-adapter serve`: one process, or a parent and N workers sharing its sockets.

Theory of operation, `--workers N` with N > 1:
- The parent does once what must happen once: it checks the settings, partners, keys,
  fee schedule and TLS files (a mistake is one line and exit 2 before any worker starts),
  makes the sandbox's generated keys, applies migrations (exit 3 if the database does not
  answer) and binds the listening sockets (exit 4 if a port is taken; see `web.listeners`).
- It then starts N workers, each a fresh `python -m bank_adapter serve --worker I ...`
  inheriting the sockets. A worker builds its own runtime (store connections, rate
  limiter, partner-state refresher, purge task, metrics counted in a directory shared by
  the workers: see `metrics`) and serves the app on the inherited sockets; the kernel
  gives each new connection to whichever worker accepts it first. Every log line of a
  worker carries its `worker` index and `pid`.
- SIGTERM or SIGINT to the parent is passed to every worker as SIGTERM; each finishes
  the requests in flight and exits, and the parent exits 0 once all have.
- A worker that exits on its own (a crash, kill -9, a database refusing it at start) is
  not restarted: the parent stops the others and exits with that worker's code (128 + N
  when signal N killed it), so the supervisor above it (systemd, compose, Kubernetes)
  restarts the service as a whole, and its restart count shows that something is wrong.
- Each worker also watches a pipe the parent never writes to: if the parent dies without
  passing a signal on (kill -9), the pipe's end of file stops the workers too.

With one worker (the default) the service runs in the one process, on sockets bound the
same way.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from aiohttp import web
from prometheus_client.multiprocess import mark_process_dead

from bank_adapter import logging as adapter_logging
from bank_adapter.clock import system_clock
from bank_adapter.exits import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, database_errors
from bank_adapter.metrics import Metrics
from bank_adapter.settings import Settings
from bank_adapter.store import migrate
from bank_adapter.store.repository import Store
from bank_adapter.web.app import build_app
from bank_adapter.web.listeners import Listeners, bind_listeners
from bank_adapter.web.runtime import RUNTIME, Runtime, build_runtime
from bank_adapter.web.tls import server_context

# prometheus_client counts in files under this directory when it is set at import time.
METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# How a worker asked to stop may end: cleanly, or stopped before it could catch a signal.
STOPPED = frozenset({EXIT_OK, EXIT_INTERRUPTED, -signal.SIGINT, -signal.SIGTERM})

log = adapter_logging.get_logger("bank_adapter.serve")


@dataclass(frozen=True, slots=True)
class WorkerArgs:
    """What the parent gives a worker on its command line: inherited descriptors."""

    index: int
    public_fds: tuple[int, ...]
    admin_fds: tuple[int, ...]
    lifeline_fd: int


def serve(settings: Settings, *, workers: int, log_level: str) -> int:
    if workers == 1:
        asyncio.run(_serve_alone(build_runtime(settings, system_clock)))
        return EXIT_OK
    return _serve_with_workers(settings, workers, log_level)


async def _serve_alone(runtime: Runtime) -> None:
    runner = web.AppRunner(build_app(runtime), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        with database_errors(runtime.settings.database_url):
            await migrate.upgrade(runtime.store.engine)
        listeners = bind_listeners(runtime.settings)
        await _serve_until_stopped(runner, listeners, lifeline_fd=None)
    finally:
        await runner.cleanup()


def serve_worker(settings: Settings, args: WorkerArgs, metrics_dir: Path) -> int:
    """A worker's life: its own runtime, serving on the sockets the parent bound."""
    listeners = Listeners(
        tuple(socket.socket(fileno=fd) for fd in args.public_fds),
        tuple(socket.socket(fileno=fd) for fd in args.admin_fds),
    )
    runtime = build_runtime(settings, system_clock, metrics=Metrics(shared_dir=metrics_dir))
    asyncio.run(_serve_worker(runtime, listeners, args.lifeline_fd))
    return EXIT_OK


async def _serve_worker(runtime: Runtime, listeners: Listeners, lifeline_fd: int) -> None:
    runner = web.AppRunner(build_app(runtime), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await _serve_until_stopped(runner, listeners, lifeline_fd=lifeline_fd)
    finally:
        await runner.cleanup()


async def _serve_until_stopped(
    runner: web.AppRunner, listeners: Listeners, *, lifeline_fd: int | None
) -> None:
    settings = runner.app[RUNTIME].settings
    context = server_context(settings)
    # What is alive now (modules, schemas, the runtime) lives as long as the process: out
    # of the collector's sight, a full collection looks at requests' objects only. A
    # 5,000-entry statement page makes tens of thousands of them, and on a statement walk
    # full collections over everything were a large share of the server's time.
    gc.collect()
    gc.freeze()
    for sock in (*listeners.public, *listeners.admin):
        await web.SockSite(runner, sock, ssl_context=context).start()
    admin = settings.admin_address
    log.info("serving", host=settings.host, port=settings.port, sandbox=settings.sandbox,
             admin_host=admin and admin[0], admin_port=admin and admin[1],
             partners=sorted(runner.app[RUNTIME].partners))  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    if lifeline_fd is not None:
        loop.add_reader(lifeline_fd, stop.set)  # readable only at end of file: parent gone
    await stop.wait()
    log.info("stopping")


def _serve_with_workers(settings: Settings, count: int, log_level: str) -> int:
    runtime = build_runtime(settings, system_clock)  # every check a worker would make
    server_context(settings)
    asyncio.run(_migrate(runtime.store, settings.database_url))
    listeners = bind_listeners(settings)
    try:
        with tempfile.TemporaryDirectory(prefix="bank-adapter-metrics-") as metrics_dir:
            return Workers(listeners, Path(metrics_dir), log_level).run(count)
    finally:
        listeners.close()


async def _migrate(store: Store, database_url: str) -> None:
    try:
        with database_errors(database_url):
            await migrate.upgrade(store.engine)
    finally:
        await store.close()


@dataclass
class Workers:
    """The parent's side: start the workers, pass stop signals on, wait for them."""

    listeners: Listeners
    metrics_dir: Path
    log_level: str
    running: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    stopping: bool = False

    def run(self, count: int) -> int:
        lifeline_read, lifeline_write = os.pipe()
        previous = {signum: signal.signal(signum, self._stop) for signum in STOP_SIGNALS}
        try:
            for index in range(count):
                if not self.stopping:
                    self._start(WorkerArgs(index, *self._fds(), lifeline_read))
            os.close(lifeline_read)
            pids = [process.pid for process in self.running.values()]
            log.info("workers_started", workers=count, pids=pids)
            code = self._wait()
        except BaseException:
            self._stop()
            self._wait()
            raise
        finally:
            os.close(lifeline_write)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        log.info("stopped", exit_code=code)
        return code

    def _fds(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return (
            tuple(sock.fileno() for sock in self.listeners.public),
            tuple(sock.fileno() for sock in self.listeners.admin),
        )

    def _start(self, args: WorkerArgs) -> None:
        command = [sys.executable, "-m", "bank_adapter", "serve", "--worker", str(args.index)]
        command += [f"--public-fd={fd}" for fd in args.public_fds]
        command += [f"--admin-fd={fd}" for fd in args.admin_fds]
        command += [f"--lifeline-fd={args.lifeline_fd}"]
        environ = os.environ | {
            "BANK_ADAPTER_LOG_LEVEL": self.log_level,  # the parent's, -v and -q included
            METRICS_DIR_VARIABLE: str(self.metrics_dir),
        }
        fds = (*args.public_fds, *args.admin_fds, args.lifeline_fd)
        self.running[args.index] = subprocess.Popen(  # noqa: S603 (our own interpreter)
            command, env=environ, pass_fds=fds, stdin=subprocess.DEVNULL
        )

    def _stop(self, _signum: int | None = None, _frame: FrameType | None = None) -> None:
        self.stopping = True
        for process in self.running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)

    def _wait(self) -> int:
        """Until every worker has exited: EXIT_OK if each did when asked to, else the
        code of the first that exited on its own."""
        code = EXIT_OK
        while self.running:
            # Wait for any worker without reaping it; poll() reaps it below.
            os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)
            for index, process in list(self.running.items()):
                returncode = process.poll()
                if returncode is None:
                    continue
                del self.running[index]
                # Its live gauge files (prometheus_client.multiprocess has no annotations).
                mark_process_dead(process.pid, str(self.metrics_dir))  # type: ignore[no-untyped-call]
                if self.stopping and returncode in STOPPED:
                    continue
                log.error("worker_exited", worker=index, pid=process.pid, returncode=returncode)
                if code == EXIT_OK:
                    code = exit_code(returncode)
                self._stop()
        return code


def exit_code(returncode: int) -> int:
    """A worker's exit as the parent's: its own code, 128 + N for signal N, as shells
    report; a worker that exited 0 unasked is still a failure of the service."""
    if returncode < 0:
        return 128 - returncode
    return returncode or EXIT_FAILED

"""A load generator fast enough for the bare aiohttp handler: epoll and raw sockets.

A Python aiohttp client spends more CPU per request than a minimal aiohttp server does,
so it cannot saturate one. This one sends pre-serialised HTTP/1.1 requests (signed
before the clock starts) over keep-alive connections and reads each answer only as far
as its status line and Content-Length: a few microseconds of Python per request.

- `closed_loop`: every connection sends its next request as soon as the previous one is
  answered, for `duration` seconds: the server's rate at saturation.
- `open_loop`: request i is due at start + i / rate, whatever the server is doing; its
  latency runs from that due time (not from when a free connection sent it), so a
  stalled server shows as latency instead of slowing the schedule down (no coordinated
  omission).

Each answer is kept (status line, headers and body, as bytes) so the caller can check
them all after the timed part. `cpu_s` is this process's CPU time during the run: next
to the wall time it shows whether the client had room to spare.
"""

from __future__ import annotations

import math
import os
import select
import socket
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

GIVE_UP_AFTER_S = 60.0  # past the phase's end, in-flight answers that never come fail it
HEADER_END = b"\r\n\r\n"
CONTENT_LENGTH = b"\r\ncontent-length:"


@dataclass
class Outcome:
    elapsed_s: float  # first send to last answer
    cpu_s: float
    answers: list[bytes] = field(default_factory=list)  # raw answers, in request order
    latencies_s: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return len(self.answers) / self.elapsed_s

    def statuses(self) -> list[int]:
        return [int(answer[9:12]) for answer in self.answers]


class _Connection:
    __slots__ = ("buf", "index", "out", "sock")

    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.create_connection(address)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buf = bytearray()
        self.index = -1
        self.out = memoryview(b"")

    def answer_length(self) -> int:
        """The length of the complete answer at the start of `buf`, or 0 while incomplete."""
        end = self.buf.find(HEADER_END)
        if end < 0:
            return 0
        head = bytes(self.buf[:end]).lower()
        at = head.find(CONTENT_LENGTH)
        if at < 0:
            raise RuntimeError(f"answer without Content-Length: {head[:200]!r}")
        line_end = head.find(b"\r\n", at + 2)
        length = int(head[at + len(CONTENT_LENGTH) : line_end if line_end > 0 else None])
        total = end + len(HEADER_END) + length
        return total if len(self.buf) >= total else 0


class _Run:
    def __init__(self, address: tuple[str, int], requests: Sequence[bytes], connections: int):
        self.requests = requests
        self.answers: list[bytes | None] = [None] * len(requests)
        self.done_at = [0.0] * len(requests)
        self.conns = [_Connection(address) for _ in range(connections)]
        self.by_fd = {conn.sock.fileno(): conn for conn in self.conns}
        self.poller = select.epoll()
        for fd in self.by_fd:
            self.poller.register(fd, select.EPOLLIN)
        self.idle = deque(self.conns)
        self.in_flight = 0

    def send(self, conn: _Connection, index: int) -> None:
        conn.index = index
        data = self.requests[index]
        sent = conn.sock.send(data)
        if sent < len(data):
            conn.out = memoryview(data)[sent:]
            self.poller.modify(conn.sock.fileno(), select.EPOLLIN | select.EPOLLOUT)
        self.in_flight += 1

    def poll(self, timeout: float) -> list[_Connection]:
        """Wait up to `timeout` s; the connections whose answer is now complete."""
        finished = []
        for fd, events in self.poller.poll(timeout):
            conn = self.by_fd[fd]
            if events & select.EPOLLOUT:
                sent = conn.sock.send(conn.out)
                conn.out = conn.out[sent:]
                if not conn.out:
                    self.poller.modify(fd, select.EPOLLIN)
            if not events & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR):
                continue
            chunk = conn.sock.recv(262144)
            if not chunk:
                raise RuntimeError("the server closed a connection")
            conn.buf += chunk
            length = conn.answer_length()
            if length:
                now = time.perf_counter()
                self.answers[conn.index] = bytes(conn.buf[:length])
                self.done_at[conn.index] = now
                del conn.buf[:length]
                self.in_flight -= 1
                finished.append(conn)
        return finished

    def drain(self, deadline: float) -> None:
        while self.in_flight:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{self.in_flight} requests never answered")
            self.poll(1.0)

    def close(self) -> None:
        self.poller.close()
        for conn in self.conns:
            conn.sock.close()


def closed_loop(
    address: tuple[str, int], requests: Sequence[bytes], connections: int, duration_s: float
) -> Outcome:
    """Keep `connections` requests in flight for `duration_s` (or until `requests` run out)."""
    run = _Run(address, requests, min(connections, len(requests)))
    cpu0 = time.process_time()
    start = time.perf_counter()
    sent_at = [0.0] * len(requests)
    deadline = start + duration_s
    nxt = 0
    try:
        while run.idle and nxt < len(requests):
            sent_at[nxt] = time.perf_counter()
            run.send(run.idle.popleft(), nxt)
            nxt += 1
        while run.in_flight:
            for conn in run.poll(1.0):
                if nxt < len(requests) and time.perf_counter() < deadline:
                    sent_at[nxt] = time.perf_counter()
                    run.send(conn, nxt)
                    nxt += 1
            if time.perf_counter() > deadline + GIVE_UP_AFTER_S:
                raise RuntimeError(f"{run.in_flight} requests never answered")
    finally:
        run.close()
    answered = [answer for answer in run.answers[:nxt] if answer is not None]
    end = max(run.done_at[:nxt])
    latencies = [run.done_at[i] - sent_at[i] for i in range(nxt)]
    return Outcome(end - start, time.process_time() - cpu0, answered, latencies)


def open_loop(
    address: tuple[str, int], requests: Sequence[bytes], connections: int, rate: float
) -> Outcome:
    """Send request i at start + i / `rate` on a free connection (queueing it while none
    is); latency counted from that due time."""
    run = _Run(address, requests, connections)
    count = len(requests)
    cpu0 = time.process_time()
    start = time.perf_counter() + 0.01
    due = [start + i / rate for i in range(count)]
    waiting: deque[int] = deque()
    nxt = 0
    try:
        while nxt < count or waiting:
            now = time.perf_counter()
            while nxt < count and due[nxt] <= now:
                waiting.append(nxt)
                nxt += 1
            while waiting and run.idle:
                run.send(run.idle.popleft(), waiting.popleft())
            # epoll waits whole milliseconds: closer to the next due time than that, poll
            # without blocking so no request leaves late by the poller's rounding.
            wait = due[nxt] - now if nxt < count and not waiting else 0.1
            wait = 0.0 if wait < 0.001 else math.floor(wait * 1000) / 1000
            for conn in run.poll(wait):
                run.idle.append(conn)
        run.drain(time.perf_counter() + GIVE_UP_AFTER_S)
    finally:
        run.close()
    answered = [answer for answer in run.answers if answer is not None]
    latencies = [run.done_at[i] - due[i] for i in range(count)]
    return Outcome(max(run.done_at) - start, time.process_time() - cpu0, answered, latencies)


def pin_to_cpu(cpu: int) -> None:
    """Run this process (and what it starts from now on) on `cpu` only."""
    os.sched_setaffinity(0, {cpu})

"""Prometheus metrics, in a registry of the app's own (no process-global state).

What operators alert on (deploy/prometheus/alerts.yml) and watch (deploy/grafana/):
requests by outcome and their latency, signature failures by partner and reason, money
posted and reversed (count, and amount in halalas: integers, exact, summed as counters),
OTPs sent, the store's batch sizes and commit latency, database errors, readiness, and
the process itself (CPU, memory, open files). Label values are partner ids, operation
names and contract codes: a small, fixed set, never an ID number or a reference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
SIGNATURE_CODES: Final = frozenset(
    {"SIGNATURE_MISSING", "SIGNATURE_INVALID", "UNKNOWN_KEY", "ALGORITHM_NOT_ALLOWED"}
)


class Metrics:
    """`shared_dir`: the workers' multiprocess directory (None: a process of its own)."""

    def __init__(self, shared_dir: Path | None = None) -> None:
        self.shared_dir = shared_dir
        self.registry = CollectorRegistry()  # counted values
        self.computed = CollectorRegistry()  # read at scrape time, in this process
        self.requests = Counter(
            "bank_adapter_requests",
            "Partner requests answered, by partner, operation and contract code (OK for 2xx).",
            ["partner", "operation", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "bank_adapter_request_duration_seconds",
            "Time from request received to answer sent, by operation.",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.replays = Counter(
            "bank_adapter_replayed_answers",
            "Stored answers returned again for a repeated MessageId.",
            ["partner"],
            registry=self.registry,
        )
        self._requests: dict[tuple[str, str, str], Counter] = {}
        self._latency: dict[str, Histogram] = {}
        self.ready = Gauge(
            "bank_adapter_ready",
            "1 when the database answers, else 0.",
            registry=self.registry,
            multiprocess_mode="livemostrecent",  # the last readiness check of any worker
        )
        self._define_money()
        self._define_security()
        self._define_store()
        ProcessCollector(registry=self.computed)
        PlatformCollector(registry=self.computed)

    def _define_security(self) -> None:
        self.signature_failures = Counter(
            "bank_adapter_signature_failures",
            "Requests refused for their signature, by partner and reason (the contract "
            "code: SIGNATURE_MISSING, SIGNATURE_INVALID, UNKNOWN_KEY, ALGORITHM_NOT_ALLOWED).",
            ["partner", "reason"],
            registry=self.registry,
        )
        self.otps_sent = Counter(
            "bank_adapter_otps_sent",
            "One-time passwords sent to a customer's mobile, by partner.",
            ["partner"],
            registry=self.registry,
        )

    def _define_money(self) -> None:
        self.payments_posted = Counter(
            "bank_adapter_payments_posted",
            "Payments posted (first time only, not replays), by partner.",
            ["partner"],
            registry=self.registry,
        )
        self.payments_posted_halalas = Counter(
            "bank_adapter_payments_posted_halalas",
            "Amount of the payments posted, in halalas (1/100 SAR), by partner.",
            ["partner"],
            registry=self.registry,
        )
        self.payments_reversed = Counter(
            "bank_adapter_payments_reversed",
            "Payments reversed (first time only, not replays), by partner.",
            ["partner"],
            registry=self.registry,
        )
        self.payments_reversed_halalas = Counter(
            "bank_adapter_payments_reversed_halalas",
            "Amount of the payments reversed, in halalas (1/100 SAR), by partner.",
            ["partner"],
            registry=self.registry,
        )

    def _define_store(self) -> None:
        self.store_batch_size = Histogram(
            "bank_adapter_store_batch_size",
            "Transactions committed together in one database commit.",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.store_commit_seconds = Histogram(
            "bank_adapter_store_commit_seconds",
            "Time one database commit takes (the durable write every 2xx waits for).",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.database_errors = Counter(
            "bank_adapter_database_errors",
            "Database operations that failed (unreachable, lock timeout, ...), by error "
            "class; each request they hit was answered 503 SERVICE_UNAVAILABLE.",
            ["error"],
            registry=self.registry,
        )

    def observe_request(self, partner: str, operation: str, code: str, seconds: float) -> None:
        """Count one partner request and its latency (label children looked up once)."""
        key = (partner, operation, code)
        counter = self._requests.get(key)
        if counter is None:
            counter = self._requests[key] = self.requests.labels(partner, operation, code)
        histogram = self._latency.get(operation)
        if histogram is None:
            histogram = self._latency[operation] = self.latency.labels(operation)
        counter.inc()
        histogram.observe(seconds)
        if code in SIGNATURE_CODES:
            self.signature_failures.labels(partner, code).inc()

    def batch_committed(
        self,
        units: int,
        commit_seconds: float,
        events: Sequence[tuple[str, datetime, Mapping[str, Any]]],
    ) -> None:
        """A committed batch: its size, its COMMIT's time, and the money it moved (its
        events are exactly the first-time postings and reversals, never replays)."""
        self.store_batch_size.observe(units)
        self.store_commit_seconds.observe(commit_seconds)
        for type_, _at, data in events:
            if type_ == "PAYMENT_POSTED":
                count, halalas = self.payments_posted, self.payments_posted_halalas
            elif type_ == "PAYMENT_REVERSED":
                count, halalas = self.payments_reversed, self.payments_reversed_halalas
            else:
                continue
            partner = str(data["partnerId"])
            count.labels(partner).inc()
            halalas.labels(partner).inc(int(Decimal(str(data["amount"])) * 100))

    def storage_failed(self, error: BaseException) -> None:
        # The driver's own exception class (OperationalError, ConnectionRefusedError,
        # LockNotAvailableError...): a small set, and what an operator searches for.
        cause = error.__cause__ or error
        self.database_errors.labels(type(cause).__name__).inc()

    def exposition(self) -> bytes:
        return generate_latest(self._values()) + generate_latest(self.computed)

    def _values(self) -> CollectorRegistry:
        if self.shared_dir is None:
            return self.registry
        every_worker = CollectorRegistry()
        # prometheus_client.multiprocess has no annotations.
        MultiProcessCollector(every_worker, str(self.shared_dir))  # type: ignore[no-untyped-call]
        return every_worker

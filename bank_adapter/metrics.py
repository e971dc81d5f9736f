"""Prometheus metrics, in a registry of the app's own (no process-global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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
            "bank_adapter_ready", "1 when the database answers, else 0.", registry=self.registry
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

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

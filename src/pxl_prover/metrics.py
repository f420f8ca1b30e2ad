"""Service metrics: Prometheus exposition plus the guide's `logos_pxl_*` JSON summary.

Request counts by endpoint and status code and a latency histogram are ordinary
prometheus_client metrics (so Grafana can chart errors by code and P95 from buckets); the
guide's summary gauges (verification ratio, cache hit rate, P95, pool size) are computed at
scrape time from counters kept here, so the text and JSON views can never disagree.
Each app owns its registry, which keeps several servers in one process (tests) apart.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip
# Waits for a free Coq session: sub-millisecond when idle, up to the pool's bounded wait.
QUEUE_WAIT_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
WINDOW = 2048
PoolStats = Callable[[], dict[str, Any]]


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


class ServiceMetrics:
    """Counters the service updates per request, and the views of them it serves."""

    def __init__(self, pool_stats: PoolStats) -> None:
        self.started = time.time()
        self.registry = CollectorRegistry()
        self._pool_stats = pool_stats
        self._lock = threading.Lock()
        self._windows: dict[str, deque[float]] = {}
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self.goals = 0
        self.verified = 0
        self.cache_hits = 0
        self.cache_misses = 0
        self.verdicts: dict[str, int] = {"proved": 0, "refuted": 0, "unknown": 0}
        # Every reason starts at 0 so its series exists before the first restart.
        self.session_restarts = dict.fromkeys(("died", "timeout", "memory", "recycled", "error"), 0)
        self.requests = Counter(
            "logos_pxl_http_requests",
            "HTTP requests by endpoint, method and status code",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "logos_pxl_request_duration_seconds",
            "HTTP request latency by endpoint",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        # Saturation, for autoscaling: how long requests queue for a Coq session, and how
        # many queue right now (busy + waiting over the pool size exceeds 1 when saturated).
        self.queue_wait = Histogram(
            "logos_pxl_queue_wait_seconds",
            "Time a request waited in a queue before it was served, by queue",
            ["queue"],
            buckets=QUEUE_WAIT_BUCKETS,
            registry=self.registry,
        )
        self.queue_waiting = Gauge(
            "logos_pxl_queue_waiting",
            "Requests waiting in a queue right now, by queue",
            ["queue"],
            registry=self.registry,
        )
        # The series exist (at 0) before any wait; their children are looked up once here,
        # not per request (`labels` takes a lock).
        self._queues = {
            queue: (self.queue_waiting.labels(queue), self.queue_wait.labels(queue))
            for queue in ("admission", "session")
        }
        self.registry.register(_SummaryCollector(self))

    # --- updates ------------------------------------------------------------------------

    def observe_request(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        key = (endpoint, method, status)
        children = self._children.get(key)
        if children is None:  # labels() is a locked lookup; this runs on every request
            children = (
                self.requests.labels(endpoint, method, str(status)),
                self.latency.labels(endpoint),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)
        with self._lock:
            window = self._windows.setdefault(endpoint, deque(maxlen=WINDOW))
            window.append(seconds * 1000.0)

    def observe_answer(self, answer: dict[str, Any]) -> None:
        """One goal that parsed and was answered (from the cache or the engine)."""
        with self._lock:
            self.goals += 1
            self.verified += bool(answer.get("verified")) and answer.get("verdict") != "unknown"
            verdict = answer.get("verdict", "unknown")
            self.verdicts[verdict] = self.verdicts.get(verdict, 0) + 1
            if answer.get("cache_hit"):
                self.cache_hits += 1
            else:
                self.cache_misses += 1

    @contextlib.contextmanager
    def queue_timer(self, queue: str) -> Iterator[None]:
        """Count the caller as waiting in `queue` and record the wait, however it ends
        (a wait that times out is a wait too)."""
        waiting, waits = self._queues[queue]
        waiting.inc()
        started = time.perf_counter()
        try:
            yield
        finally:
            waiting.dec()
            waits.observe(time.perf_counter() - started)

    def observe_session_restart(self, reason: str) -> None:
        with self._lock:
            self.session_restarts[reason] = self.session_restarts.get(reason, 0) + 1

    # --- views --------------------------------------------------------------------------

    def latency_percentiles(self) -> dict[str, dict[str, float]]:
        """P50/P95/P99 (ms) over the last requests of each endpoint."""
        with self._lock:
            windows = {name: sorted(w) for name, w in self._windows.items()}
        return {
            name: {
                "count": len(values),
                "p50_ms": round(percentile(values, 50), 3),
                "p95_ms": round(percentile(values, 95), 3),
                "p99_ms": round(percentile(values, 99), 3),
                "max_ms": round(values[-1], 3) if values else 0.0,
            }
            for name, values in windows.items()
        }

    def summary(self) -> dict[str, float]:
        """The guide's `logos_pxl_*` keys (the JSON view of /metrics)."""
        with self._lock:
            goals, verified = self.goals, self.verified
            hits, misses = self.cache_hits, self.cache_misses
            prove = sorted(self._windows.get("/prove", ()))
        pool = self._pool_stats()
        lookups = hits + misses
        return {
            "logos_pxl_uptime_seconds": round(time.time() - self.started, 3),
            "logos_pxl_verification_ratio_percent": (
                round(100.0 * verified / goals, 3) if goals else 100.0
            ),
            "logos_pxl_p95_latency_ms": round(percentile(prove, 95), 3),
            "logos_pxl_cache_hit_rate_percent": round(100.0 * hits / lookups, 3)
            if lookups
            else 0.0,
            "logos_pxl_session_pool_total": pool["active_sessions"],
            "logos_pxl_session_pool_busy": pool["busy_sessions"],
            "logos_pxl_session_pool_max": pool["max_pool_size"],
            "logos_pxl_cache_hits_total": hits,
            "logos_pxl_cache_misses_total": misses,
            "logos_pxl_goals_total": goals,
            "logos_pxl_verified_total": verified,
        }

    def prometheus_text(self) -> bytes:
        return generate_latest(self.registry)


_GAUGES = {
    "logos_pxl_uptime_seconds": "Seconds since the server started",
    "logos_pxl_verification_ratio_percent": "Verified verdicts / goals that parsed, percent",
    "logos_pxl_p95_latency_ms": "P95 latency of /prove over the recent window, ms",
    "logos_pxl_cache_hit_rate_percent": "Cache hits / cache lookups, percent",
    "logos_pxl_session_pool_total": "Live Coq sessions in the pool",
    "logos_pxl_session_pool_busy": "Coq sessions checking a proof right now",
    "logos_pxl_session_pool_max": "Configured pool size",
}
_COUNTERS = {
    "logos_pxl_cache_hits": "Goals answered from the cache",
    "logos_pxl_cache_misses": "Goals the cache could not answer",
    "logos_pxl_goals": "Goals that parsed and were answered",
    "logos_pxl_verified": "Goals answered with a verified proof or countermodel",
}


class _SummaryCollector:
    """Exposes ServiceMetrics.summary() as Prometheus gauges and counters at scrape time."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        summary = self._metrics.summary()
        for name, doc in _GAUGES.items():
            yield GaugeMetricFamily(name, doc, value=summary[name])
        for name, doc in _COUNTERS.items():
            yield CounterMetricFamily(name, doc, value=summary[f"{name}_total"])
        verdicts = CounterMetricFamily(
            "logos_pxl_verdicts", "Answers by verdict", labels=["verdict"]
        )
        restarts = CounterMetricFamily(
            "logos_pxl_session_restarts", "Coq sessions replaced, by reason", labels=["reason"]
        )
        with self._metrics._lock:
            verdict_counts = dict(self._metrics.verdicts)
            restart_counts = dict(self._metrics.session_restarts)
        for verdict, count in verdict_counts.items():
            verdicts.add_metric([verdict], count)
        for reason, count in restart_counts.items():
            restarts.add_metric([reason], count)
        yield verdicts
        yield restarts

"""The operator's own Prometheus metrics: what it did, how long it took, what it sees.

Counters and histograms say what the operator did (reconciles, errors by reason,
rollbacks, rollout durations, drift repaired); gauges mirror each PXLProver's status
conditions and replica counts, because kube-state-metrics does not read custom
resources, and the Degraded/RolledBack alerts need them. One registry per operator
keeps several operators in one process (tests) apart; `serve` exposes it on the pod.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

DEFAULT_METRICS_PORT = 8081
# A reconcile is a few API round trips; a rollout is pod start-up up to the progress deadline.
RECONCILE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
ROLLOUT_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 3600.0)


class OperatorMetrics:
    """What the reconciler records, in its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.reconciles = Counter(
            "pxl_operator_reconciles",
            "Reconciles of a PXLProver by result (ok, degraded: reported in status, error: raised)",
            ["result"],
            registry=self.registry,
        )
        self.reconcile_duration = Histogram(
            "pxl_operator_reconcile_duration_seconds",
            "Time one reconcile of a PXLProver took",
            buckets=RECONCILE_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "pxl_operator_reconcile_errors",
            "Reconciles that could not converge, by reason (a Degraded reason or an exception)",
            ["reason"],
            registry=self.registry,
        )
        self.rollbacks = Counter(
            "pxl_operator_rollbacks",
            "Stalled rollouts rolled back to the last good pod template",
            ["namespace", "prover"],
            registry=self.registry,
        )
        self.rollout_duration = Histogram(
            "pxl_operator_rollout_duration_seconds",
            "From the start of a rollout to its completion or rollback, by result",
            ["result"],
            buckets=ROLLOUT_BUCKETS,
            registry=self.registry,
        )
        self.drift_repairs = Counter(
            "pxl_operator_drift_repairs",
            "Children changed or deleted behind the operator's back and put back, by kind",
            ["kind"],
            registry=self.registry,
        )
        self.condition = Gauge(
            "pxl_operator_prover_condition",
            "A PXLProver's status condition (one series per type, value 1)",
            ["namespace", "prover", "type", "status", "reason"],
            registry=self.registry,
        )
        self.replicas = Gauge(
            "pxl_operator_prover_replicas",
            "Prover pods of a PXLProver (status.replicas)",
            ["namespace", "prover"],
            registry=self.registry,
        )
        self.ready_replicas = Gauge(
            "pxl_operator_prover_ready_replicas",
            "Ready prover pods of a PXLProver (status.readyReplicas)",
            ["namespace", "prover"],
            registry=self.registry,
        )
        for result in ("ok", "degraded", "error"):
            self.reconciles.labels(result)
        for result in ("complete", "rolled_back"):
            self.rollout_duration.labels(result)
        self._lock = threading.Lock()
        self._condition_labels: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {}

    @contextmanager
    def timed_reconcile(self) -> Iterator[None]:
        """Time a reconcile; one that raises is counted as an error by exception type."""
        started = time.perf_counter()
        try:
            yield
        except Exception as exc:
            self.reconciles.labels("error").inc()
            self.errors.labels(type(exc).__name__).inc()
            raise
        finally:
            self.reconcile_duration.observe(time.perf_counter() - started)

    def reconciled(self, degraded_reason: str | None) -> None:
        if degraded_reason is None:
            self.reconciles.labels("ok").inc()
        else:
            self.reconciles.labels("degraded").inc()
            self.errors.labels(degraded_reason).inc()

    def set_status(
        self,
        namespace: str,
        prover: str,
        conditions: Iterable[Mapping[str, Any]],
        fields: Mapping[str, Any],
    ) -> None:
        """Mirror the status just written: one condition series per type, replica gauges."""
        with self._lock:
            known = self._condition_labels.setdefault((namespace, prover), {})
            for cond in conditions:
                labels = (
                    namespace,
                    prover,
                    str(cond["type"]),
                    str(cond["status"]),
                    str(cond.get("reason") or ""),
                )
                previous = known.get(labels[2])
                if previous is not None and previous != labels:
                    self.condition.remove(*previous)
                self.condition.labels(*labels).set(1)
                known[labels[2]] = labels
        for gauge, key in ((self.replicas, "replicas"), (self.ready_replicas, "readyReplicas")):
            if fields.get(key) is not None:
                gauge.labels(namespace, prover).set(fields[key])

    def forget(self, namespace: str, prover: str) -> None:
        """Drop the gauges of a PXLProver that is gone (its alerts must resolve)."""
        with self._lock:
            for labels in self._condition_labels.pop((namespace, prover), {}).values():
                self.condition.remove(*labels)
        for gauge in (self.replicas, self.ready_replicas):
            with suppress(KeyError):
                gauge.remove(namespace, prover)


def serve(metrics: OperatorMetrics, address: str) -> Any:
    """Serve /metrics on `host:port` in a daemon thread; returns the server (to shut down)."""
    host, _, port = address.rpartition(":")
    server, _thread = start_http_server(
        int(port), addr=host.strip("[]") or "0.0.0.0", registry=metrics.registry
    )
    return server

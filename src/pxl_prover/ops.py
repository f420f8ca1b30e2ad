"""The operations blueprint: what probes, scrapers and client generators ask the server.

`/health` (state, never fails), `/ready` (503 with reasons until the service can answer),
`/metrics` (Prometheus text, or a JSON summary), `/metrics/performance` (latency
percentiles) and `/openapi.json` (this API's description). Waitress serves `GET /health`
and `GET /ready` on threads of their own (waitress_adapter.py).
"""

from __future__ import annotations

import time

from flask import Blueprint, Response, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST

from pxl_prover import __version__
from pxl_prover.errors import error_response
from pxl_prover.openapi import openapi_document
from pxl_prover.service import ProverService


def blueprint(service: ProverService) -> Blueprint:
    """The operations routes, reporting on `service`."""
    ops = Blueprint("ops", __name__)

    @ops.get("/health")
    def health() -> Response:
        ready = not service.unready_reasons()
        return jsonify(
            {
                "status": "ok" if ready else "degraded",
                "ready": ready,
                "kernel_hash": service.kernel_hash,
                "session_pool": service.pool_stats(),
                "timestamp": int(time.time()),
                "version": __version__,
            }
        )

    @ops.get("/ready")
    def ready() -> Response:
        reasons = service.unready_reasons()
        if not reasons:
            return jsonify({"ready": True, "kernel_hash": service.kernel_hash})
        return error_response(
            503,
            "not_ready",
            "; ".join(reasons),
            {"Retry-After": "5"},
            reasons=reasons,
            kernel_hash=service.kernel_hash,
        )

    @ops.get("/metrics")
    def metrics() -> Response:
        best = request.accept_mimetypes.best_match(["text/plain", "application/json"])
        if best == "application/json":
            return jsonify(service.metrics.summary())
        return Response(service.metrics.prometheus_text(), content_type=CONTENT_TYPE_LATEST)

    @ops.get("/metrics/performance")
    def metrics_performance() -> Response:
        return jsonify(
            {"endpoints": service.metrics.latency_percentiles(), "window": "last 2048 requests"}
        )

    @ops.get("/openapi.json")
    def openapi() -> Response:
        return jsonify(openapi_document(service.config))

    return ops

"""The Flask app: HTTP in, ProverService calls, JSON out (docs/http-api.md).

Every response is JSON, including errors Flask itself raises (404, 405, 413) and server
bugs, so clients never have to parse an HTML page. Order of checks for a POST: size (413),
signature (401), media type (415), body (400), kernel pin (409), readiness (503), pool
capacity (429).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST
from pxl_prover import __version__
from pxl_prover.auth import HmacVerifier
from pxl_prover.logics import UnknownLogic
from pxl_prover.openapi import openapi_document
from pxl_prover.pool import PoolError, PoolSaturated
from pxl_prover.service import ProverService
from pxl_prover.syntax import ParseError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

JSON_MIMETYPES = {"application/json"}


class ClientError(Exception):
    """A request the client must change; becomes a JSON error with `status`."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    response = jsonify({"error": {"code": code, "message": message, **extra}})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


class InFlight:
    """WSGI middleware counting requests in progress, so shutdown can wait for them."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app
        self.count = 0
        self._cond = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with self._cond:
            self.count += 1
        try:
            body = self.wsgi_app(environ, start_response)
            try:
                return list(body)
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()
        finally:
            with self._cond:
                self.count -= 1
                self._cond.notify_all()

    def wait_idle(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self.count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True


# --- request body validation ---------------------------------------------------------------


def _json_object(body: bytes) -> dict[str, Any]:
    if request.mimetype not in JSON_MIMETYPES:
        raise ClientError(
            415,
            "unsupported_media_type",
            f"send the body as application/json (got {request.mimetype or 'no Content-Type'})",
        )
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ClientError(400, "bad_json", f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ClientError(400, "bad_request", "the body must be a JSON object")
    return data


def _optional_str(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise ClientError(400, "bad_request", f"`{name}` must be a string")
    return value


def _timeout_ms(data: dict[str, Any], default_ms: int, max_ms: int) -> int:
    value = data.get("timeout_ms")
    if value is None:
        return default_ms
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ClientError(400, "bad_request", "`timeout_ms` must be a positive integer")
    if value > max_ms:
        raise ClientError(400, "bad_request", f"`timeout_ms` must be at most {max_ms}")
    return value


def _goal(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ClientError(400, "bad_request", f"{where} must be a string")
    if not value.strip():
        raise ClientError(400, "bad_request", f"{where} is empty")
    return value


def _answer_or_error(service: ProverService, goal: str, logic: str | None, timeout: int) -> dict:
    """One batch item: its answer, or its own error object (other items still run)."""
    try:
        return service.prove(goal, logic, timeout)
    except ParseError as exc:
        error = {"code": "parse_error", "message": exc.message, "position": exc.position}
    except UnknownLogic as exc:
        error = {"code": "unknown_logic", "message": str(exc)}
    return {"ok": False, "goal": goal, "error": error}


def _run_batch(
    service: ProverService, items: list[tuple[str, str | None]], timeout_ms: int, budget_ms: int
) -> list[dict]:
    """Answer items in order; each gets its own timeout, the whole batch at most `budget_ms`,
    so one request can never hold a worker thread for goals x timeout."""
    deadline = time.monotonic() + budget_ms / 1000
    results = []
    for goal, logic in items:
        left_ms = int((deadline - time.monotonic()) * 1000)
        if left_ms < 1:
            message = f"the batch's time budget ({budget_ms} ms, PXL_MAX_TIMEOUT_MS) ran out"
            results.append({"ok": False, "goal": goal,
                            "error": {"code": "batch_timeout", "message": message}})  # fmt: skip
            continue
        results.append(_answer_or_error(service, goal, logic, min(timeout_ms, left_ms)))
    return results


# --- the app ----------------------------------------------------------------------------


def create_app(service: ProverService) -> Flask:
    """The Flask app for `service` (its config says limits, auth and debug)."""
    config = service.config
    app = Flask("pxl_prover")
    app.config["MAX_CONTENT_LENGTH"] = config.max_request_size
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["pxl_service"] = service
    in_flight = InFlight(app.wsgi_app)
    app.wsgi_app = in_flight  # type: ignore[method-assign]
    app.extensions["pxl_in_flight"] = in_flight
    verifier = (
        HmacVerifier(config.hmac_keys(), nonce_capacity=config.nonce_capacity)
        if config.enable_hmac_auth
        else None
    )
    auth_exempt: set[str] = app.extensions.setdefault("pxl_auth_exempt", set())

    @app.before_request
    def _authenticate() -> Response | None:
        g.started = time.perf_counter()
        if verifier is None or request.method != "POST" or request.path in auth_exempt:
            return None
        body = request.get_data(cache=True)
        failure = verifier.verify(request.headers, body)
        if failure is None:
            return None
        log.info("refused %s %s: %s", request.method, request.path, failure.code)
        headers = {"Retry-After": "1"} if failure.status == 429 else None
        if failure.status == 401:
            headers = {"WWW-Authenticate": "HMAC-SHA256"}
        return error_response(failure.status, failure.code, failure.message, headers)

    @app.after_request
    def _observe(response: Response) -> Response:
        rule = request.url_rule.rule if request.url_rule is not None else "other"
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        service.metrics.observe_request(rule, request.method, response.status_code, elapsed)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(ClientError)
    def _client_error(exc: ClientError) -> Response:
        return error_response(exc.status, exc.code, exc.message, **exc.extra)

    @app.errorhandler(ParseError)
    def _parse_error(exc: ParseError) -> Response:
        return error_response(400, "parse_error", exc.message, position=exc.position)

    @app.errorhandler(UnknownLogic)
    def _unknown_logic(exc: UnknownLogic) -> Response:
        return error_response(400, "unknown_logic", str(exc))

    @app.errorhandler(PoolError)
    def _pool_error(exc: PoolError) -> Response:
        status, code = (
            (429, "saturated") if isinstance(exc, PoolSaturated) else (503, "unavailable")
        )
        if status == 503 and not service.draining and service.phase != "ready":
            code = "not_ready"
        return error_response(status, code, str(exc), {"Retry-After": str(exc.retry_after_s)})

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        code = (exc.name or "error").lower().replace(" ", "_")
        message = exc.description or exc.name or "error"
        if exc.code == 413:
            message = f"the body exceeds MAX_REQUEST_SIZE ({config.max_request_size} bytes)"
        response = error_response(exc.code or 500, code, message)
        for name in ("Allow", "Retry-After"):
            value = exc.get_response().headers.get(name)
            if value:
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        detail = f": {type(exc).__name__}: {exc}" if config.debug else ""
        return error_response(500, "internal_error", "the server failed" + detail)

    def _check_pin(data: dict[str, Any]) -> None:
        pin = _optional_str(data, "kernel_hash")
        if pin is not None and pin.strip().lower() != service.kernel_hash:
            raise ClientError(
                409,
                "kernel_mismatch",
                "the requested kernel_hash is not the kernel this server runs",
                kernel_hash=service.kernel_hash,
                requested=pin,
            )

    @app.post("/prove")
    def prove() -> Response:
        data = _json_object(request.get_data(cache=True))
        goal = _goal(data.get("goal"), "`goal`")
        logic = _optional_str(data, "logic")
        timeout = _timeout_ms(data, config.default_timeout_ms, config.max_timeout_ms)
        _check_pin(data)
        return jsonify(service.prove(goal, logic, timeout))

    @app.post("/prove/batch")
    def prove_batch() -> Response:
        started = time.perf_counter()
        data = _json_object(request.get_data(cache=True))
        goals = data.get("goals")
        if not isinstance(goals, list) or not goals:
            raise ClientError(400, "bad_request", "`goals` must be a non-empty list")
        if len(goals) > config.max_batch:
            raise ClientError(
                400, "bad_request", f"at most {config.max_batch} goals per batch (PXL_MAX_BATCH)"
            )
        logic = _optional_str(data, "logic")
        timeout = _timeout_ms(data, config.default_timeout_ms, config.max_timeout_ms)
        _check_pin(data)
        items: list[tuple[str, str | None]] = []
        for i, item in enumerate(goals):
            if isinstance(item, dict):
                items.append((_goal(item.get("goal"), f"goals[{i}].goal"),
                              _optional_str(item, "logic") or logic))  # fmt: skip
            else:
                items.append((_goal(item, f"goals[{i}]"), logic))
        results = _run_batch(service, items, timeout, config.max_timeout_ms)
        return jsonify(
            {
                "results": results,
                "count": len(results),
                "kernel_hash": service.kernel_hash,
                "latency_ms": round((time.perf_counter() - started) * 1000, 3),
            }
        )

    @app.get("/health")
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

    @app.get("/ready")
    def ready() -> Response:
        reasons = service.unready_reasons()
        if not reasons:
            return jsonify({"ready": True, "kernel_hash": service.kernel_hash})
        response = error_response(
            503,
            "not_ready",
            "; ".join(reasons),
            {"Retry-After": "5"},
            reasons=reasons,
            kernel_hash=service.kernel_hash,
        )
        return response

    @app.get("/metrics")
    def metrics() -> Response:
        best = request.accept_mimetypes.best_match(["text/plain", "application/json"])
        if best == "application/json":
            return jsonify(service.metrics.summary())
        return Response(service.metrics.prometheus_text(), content_type=CONTENT_TYPE_LATEST)

    @app.get("/metrics/performance")
    def metrics_performance() -> Response:
        return jsonify(
            {"endpoints": service.metrics.latency_percentiles(), "window": "last 2048 requests"}
        )

    @app.get("/openapi.json")
    def openapi() -> Response:
        return jsonify(openapi_document())

    try:
        from pxl_prover import playground
    except ImportError:
        playground = None
    if playground is not None:
        playground.register(app, config)
    return app

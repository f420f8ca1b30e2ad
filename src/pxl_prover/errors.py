"""JSON errors: the one error shape every response uses, and the app's error handlers.

Every error is JSON, including those Flask itself raises (404, 405, 413) and server bugs,
so clients never have to parse an HTML page; input a client can fix is a 4xx naming the
problem, never a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from pxl_prover.logics import UnknownLogic
from pxl_prover.pool import PoolError, PoolSaturated
from pxl_prover.service import ProverService
from pxl_prover.syntax import ParseError

log = logging.getLogger(__name__)


class ClientError(Exception):
    """A request the client must change; becomes a JSON error with `status`."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    """`{"error": {"code", "message", ...extra}}` with `status` and `headers`."""
    response = jsonify({"error": {"code": code, "message": message, **extra}})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def pool_error_object(exc: PoolError, service: ProverService) -> dict[str, Any]:
    """The error object for a goal the pool could not take: 429 saturated, or 503."""
    if isinstance(exc, PoolSaturated):
        code = "saturated"
    elif not service.draining and service.phase != "ready":
        code = "not_ready"
    else:
        code = "unavailable"
    return {"code": code, "message": str(exc), "retry_after_s": exc.retry_after_s}


def register_error_handlers(app: Flask, service: ProverService) -> None:
    """Answer every exception a view raises with a JSON error (see module doc)."""
    config = service.config

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
        status = 429 if isinstance(exc, PoolSaturated) else 503
        error = pool_error_object(exc, service)
        headers = {"Retry-After": str(error.pop("retry_after_s"))}
        return error_response(status, error["code"], error["message"], headers)

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

"""The Flask app: a short factory that registers the HTTP layer's blueprints (docs/http-api.md).

`api` answers `/prove` and `/prove/batch`, `ops` the probes, metrics and OpenAPI
document, `playground` the page when the configuration serves it; `errors` makes every
failure a JSON error and `request_body` reads every goal-carrying body. The app itself
owns only what spans all routes: the request size limit, HMAC signatures on POSTs (a view
declared `auth.unsigned` is let through) and per-request metrics.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

from pxl_prover import api, ops, playground
from pxl_prover.auth import HmacVerifier, accepts_unsigned
from pxl_prover.errors import error_response, register_error_handlers
from pxl_prover.service import ProverService

log = logging.getLogger(__name__)


def create_app(service: ProverService) -> Flask:
    """The Flask app for `service` (its config says limits, auth and debug)."""
    config = service.config
    app = Flask("pxl_prover")
    app.config["MAX_CONTENT_LENGTH"] = config.max_request_size
    app.json.sort_keys = False  # type: ignore[attr-defined]
    verifier = (
        HmacVerifier(config.hmac_keys(), nonce_capacity=config.nonce_capacity)
        if config.enable_hmac_auth
        else None
    )

    @app.before_request
    def _authenticate() -> Response | None:
        g.started = time.perf_counter()
        if verifier is None or request.method != "POST":
            return None
        if accepts_unsigned(app.view_functions.get(request.endpoint or "")):
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

    register_error_handlers(app, service)
    app.register_blueprint(api.blueprint(service))
    app.register_blueprint(ops.blueprint(service))
    if playground.playground_enabled(config):
        app.register_blueprint(playground.blueprint(service))
    return app

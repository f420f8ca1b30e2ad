"""The playground: a page at `/` where anyone can try a goal and see the answer drawn.

The page and its assets ship inside the package (`static/playground/`), need no build step
and load nothing from outside this server (a Content-Security-Policy says so to the
browser). With HMAC off the page posts to `/prove` like any client. With HMAC on, a browser
cannot sign requests without holding the secret, so the page is served only when
`PXL_PLAYGROUND=true`, and then it posts to `/playground/prove`, a separate path with its own
tight limits (body size, goal length, timeout, request rate) that answers through the same
prove pipeline; `/prove` itself keeps requiring a signature.
"""

from __future__ import annotations

import html
import shlex
import threading
import time
from collections import OrderedDict
from pathlib import Path

from flask import Blueprint, Response, jsonify, request, send_from_directory

from pxl_prover import request_body
from pxl_prover.auth import unsigned
from pxl_prover.config import ServerConfig
from pxl_prover.errors import ClientError, error_response
from pxl_prover.kernel import LOGICAL_NAME, default_kernel_dir, kernel_files
from pxl_prover.service import ProverService

STATIC_DIR = Path(__file__).parent / "static" / "playground"
STATIC_URL = "/playground/static"
PLAYGROUND_PROVE_URL = "/playground/prove"

# Limits of the unauthenticated path (HMAC mode only): small goals, short searches, a few
# requests per client and per server, so an open page cannot be used to load the pool.
MAX_BODY_BYTES = 4096
MAX_GOAL_CHARS = 500
TIMEOUT_MS = 2000
CLIENT_RATE_PER_S = 0.5
CLIENT_BURST = 10
SERVER_RATE_PER_S = 5.0
SERVER_BURST = 20
MAX_TRACKED_CLIENTS = 10_000

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def playground_enabled(config: ServerConfig) -> bool:
    """On by default without HMAC; with HMAC only when PXL_PLAYGROUND=true asked for it."""
    if config.playground is not None:
        return config.playground
    return not config.enable_hmac_auth


def prove_url(config: ServerConfig) -> str:
    """Where the page sends goals: the public API, or the limited path when HMAC guards it."""
    return PLAYGROUND_PROVE_URL if config.enable_hmac_auth else "/prove"


def kernel_sources_in_order(kernel_dir: Path) -> list[str]:
    """The kernel's `.v` files in the order its `_CoqProject` lists them (dependencies first)."""
    project = kernel_dir / "_CoqProject"
    if not project.is_file():
        return [p.relative_to(kernel_dir).as_posix() for p in kernel_files(kernel_dir)]
    lines = project.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip().endswith(".v")]


def recheck_command(kernel_dir: Path) -> str:
    """Shell lines that compile the kernel in `coq/` and then `cert.v` against it."""
    files = " ".join(shlex.quote(name) for name in kernel_sources_in_order(kernel_dir))
    return (
        f'(cd coq && for f in {files}; do coqc -Q . {LOGICAL_NAME} "$f" || exit 1; done)\n'
        f"coqc -Q coq {LOGICAL_NAME} cert.v"
    )


def render_page(config: ServerConfig) -> str:
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    kernel_dir = config.kernel_dir or default_kernel_dir()
    return (
        page.replace("{{STATIC}}", STATIC_URL)
        .replace("{{PROVE_URL}}", prove_url(config))
        .replace("{{RECHECK}}", html.escape(recheck_command(kernel_dir)))
    )


class RateLimiter:
    """Token buckets per client plus one for the whole server, with bounded memory.

    Small enough to own: a dependency (flask-limiter) would bring storage backends this one
    in-process path does not need. The oldest idle clients are forgotten first.
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        server_rate_per_s: float,
        server_burst: int,
        max_clients: int = MAX_TRACKED_CLIENTS,
    ) -> None:
        self.rate, self.burst = rate_per_s, float(burst)
        self.server_rate, self.server_burst = server_rate_per_s, float(server_burst)
        self.max_clients = max_clients
        self._clients: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._server = (float(server_burst), float("-inf"))
        self._lock = threading.Lock()

    @staticmethod
    def _refill(bucket: tuple[float, float], rate: float, cap: float, now: float) -> float:
        tokens, last = bucket
        return min(cap, tokens + (now - last) * rate)

    def acquire(self, client: str, now: float | None = None) -> float:
        """0 when the request may go ahead, else the seconds until it could."""
        now = time.monotonic() if now is None else now
        with self._lock:
            mine = self._refill(
                self._clients.get(client, (self.burst, now)), self.rate, self.burst, now
            )
            everyone = self._refill(self._server, self.server_rate, self.server_burst, now)
            if mine < 1.0 or everyone < 1.0:
                wait_mine = (1.0 - mine) / self.rate if mine < 1.0 else 0.0
                wait_all = (1.0 - everyone) / self.server_rate if everyone < 1.0 else 0.0
                return max(wait_mine, wait_all)
            self._clients[client] = (mine - 1.0, now)
            self._clients.move_to_end(client)
            self._server = (everyone - 1.0, now)
            while len(self._clients) > self.max_clients:
                self._clients.popitem(last=False)
            return 0.0


def _secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def blueprint(service: ProverService) -> Blueprint:
    """The page, its assets and, with HMAC on, `POST /playground/prove` (see module doc).
    Register it only when `playground_enabled` says so."""
    config = service.config
    page = render_page(config)
    playground = Blueprint("playground", __name__)

    @playground.get("/")
    def page_view() -> Response:
        response = Response(page, mimetype="text/html")
        response.headers["Cache-Control"] = "no-cache"
        return _secure(response)

    @playground.get(f"{STATIC_URL}/<path:filename>")
    def asset(filename: str) -> Response:
        return _secure(send_from_directory(STATIC_DIR, filename, max_age=300))

    if not config.enable_hmac_auth:
        return playground
    limiter = RateLimiter(CLIENT_RATE_PER_S, CLIENT_BURST, SERVER_RATE_PER_S, SERVER_BURST)

    @playground.post(PLAYGROUND_PROVE_URL)
    @unsigned
    def prove() -> Response:
        """The page's path past HMAC, with the limits above."""
        if (request.content_length or 0) > MAX_BODY_BYTES:
            raise ClientError(
                413,
                "request_entity_too_large",
                f"the playground accepts bodies up to {MAX_BODY_BYTES} bytes",
            )
        wait_s = limiter.acquire(request.remote_addr or "unknown")
        if wait_s > 0:
            return error_response(
                429,
                "rate_limited",
                "the playground allows a few goals per minute; sign requests to /prove for more",
                {"Retry-After": str(max(1, round(wait_s + 0.5)))},
            )
        data = request_body.json_object()
        goal = request_body.goal(data.get("goal"), "`goal`")
        if len(goal) > MAX_GOAL_CHARS:
            raise ClientError(
                400,
                "bad_request",
                f"the playground accepts goals up to {MAX_GOAL_CHARS} characters",
            )
        logic = request_body.optional_str(data, "logic")
        timeout = min(TIMEOUT_MS, config.max_timeout_ms)
        return jsonify(service.prove(goal, logic, timeout))

    return playground

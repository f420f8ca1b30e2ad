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

from pathlib import Path

from flask import Flask, Response, send_from_directory

STATIC_DIR = Path(__file__).parent / "static" / "playground"
STATIC_URL = "/playground/static"
PLAYGROUND_PROVE_URL = "/playground/prove"

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def playground_enabled(config: object) -> bool:
    """On by default without HMAC; with HMAC only when PXL_PLAYGROUND=true asked for it."""
    explicit = getattr(config, "playground", None)
    if explicit is not None:
        return bool(explicit)
    return not getattr(config, "enable_hmac_auth", False)


def prove_url(config: object) -> str:
    """Where the page sends goals: the public API, or the limited path when HMAC guards it."""
    return PLAYGROUND_PROVE_URL if getattr(config, "enable_hmac_auth", False) else "/prove"


def render_page(config: object) -> str:
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    return page.replace("{{STATIC}}", STATIC_URL).replace("{{PROVE_URL}}", prove_url(config))


def _secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def register(app: Flask, config: object) -> None:
    """Serve the playground on `app` when the configuration allows it (see module doc)."""
    if not playground_enabled(config):
        return
    page = render_page(config)

    def playground_page() -> Response:
        response = Response(page, mimetype="text/html")
        response.headers["Cache-Control"] = "no-cache"
        return _secure(response)

    def playground_asset(filename: str) -> Response:
        return _secure(send_from_directory(STATIC_DIR, filename, max_age=300))

    app.add_url_rule("/", "playground_page", playground_page, methods=["GET"])
    app.add_url_rule(
        f"{STATIC_URL}/<path:filename>", "playground_asset", playground_asset, methods=["GET"]
    )

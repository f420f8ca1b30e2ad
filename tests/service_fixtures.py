"""A real prover server on loopback for the service tests, and an OpenAPI response check.

The server is the production one (waitress + Flask + Coq session pool) bound to a free
port on 127.0.0.1; only its settings differ (small pool, short waits).
"""

from __future__ import annotations

import threading
from typing import Any

import requests
from jsonschema import Draft202012Validator

from pxl_prover.config import load_config
from pxl_prover.openapi import ERROR, openapi_document
from pxl_prover.server import Server
from pxl_prover.service import ProverService

HMAC_KEY = "k" * 24 + "-test-secret-0123456789"  # 47 bytes
PREVIOUS_KEY = "p" * 40


class RunningServer:
    """`RunningServer(pool_size="2", ...)`: ServerConfig field names, values as flag strings."""

    def __init__(self, *, wait: bool = True, **overrides: str) -> None:
        settings = {"host": "127.0.0.1", "port": "0", "pool_size": "2", "pool_wait_s": "5"}
        self.config = load_config(env={}, overrides={**settings, **overrides})
        self.service = ProverService(self.config)
        self.server = Server(self.config, self.service)
        self.url = f"http://127.0.0.1:{self.server.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        self.service.start(wait=wait)
        self.http = requests.Session()

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.http.post(self.url + path, json=body, timeout=60, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(self.url + path, timeout=60, **kwargs)

    def stop(self) -> None:
        self.server.shutdown()
        self._thread.join(10)


def assert_matches_openapi(method: str, path: str, response: requests.Response) -> None:
    """The response's status and JSON body are what /openapi.json promises for the call;
    an undocumented path or method must still be a JSON error object."""
    assert "html" not in response.headers.get("Content-Type", ""), response.text[:200]
    operation = openapi_document()["paths"].get(path, {}).get(method.lower())
    if operation is None:
        Draft202012Validator(ERROR).validate(response.json())
        return
    documented = operation["responses"].get(str(response.status_code))
    assert documented is not None, f"{method} {path} answered undocumented {response.status_code}"
    media = response.headers["Content-Type"].split(";")[0].strip()
    content = documented.get("content", {})
    assert media in content, f"{method} {path} {response.status_code} answered {media}"
    schema = content[media].get("schema")
    if schema and media == "application/json":
        Draft202012Validator(schema).validate(response.json())

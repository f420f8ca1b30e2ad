"""A small client for the prover's HTTP API (standard library only).

    client = ProverClient("http://localhost:8088", secret=os.environ.get("PXL_HMAC_SECRET"))
    answer = client.prove("BOX(A -> A)", logic="S4")

With a secret every POST is signed exactly as docs/http-api.md says (`pxl_prover.auth`). Errors
come back as `ServerError` carrying the server's JSON error code, and 429/503 carry the
server's Retry-After so callers can back off.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from pxl_prover.auth import sign_headers


class ServerError(Exception):
    """The server answered with an error (or could not be reached: status 0)."""

    def __init__(
        self, status: int, code: str, message: str, *, retry_after_s: int | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.retry_after_s = retry_after_s
        self.body = body or {}

    @property
    def retryable(self) -> bool:
        return self.status in {0, 429, 503}


class ProverClient:
    def __init__(self, base_url: str, *, secret: str | None = None, timeout_s: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.timeout_s = timeout_s

    def prove(
        self,
        goal: str,
        *,
        logic: str | None = None,
        timeout_ms: int | None = None,
        kernel_hash: str | None = None,
    ) -> dict[str, Any]:
        body = {"goal": goal, "logic": logic, "timeout_ms": timeout_ms, "kernel_hash": kernel_hash}
        return self._post("/prove", {k: v for k, v in body.items() if v is not None})

    def prove_batch(
        self, goals: list[str], *, logic: str | None = None, timeout_ms: int | None = None
    ) -> dict[str, Any]:
        body = {"goals": goals, "logic": logic, "timeout_ms": timeout_ms}
        return self._post("/prove/batch", {k: v for k, v in body.items() if v is not None})

    def health(self) -> dict[str, Any]:
        return self._request("GET", "/health")

    def ready(self) -> dict[str, Any]:
        return self._request("GET", "/ready")

    def metrics(self) -> dict[str, Any]:
        return self._request("GET", "/metrics", headers={"Accept": "application/json"})

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if self.secret:
            headers.update(sign_headers(self.secret, body))
        return self._request("POST", path, body, headers)

    def _request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        request = urllib.request.Request(
            self.base_url + path, data=body, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise _server_error(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ServerError(0, "unreachable", f"{self.base_url}: {reason}") from None


def _server_error(exc: urllib.error.HTTPError) -> ServerError:
    raw = exc.read()
    try:
        body = json.loads(raw)
        error = body["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        body, code, message = {}, "http_error", raw.decode(errors="replace")[:200] or exc.reason
    retry = exc.headers.get("Retry-After")
    return ServerError(
        exc.code, code, message, retry_after_s=int(retry) if retry and retry.isdigit() else None,
        body=body,
    )  # fmt: skip


class RemoteProver:
    """A server seen through the engine's `prove` interface (what `pxl prove --server` uses).

    Input errors come back as the exceptions the local engine raises (ParseError with its
    position, ValueError); anything else as ServerError.
    """

    def __init__(self, base_url: str, *, secret: str | None = None) -> None:
        self.client = ProverClient(base_url, secret=secret)

    def prove(
        self, goal: str, logic: str | None = None, timeout_ms: int | None = None
    ) -> dict[str, Any]:
        from pxl_prover.syntax import ParseError

        try:
            return self.client.prove(goal, logic=logic, timeout_ms=timeout_ms)
        except ServerError as error:
            if error.code == "parse_error":
                raise ParseError(error.message, int(error.body["error"]["position"])) from None
            if error.status == 400:
                raise ValueError(error.message) from None
            raise

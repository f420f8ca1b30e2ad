"""HMAC request signing (docs/http-api.md): what clients compute and what the server verifies.

A client signs `f"{timestamp}:{nonce}:{body}"` (body = the exact request bytes) with
HMAC-SHA256 and sends the hex digest in `X-Signature`, with `X-Timestamp` (Unix seconds)
and `X-Nonce`. The server accepts a timestamp within ±60 s and each nonce once in that
window. A nonce is remembered only after its signature verified, so unauthenticated
traffic cannot fill (or poison) the nonce memory, and the memory is bounded: when it is
full of live nonces, new requests are refused rather than old nonces forgotten early.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

WINDOW_S = 60
MAX_NONCE_LENGTH = 128
SIGNED_HEADERS = ("X-Timestamp", "X-Nonce", "X-Signature")

View = TypeVar("View", bound=Callable[..., Any])


def unsigned(view: View) -> View:
    """Declare that `view` answers POSTs without a signature even when HMAC is on; such a
    path must carry limits of its own (the playground's does)."""
    view.accepts_unsigned = True  # type: ignore[attr-defined]
    return view


def accepts_unsigned(view: Callable[..., Any] | None) -> bool:
    """Whether `view` was declared `unsigned` (None, no matched view, needs a signature)."""
    return getattr(view, "accepts_unsigned", False)


def signed_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    """The bytes a signature covers: `timestamp:nonce:body`."""
    return b"%s:%s:%s" % (timestamp.encode(), nonce.encode(), body)


def signature(key: bytes, timestamp: str, nonce: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of `timestamp:nonce:body` (exactly the guide's client message)."""
    return hmac.new(key, signed_message(timestamp, nonce, body), hashlib.sha256).hexdigest()


def sign_headers(
    key: str | bytes, body: bytes, *, timestamp: int | None = None, nonce: str | None = None
) -> dict[str, str]:
    """The three headers a client adds to a POST whose body is `body`."""
    key_bytes = key.encode() if isinstance(key, str) else key
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(16)
    return {
        "X-Timestamp": ts,
        "X-Nonce": nonce,
        "X-Signature": signature(key_bytes, ts, nonce, body),
    }


@dataclass(frozen=True, slots=True)
class AuthFailure:
    """Why a request was refused; `status` is 401, or 429 when the nonce memory is full."""

    code: str
    message: str
    status: int = 401


class NonceMemory:
    """Nonces seen within the window, forgotten once their timestamp leaves it."""

    def __init__(self, capacity: int, window_s: int = WINDOW_S) -> None:
        self.capacity = capacity
        self.window_s = window_s
        self._expiry: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._expiry)

    def remember(self, nonce: str, timestamp: float, now: float) -> AuthFailure | None:
        """Record a verified nonce; a failure if it was already used or memory is full."""
        with self._lock:
            while self._heap and self._heap[0][0] < now:
                _, old = heapq.heappop(self._heap)
                if self._expiry.get(old, now + 1) < now:
                    del self._expiry[old]
            if nonce in self._expiry:
                return AuthFailure("replayed_nonce", "this X-Nonce was already used")
            if len(self._expiry) >= self.capacity:
                return AuthFailure(
                    "nonce_memory_full",
                    "too many signed requests in the replay window; retry shortly",
                    status=429,
                )
            expiry = timestamp + self.window_s
            self._expiry[nonce] = expiry
            heapq.heappush(self._heap, (expiry, nonce))
            return None


class HmacVerifier:
    """Verifies signed requests against the current key and, during rotation, the previous."""

    def __init__(
        self, keys: Sequence[bytes], *, nonce_capacity: int = 100_000, window_s: int = WINDOW_S
    ) -> None:
        if not keys:
            raise ValueError("HMAC verification needs at least one key")
        # keyed once: a request copies a keyed state instead of deriving the key pads again
        self._keyed = [hmac.new(key, digestmod=hashlib.sha256) for key in keys]
        self.window_s = window_s
        self.nonces = NonceMemory(nonce_capacity, window_s)

    def verify(
        self, headers: Mapping[str, str], body: bytes, now: float | None = None
    ) -> AuthFailure | None:
        """None when the request is authentic and fresh; otherwise why it is not."""
        now = time.time() if now is None else now
        # each header is looked up once: on a WSGI request every lookup rebuilds the key
        ts_text, nonce, given = (headers.get(h) or "" for h in SIGNED_HEADERS)
        if not (ts_text and nonce and given):
            missing = [h for h in SIGNED_HEADERS if not headers.get(h)]
            return AuthFailure(
                "missing_signature", f"HMAC authentication required; missing {', '.join(missing)}"
            )
        try:
            ts = float(ts_text)
        except ValueError:
            return AuthFailure("bad_timestamp", "X-Timestamp must be Unix seconds")
        if not abs(now - ts) <= self.window_s:
            return AuthFailure(
                "stale_timestamp", f"X-Timestamp is more than {self.window_s} s from server time"
            )
        if len(nonce) > MAX_NONCE_LENGTH or not (nonce.isascii() and nonce.isprintable()):
            return AuthFailure(
                "bad_nonce", f"X-Nonce must be at most {MAX_NONCE_LENGTH} printable ASCII chars"
            )
        given_bytes = given.strip().lower().encode("ascii", "replace")
        message = signed_message(ts_text, nonce, body)
        matched = False
        for keyed in self._keyed:
            mac = keyed.copy()
            mac.update(message)
            matched |= hmac.compare_digest(mac.hexdigest().encode(), given_bytes)
        if not matched:
            return AuthFailure("bad_signature", "X-Signature does not match the request")
        return self.nonces.remember(nonce, ts, now)

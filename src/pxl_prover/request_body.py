"""Reading a POST's JSON body and its fields, for every path that takes a goal.

Each reader raises `ClientError` naming the field and what is wrong with it, so a bad
body is a 4xx the client can act on (415 for another media type, 400 otherwise, 409 for a
kernel pin this server does not match).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from flask import request

from pxl_prover.errors import ClientError

JSON_MIMETYPES = {"application/json"}
# json.loads recurses per nesting level and stops at the interpreter's recursion limit
# (left at its default: the search's deep stack lives in its own processes).
MAX_JSON_DEPTH = sys.getrecursionlimit() - 100


def json_object() -> dict[str, Any]:
    """The current request's body as a JSON object."""
    if request.mimetype not in JSON_MIMETYPES:
        raise ClientError(
            415,
            "unsupported_media_type",
            f"send the body as application/json (got {request.mimetype or 'no Content-Type'})",
        )
    try:
        data = json.loads(request.get_data(cache=True))
    except RecursionError:
        raise ClientError(
            400,
            "json_too_deep",
            f"the body's JSON nests too deeply (at most about {MAX_JSON_DEPTH} levels)",
        ) from None
    except ValueError as exc:
        raise ClientError(400, "bad_json", f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ClientError(400, "bad_request", "the body must be a JSON object")
    return data


def optional_str(data: dict[str, Any], name: str) -> str | None:
    """`data[name]` if it is a string, None if absent or null."""
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise ClientError(400, "bad_request", f"`{name}` must be a string")
    return value


def goal(value: Any, where: str) -> str:
    """A goal's text: a non-blank string (`where` names it in the error)."""
    if not isinstance(value, str):
        raise ClientError(400, "bad_request", f"{where} must be a string")
    if not value.strip():
        raise ClientError(400, "bad_request", f"{where} is empty")
    return value


def timeout_ms(data: dict[str, Any], default_ms: int, max_ms: int) -> int:
    """`timeout_ms`: a positive integer up to `max_ms`, `default_ms` when absent."""
    value = data.get("timeout_ms")
    if value is None:
        return default_ms
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ClientError(400, "bad_request", "`timeout_ms` must be a positive integer")
    if value > max_ms:
        raise ClientError(400, "bad_request", f"`timeout_ms` must be at most {max_ms}")
    return value


def check_kernel_pin(data: dict[str, Any], kernel_hash: str) -> None:
    """Refuse (409) a body whose `kernel_hash` names another kernel than `kernel_hash`."""
    pin = optional_str(data, "kernel_hash")
    if pin is not None and pin.strip().lower() != kernel_hash:
        raise ClientError(
            409,
            "kernel_mismatch",
            "the requested kernel_hash is not the kernel this server runs",
            kernel_hash=kernel_hash,
            requested=pin,
        )

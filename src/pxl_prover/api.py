"""The proving API blueprint: `POST /prove` and `POST /prove/batch` (docs/http-api.md).

Order of checks for a POST: size (413) and signature (401) before any view runs, then
media type (415), body (400), kernel pin (409), readiness (503), pool capacity (429).
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify

from pxl_prover import request_body
from pxl_prover.errors import ClientError, pool_error_object
from pxl_prover.logics import UnknownLogic, get_logic
from pxl_prover.pool import PoolError
from pxl_prover.service import ProverService
from pxl_prover.syntax import ParseError


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
    so one request can never hold a worker thread for goals x timeout. If the server
    saturates (or stops) midway, the items answered so far come back and the rest carry
    that error; only a batch with nothing answered yet is refused as a whole."""
    deadline = time.monotonic() + budget_ms / 1000
    results: list[dict] = []
    refused: PoolError | None = None
    for goal, logic in items:
        left_ms = int((deadline - time.monotonic()) * 1000)
        if refused is not None or left_ms < 1:
            if refused is None:
                message = f"the batch's time budget ({budget_ms} ms, PXL_MAX_TIMEOUT_MS) ran out"
                error = {"code": "batch_timeout", "message": message}
            else:
                error = pool_error_object(refused, service)
            results.append({"ok": False, "goal": goal, "error": error})
            continue
        try:
            results.append(_answer_or_error(service, goal, logic, min(timeout_ms, left_ms)))
        except PoolError as exc:
            if not results:
                raise
            refused = exc
            results.append({"ok": False, "goal": goal, "error": pool_error_object(exc, service)})
    return results


def _batch_items(goals: list[Any], logic: str | None) -> list[tuple[str, str | None]]:
    """`goals` as (goal, logic) pairs: strings, or objects with their own `logic`."""
    items: list[tuple[str, str | None]] = []
    for i, item in enumerate(goals):
        if isinstance(item, dict):
            own = request_body.optional_str(item, "logic")  # absent or null: the batch's
            items.append((request_body.goal(item.get("goal"), f"goals[{i}].goal"),
                          logic if own is None else own))  # fmt: skip
        else:
            items.append((request_body.goal(item, f"goals[{i}]"), logic))
    return items


def blueprint(service: ProverService) -> Blueprint:
    """The API's routes, answering through `service` within its config's limits."""
    config = service.config
    api = Blueprint("api", __name__)

    @api.post("/prove")
    def prove() -> Response:
        data = request_body.json_object()
        goal = request_body.goal(data.get("goal"), "`goal`")
        logic = request_body.optional_str(data, "logic")
        timeout = request_body.timeout_ms(data, config.default_timeout_ms, config.max_timeout_ms)
        request_body.check_kernel_pin(data, service.kernel_hash)
        return jsonify(service.prove(goal, logic, timeout))

    @api.post("/prove/batch")
    def prove_batch() -> Response:
        started = time.perf_counter()
        data = request_body.json_object()
        goals = data.get("goals")
        if not isinstance(goals, list) or not goals:
            raise ClientError(400, "bad_request", "`goals` must be a non-empty list")
        if len(goals) > config.max_batch:
            raise ClientError(
                400, "bad_request", f"at most {config.max_batch} goals per batch (PXL_MAX_BATCH)"
            )
        logic = request_body.optional_str(data, "logic")
        if logic is not None:
            get_logic(logic)  # the batch's own logic is the request's: unknown is a 400
        timeout = request_body.timeout_ms(data, config.default_timeout_ms, config.max_timeout_ms)
        request_body.check_kernel_pin(data, service.kernel_hash)
        items = _batch_items(goals, logic)
        results = _run_batch(service, items, timeout, config.max_timeout_ms)
        response = jsonify(
            {
                "results": results,
                "count": len(results),
                "kernel_hash": service.kernel_hash,
                "latency_ms": round((time.perf_counter() - started) * 1000, 3),
            }
        )
        errors = [r["error"] for r in results if "error" in r]
        retry = [e["retry_after_s"] for e in errors if "retry_after_s" in e]
        if retry:
            response.headers["Retry-After"] = str(max(retry))
        return response

    return api

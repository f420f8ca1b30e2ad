"""The OpenAPI 3.1 document of the prover's HTTP API, served at /openapi.json.

Schemas are JSON Schema 2020-12 (OpenAPI 3.1), so the test suite validates every response
it receives against them with `jsonschema`: the document cannot drift from the server.
"""

from __future__ import annotations

from typing import Any

from pxl_prover import __version__
from pxl_prover.config import ServerConfig
from pxl_prover.logics import LOGICS, NAME_PATTERN, described

_HEX64 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
_NON_NEG = {"type": "number", "minimum": 0}

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "position": {"type": "integer", "minimum": 0},
                "kernel_hash": {"type": "string"},
                "requested": {"type": "string"},
                "reasons": {"type": "array", "items": {"type": "string"}},
                "retry_after_s": {"type": "integer", "minimum": 1},
            },
        }
    },
}

COUNTERMODEL = {
    "type": "object",
    "required": ["worlds", "relation", "valuation", "world"],
    "properties": {
        "worlds": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "relation": {
            "type": "array",
            "items": {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 2,
                "maxItems": 2,
            },
        },
        "valuation": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
        "world": {"type": "string"},
    },
}

ANSWER = {
    "type": "object",
    "required": [
        "ok", "id", "verdict", "logic", "goal", "normalized", "verified",
        "proof_method", "kernel_hash", "latency_ms", "cache_hit",
    ],
    "properties": {
        "ok": {"type": "boolean", "description": "true iff proved and verified"},
        "id": {"type": "string"},
        "verdict": {"enum": ["proved", "refuted", "unknown"]},
        "logic": {"enum": list(LOGICS)},
        "goal": {"type": "string"},
        "normalized": {"type": "string"},
        "verified": {"type": "boolean"},
        "proof_method": {"type": "string"},
        "kernel_hash": _HEX64,
        "latency_ms": _NON_NEG,
        "cache_hit": {"type": "boolean"},
        "certificate": {"type": "string", "description": "Coq source, checked by the kernel"},
        "countermodel": COUNTERMODEL,
        "limits": {
            "type": "object",
            "required": ["reason"],
            "properties": {
                "reason": {"type": "string", "examples": ["time", "nodes", "memory"]},
                "detail": {"type": "string"},
            },
        },
    },
    "allOf": [
        {
            "if": {"properties": {"verdict": {"const": "proved"}}},
            "then": {"required": ["certificate"]},
        },
        {
            "if": {"properties": {"verdict": {"const": "refuted"}}},
            "then": {"required": ["countermodel"]},
        },
        {
            "if": {"properties": {"verdict": {"const": "unknown"}}},
            "then": {"required": ["limits"], "properties": {"ok": {"const": False}}},
        },
    ],
}  # fmt: skip

BATCH_ITEM_ERROR = {
    "type": "object",
    "required": ["ok", "goal", "error"],
    "properties": {
        "ok": {"const": False},
        "goal": {"type": "string"},
        "error": ERROR["properties"]["error"],
    },
}

POOL = {
    "type": "object",
    "required": [
        "total_sessions", "active_sessions", "busy_sessions", "max_pool_size", "utilization_rate",
    ],
    "properties": {
        "total_sessions": {"type": "integer", "minimum": 0},
        "active_sessions": {"type": "integer", "minimum": 0},
        "busy_sessions": {"type": "integer", "minimum": 0},
        "max_pool_size": {"type": "integer", "minimum": 1},
        "utilization_rate": {"type": "number", "minimum": 0, "maximum": 1},
        "starting_sessions": {"type": "integer", "minimum": 0},
        "restarts": {"type": "integer", "minimum": 0},
    },
}  # fmt: skip

HEALTH = {
    "type": "object",
    "required": ["status", "ready", "kernel_hash", "session_pool", "timestamp"],
    "properties": {
        "status": {"enum": ["ok", "degraded"]},
        "ready": {"type": "boolean"},
        "kernel_hash": {"type": "string"},
        "session_pool": POOL,
        "timestamp": {"type": "integer"},
        "version": {"type": "string"},
    },
}

METRICS_JSON = {
    "type": "object",
    "required": [
        "logos_pxl_uptime_seconds", "logos_pxl_verification_ratio_percent",
        "logos_pxl_p95_latency_ms", "logos_pxl_cache_hit_rate_percent",
        "logos_pxl_session_pool_total", "logos_pxl_cache_hits_total",
        "logos_pxl_cache_misses_total",
    ],
    "additionalProperties": {"type": "number"},
}  # fmt: skip

PERFORMANCE = {
    "type": "object",
    "required": ["endpoints"],
    "properties": {
        "endpoints": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["count", "p50_ms", "p95_ms", "p99_ms", "max_ms"],
                "additionalProperties": _NON_NEG,
            },
        },
        "window": {"type": "string"},
    },
}

# An optional field sent as null is taken as absent.
_LOGIC = {
    "type": ["string", "null"],
    "pattern": NAME_PATTERN,
    "description": described() + "; any case",
}
# A goal is any non-blank text; one that does not parse is answered 400 `parse_error` (in a
# batch: that item's error), which no JSON Schema can say in advance.
_GOAL = {"type": "string", "pattern": "\\S", "examples": ["BOX(A -> A)"]}
_PIN = {"type": ["string", "null"], "description": "pin: 409 if the server runs another kernel"}


def _timeout(max_timeout_ms: int) -> dict[str, Any]:
    return {
        "type": ["integer", "null"],
        "minimum": 1,
        "maximum": max_timeout_ms,
        "description": "per-goal limit, ms (at most PXL_MAX_TIMEOUT_MS)",
    }


def prove_request(max_timeout_ms: int) -> dict[str, Any]:
    """`POST /prove`'s body, with the server's own `timeout_ms` ceiling."""
    return {
        "type": "object",
        "required": ["goal"],
        "properties": {
            "goal": _GOAL,
            "logic": _LOGIC,
            "timeout_ms": _timeout(max_timeout_ms),
            "kernel_hash": _PIN,
        },
    }


def batch_request(max_timeout_ms: int, max_batch: int) -> dict[str, Any]:
    """`POST /prove/batch`'s body, with the server's own ceilings. An item's own `logic`,
    unlike the batch's, is that item's business: an unknown one is its error in the results."""
    item = {
        "type": "object",
        "required": ["goal"],
        "properties": {
            "goal": _GOAL,
            "logic": {"type": ["string", "null"], "description": described()},
        },
    }
    return {
        "type": "object",
        "required": ["goals"],
        "properties": {
            "goals": {
                "type": "array",
                "minItems": 1,
                "maxItems": max_batch,
                "description": "at most PXL_MAX_BATCH goals",
                "items": {"oneOf": [_GOAL, item]},
            },
            "logic": _LOGIC,
            "timeout_ms": _timeout(max_timeout_ms),
            "kernel_hash": _PIN,
        },
    }


BATCH_RESPONSE = {
    "type": "object",
    "required": ["results", "count", "kernel_hash", "latency_ms"],
    "properties": {
        "results": {"type": "array", "items": {"oneOf": [ANSWER, BATCH_ITEM_ERROR]}},
        "count": {"type": "integer", "minimum": 1},
        "kernel_hash": _HEX64,
        "latency_ms": _NON_NEG,
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    meaning = {
        400: "bad goal or body (`parse_error` carries `position`)",
        401: "HMAC authentication failed or missing",
        409: "`kernel_hash` pin differs from the served kernel",
        413: "body over MAX_REQUEST_SIZE",
        415: "body is not application/json",
        429: "all Coq sessions busy; see Retry-After",
        503: "not ready (kernel compiling, canary failed, shutting down); see Retry-After",
    }
    return {str(s): _json(ERROR, meaning[s]) for s in statuses}


_POST_ERRORS = _errors(400, 401, 409, 413, 415, 429, 503)
_HMAC = [{"hmac": []}, {}]


def openapi_document(config: ServerConfig | None = None) -> dict[str, Any]:
    """The document for a server with `config` (its limits on `timeout_ms` and batch size;
    the defaults' when None); `security` is optional because HMAC is off unless
    ENABLE_HMAC_AUTH."""
    config = config or ServerConfig()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "PXL prover",
            "version": __version__,
            "description": (
                "Modal-logic goals in; Coq-checked proofs or checked countermodels out. "
                "With ENABLE_HMAC_AUTH=true every POST carries X-Timestamp, X-Nonce and "
                "X-Signature = hex HMAC-SHA256 of `timestamp:nonce:body`."
            ),
        },
        "components": {
            "securitySchemes": {
                "hmac": {"type": "apiKey", "in": "header", "name": "X-Signature"},
            },
            "schemas": {"Error": ERROR, "Answer": ANSWER, "Health": HEALTH},
        },
        "paths": {
            "/prove": {
                "post": {
                    "summary": "Prove or refute one goal",
                    "security": _HMAC,
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {
                            "schema": prove_request(config.max_timeout_ms)}},
                    },
                    "responses": {"200": _json(ANSWER, "the verdict"), **_POST_ERRORS},
                }
            },
            "/prove/batch": {
                "post": {
                    "summary": "Several goals, answered in order",
                    "security": _HMAC,
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {
                            "schema": batch_request(config.max_timeout_ms, config.max_batch)}},
                    },
                    "responses": {"200": _json(BATCH_RESPONSE, "one result per goal"),
                                  **_POST_ERRORS},
                }
            },
            "/health": {
                "get": {
                    "summary": "Liveness and summary; never blocks",
                    "responses": {"200": _json(HEALTH, "process is alive")},
                }
            },
            "/ready": {
                "get": {
                    "summary": "Readiness: session alive, expected kernel, canary passed",
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["ready", "kernel_hash"],
                                "properties": {"ready": {"const": True},
                                               "kernel_hash": _HEX64},
                            },
                            "ready",
                        ),
                        **_errors(503),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus text; logos_pxl_* JSON on Accept: application/json",
                    "responses": {
                        "200": {
                            "description": "metrics",
                            "content": {
                                "text/plain": {"schema": {"type": "string"}},
                                "application/json": {"schema": METRICS_JSON},
                            },
                        }
                    },
                }
            },
            "/metrics/performance": {
                "get": {
                    "summary": "Latency percentiles per endpoint",
                    "responses": {"200": _json(PERFORMANCE, "percentiles in ms")},
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI 3.1",
                                          "content": {"application/json": {}}}},
                }
            },
        },
    }  # fmt: skip

"""Every endpoint and status code of the HTTP API, against a real server on loopback.

Each response is also validated against the server's own /openapi.json schemas.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from service_fixtures import RunningServer, assert_matches_openapi

from pxl_prover import certificate
from pxl_prover.check import evaluator
from pxl_prover.countermodel import Countermodel
from pxl_prover.logics import NAME_PATTERN, UnknownLogic, get_logic
from pxl_prover.openapi import openapi_document
from pxl_prover.syntax import parse

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def server():
    running = RunningServer(max_request_size="4096", max_batch="5", cache_ttl_s="300")
    yield running
    running.stop()


def call(server: RunningServer, method: str, path: str, body=None, **kwargs):
    get = method == "GET"
    response = server.get(path, **kwargs) if get else server.post(path, body, **kwargs)
    assert_matches_openapi(method, path, response)
    return response


def test_prove_guide_goal_is_proved_and_verified(server):
    answer = call(server, "POST", "/prove", {"goal": "BOX(A -> A)"}).json()
    assert answer["ok"] is True and answer["verdict"] == "proved" and answer["verified"]
    assert answer["logic"] == "S5" and answer["goal"] == "BOX(A -> A)"
    assert answer["kernel_hash"] == server.service.kernel_hash
    assert "valid_S5 (Box (Impl (Var 0) (Var 0)))" in answer["certificate"]


def test_prove_refutation_carries_a_countermodel_that_checks(server):
    answer = call(server, "POST", "/prove", {"goal": "BOX p -> p", "logic": "K"}).json()
    assert answer["verdict"] == "refuted" and answer["ok"] is False and answer["verified"]
    model = Countermodel.from_json(answer["countermodel"])
    assert evaluator.confirm(model, parse("BOX p -> p"), get_logic("K"))


def test_logic_aliases_are_accepted(server):
    answer = call(server, "POST", "/prove", {"goal": "BOX p -> p", "logic": "KT"}).json()
    assert answer["logic"] == "T" and answer["verdict"] == "proved"


def test_parse_error_is_400_with_position(server):
    response = call(server, "POST", "/prove", {"goal": "BOX(A -> "})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "parse_error" and isinstance(error["position"], int)


@pytest.mark.parametrize(
    "body, code",
    [
        ({"goal": "A", "logic": "S7"}, "unknown_logic"),
        ({"goal": 5}, "bad_request"),
        ({"goal": "   "}, "bad_request"),
        ({}, "bad_request"),
        ([1, 2], "bad_request"),
        ({"goal": "A", "timeout_ms": 0}, "bad_request"),
        ({"goal": "A", "timeout_ms": True}, "bad_request"),
        ({"goal": "A", "timeout_ms": 10**9}, "bad_request"),
        ({"goal": "A", "logic": 3}, "bad_request"),
    ],
)
def test_bad_bodies_are_400(server, body, code):
    response = call(server, "POST", "/prove", body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_invalid_json_is_400(server):
    response = server.http.post(
        server.url + "/prove", data=b"{goal", headers={"Content-Type": "application/json"}
    )
    assert_matches_openapi("POST", "/prove", response)
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_json"


def test_not_json_is_415(server):
    response = server.http.post(server.url + "/prove", data=b"goal=A", timeout=10)
    assert_matches_openapi("POST", "/prove", response)
    assert response.status_code == 415


def test_body_over_max_request_size_is_413(server):
    response = call(server, "POST", "/prove", {"goal": "A" * 5000})
    assert response.status_code == 413
    assert "MAX_REQUEST_SIZE" in response.json()["error"]["message"]


def test_kernel_pin(server):
    good = call(
        server, "POST", "/prove", {"goal": "p -> p", "kernel_hash": server.service.kernel_hash}
    )
    assert good.status_code == 200
    bad = call(server, "POST", "/prove", {"goal": "p -> p", "kernel_hash": "0" * 64})
    assert bad.status_code == 409
    assert bad.json()["error"]["kernel_hash"] == server.service.kernel_hash


def test_batch_answers_in_order_with_per_goal_errors(server):
    goals = ["BOX(A -> A)", "BOX A -> A", "BOX(", {"goal": "BOX A -> A", "logic": "T"}]
    response = call(server, "POST", "/prove/batch", {"goals": goals, "logic": "K"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r.get("verdict") for r in results] == ["proved", "refuted", None, "proved"]
    assert results[2]["error"]["code"] == "parse_error"
    assert results[3]["logic"] == "T"


@pytest.mark.parametrize(
    "body",
    [{"goals": []}, {"goals": "A"}, {"goals": ["A"] * 6}, {"goals": [1]}, {"goals": [{"x": 1}]}],
)
def test_batch_bad_bodies_are_400(server, body):
    assert call(server, "POST", "/prove/batch", body).status_code == 400


def test_batch_kernel_pin_is_409(server):
    response = call(server, "POST", "/prove/batch", {"goals": ["A"], "kernel_hash": "f" * 64})
    assert response.status_code == 409


def test_health_shape(server):
    body = call(server, "GET", "/health").json()
    assert body["status"] == "ok" and body["ready"] is True
    assert body["session_pool"]["max_pool_size"] == 2
    assert body["session_pool"]["active_sessions"] >= 1


def test_ready(server):
    assert call(server, "GET", "/ready").status_code == 200


def test_metrics_text_and_json(server):
    call(server, "POST", "/prove", {"goal": "BOX(Q -> Q)"})
    call(server, "POST", "/prove", {"goal": "BOX(R -> R)"})
    text = call(server, "GET", "/metrics")
    assert text.headers["Content-Type"].startswith("text/plain")
    assert "logos_pxl_request_duration_seconds_bucket" in text.text
    assert (
        'logos_pxl_http_requests_total{endpoint="/prove",method="POST",status="200"}' in text.text
    )
    summary = call(server, "GET", "/metrics", headers={"Accept": "application/json"}).json()
    assert summary["logos_pxl_cache_hits_total"] >= 1
    # Live sessions of the pool of 2: one may be between recycling and its successor.
    assert summary["logos_pxl_session_pool_total"] in (1, 2)
    assert 0 <= summary["logos_pxl_verification_ratio_percent"] <= 100


def test_metrics_performance(server):
    call(server, "POST", "/prove", {"goal": "p | ~p"})
    body = call(server, "GET", "/metrics/performance").json()
    assert body["endpoints"]["/prove"]["count"] >= 1


def test_openapi_document_is_served(server):
    doc = call(server, "GET", "/openapi.json").json()
    assert doc["openapi"].startswith("3.1") and "/prove" in doc["paths"]


@pytest.mark.parametrize("method, path", [("GET", "/nope"), ("POST", "/health"), ("GET", "/prove")])
def test_unknown_routes_and_methods_are_json(server, method, path):
    response = server.http.request(method, server.url + path, timeout=10)
    assert response.status_code in {404, 405}
    assert response.headers["Content-Type"] == "application/json"
    assert "error" in json.loads(response.text)


def test_saturated_pool_is_429_with_retry_after(server):
    pool = server.service.pool
    borrowed = [pool._acquire(deadline=0) for _ in range(pool.size)]
    try:
        original, pool.acquire_timeout_s = pool.acquire_timeout_s, 0.05
        response = call(server, "POST", "/prove", {"goal": "BOX(S1 -> S1) & (S2 | ~S2)"})
    finally:
        pool.acquire_timeout_s = original
        for session in borrowed:
            pool._release(session, reason=None)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1


def pigeonhole(n: int) -> str:
    """n+1 pigeons do not fit in n holes: valid, and exponential for tableaux."""
    clauses = ["(" + " | ".join(f"p{i}_{j}" for j in range(n)) + ")" for i in range(n + 1)]
    clauses += [
        f"~(p{i}_{j} & p{k}_{j})"
        for j in range(n)
        for i in range(n + 1)
        for k in range(i + 1, n + 1)
    ]
    return "~(" + " & ".join(clauses) + ")"


def test_time_limit_gives_unknown_naming_it_and_is_not_cached(server):
    body = {"goal": pigeonhole(7), "timeout_ms": 100}
    first = call(server, "POST", "/prove", body).json()
    assert first["verdict"] == "unknown" and first["ok"] is False and not first["verified"]
    assert first["limits"]["reason"] == "time"
    assert call(server, "POST", "/prove", body).json()["cache_hit"] is False


def test_renamed_goal_is_a_cache_hit_that_answers_the_users_goal(server):
    first = call(server, "POST", "/prove", {"goal": "BOX(Foo -> Foo) | DIA Foo"}).json()
    second = call(server, "POST", "/prove", {"goal": "BOX(Bar -> Bar) | DIA Bar"}).json()
    again = call(server, "POST", "/prove", {"goal": "BOX(Bar -> Bar) | DIA Bar"}).json()
    assert first["cache_hit"] is False and second["cache_hit"] is True and again["cache_hit"]
    assert second["goal"] == "BOX(Bar -> Bar) | DIA Bar" and "Bar" in second["normalized"]
    assert "0 = Bar" in second["certificate"] and "Foo" not in second["certificate"]
    assert second["id"] != again["id"]
    checked = server.service.pool.check(second["certificate"], certificate.THEOREM, 60)
    assert checked.accepted, checked.message


def test_openapi_document_is_valid_openapi_3_1():
    from openapi_spec_validator import validate

    validate(openapi_document())


def _prove_schema(doc: dict) -> dict:
    return doc["paths"]["/prove"]["post"]["requestBody"]["content"]["application/json"]["schema"]


def _accepted_logic(name: str) -> bool:
    try:
        get_logic(name)
    except UnknownLogic:
        return False
    return True


@given(
    name=st.from_regex(NAME_PATTERN, fullmatch=True)
    | st.text(alphabet="kKtTdDbBsS45 \t\n\r\x0b\xa0\u017f", max_size=7)
    | st.text(max_size=6)
)
@example("S5\n")
@example(" kt\r\n")
@example("\u017f5")
@example("S5\x0b")
def test_a_logic_is_accepted_exactly_when_the_openapi_document_admits_it(name):
    logic = _prove_schema(openapi_document())["properties"]["logic"]
    assert Draft202012Validator(logic).is_valid(name) == _accepted_logic(name)


def test_the_openapi_document_states_the_servers_own_limits(server):
    doc = call(server, "GET", "/openapi.json").json()
    timeout = _prove_schema(doc)["properties"]["timeout_ms"]
    batch = doc["paths"]["/prove/batch"]["post"]["requestBody"]["content"]["application/json"]
    assert timeout["maximum"] == server.config.max_timeout_ms
    assert batch["schema"]["properties"]["goals"]["maxItems"] == server.config.max_batch == 5
    most = {"goal": "p | ~p", "timeout_ms": server.config.max_timeout_ms}
    assert call(server, "POST", "/prove", most).status_code == 200
    over = {**most, "timeout_ms": server.config.max_timeout_ms + 1}
    assert call(server, "POST", "/prove", over).status_code == 400
    assert call(server, "POST", "/prove/batch", {"goals": ["p | ~p"] * 5}).status_code == 200
    assert call(server, "POST", "/prove/batch", {"goals": ["p | ~p"] * 6}).status_code == 400


def test_a_batch_whose_own_logic_is_unknown_is_refused_whole(server):
    response = call(server, "POST", "/prove/batch", {"goals": ["p | ~p"], "logic": "S7"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "unknown_logic"
    goals = [{"goal": "p | ~p", "logic": name} for name in ("S7", "", None)]
    items = call(server, "POST", "/prove/batch", {"goals": goals, "logic": "K"})
    assert items.status_code == 200
    first, empty, null = items.json()["results"]
    assert first["error"]["code"] == empty["error"]["code"] == "unknown_logic"  # as /prove's
    assert null["logic"] == "K" and null["verdict"] == "proved"  # null: the batch's logic

"""Hostile and random input never produces a 500, an HTML page or a wrong-shaped answer."""

from __future__ import annotations

import json

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from service_fixtures import RunningServer, assert_matches_openapi
from strategies import formulas

from pxl_prover.syntax import to_ascii

pytestmark = pytest.mark.timeout(600)

FUZZ = settings(
    max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
TOKENS = [*"ABpq()[]<>-&|~!v ¬□◇→∧∨⊤⊥\\/=,", "\u0000", "\u202e", "😀", "BOX", "DIA", "->"]
goal_text = st.lists(st.sampled_from(TOKENS), max_size=30).map("".join)
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"goal": st.one_of(goal_text, json_values)},
        optional={
            "logic": st.one_of(st.sampled_from(["K", "S4", "s5", "KT", "", "X"]), json_values),
            "timeout_ms": st.one_of(st.integers(-5, 70_000), json_values),
            "kernel_hash": json_values,
        },
    ),
    st.fixed_dictionaries(
        {"goals": st.one_of(st.lists(st.one_of(goal_text, json_values), max_size=4), json_values)},
        optional={"logic": json_values},
    ),
)


@pytest.fixture(scope="module")
def server():
    running = RunningServer(pool_size="2", default_timeout_ms="2000", max_request_size="65536")
    yield running
    running.stop()


def expect_clean(path: str, response: requests.Response) -> None:
    assert response.status_code < 500 or response.status_code == 503, response.text
    assert_matches_openapi("POST", path, response)


@FUZZ
@given(body=bodies, path=st.sampled_from(["/prove", "/prove/batch"]))
def test_random_json_bodies(server, body, path):
    expect_clean(path, server.post(path, body))


@FUZZ
@given(raw=st.binary(max_size=200), content_type=st.sampled_from(
    ["application/json", "text/plain", "application/json; charset=latin-1", ""]
))  # fmt: skip
def test_random_bytes(server, raw, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = server.http.post(server.url + "/prove", data=raw, headers=headers, timeout=60)
    expect_clean("/prove", response)


@FUZZ
@given(formula=formulas(), logic=st.sampled_from(["K", "T", "D", "B", "S4", "S5", "KD45"]))
def test_random_well_formed_goals_get_a_verified_verdict_or_a_named_limit(server, formula, logic):
    response = server.post("/prove", {"goal": to_ascii(formula), "logic": logic})
    expect_clean("/prove", response)
    assert response.status_code == 200
    answer = response.json()
    assert answer["verified"] or answer["limits"]["reason"]


def test_deeply_nested_goal_is_a_clean_answer(server):
    goal = "~" * 20_000 + "p"
    response = server.post("/prove", {"goal": goal, "logic": "K"})
    expect_clean("/prove", response)


def test_huge_json_nesting_is_a_clean_400(server):
    body = "[" * 20_000 + "]" * 20_000
    response = server.http.post(
        server.url + "/prove", data=body, headers={"Content-Type": "application/json"}, timeout=60
    )
    expect_clean("/prove", response)
    assert response.status_code == 400


def test_non_utf8_json_is_a_clean_400(server):
    response = server.http.post(
        server.url + "/prove",
        data=json.dumps({"goal": "p"}).encode("utf-16"),
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    expect_clean("/prove", response)

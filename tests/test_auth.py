"""HMAC authentication (docs/http-api.md): the guide's client snippet works unchanged, and every
way of getting it wrong is a 401 JSON answer that changes nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time

import pytest
import requests
from service_fixtures import HMAC_KEY, PREVIOUS_KEY, RunningServer, assert_matches_openapi

from pxl_prover.auth import HmacVerifier, NonceMemory, sign_headers
from pxl_prover.config import ConfigError, load_config

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def server():
    running = RunningServer(
        pool_size="1",
        enable_hmac_auth="true",
        hmac_secret_key=HMAC_KEY,
        hmac_secret_key_previous=PREVIOUS_KEY,
    )
    yield running
    running.stop()


def guide_client_post(url: str, payload: dict, secret: str, **overrides: str) -> requests.Response:
    """The original deployment guide's client, written the way its snippet is."""
    timestamp = overrides.get("timestamp", str(int(time.time())))
    nonce = overrides.get("nonce", secrets.token_hex(16))
    body = json.dumps(payload)
    message = f"{timestamp}:{nonce}:{body}"
    signature = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Timestamp": timestamp,
        "X-Nonce": nonce,
        "X-Signature": overrides.get("signature", signature),
    }
    sent = overrides.get("body", body)
    response = requests.post(url, data=sent.encode(), headers=headers, timeout=60)
    assert_matches_openapi("POST", "/prove", response)
    return response


def error_code(response: requests.Response) -> str:
    return response.json()["error"]["code"]


def test_guide_snippet_is_accepted(server):
    response = guide_client_post(server.url + "/prove", {"goal": "BOX(A -> A)"}, HMAC_KEY)
    assert response.status_code == 200 and response.json()["ok"] is True


def test_unicode_goal_signed_over_exact_bytes(server):
    response = guide_client_post(server.url + "/prove", {"goal": "□(p → p)"}, HMAC_KEY)
    assert response.status_code == 200 and response.json()["verdict"] == "proved"


def test_previous_key_is_accepted_during_rotation(server):
    response = guide_client_post(server.url + "/prove", {"goal": "p -> p"}, PREVIOUS_KEY)
    assert response.status_code == 200


def test_wrong_key_is_401(server):
    response = guide_client_post(server.url + "/prove", {"goal": "p"}, "w" * 40)
    assert response.status_code == 401 and error_code(response) == "bad_signature"


def test_tampered_body_is_401(server):
    response = guide_client_post(
        server.url + "/prove", {"goal": "p -> p"}, HMAC_KEY, body=json.dumps({"goal": "p"})
    )
    assert response.status_code == 401 and error_code(response) == "bad_signature"


@pytest.mark.parametrize("skew", [-61, 61])
def test_timestamp_outside_60_seconds_is_401(server, skew):
    stamp = str(int(time.time()) + skew)
    response = guide_client_post(server.url + "/prove", {"goal": "p"}, HMAC_KEY, timestamp=stamp)
    assert response.status_code == 401 and error_code(response) == "stale_timestamp"


@pytest.mark.parametrize("skew", [-55, 55])
def test_timestamp_inside_the_window_is_accepted(server, skew):
    stamp = str(int(time.time()) + skew)
    response = guide_client_post(server.url + "/prove", {"goal": "p|~p"}, HMAC_KEY, timestamp=stamp)
    assert response.status_code == 200


def test_replayed_nonce_is_401(server):
    nonce = secrets.token_hex(16)
    first = guide_client_post(server.url + "/prove", {"goal": "q -> q"}, HMAC_KEY, nonce=nonce)
    again = guide_client_post(server.url + "/prove", {"goal": "q -> q"}, HMAC_KEY, nonce=nonce)
    assert first.status_code == 200
    assert again.status_code == 401 and error_code(again) == "replayed_nonce"


def test_a_nonce_is_not_burnt_by_a_forged_request(server):
    nonce = secrets.token_hex(16)
    forged = guide_client_post(server.url + "/prove", {"goal": "p"}, "x" * 40, nonce=nonce)
    genuine = guide_client_post(server.url + "/prove", {"goal": "p"}, HMAC_KEY, nonce=nonce)
    assert forged.status_code == 401 and genuine.status_code == 200


@pytest.mark.parametrize("drop", ["X-Timestamp", "X-Nonce", "X-Signature"])
def test_missing_headers_are_401(server, drop):
    body = json.dumps({"goal": "p"}).encode()
    headers = {"Content-Type": "application/json", **sign_headers(HMAC_KEY, body)}
    del headers[drop]
    response = requests.post(server.url + "/prove", data=body, headers=headers, timeout=30)
    assert_matches_openapi("POST", "/prove", response)
    assert response.status_code == 401 and drop in response.json()["error"]["message"]


def test_batch_is_protected_too(server):
    response = server.post("/prove/batch", {"goals": ["p"]})
    assert response.status_code == 401


def test_health_ready_metrics_stay_open(server):
    for path in ("/health", "/ready", "/metrics", "/metrics/performance", "/openapi.json"):
        assert server.get(path).status_code == 200, path


def test_secrets_never_reach_the_logs(server, caplog):
    caplog.set_level("DEBUG")
    guide_client_post(server.url + "/prove", {"goal": "p"}, "w" * 40)
    guide_client_post(server.url + "/prove", {"goal": "p"}, HMAC_KEY)
    assert HMAC_KEY not in caplog.text and PREVIOUS_KEY not in caplog.text
    assert HMAC_KEY not in repr(server.config)


# --- the verifier and its nonce memory on their own ------------------------------------


def test_nonce_memory_is_bounded_and_fails_closed():
    memory = NonceMemory(capacity=2, window_s=60)
    now = 1000.0
    assert memory.remember("a", now, now) is None
    assert memory.remember("b", now, now) is None
    full = memory.remember("c", now, now)
    assert full is not None and full.status == 429
    assert memory.remember("a", now, now + 1).code == "replayed_nonce"
    assert memory.remember("c", now + 61, now + 61) is None
    assert len(memory) <= 2


def test_verifier_rejects_non_numeric_timestamps_and_odd_nonces():
    verifier = HmacVerifier([HMAC_KEY.encode()])
    body = b"{}"
    headers = sign_headers(HMAC_KEY, body)
    assert verifier.verify({**headers, "X-Timestamp": "soon"}, body).code == "bad_timestamp"
    assert verifier.verify({**headers, "X-Timestamp": "nan"}, body).code == "stale_timestamp"
    assert verifier.verify({**headers, "X-Nonce": "n" * 200}, body).code == "bad_nonce"
    assert verifier.verify(headers, body) is None


def test_verifier_keys_each_request_afresh_from_either_key():
    """The verifier keys its HMAC once; every request must still be checked against its own
    body, whichever key signed it, and a verified request must not sway the next one."""
    verifier = HmacVerifier([HMAC_KEY.encode(), PREVIOUS_KEY.encode()])
    for i in range(3):
        for key in (HMAC_KEY, PREVIOUS_KEY):
            body = json.dumps({"goal": f"BOX(A{i} -> A{i})"}).encode()
            assert verifier.verify(sign_headers(key, body), body) is None
            forged = sign_headers(key, body)
            assert verifier.verify(forged, body + b" ").code == "bad_signature"
    stranger = sign_headers("s" * 48, b"{}")
    assert verifier.verify(stranger, b"{}").code == "bad_signature"
    upper = sign_headers(HMAC_KEY, b"{}")
    upper["X-Signature"] = f" {upper['X-Signature'].upper()} "
    assert verifier.verify(upper, b"{}") is None


# --- start-up refuses unsafe configurations -------------------------------------------


@pytest.mark.parametrize(
    "env, needle",
    [
        ({"ENABLE_HMAC_AUTH": "true"}, "HMAC_SECRET_KEY is not set"),
        ({"ENABLE_HMAC_AUTH": "true", "HMAC_SECRET_KEY": "short-secret"}, "at least 32 bytes"),
        (
            {
                "ENABLE_HMAC_AUTH": "true",
                "HMAC_SECRET_KEY": "k" * 32,
                "HMAC_SECRET_KEY_PREVIOUS": "old-secret",
            },
            "HMAC_SECRET_KEY_PREVIOUS",
        ),
    ],
)
def test_auth_on_without_a_strong_key_refuses_to_start(env, needle):
    with pytest.raises(ConfigError, match=needle) as raised:
        load_config(env=env)
    assert "short-secret" not in str(raised.value) and "old-secret" not in str(raised.value)

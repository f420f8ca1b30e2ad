"""`pxl_prover.client` and `pxl prove --server` against a real server with HMAC on."""

from __future__ import annotations

import json

import pytest
from service_fixtures import HMAC_KEY, RunningServer

from pxl_prover import cli
from pxl_prover.client import ProverClient, ServerError

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def server():
    running = RunningServer(pool_size="1", enable_hmac_auth="true", hmac_secret_key=HMAC_KEY)
    yield running
    running.stop()


def test_client_signs_and_proves(server):
    client = ProverClient(server.url, secret=HMAC_KEY)
    answer = client.prove("BOX(A -> A)", logic="K")
    assert answer["verdict"] == "proved" and answer["ok"]
    batch = client.prove_batch(["BOX A -> A", "p -> p"], logic="K")
    assert [r["verdict"] for r in batch["results"]] == ["refuted", "proved"]
    assert client.health()["ready"] is True
    assert client.metrics()["logos_pxl_goals_total"] >= 3


def test_client_reports_server_errors_with_their_code(server):
    with pytest.raises(ServerError) as unsigned:
        ProverClient(server.url).prove("p")
    assert unsigned.value.status == 401 and not unsigned.value.retryable
    with pytest.raises(ServerError) as pinned:
        ProverClient(server.url, secret=HMAC_KEY).prove("p", kernel_hash="0" * 64)
    assert pinned.value.status == 409 and pinned.value.code == "kernel_mismatch"


def test_unreachable_server_is_a_retryable_error():
    with pytest.raises(ServerError) as raised:
        ProverClient("http://127.0.0.1:9", timeout_s=2).health()
    assert raised.value.status == 0 and raised.value.retryable


def test_pxl_prove_server_flag(server, capsys):
    status = cli.main(
        ["prove", "--server", server.url, "--hmac-secret", HMAC_KEY, "--json", "--logic", "K",
         "BOX p -> p"]
    )  # fmt: skip
    answer = json.loads(capsys.readouterr().out)
    assert status == 1 and answer["verdict"] == "refuted" and answer["logic"] == "K"
    assert answer["countermodel"]["world"] in answer["countermodel"]["worlds"]


def test_pxl_prove_server_takes_the_secret_from_the_environment(server, capsys, monkeypatch):
    monkeypatch.setenv("PXL_HMAC_SECRET", HMAC_KEY)
    status = cli.main(["prove", "--server", server.url, "--logic", "S4", "BOX p -> BOX BOX p"])
    out = capsys.readouterr().out
    assert status == 0 and "proved" in out and "certificate checked by Coq" in out


def test_pxl_prove_server_parse_error_points_at_the_position(server, capsys):
    status = cli.main(["prove", "--server", server.url, "--hmac-secret", HMAC_KEY, "BOX(p ->"])
    assert status == 2
    assert "^" in capsys.readouterr().err


def test_pxl_prove_server_without_the_secret_fails_cleanly(server, capsys, monkeypatch):
    monkeypatch.delenv("PXL_HMAC_SECRET", raising=False)
    status = cli.main(["prove", "--server", server.url, "p -> p"])
    assert status == 1 and "401" in capsys.readouterr().err

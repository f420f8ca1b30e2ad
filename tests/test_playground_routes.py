"""Where the playground is served, what it may load, and its limiter — without Coq.

The app is the real one (`create_app`) around a service that is never started, so these
checks cost no Coq session; the page's behaviour against a live prover is in
test_playground_browser.py.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from pxl_prover.app import create_app
from pxl_prover.config import load_config
from pxl_prover.kernel import default_kernel_dir, kernel_files
from pxl_prover.playground import (
    PLAYGROUND_PROVE_URL,
    STATIC_DIR,
    RateLimiter,
    kernel_sources_in_order,
    recheck_command,
)
from pxl_prover.service import ProverService

KEY = "s" * 40


def client(**env: str) -> FlaskClient:
    config = load_config(env=env)
    return create_app(ProverService(config)).test_client()


def test_page_and_assets_served_by_default_and_post_to_prove() -> None:
    http = client()
    page = http.get("/")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert '<meta name="pxl-prove-url" content="/prove">' in html
    assert "{{" not in html, "a template placeholder was left in the page"
    for asset in re.findall(r'(?:href|src)="(/playground/static/[^"]+)"', html):
        response = http.get(asset)
        assert response.status_code == 200, asset
    assert http.post(PLAYGROUND_PROVE_URL, json={"goal": "A"}).status_code in (404, 405)


def test_page_forbids_loading_anything_from_elsewhere() -> None:
    response = client().get("/")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "connect-src 'self'" in policy and "script-src 'self'" in policy
    for path in STATIC_DIR.iterdir():
        text = path.read_text(encoding="utf-8")
        urls = set(re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"')]*", text))
        # The SVG namespace is an identifier the browser never fetches.
        assert urls <= {"http://www.w3.org/2000/svg"}, f"{path.name} names {urls}"


def test_hmac_on_hides_the_page_unless_asked_for() -> None:
    http = client(ENABLE_HMAC_AUTH="true", HMAC_SECRET_KEY=KEY)
    assert http.get("/").status_code == 404
    assert http.get("/").is_json
    assert http.post(PLAYGROUND_PROVE_URL, json={"goal": "A"}).status_code in (401, 404, 405)


def test_hmac_on_with_playground_posts_to_the_limited_path_and_keeps_prove_signed() -> None:
    http = client(ENABLE_HMAC_AUTH="true", HMAC_SECRET_KEY=KEY, PXL_PLAYGROUND="true")
    html = http.get("/").get_data(as_text=True)
    assert f'<meta name="pxl-prove-url" content="{PLAYGROUND_PROVE_URL}">' in html
    unsigned = http.post("/prove", json={"goal": "BOX(A -> A)"})
    assert unsigned.status_code == 401
    assert unsigned.get_json()["error"]["code"]
    # The limited path is past HMAC (it would say 401 otherwise); this service was never
    # started, so it answers 503 with the JSON error the page shows.
    limited = http.post(PLAYGROUND_PROVE_URL, json={"goal": "BOX(A -> A)"})
    assert limited.status_code == 503
    assert limited.get_json()["error"]["code"] == "not_ready"


def test_limited_path_refuses_oversized_input_before_touching_the_prover() -> None:
    http = client(ENABLE_HMAC_AUTH="true", HMAC_SECRET_KEY=KEY, PXL_PLAYGROUND="true")
    long_goal = http.post(PLAYGROUND_PROVE_URL, json={"goal": "A & " * 200 + "A"})
    assert long_goal.status_code == 400
    assert "characters" in long_goal.get_json()["error"]["message"]
    big_body = http.post(PLAYGROUND_PROVE_URL, json={"goal": "A", "padding": "x" * 10_000})
    assert big_body.status_code == 413
    assert http.post(PLAYGROUND_PROVE_URL, data="goal=A").status_code == 415


def test_playground_can_be_switched_off_without_hmac() -> None:
    assert client(PXL_PLAYGROUND="false").get("/").status_code == 404


def test_rate_limiter_refuses_past_the_burst_and_recovers() -> None:
    limiter = RateLimiter(rate_per_s=1.0, burst=3, server_rate_per_s=100.0, server_burst=100)
    assert [limiter.acquire("a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.acquire("a", now=0.0)
    assert wait == pytest.approx(1.0)
    assert limiter.acquire("b", now=0.0) == 0.0, "another client has its own bucket"
    assert limiter.acquire("a", now=1.0) == 0.0


def test_rate_limiter_caps_the_whole_server_and_forgets_old_clients() -> None:
    limiter = RateLimiter(
        rate_per_s=10.0, burst=10, server_rate_per_s=1.0, server_burst=2, max_clients=2
    )
    assert limiter.acquire("a", now=0.0) == 0.0
    assert limiter.acquire("b", now=0.0) == 0.0
    assert limiter.acquire("c", now=0.0) > 0, "the server bucket is empty"
    assert limiter.acquire("c", now=5.0) == 0.0
    assert len(limiter._clients) == 2


def test_recheck_command_follows_the_kernel_project_order() -> None:
    kernel = default_kernel_dir()
    names = kernel_sources_in_order(kernel)
    assert sorted(names) == sorted(p.relative_to(kernel).as_posix() for p in kernel_files(kernel))
    command = recheck_command(kernel)
    assert " ".join(shlex.quote(n) for n in names) in command
    assert command.endswith("coqc -Q coq PXL cert.v")


@pytest.mark.timeout(300)
def test_recheck_command_checks_a_real_certificate_and_rejects_a_tampered_one(
    tmp_path: Path, prover
) -> None:
    """The command the page prints, run as a user would in a copy of the checkout."""
    answer = prover.prove("BOX(A /\\ B -> A)", "S5")
    assert answer["verdict"] == "proved" and answer["verified"]
    kernel = default_kernel_dir()
    (tmp_path / "coq").mkdir()
    for name in kernel_sources_in_order(kernel) + ["_CoqProject"]:
        (tmp_path / "coq" / name).write_bytes((kernel / name).read_bytes())

    def recheck(source: str) -> subprocess.CompletedProcess[str]:
        (tmp_path / "cert.v").write_text(source)
        command = ["bash", "-c", recheck_command(kernel)]
        return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)

    accepted = recheck(answer["certificate"])
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    # Same proof, stated for the invalid goal `A`: Coq must refuse it.
    tampered = re.sub(r"valid_S5 \(.*\)\.", "valid_S5 (Var 0).", answer["certificate"], count=1)
    assert "valid_S5 (Var 0)." in tampered
    assert recheck(tampered).returncode != 0

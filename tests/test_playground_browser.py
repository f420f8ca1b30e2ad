"""The playground in a real browser (Debian's headless Chromium) against the real server.

Each test drives the page as a user would — typing, clicking the symbol and example
buttons, opening a shared link — and compares what the page shows with what the same
server's API answers. A screenshot of every state is kept in the test's tmp_path.
"""

from __future__ import annotations

import os
import shutil
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from service_fixtures import HMAC_KEY, RunningServer

from pxl_prover.kernel import default_kernel_dir
from pxl_prover.playground import recheck_command

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1200,1000",
)

if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
    if os.environ.get("CI"):
        pytest.fail("Chromium is missing: scripts/install-browser.sh installs it", pytrace=False)
    pytest.skip(
        "Chromium is missing (bash scripts/install-browser.sh installs it)",
        allow_module_level=True,
    )

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    running = RunningServer(pool_size="1")
    ready = running.get("/ready")
    assert ready.status_code == 200, f"the prover did not become ready: {ready.text}"
    yield running
    running.stop()


# --- helpers ------------------------------------------------------------------------------


def api(server: RunningServer, goal: str, logic: str) -> dict[str, Any]:
    response = server.post("/prove", {"goal": goal, "logic": logic})
    return response.json()


def open_page(browser: Any, url: str) -> None:
    browser.get(url)
    WebDriverWait(browser, 20).until(
        lambda d: d.execute_script("return document.body.dataset.ready === 'true'")
    )


def forget_result(browser: Any) -> None:
    browser.execute_script("delete document.getElementById('result').dataset.state")


def wait_for_result(browser: Any) -> str:
    """The state the result panel settles in: proved, refuted, unknown or error."""
    WebDriverWait(browser, 60).until(
        lambda d: d.execute_script(
            "const r = document.getElementById('result');"
            "return !!r.dataset.state && !document.getElementById('prove').disabled;"
        )
    )
    return browser.execute_script("return document.getElementById('result').dataset.state")


def screenshot(browser: Any, path: Path) -> None:
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1200, max(800, min(int(height) + 40, 4000)))
    assert browser.save_screenshot(str(path))
    browser.set_window_size(1200, 1000)


def text(browser: Any, element_id: str) -> str:
    return browser.find_element(By.ID, element_id).text


def type_goal(browser: Any, goal: str) -> None:
    box = browser.find_element(By.ID, "goal")
    box.clear()
    box.send_keys(goal)


def drawn_relation(browser: Any) -> set[tuple[str, str]]:
    """The accessibility relation as the SVG draws it: arrows (one- or two-headed), loops,
    clusters (everyone sees everyone) and arrows to or from a cluster's outline."""
    parts = browser.execute_script(
        """
        const svg = document.querySelector('#graph svg');
        const paths = Array.from(svg.querySelectorAll('.edges path')).map((p) => ({
          from: p.dataset.from, to: p.dataset.to, both: p.classList.contains('both'),
        }));
        const groups = Array.from(svg.querySelectorAll('.cluster-group'))
          .map((g) => ({id: g.dataset.cluster, worlds: g.dataset.worlds.split(' ')}));
        return {paths: paths, groups: groups};
        """
    )
    members = {g["id"]: g["worlds"] for g in parts["groups"]}
    relation: set[tuple[str, str]] = set()
    for worlds in members.values():
        relation |= {(u, v) for u in worlds for v in worlds}
    for path in parts["paths"]:
        sources = members.get(path["from"], [path["from"]])
        targets = members.get(path["to"], [path["to"]])
        for u in sources:
            for v in targets:
                relation.add((u, v))
                if path["both"]:
                    relation.add((v, u))
    return relation


def world_boxes(browser: Any) -> list[dict[str, float]]:
    return browser.execute_script(
        "return Array.from(document.querySelectorAll('#graph svg .world rect.box'))"
        ".map((r) => r.getBoundingClientRect().toJSON());"
    )


def overlapping(boxes: list[dict[str, float]]) -> list[tuple[int, int]]:
    clashes = []
    for i, a in enumerate(boxes):
        for j in range(i + 1, len(boxes)):
            b = boxes[j]
            apart = (
                a["right"] <= b["left"]
                or b["right"] <= a["left"]
                or a["bottom"] <= b["top"]
                or b["bottom"] <= a["top"]
            )
            if not apart:
                clashes.append((i, j))
    return clashes


def assert_countermodel_drawn(browser: Any, model: dict[str, Any]) -> None:
    worlds = browser.find_elements(By.CSS_SELECTOR, "#graph svg .world")
    assert len(worlds) == len(model["worlds"])
    marked = browser.find_elements(By.CSS_SELECTOR, "#graph svg .world.falsifying")
    assert [w.get_attribute("data-world") for w in marked] == [str(model["world"])]
    assert marked[0].get_attribute("data-falsifying") == "true"
    for node in worlds:
        world = node.get_attribute("data-world")
        label = node.find_element(By.CSS_SELECTOR, ".atoms").text
        atoms = sorted(model["valuation"].get(world, []))
        assert label == (", ".join(atoms) if atoms else "none"), world
    expected = {(str(u), str(v)) for u, v in model["relation"]}
    assert drawn_relation(browser) == expected
    assert overlapping(world_boxes(browser)) == []
    rows = browser.find_elements(By.CSS_SELECTOR, "#worlds-table tbody tr")
    assert len(rows) == len(model["worlds"])
    assert browser.find_elements(By.CSS_SELECTOR, "#worlds-table tr.falsifying")


def assert_no_script_errors(browser: Any) -> None:
    entries = browser.get_log("browser")
    errors = [e for e in entries if e["level"] == "SEVERE" and e.get("source") != "network"]
    assert errors == []


def assert_only_same_origin_requests(browser: Any, origin: str) -> None:
    urls = browser.execute_script(
        "return performance.getEntriesByType('resource').map((e) => e.name);"
    )
    assert urls and all(u.startswith(origin + "/") or u.startswith("data:") for u in urls), urls


# --- tests --------------------------------------------------------------------------------


def test_typed_goal_is_proved_with_certificate_and_recheck_command(
    browser: Any, server: RunningServer, tmp_path: Path
) -> None:
    open_page(browser, server.url + "/")
    type_goal(browser, "BOX(A /\\ B -> A)")
    Select(browser.find_element(By.ID, "logic")).select_by_value("S4")
    browser.find_element(By.ID, "prove").click()
    assert wait_for_result(browser) == "proved"
    answer = api(server, "BOX(A /\\ B -> A)", "S4")
    assert text(browser, "verdict") == "proved"
    assert text(browser, "verified") == "✓ verified"
    assert text(browser, "answer-logic") == "S4"
    assert text(browser, "normalized") == answer["normalized"]
    assert browser.find_element(By.ID, "kernel-hash").get_attribute("title") == (
        server.service.kernel_hash
    )
    assert text(browser, "latency").endswith("ms)")
    assert text(browser, "cache") in {"hit", "miss"}
    browser.find_element(By.CSS_SELECTOR, "#certificate-block summary").click()
    assert text(browser, "certificate") == answer["certificate"].strip()
    assert text(browser, "recheck-command") == recheck_command(default_kernel_dir())
    assert text(browser, "recheck-hash") == server.service.kernel_hash
    screenshot(browser, tmp_path / "proved.png")
    assert_no_script_errors(browser)
    assert_only_same_origin_requests(browser, server.url)


def test_symbol_buttons_insert_at_the_cursor(
    browser: Any, server: RunningServer, tmp_path: Path
) -> None:
    open_page(browser, server.url + "/")
    box = browser.find_element(By.ID, "goal")
    box.send_keys("(A")
    browser.find_element(By.CSS_SELECTOR, 'button.sym[data-insert=" ∧ "]').click()
    box.send_keys("B)")
    browser.find_element(By.CSS_SELECTOR, 'button.sym[data-insert=" → "]').click()
    box.send_keys("A")
    box.send_keys(Keys.HOME)
    browser.find_element(By.CSS_SELECTOR, 'button.sym[data-insert="□"]').click()
    assert box.get_attribute("value") == "□(A ∧ B) → A"
    forget_result(browser)
    box.send_keys(Keys.CONTROL, Keys.ENTER)
    assert wait_for_result(browser) == api(server, "□(A ∧ B) → A", "S5")["verdict"] == "proved"
    screenshot(browser, tmp_path / "symbols.png")


def test_example_dia_a_box_a_draws_its_countermodel(
    browser: Any, server: RunningServer, tmp_path: Path
) -> None:
    open_page(browser, server.url + "/")
    browser.find_element(By.CSS_SELECTOR, 'button.example[data-goal="DIA A -> BOX A"]').click()
    assert wait_for_result(browser) == "refuted"
    answer = api(server, "DIA A -> BOX A", "S5")
    assert answer["verdict"] == "refuted"
    assert text(browser, "verdict") == "refuted"
    assert text(browser, "verified") == "✓ verified"
    assert_countermodel_drawn(browser, answer["countermodel"])
    screenshot(browser, tmp_path / "refuted.png")
    assert_no_script_errors(browser)


@pytest.mark.parametrize(
    ("goal", "logic"),
    [
        ("DIA A & DIA B & DIA C & BOX ~(A & B) & BOX ~(A & C) & BOX ~(B & C) -> A v B v C", "S4"),
        ("BOX(DIA A & DIA B & DIA C) -> DIA(A & B & C)", "B"),
        ("DIA p1 & DIA p2 & DIA p3 & DIA p4 & DIA p5 & DIA p6 -> BOX q", "KD45"),
        ("DIA DIA DIA DIA DIA A -> DIA A", "K"),
        (
            " & ".join(f"BOX ~(p{i} & p{j})" for i in range(1, 8) for j in range(i + 1, 8))
            + " & "
            + " & ".join(f"DIA (p{i} & DIA r{i})" for i in range(1, 8))
            + " -> BOX q",
            "S4",
        ),
        (" & ".join(f"DIA p{i}" for i in range(1, 20)) + " -> BOX q", "K"),
        (" & ".join(f"DIA p{i}" for i in range(1, 20)) + " -> BOX q", "B"),
    ],
)
def test_larger_countermodels_are_drawn_exactly_and_without_overlap(
    browser: Any, server: RunningServer, tmp_path: Path, goal: str, logic: str
) -> None:
    query = urllib.parse.urlencode({"goal": goal, "logic": logic})
    open_page(browser, f"{server.url}/?{query}")
    assert wait_for_result(browser) == "refuted"
    answer = api(server, goal, logic)
    assert len(answer["countermodel"]["worlds"]) >= 4  # every goal here needs 4 worlds or more
    assert_countermodel_drawn(browser, answer["countermodel"])
    screenshot(
        browser, tmp_path / f"countermodel-{logic}-{len(answer['countermodel']['worlds'])}.png"
    )


@pytest.mark.parametrize(
    "goal", ["BOX(A -> (B & C)", "BOX(A -> B))", "DIA A -> BOX $A", "□(A ∧ ∧ B)"]
)
def test_parse_error_marks_the_offending_position(
    browser: Any, server: RunningServer, tmp_path: Path, goal: str
) -> None:
    error = server.post("/prove", {"goal": goal}).json()["error"]
    assert error["code"] == "parse_error"
    position = error["position"]
    open_page(browser, server.url + "/")
    type_goal(browser, goal)
    browser.find_element(By.ID, "prove").click()
    assert wait_for_result(browser) == "error"
    assert text(browser, "error-title") == "The goal does not parse"
    assert error["message"] in text(browser, "error-message")
    for container in ("goal-mirror", "error-goal"):
        mark = browser.find_element(By.CSS_SELECTOR, f"#{container} mark")
        assert mark.get_attribute("data-position") == str(position)
        before = browser.execute_script(
            f"return document.querySelector('#{container} mark').previousSibling.textContent;"
        )
        assert before == goal[:position]
        marked = browser.execute_script(
            f"return document.querySelector('#{container} mark').textContent;"
        )
        assert marked == (goal[position] if position < len(goal) else "\u00a0")
    assert "has-error" in browser.find_element(By.ID, "goal-wrap").get_attribute("class")
    screenshot(browser, tmp_path / "parse-error.png")
    browser.find_element(By.ID, "goal").send_keys("x")
    assert browser.find_elements(By.CSS_SELECTOR, "#goal-mirror mark") == []


def test_share_url_restores_and_reruns_the_query(
    browser: Any, server: RunningServer, tmp_path: Path
) -> None:
    goal = "BOX(BOX(A) -> BOX(BOX(A)))"
    open_page(browser, server.url + "/")
    type_goal(browser, goal)
    Select(browser.find_element(By.ID, "logic")).select_by_value("K")
    browser.find_element(By.ID, "prove").click()
    expected = api(server, goal, "K")["verdict"]
    assert wait_for_result(browser) == expected == "refuted"
    shared = browser.current_url
    query = urllib.parse.parse_qs(urllib.parse.urlparse(shared).query)
    assert query == {"goal": [goal], "logic": ["K"]}

    open_page(browser, server.url + "/")
    assert browser.find_element(By.ID, "goal").get_attribute("value") == ""
    open_page(browser, shared)
    assert browser.find_element(By.ID, "goal").get_attribute("value") == goal
    assert (
        Select(browser.find_element(By.ID, "logic")).first_selected_option.get_attribute("value")
        == "K"
    )
    assert wait_for_result(browser) == expected
    assert text(browser, "answer-logic") == "K"
    screenshot(browser, tmp_path / "shared.png")


def test_hmac_server_page_proves_through_the_limited_path_only(
    browser: Any, tmp_path: Path
) -> None:
    running = RunningServer(
        pool_size="1", enable_hmac_auth="true", hmac_secret_key=HMAC_KEY, playground="true"
    )
    try:
        assert requests.post(
            running.url + "/prove", json={"goal": "A"}, timeout=30
        ).status_code == (401)
        open_page(browser, running.url + "/")
        browser.find_element(By.CSS_SELECTOR, 'button.example[data-goal="BOX(A -> A)"]').click()
        assert wait_for_result(browser) == "proved"
        assert text(browser, "verified") == "✓ verified"
        screenshot(browser, tmp_path / "hmac-proved.png")
        statuses = [running.post("/playground/prove", {"goal": "BOX(A -> A)"}) for _ in range(15)]
        limited = [r for r in statuses if r.status_code == 429]
        assert limited, [r.status_code for r in statuses]
        assert limited[0].json()["error"]["code"] == "rate_limited"
        assert int(limited[0].headers["Retry-After"]) >= 1
        assert all(r.status_code in (200, 429) for r in statuses)
    finally:
        running.stop()

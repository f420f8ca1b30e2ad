"""The alert rules load in Prometheus, and each one fires exactly when it should.

`promtool check rules` parses every expression; `promtool test rules` runs
monitoring/alerts_test.yml, which gives every alert series that must raise it and
series on the other side of its threshold or `for` that must not. The rules file is the
one the operator's PrometheusRule is built from, so both are checked here.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_fixtures import PROMTOOL, require_prometheus

from pxl_operator import monitoring

ROOT = Path(__file__).resolve().parents[1]
ALERTS = ROOT / "monitoring" / "alerts.yml"
ALERT_TESTS = ROOT / "monitoring" / "alerts_test.yml"
GUIDE_ALERTS = {"PXLHighLatency", "PXLLowVerificationRatio", "PXLLowCacheHitRate"}
ISSUE_ALERTS = {
    "PXLProverPodsNotReady",
    "PXLRolloutStalled",
    "PXLProverDegraded",
    "PXLProverRolledBack",
}


@pytest.fixture(autouse=True)
def _prometheus_installed() -> None:
    require_prometheus()


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PROMTOOL, *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def alert_names(groups: list[dict[str, Any]]) -> set[str]:
    return {rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule}


def test_alerts_file_is_what_the_operator_builds_its_rules_from() -> None:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    assert groups == monitoring.alert_groups(), (
        "monitoring/alerts.yml is stale: regenerate it with the command in its header"
    )
    assert GUIDE_ALERTS | ISSUE_ALERTS | {"PXLProverDown"} <= alert_names(groups)


def test_promtool_accepts_the_rules() -> None:
    result = promtool("check", "rules", ALERTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_names(monitoring.alert_groups()))} rules found" in result.stdout


def test_every_alert_has_a_firing_and_a_silent_unit_test() -> None:
    cases = yaml.safe_load(ALERT_TESTS.read_text())
    assert cases["rule_files"] == ["alerts.yml"]
    fires: set[str] = set()
    silent: set[str] = set()
    for case in cases["tests"]:
        for check in case["alert_rule_test"]:
            (fires if check["exp_alerts"] else silent).add(check["alertname"])
    every = alert_names(monitoring.alert_groups())
    assert every <= fires, f"no test where these fire: {sorted(every - fires)}"
    assert every <= silent, f"no test where these stay silent: {sorted(every - silent)}"


def test_promtool_unit_tests_pass() -> None:
    result = promtool("test", "rules", ALERT_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_unit_tests_catch_a_wrong_threshold(tmp_path: Path) -> None:
    """The unit tests are not vacuous: the latency alert at 500 ms instead of 300 ms fails."""
    (tmp_path / "alerts.yml").write_text(ALERTS.read_text().replace("> 0.3", "> 0.5"))
    (tmp_path / "alerts_test.yml").write_text(ALERT_TESTS.read_text())
    result = promtool("test", "rules", tmp_path / "alerts_test.yml")
    assert result.returncode != 0
    assert "PXLHighLatency" in result.stdout + result.stderr


def test_promtool_accepts_the_rules_rendered_for_one_prover(tmp_path: Path) -> None:
    from pxl_operator.spec import resolve

    spec = resolve("demo", {"monitoring": {"prometheusRule": True}})
    (rule,) = [m for m in monitoring.children("demo", "pxl", spec) if m["kind"] == "PrometheusRule"]
    path = tmp_path / "rule.yml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    result = promtool("check", "rules", path)
    assert result.returncode == 0, result.stdout + result.stderr
    exprs = [r["expr"] for group in rule["spec"]["groups"] for r in group["rules"]]
    assert all('namespace="pxl"' in expr for expr in exprs), exprs
    assert alert_names(rule["spec"]["groups"]) >= GUIDE_ALERTS | ISSUE_ALERTS

"""A real Prometheus (Debian's `prometheus` package) on loopback for the monitoring tests.

It runs from a temporary directory with its own config and TSDB, on a free port, with a
1 s scrape and rule-evaluation interval so that a few seconds of load are enough. Queries
go through its HTTP API, as Grafana, prometheus-adapter and KEDA send them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

PROMETHEUS = "prometheus"
PROMTOOL = "promtool"


def require_prometheus() -> None:
    """Skip (fail on CI) when the binaries are missing: scripts/test.sh installs them."""
    if shutil.which(PROMETHEUS) and shutil.which(PROMTOOL):
        return
    message = "prometheus/promtool are missing (bash scripts/install-prometheus.sh installs them)"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrape_job(
    job: str, target: str, labels: Mapping[str, str] | None = None, interval: str = "1s"
) -> dict[str, Any]:
    """A static scrape job; `labels` play the target labels a PodMonitor would add."""
    return {
        "job_name": job,
        "scrape_interval": interval,
        "scrape_timeout": interval,
        "honor_labels": True,  # as the PodMonitors the operator and the chart render
        "static_configs": [{"targets": [target], "labels": dict(labels or {})}],
    }


class RunningPrometheus:
    """`prometheus` scraping `jobs` and evaluating `rule_files`, until `stop()`."""

    def __init__(
        self, workdir: Path, jobs: Sequence[Mapping[str, Any]], rule_files: Sequence[Path] = ()
    ) -> None:
        require_prometheus()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(path) for path in rule_files],
            "scrape_configs": list(jobs),
        }
        config_path = workdir / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config))
        self.log_path = workdir / "prometheus.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config_path}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=1h",
                "--web.enable-lifecycle",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"prometheus exited: {self.log_path.read_text()[-2000:]}")
            try:
                if requests.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"prometheus not ready in {timeout_s}s")

    def api(self, path: str, **params: Any) -> Any:
        response = requests.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        body = response.json()
        assert body.get("status") == "success", (path, params, body)
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """An instant vector query: a list of {metric, value} with float values."""
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = at
        data = self.api("query", **params)
        assert data["resultType"] == "vector", (expr, data["resultType"])
        return [
            {"metric": item["metric"], "value": float(item["value"][1])} for item in data["result"]
        ]

    def query_range(
        self, expr: str, start: float, end: float, step: float = 1.0
    ) -> list[dict[str, Any]]:
        """A range query: a list of {metric, values: [floats]}."""
        data = self.api("query_range", query=expr, start=start, end=end, step=step)
        return [
            {"metric": item["metric"], "values": [float(v) for _, v in item["values"]]}
            for item in data["result"]
        ]

    def wait_for_scrapes(self, job: str, after: float, count: int = 2) -> None:
        """Block until `job` was scraped `count` intervals (1 s) after `after` (epoch s)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            samples = self.query(f'timestamp(up{{job="{job}"}})', at=time.time())
            if samples and min(s["value"] for s in samples) >= after + count:
                return
            time.sleep(0.2)
        raise AssertionError(f"{job} was not scraped after {after}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self._log.close()

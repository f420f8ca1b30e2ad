"""Every alert, dashboard panel and autoscaling query, evaluated by a real Prometheus.

One Prometheus (Debian's package, on loopback, 1 s scrapes) loads monitoring/alerts.yml
and scrapes a real prover (waitress + Flask + a Coq session pool of one) and the real
operator (`pxl-operator run` against the emulated API server of tests/k8s_harness.py).
The prover gets a short bounded load — distinct goals that need Coq, then the same goals
again from the cache, bad goals and unknown paths, from four clients at once; the operator
gets a healthy fleet, an invalid one, one whose kernel rollout stalls and is rolled back,
and a deleted Service to put back. Then every expression is sent over the HTTP API, as
Grafana, prometheus-adapter and KEDA send it, and its value is compared with what the
load implies (counted by the client from the answers it got).
"""

from __future__ import annotations

import concurrent.futures
import itertools
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from k8s_harness import Cluster
from prometheus_fixtures import RunningPrometheus, free_port, require_prometheus, scrape_job
from service_fixtures import RunningServer

from pxl_operator import monitoring
from pxl_prover.kernel import hash_sources
from pxl_prover.metrics import LATENCY_BUCKETS

pytestmark = pytest.mark.timeout(240)

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "monitoring" / "grafana-dashboard.json"
ALERTS = ROOT / "monitoring" / "alerts.yml"
CLIENTS = 4
MISS_PHASE_S = 5.0
MAX_USES = 500  # the session is recycled after this many checks
POOL_SIZE = 1
# What a PodMonitor would add to the prover's series (tests/test_operator_monitoring.py).
PROVER_TARGET = {"namespace": "pxl", monitoring.PROVER_TARGET_LABEL: "demo", "pod": "demo-0"}
KERNEL_GOOD = {"Syntax.v": "Inductive form := Atom (n : nat).\n"}
KERNEL_BAD = {"Syntax.v": "Inductive form := Atom (n : nat) | Bot.\n"}


def goals() -> list[str]:
    """Distinct goals the cache cannot share (different shapes): each needs Coq."""
    found = []
    for depth in range(1, 11):
        for ops in itertools.product(("BOX", "DIA"), repeat=depth):
            found.append("".join(f"{op}(" for op in ops) + "A -> A" + ")" * depth)
    return found


@dataclass
class Load:
    """What the client sent and got back, and when."""

    distinct: list[str] = field(default_factory=list)
    started: float = 0.0
    misses_done: float = 0.0
    ended: float = 0.0
    answers: list[dict[str, Any]] = field(default_factory=list)
    prove_latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    def post(self, server: RunningServer, goal: str) -> None:
        started = time.perf_counter()
        response = server.post("/prove", {"goal": goal})
        self.prove_latencies.append(time.perf_counter() - started)
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        if response.status_code == 200:
            self.answers.append(response.json())


def run_load(server: RunningServer) -> Load:
    load = Load(started=time.time())
    fresh = iter(goals())
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        # New goals in rounds until a few scrapes' worth of time has passed: long enough
        # that the one-minute saturation average is dominated by the load, bounded in count.
        while time.time() - load.started < MISS_PHASE_S:
            batch = list(itertools.islice(fresh, 64))
            if not batch:
                break
            load.distinct += batch
            list(pool.map(lambda g: load.post(server, g), batch))
        load.misses_done = time.time()
        again = load.distinct * 2 + ["BOX(", "A -> "] * 10  # cache hits, and bad goals
        list(pool.map(lambda g: load.post(server, g), again))
        for status in pool.map(lambda p: server.get(p).status_code, ["/no-such-page"] * 10):
            load.statuses[status] = load.statuses.get(status, 0) + 1
    load.ended = time.time()
    return load


@dataclass
class Fleet:
    cluster: Cluster
    metrics_port: int
    process: subprocess.Popen[str]


def start_operator(tmp: Path) -> Fleet:
    """The emulated API server and `pxl-operator run` serving its metrics on loopback."""
    cluster = Cluster(tmp)
    cluster.start()
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "pxl-operator"),
        "run",
        "--namespace=default",
        "--liveness=",
        f"--metrics-address=127.0.0.1:{port}",
    ]
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig())}
    env.pop("KUBERNETES_SERVICE_HOST", None)
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    return Fleet(cluster, port, process)


def prover(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "pxl.logos.dev/v1alpha1",
        "kind": "PXLProver",
        "metadata": {"name": name},
        "spec": spec,
    }


def drive_operator(fleet: Fleet) -> None:
    """A healthy fleet, an invalid one, a stalled rollout rolled back, a repaired drift."""
    cluster = fleet.cluster
    bad_hash = hash_sources({k: v.encode() for k, v in KERNEL_BAD.items()})
    cluster.unready = lambda template: bad_hash in str(template)
    cluster.apply(prover("good", kernel={"expectedHash": "f" * 64}))
    cluster.apply(prover("broken", replicas=0))
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "kernel"},
            "data": {**KERNEL_GOOD, "_CoqProject": "-R . PXL\n"},
        }
    )
    cluster.apply(prover("rolled", kernel={"configMapRef": {"name": "kernel"}}))
    for name in ("good", "rolled"):
        cluster.wait_for(f"{name} Ready", lambda n=name: condition(cluster, n, "Ready") == "True")
    cluster.patch("ConfigMap", "kernel", {"data": KERNEL_BAD})
    cluster.wait_for(
        "rolled back", lambda: reason(cluster, "rolled", "Degraded") == "RolledBack", 60
    )
    cluster.wait_for("broken Degraded", lambda: condition(cluster, "broken", "Degraded") == "True")
    # someone edits a field the operator owns: the Deployment event makes it put it back
    cluster.patch("Deployment", "good", {"spec": {"revisionHistoryLimit": 1}})
    cluster.wait_for(
        "Deployment repaired",
        lambda: cluster.get("Deployment", "good")["spec"]["revisionHistoryLimit"] == 5,
    )
    cluster.wait_for("settled", lambda: condition(cluster, "rolled", "Progressing") == "False", 60)


def condition(cluster: Cluster, name: str, kind: str) -> str | None:
    return cluster.condition(name, kind).get("status")


def reason(cluster: Cluster, name: str, kind: str) -> str | None:
    return cluster.condition(name, kind).get("reason")


@dataclass
class Observed:
    prometheus: RunningPrometheus
    load: Load
    fleet: Fleet
    before_load: float
    evaluated_at: float


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    require_prometheus()
    workdir = tmp_path_factory.mktemp("prometheus")
    server = RunningServer(
        pool_size=str(POOL_SIZE), cache_size="4096", session_max_uses=str(MAX_USES)
    )
    fleet = start_operator(tmp_path_factory.mktemp("cluster"))
    prometheus: RunningPrometheus | None = None
    try:
        # Every labelled series exists before the first scrape, so rates see all the load.
        assert server.post("/prove", {"goal": "p -> p"}).status_code == 200
        assert server.post("/prove", {"goal": "BOX("}).status_code == 400
        assert server.get("/no-such-page").status_code == 404
        prover_address = server.url.removeprefix("http://")
        prometheus = RunningPrometheus(
            workdir,
            [
                scrape_job(monitoring.PROVER_JOB, prover_address, PROVER_TARGET),
                scrape_job(monitoring.OPERATOR_JOB, f"127.0.0.1:{fleet.metrics_port}"),
            ],
            rule_files=[ALERTS],
        )
        started = time.time()
        prometheus.wait_for_scrapes(monitoring.PROVER_JOB, after=started, count=2)
        before_load = time.time()
        with concurrent.futures.ThreadPoolExecutor(1) as operator_driver:
            driving = operator_driver.submit(drive_operator, fleet)
            load = run_load(server)
            driving.result()
        done = time.time()
        for job in (monitoring.PROVER_JOB, monitoring.OPERATOR_JOB):
            prometheus.wait_for_scrapes(job, after=done, count=2)
        yield Observed(prometheus, load, fleet, before_load, time.time())
    finally:
        if prometheus is not None:
            prometheus.stop()
        fleet.process.send_signal(signal.SIGTERM)
        try:
            fleet.process.communicate(timeout=5)
        except subprocess.TimeoutExpired:  # its clean stop is tested elsewhere
            fleet.process.kill()
            fleet.process.communicate()
        fleet.cluster.stop()
        server.stop()


def values(result: list[dict[str, Any]]) -> list[float]:
    return [item["value"] for item in result]


def one(result: list[dict[str, Any]]) -> float:
    assert len(result) == 1, result
    return float(result[0]["value"])


def bucket_upper(seconds: float) -> float:
    return next((b for b in LATENCY_BUCKETS if seconds <= b), math.inf)


# --- the load the client saw ------------------------------------------------------------


def expected_verification_percent(load: Load) -> float:
    verified = sum(1 for a in load.answers if a["verified"] and a["verdict"] != "unknown")
    return 100.0 * verified / len(load.answers)


def expected_hit_percent(load: Load) -> float:
    return 100.0 * sum(1 for a in load.answers if a["cache_hit"]) / len(load.answers)


def test_the_load_was_what_the_checks_assume(observed: Observed) -> None:
    load = observed.load
    assert len(load.distinct) >= 64
    assert load.statuses[200] == 3 * len(load.distinct)
    assert load.statuses[400] == 20 and load.statuses[404] == 10
    assert sum(not a["cache_hit"] for a in load.answers) == len(load.distinct)


# --- the alert rules ----------------------------------------------------------------------


def alert_rules() -> dict[str, dict[str, Any]]:
    return {r["alert"]: r for g in monitoring.alert_groups() for r in g["rules"]}


def test_prometheus_loaded_and_evaluates_every_rule(observed: Observed) -> None:
    groups = observed.prometheus.api("rules")["groups"]
    loaded = {rule["name"]: rule for group in groups for rule in group["rules"]}
    assert set(loaded) == set(alert_rules())
    for name, rule in loaded.items():
        assert rule["health"] == "ok", (name, rule.get("lastError"))


def test_prover_alerts_match_the_load(observed: Observed) -> None:
    prom, load, at = observed.prometheus, observed.load, observed.evaluated_at
    rules = alert_rules()

    def fires(alert: str) -> list[dict[str, Any]]:
        return prom.query(rules[alert]["expr"], at=at)

    # P95 latency of /prove, from the histogram: within the bucket of what the client saw
    # (the server's own time is shorter than the client's), and alerting iff above 300 ms.
    p95_query = rules["PXLHighLatency"]["expr"].rsplit(">", 1)[0]
    p95 = one(prom.query(p95_query, at=at))
    client = sorted(load.prove_latencies)
    client_p95 = client[math.ceil(0.95 * len(client)) - 1]
    assert 0 < p95 <= bucket_upper(client_p95), (p95, client_p95)
    assert bool(fires("PXLHighLatency")) is (p95 > 0.3)

    ratio_query = rules["PXLLowVerificationRatio"]["expr"].rsplit("<", 1)[0]
    ratio = one(prom.query(ratio_query, at=at))
    assert ratio == pytest.approx(expected_verification_percent(load), abs=0.01)
    assert bool(fires("PXLLowVerificationRatio")) is (ratio < 95)

    hit_query = rules["PXLLowCacheHitRate"]["expr"].rsplit("<", 1)[0]
    hits = one(prom.query(hit_query, at=at))
    assert hits == pytest.approx(expected_hit_percent(load), abs=0.5)  # two of three
    assert bool(fires("PXLLowCacheHitRate")) is (hits < 50)

    up = prom.query(f'up{{job="{monitoring.PROVER_JOB}"}}', at=at)
    assert values(up) == [1.0] and up[0]["metric"]["pxl_logos_dev_prover"] == "demo"
    assert fires("PXLProverDown") == []
    assert values(prom.query("logos_pxl_session_pool_total", at=at)) == [POOL_SIZE]
    assert fires("PXLNoCoqSession") == []


def test_saturation_alert_and_both_autoscaling_queries_read_the_load(observed: Observed) -> None:
    """Four clients on one Coq session keep it busy and queue for it: over the minute the
    autoscalers average, busy + waiting per session rises above the 70 % target (at most
    4, the clients); before the load it is 0. The KEDA trigger and the prometheus-adapter
    rule are run exactly as rendered, and both ask for more pods."""
    prom, load = observed.prometheus, observed.load
    keda = monitoring.saturation_query(monitoring.prover_matchers("demo", "pxl"))
    adapter_rule = monitoring.prometheus_adapter_rule()["metricsQuery"]
    adapter = adapter_rule.replace("<<.GroupBy>>", "pod").replace(
        "<<.LabelMatchers>>", 'namespace="pxl",pod="demo-0"'
    )
    alert = alert_rules()["PXLSessionPoolSaturated"]["expr"]
    idle = one(prom.query(keda, at=observed.before_load))
    assert idle == 0.0
    busy = one(prom.query(keda, at=load.misses_done))
    target = 0.7  # the default spec.autoscaling.saturation.targetPercent
    assert target < busy <= CLIENTS / POOL_SIZE, busy
    (per_pod,) = prom.query(adapter, at=load.misses_done)
    assert per_pod["metric"] == {"pod": "demo-0"}
    assert per_pod["value"] == pytest.approx(busy)
    # HPA/KEDA arithmetic (desired = ceil(current * value / target)): one pod asks for more
    assert math.ceil(1 * busy / target) > 1
    assert bool(prom.query(alert, at=load.misses_done)) is (busy > 0.9)
    # every goal the cache missed was admitted, most after a wait behind the running one
    waits = 'logos_pxl_queue_wait_seconds_count{queue="admission"}'
    counted = one(prom.query(waits, at=observed.evaluated_at)) - one(
        prom.query(waits, at=observed.before_load)
    )
    assert counted >= len(load.distinct)
    p95_wait = one(
        prom.query(
            "histogram_quantile(0.95, sum by (le) "
            '(rate(logos_pxl_queue_wait_seconds_bucket{queue="admission"}[5m])))',
            at=observed.evaluated_at,
        )
    )
    assert p95_wait > 0


def test_operator_alerts_and_metrics_match_what_happened(observed: Observed) -> None:
    prom, at = observed.prometheus, observed.evaluated_at
    rules = alert_rules()

    def firing(alert: str) -> dict[str, str]:
        return {
            r["metric"]["prover"]: r["metric"].get("reason", "")
            for r in prom.query(rules[alert]["expr"], at=at)
        }

    assert firing("PXLProverDegraded") == {"broken": "InvalidSpec"}
    assert firing("PXLProverRolledBack") == {"rolled": "RolledBack"}
    assert firing("PXLRolloutStalled") == {}
    progressing = prom.query('pxl_operator_prover_condition{type="Progressing"}', at=at)
    assert {r["metric"]["prover"]: r["metric"]["status"] for r in progressing} == {
        "good": "False",
        "broken": "False",
        "rolled": "False",
    }
    assert firing("PXLProverPodsNotReady") == {}
    ready = prom.query("pxl_operator_prover_ready_replicas", at=at)
    assert {r["metric"]["prover"]: r["value"] for r in ready} == {"good": 2.0, "rolled": 2.0}
    assert values(prom.query(f'up{{job="{monitoring.OPERATOR_JOB}"}}', at=at)) == [1.0]
    assert prom.query(rules["PXLOperatorDown"]["expr"], at=at) == []

    def value(expr: str) -> float:
        return one(prom.query(expr, at=at))

    assert value('pxl_operator_rollbacks_total{namespace="default",prover="rolled"}') == 1
    assert value('pxl_operator_rollout_duration_seconds_count{result="rolled_back"}') == 1
    assert value('pxl_operator_rollout_duration_seconds_count{result="complete"}') >= 2
    assert value('pxl_operator_reconcile_errors_total{reason="InvalidSpec"}') >= 1
    assert value('pxl_operator_reconciles_total{result="degraded"}') >= 1
    assert value('pxl_operator_reconciles_total{result="ok"}') >= 3
    assert value('pxl_operator_drift_repairs_total{kind="Deployment"}') >= 1
    assert (
        value(
            "histogram_quantile(0.5, sum by (le) "
            "(rate(pxl_operator_reconcile_duration_seconds_bucket[5m])))"
        )
        > 0
    )
    # status.selector, which the scale subresource hands to an HPA, selects the pods
    status = observed.fleet.cluster.get("PXLProver", "good")["status"]
    assert status["selector"] == "app.kubernetes.io/name=pxl-prover,pxl.logos.dev/prover=good"


def test_prometheus_holds_the_pending_alerts_of_the_fleet(observed: Observed) -> None:
    """Through Prometheus's own rule evaluation: Degraded and RolledBack are pending
    (their `for` has not passed in this short test), nothing about the prover is."""
    deadline = time.monotonic() + 10
    while True:
        alerts = observed.prometheus.api("alerts")["alerts"]
        states = {(a["labels"]["alertname"], a["labels"].get("prover")): a["state"] for a in alerts}
        wanted = {("PXLProverDegraded", "broken"), ("PXLProverRolledBack", "rolled")}
        if wanted <= set(states) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert states[("PXLProverDegraded", "broken")] == "pending"
    assert states[("PXLProverRolledBack", "rolled")] in ("pending", "firing")
    assert not [name for name, _ in states if name in {"PXLProverDown", "PXLNoCoqSession"}]


# --- the Grafana dashboard ----------------------------------------------------------------


def dashboard_targets() -> list[tuple[str, str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = []
    for panel in dashboard["panels"]:
        panels.extend(panel.get("panels", []))
        if panel["type"] != "row":
            panels.append(panel)
    return [
        (panel["title"], target.get("legendFormat", ""), target["expr"])
        for panel in panels
        for target in panel["targets"]
    ]


def as_grafana_sends(expr: str, rate_interval: str) -> str:
    """Variables as Grafana fills them: All (.*) for the pickers, the rate interval."""
    expr = expr.replace("$__rate_interval", rate_interval)
    return re.sub(r"\$\{?(instance|endpoint)\}?", ".*", expr)


def test_every_dashboard_panel_shows_the_load(observed: Observed) -> None:
    prom, load = observed.prometheus, observed.load
    start, end = observed.before_load, observed.evaluated_at
    whole = f"{math.ceil(end - start) + 30}s"  # one window over all the load
    hit_percent = expected_hit_percent(load)
    seen: set[tuple[str, str]] = set()
    for title, legend, expr in dashboard_targets():
        seen.add((title, legend))
        series = prom.query_range(as_grafana_sends(expr, "5s"), start, end, step=1)
        assert series, f"{title} / {legend}: no series"
        for item in series:
            # NaN: a quantile over a window without requests (Grafana draws a gap)
            shown = [v for v in item["values"] if not math.isnan(v)]
            assert shown and all(math.isfinite(v) and v >= 0 for v in shown), (title, item)
        peak = max(max(v for v in item["values"] if not math.isnan(v)) for item in series)
        at_end = prom.query(as_grafana_sends(expr, whole), at=end)
        if title in ("Requests / s",) or title.startswith("Request rate"):
            assert peak > 0, title
            by_endpoint = {r["metric"].get("endpoint"): r["value"] for r in at_end}
            if title.startswith("Request rate"):
                assert by_endpoint["/prove"] > 0 and by_endpoint["/metrics"] > 0
        elif "Latency" in title or title.startswith("P95"):
            assert 0 < peak <= 60, (title, legend, peak)
        elif title == "Verification ratio" or legend == "verified %":
            assert one(at_end) == pytest.approx(100.0, abs=0.01), (title, legend)
            assert expected_verification_percent(load) == 100.0
        elif title == "Cache hit rate" or legend == "hit %":
            if "since start" in legend:
                # every goal since the server started: the warm-up's one miss included
                total = len(load.answers) + 1
                hits = sum(a["cache_hit"] for a in load.answers)
                assert one(at_end) == pytest.approx(100.0 * hits / total, abs=0.01)
            else:
                assert one(at_end) == pytest.approx(hit_percent, abs=0.5), (title, legend)
        elif title == "Verdicts":
            by_verdict = {r["metric"]["verdict"]: r["value"] for r in at_end}
            assert by_verdict["proved"] > 0
            assert set(by_verdict) >= {"proved", "refuted", "unknown"}
        elif title == "Errors by status code":
            by_status = {r["metric"]["status"]: r["value"] for r in at_end}
            assert by_status["400"] > 0 and by_status["404"] > 0
            assert "500" not in by_status
        elif title.startswith("Session pool") and legend in ("busy %", "busy / configured"):
            assert 0 < peak <= 100, (title, legend, peak)
        elif title == "Session pool":
            expected = {"busy": (0, POOL_SIZE), "live": (POOL_SIZE, POOL_SIZE)}
            low, high = expected.get(legend, (POOL_SIZE, POOL_SIZE))
            assert low <= min(min(i["values"]) for i in series) <= high, legend
            if legend == "busy":
                assert peak == POOL_SIZE, "one session, four clients: busy at some scrape"
        elif title == "Uptime":
            assert one(at_end) >= end - load.started
        elif title.startswith("Saturation"):
            # the autoscaling signal: 0 before the load, above the 70 % target under it
            assert series[0]["values"][0] == 0.0
            assert 0.7 < peak <= CLIENTS / POOL_SIZE, peak
        elif title.startswith("Queue wait"):
            # a wait lasts at most PXL_POOL_WAIT (RunningServer: 5 s), then a 429
            assert 0 < peak <= 5.0, (legend, peak)
        elif title.startswith("Coq session restarts"):
            # Only wear: the one session is recycled after every `session_max_uses` checks.
            by_reason = {r["metric"]["reason"]: r["value"] for r in at_end}
            assert {v for k, v in by_reason.items() if k != "recycled"} == {0.0}, by_reason
            checks = 'logos_pxl_queue_wait_seconds_count{queue="session"}'
            uses = [one(prom.query(checks, at=t)) // MAX_USES for t in (start, end)]
            assert round(by_reason["recycled"]) in (uses[1] - uses[0], uses[1] - uses[0] - 1)
        else:
            raise AssertionError(f"no expectation written for panel {title!r} / {legend!r}")
    assert len(seen) == len(dashboard_targets())


def test_the_checks_cover_every_dashboard_query_and_alert() -> None:
    """A new panel or alert cannot slip past the live checks above unexamined."""
    titles = {title for title, _, _ in dashboard_targets()}
    assert "Session pool" in titles and "Uptime" in titles
    source = Path(__file__).read_text()
    for alert in alert_rules():
        assert f'"{alert}"' in source, f"{alert} is not evaluated against the live Prometheus"

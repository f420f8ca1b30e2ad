"""Monitoring, autoscaling on load and exposure of a PXLProver, as the operator renders them.

Third-party objects are validated strict (unknown fields rejected) against the upstream
CRDs vendored in tests/data/crds (prometheus-operator's PodMonitor and PrometheusRule,
KEDA's ScaledObject); built-in ones with kubernetes-validate. They are rendered only
when the spec asks, and what the autoscalers query is the query tests/test_prometheus_live.py
runs against a real Prometheus.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from test_charts import OPERATOR_CHART, PROVER_CHART, render
from test_examples import admission_problems, rejecting_unknown_fields

from pxl_operator import cli, manifests, monitoring
from pxl_operator.kube import ApiError
from pxl_operator.metrics import OperatorMetrics
from pxl_operator.reconcile import Reconciler
from pxl_operator.spec import SpecError, resolve

ROOT = Path(__file__).resolve().parents[1]
CRDS = Path(__file__).parent / "data" / "crds"
KUBE_VERSION = "1.30.0"
HASH = "0123456789abcdef" * 4
THIRD_PARTY = {
    "PodMonitor": ("monitoring.coreos.com_podmonitors.yaml", "v1"),
    "ServiceMonitor": ("monitoring.coreos.com_servicemonitors.yaml", "v1"),
    "PrometheusRule": ("monitoring.coreos.com_prometheusrules.yaml", "v1"),
    "ScaledObject": ("keda.sh_scaledobjects.yaml", "v1alpha1"),
}
PEERS = {
    "ingressController": {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}},
    },
    "prometheus": {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
        "podSelector": {
            "matchExpressions": [
                {"key": "app.kubernetes.io/name", "operator": "In", "values": ["prometheus"]}
            ]
        },
    },
}
KEDA = {
    "enabled": True,
    "signal": "saturation",
    "minReplicas": 2,
    "maxReplicas": 20,
    "scaleDownStabilizationSeconds": 600,
    "saturation": {
        "scaler": "keda",
        "targetPercent": 80,
        "prometheusAddress": "http://prometheus-operated.monitoring.svc:9090",
    },
}
SPECS: dict[str, dict[str, Any]] = {
    "everything-keda": {
        "autoscaling": KEDA,
        "monitoring": {
            "podMonitor": True,
            "prometheusRule": True,
            "interval": "15s",
            "labels": {"release": "kube-prometheus-stack"},
        },
        "networkPolicy": {"enabled": True, **PEERS},
        "ingress": {"enabled": True, "host": "pxl.example.com"},
    },
    "adapter": {"autoscaling": {"enabled": True, "signal": "saturation"}},
    "cpu": {"autoscaling": {"enabled": True}, "monitoring": {"podMonitor": True}},
    "rules-only": {"monitoring": {"prometheusRule": True}},
    "policy-no-ingress": {"networkPolicy": {"enabled": True, "prometheus": PEERS["prometheus"]}},
}


def crd_validator(kind: str) -> jsonschema.Draft7Validator:
    filename, version = THIRD_PARTY[kind]
    crd = yaml.safe_load((CRDS / filename).read_text())
    assert crd["spec"]["names"]["kind"] == kind
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    assert served["served"]
    return jsonschema.Draft7Validator(rejecting_unknown_fields(served["schema"]["openAPIV3Schema"]))


def assert_valid(manifest: dict[str, Any]) -> None:
    """Strict against the upstream CRD (third-party kinds) or Kubernetes 1.30 (built-in)."""
    if manifest["kind"] in THIRD_PARTY:
        filename, version = THIRD_PARTY[manifest["kind"]]
        crd = yaml.safe_load((CRDS / filename).read_text())
        assert manifest["apiVersion"] == f"{crd['spec']['group']}/{version}"
        errors = [e.message for e in crd_validator(manifest["kind"]).iter_errors(manifest)]
        assert not errors, (manifest["kind"], errors)
    else:
        kubernetes_validate.validate(manifest, KUBE_VERSION, strict=True)


def build(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    resolved = resolve("demo", spec)
    built = manifests.children("demo", "pxl", resolved, HASH)
    built += monitoring.children("demo", "pxl", resolved)
    return {child["kind"]: child for child in built}


def test_the_strict_check_rejects_what_upstream_does_not_know() -> None:
    """The vendored schemas are really applied: a typo or a wrong type is caught."""
    pod_monitor = build(SPECS["cpu"])["PodMonitor"]
    typo = copy.deepcopy(pod_monitor)
    typo["spec"]["podMetricsEndpoints"][0]["honourLabels"] = True
    with pytest.raises(AssertionError, match="honourLabels"):
        assert_valid(typo)
    scaled = build(SPECS["everything-keda"])["ScaledObject"]
    wrong = copy.deepcopy(scaled)
    wrong["spec"]["triggers"][0]["metadata"]["threshold"] = 0.8  # KEDA wants strings
    with pytest.raises(AssertionError):
        assert_valid(wrong)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_child_validates_strict_and_is_admitted_by_the_crd(name: str) -> None:
    spec = SPECS[name]
    assert (
        admission_problems(
            {
                "apiVersion": "pxl.logos.dev/v1alpha1",
                "kind": "PXLProver",
                "metadata": {"name": "d"},
                "spec": spec,
            }
        )
        == []
    )
    for child in build(spec).values():
        assert_valid(child)
        assert child["metadata"]["namespace"] == "pxl"
        assert child["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "pxl-operator"


def test_third_party_kinds_only_when_asked() -> None:
    assert set(build({})) == {"Service", "Deployment", "PodDisruptionBudget"}
    everything = build(SPECS["everything-keda"])
    assert {"PodMonitor", "PrometheusRule", "ScaledObject", "NetworkPolicy"} <= set(everything)
    assert "HorizontalPodAutoscaler" not in everything, "KEDA owns the HPA it makes"
    assert set(build(SPECS["rules-only"])) - set(build({})) == {"PrometheusRule"}
    wanted = monitoring.optional_kinds(resolve("demo", SPECS["rules-only"]))
    assert wanted == {
        "PodMonitor": False,
        "PrometheusRule": True,
        "ScaledObject": False,
        "NetworkPolicy": False,
    }


def test_pod_monitor_scrapes_this_fleet_with_the_labels_the_rules_use() -> None:
    children = build(SPECS["everything-keda"])
    pod_monitor = children["PodMonitor"]
    pod_labels = children["Deployment"]["spec"]["template"]["metadata"]["labels"]
    spec = pod_monitor["spec"]
    assert spec["selector"]["matchLabels"].items() <= pod_labels.items()
    assert spec["namespaceSelector"] == {"matchNames": ["pxl"]}
    # job="pxl-prover" as in docker-compose, so PXLProverDown matches both
    assert pod_labels[spec["jobLabel"]] == monitoring.PROVER_JOB
    assert spec["podTargetLabels"] == [manifests.PROVER_LABEL]
    (endpoint,) = spec["podMetricsEndpoints"]
    container = children["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert endpoint["port"] in {p["name"] for p in container["ports"]}
    assert (endpoint["path"], endpoint["interval"]) == ("/metrics", "15s")
    # the prover's own `endpoint` label (the HTTP route) must not become exported_endpoint
    assert endpoint["honorLabels"] is True
    assert pod_monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_prometheus_rule_is_the_alerts_file_narrowed_to_this_prover() -> None:
    rule = build(SPECS["everything-keda"])["PrometheusRule"]
    groups = rule["spec"]["groups"]
    shipped = {r["alert"]: r for g in monitoring.alert_groups() for r in g["rules"]}
    rendered = {r["alert"]: r for g in groups for r in g["rules"]}
    assert set(rendered) == set(shipped) - {"PXLOperatorDown"}
    for alert, rule_ in rendered.items():
        assert rule_["for"] == shipped[alert]["for"] and rule_["labels"] == shipped[alert]["labels"]
        assert 'namespace="pxl"' in rule_["expr"], alert
        assert 'pxl_logos_dev_prover="demo"' in rule_["expr"] or 'prover="demo"' in rule_["expr"]


def test_keda_scales_the_deployment_on_the_saturation_query_fast_up_slow_down() -> None:
    children = build(SPECS["everything-keda"])
    scaled = children["ScaledObject"]["spec"]
    assert scaled["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "demo",
    }
    assert (scaled["minReplicaCount"], scaled["maxReplicaCount"]) == (2, 20)
    (trigger,) = scaled["triggers"]
    assert trigger["type"] == "prometheus" and trigger["metricType"] == "Value"
    assert trigger["metadata"]["query"] == monitoring.saturation_query(
        monitoring.prover_matchers("demo", "pxl")
    )
    assert trigger["metadata"]["threshold"] == "0.8"
    assert trigger["metadata"]["serverAddress"] == KEDA["saturation"]["prometheusAddress"]
    behavior = scaled["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert behavior["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 600
    assert "replicas" not in children["Deployment"]["spec"], "KEDA's HPA owns the replicas"


def test_adapter_hpa_targets_the_custom_metric_the_chart_rule_serves() -> None:
    hpa = build(SPECS["adapter"])["HorizontalPodAutoscaler"]["spec"]
    (metric,) = hpa["metrics"]
    assert metric["type"] == "Pods"
    assert metric["pods"]["metric"]["name"] == manifests.SATURATION_METRIC
    assert metric["pods"]["target"] == {"type": "AverageValue", "averageValue": "700m"}
    assert hpa["behavior"]["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    adapter = yaml.safe_load((OPERATOR_CHART / "prometheus-adapter" / "values.yaml").read_text())
    assert adapter["rules"]["custom"] == [monitoring.prometheus_adapter_rule()]
    (rule,) = adapter["rules"]["custom"]
    assert rule["name"]["as"] == manifests.SATURATION_METRIC
    cpu = build(SPECS["cpu"])["HorizontalPodAutoscaler"]["spec"]
    assert [m["resource"]["name"] for m in cpu["metrics"]] == ["cpu"]
    assert cpu["behavior"] == hpa["behavior"]


def test_keda_without_a_prometheus_address_is_refused_by_crd_and_operator() -> None:
    spec = {
        "autoscaling": {"enabled": True, "signal": "saturation", "saturation": {"scaler": "keda"}}
    }
    assert admission_problems(
        {
            "apiVersion": "pxl.logos.dev/v1alpha1",
            "kind": "PXLProver",
            "metadata": {"name": "d"},
            "spec": spec,
        }
    )
    with pytest.raises(SpecError, match="prometheusAddress"):
        resolve("demo", spec)
    with pytest.raises(SpecError, match="networkPolicy.prometheus"):
        resolve("demo", {"networkPolicy": {"enabled": True}})
    with pytest.raises(SpecError, match="networkPolicy.ingressController"):
        resolve(
            "demo",
            {
                "networkPolicy": {"enabled": True, "prometheus": PEERS["prometheus"]},
                "ingress": {"enabled": True, "host": "pxl.example.com"},
            },
        )


def routed(ingress: dict[str, Any], path: str) -> bool:
    """Would the Ingress send `path` to the prover (Exact / Prefix by path elements)?"""
    for rule in ingress["spec"]["rules"]:
        for route in rule["http"]["paths"]:
            if route["pathType"] == "Exact" and path == route["path"]:
                return True
            prefix = route["path"].rstrip("/")
            if route["pathType"] == "Prefix" and (path == prefix or path.startswith(prefix + "/")):
                return True
    return False


@pytest.mark.parametrize("auth", [True, False])
def test_ingress_routes_only_the_api_and_the_playground_when_it_is_on(auth: bool) -> None:
    ingress = build(
        {"ingress": {"enabled": True, "host": "pxl.example.com"}, "auth": {"enabled": auth}}
    )["Ingress"]
    for path in ("/prove", "/prove/batch"):
        assert routed(ingress, path), path
    for path in ("/metrics", "/metrics/performance", "/ready", "/health", "/healthz", "/x"):
        assert not routed(ingress, path), path
    # the playground is served exactly when HMAC auth is off
    for path in ("/", "/playground/prove", "/playground/static/app.js"):
        assert routed(ingress, path) is (not auth), path


def test_network_policy_admits_only_the_ingress_controller_and_prometheus_on_http() -> None:
    children = build(SPECS["everything-keda"])
    policy = children["NetworkPolicy"]["spec"]
    pod_labels = children["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert policy["policyTypes"] == ["Ingress"]
    (rule,) = policy["ingress"]
    assert rule["from"] == [PEERS["ingressController"], PEERS["prometheus"]]
    assert rule["ports"] == [{"protocol": "TCP", "port": manifests.HTTP_PORT}]
    alone = build(SPECS["policy-no-ingress"])["NetworkPolicy"]["spec"]["ingress"][0]["from"]
    assert alone == [PEERS["prometheus"]], "no ingress controller without an Ingress"


def test_render_prints_the_monitoring_children(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "prover.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "pxl.logos.dev/v1alpha1",
                "kind": "PXLProver",
                "metadata": {"name": "demo", "namespace": "pxl"},
                "spec": SPECS["everything-keda"],
            }
        )
    )
    assert cli.main(["render", "-f", str(path)]) == 0
    docs = [d for d in yaml.safe_load_all(capsys.readouterr().out) if d]
    assert {"PodMonitor", "PrometheusRule", "ScaledObject", "NetworkPolicy"} <= {
        d["kind"] for d in docs
    }


def test_operator_chart_scrapes_the_operator_with_a_valid_pod_monitor() -> None:
    values = {"metrics": {"service": {"enabled": True}, "podMonitor": {"enabled": True}}}
    rendered = render(OPERATOR_CHART, values)
    (pod_monitor,) = [m for m in rendered if m["kind"] == "PodMonitor"]
    assert_valid(pod_monitor)
    (service,) = [m for m in rendered if m["kind"] == "Service"]
    kubernetes_validate.validate(service, KUBE_VERSION, strict=True)
    (deployment,) = [m for m in rendered if m["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    args = cli.build_parser().parse_args(container["args"])
    assert args.metrics_address == "0.0.0.0:8081"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["metrics"] == 8081
    (endpoint,) = pod_monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == "metrics" and endpoint["honorLabels"] is True
    assert pod["metadata"]["labels"][pod_monitor["spec"]["jobLabel"]] == monitoring.OPERATOR_JOB
    assert (
        pod_monitor["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    )
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"
    off = render(OPERATOR_CHART, {"metrics": {"enabled": False}})
    (deployment,) = [m for m in off if m["kind"] == "Deployment"]
    args = cli.build_parser().parse_args(
        deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    )
    assert args.metrics_address == ""
    assert not [m for m in off if m["kind"] in ("PodMonitor", "Service")]


@pytest.mark.parametrize("auth", [True, False])
def test_prover_chart_ingress_routes_the_same_paths_as_the_operator(auth: bool) -> None:
    values = {
        "ingress": {"enabled": True, "host": "pxl.example.com"},
        "auth": {"enabled": auth},
    }
    (chart_ingress,) = [m for m in render(PROVER_CHART, values) if m["kind"] == "Ingress"]
    kubernetes_validate.validate(chart_ingress, KUBE_VERSION, strict=True)
    operator_ingress = build(
        {"ingress": {"enabled": True, "host": "pxl.example.com"}, "auth": {"enabled": auth}}
    )["Ingress"]

    def routes(ingress: dict[str, Any]) -> list[tuple[str, str]]:
        (rule,) = ingress["spec"]["rules"]
        return [(p["path"], p["pathType"]) for p in rule["http"]["paths"]]

    assert routes(chart_ingress) == routes(operator_ingress)
    assert not routed(chart_ingress, "/metrics") and routed(chart_ingress, "/prove/batch")


class ClusterWithoutCRDs:
    """A Kube that serves built-in kinds and answers 404 for prometheus-operator's."""

    def __init__(self, owner: dict[str, Any]) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {("PXLProver", "demo"): owner}

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects.get((kind, name))

    def create(self, kind: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        if kind in monitoring.CUSTOM_KINDS:
            raise ApiError(404, "the server could not find the requested resource")
        self.objects[(kind, body["metadata"]["name"])] = body
        return body

    def merge_patch(self, kind: str, namespace: str, name: str, patch: Any, **_: Any) -> Any:
        self.objects[(kind, name)] = {**self.objects[(kind, name)], **patch}
        return self.objects[(kind, name)]

    def delete(self, kind: str, namespace: str, name: str) -> bool:
        return self.objects.pop((kind, name), None) is not None


def test_a_missing_crd_is_reported_as_degraded_with_what_to_do() -> None:
    owner = {
        "apiVersion": "pxl.logos.dev/v1alpha1",
        "kind": "PXLProver",
        "metadata": {"name": "demo", "namespace": "pxl", "uid": "u-1", "generation": 1},
        "spec": {"monitoring": {"podMonitor": True}},
    }
    kube = ClusterWithoutCRDs(owner)
    reconciler = Reconciler(kube, warn=lambda *_: None)  # type: ignore[arg-type]
    reconciler.reconcile("pxl", "demo")
    status = kube.objects[("PXLProver", "demo")]["status"]
    degraded = {c["type"]: c for c in status["conditions"]}["Degraded"]
    assert (degraded["status"], degraded["reason"]) == ("True", "CRDNotInstalled")
    assert "spec.monitoring.podMonitor" in degraded["message"]
    assert ("Deployment", "demo") in kube.objects, "the fleet itself is still built"
    # even degraded, the scale subresource can read the pods' selector
    assert status["selector"] == "app.kubernetes.io/name=pxl-prover,pxl.logos.dev/prover=demo"


def test_prover_chart_service_monitor_is_valid_and_scrapes_as_the_alerts_expect() -> None:
    values = {"serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}}
    rendered = render(PROVER_CHART, values)
    (monitor,) = [m for m in rendered if m["kind"] == "ServiceMonitor"]
    assert_valid(monitor)
    (service,) = [m for m in rendered if m["kind"] == "Service"]
    spec = monitor["spec"]
    assert service["metadata"]["labels"][spec["jobLabel"]] == monitoring.PROVER_JOB
    assert spec["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    (endpoint,) = spec["endpoints"]
    assert endpoint["port"] == service["spec"]["ports"][0]["name"]
    assert endpoint["honorLabels"] is True and endpoint["path"] == "/metrics"
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert not [m for m in render(PROVER_CHART) if m["kind"] == "ServiceMonitor"]


def test_operator_metrics_keep_one_condition_series_per_type_and_forget_deleted_provers() -> None:
    """A condition that changes reason replaces its series (a stale Degraded series would
    keep the alert firing), and a deleted PXLProver's series go away."""
    metrics = OperatorMetrics()

    def series() -> dict[tuple[str, str, str], float]:
        text = generate_latest(metrics.registry).decode()
        found = {}
        for family in text_string_to_metric_families(text):
            if family.name == "pxl_operator_prover_condition":
                for sample in family.samples:
                    labels = sample.labels
                    found[(labels["prover"], labels["type"], labels["reason"])] = sample.value
        return found

    degraded = {"type": "Degraded", "status": "True", "reason": "InvalidSpec"}
    metrics.set_status("pxl", "demo", [degraded], {"replicas": 2, "readyReplicas": 1})
    assert series() == {("demo", "Degraded", "InvalidSpec"): 1.0}
    healthy = {"type": "Degraded", "status": "False", "reason": "AsExpected"}
    metrics.set_status("pxl", "demo", [healthy], {})
    assert series() == {("demo", "Degraded", "AsExpected"): 1.0}
    metrics.forget("pxl", "demo")
    assert series() == {}
    assert "pxl_operator_prover_replicas{" not in generate_latest(metrics.registry).decode()

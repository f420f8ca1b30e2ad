"""Monitoring, autoscaling on load, and network exposure of a PXLProver: pure builders.

Alert rules are written once here, over label matchers: `monitoring/alerts.yml` is
`alert_groups()` with no matchers (docker-compose, any Prometheus), and the
PrometheusRule the operator renders for a PXLProver is the same rules narrowed to its
pods and its status. The saturation query the autoscalers read is also defined once:
the prometheus-adapter rule shipped in the operator chart and the KEDA trigger both use
it, and tests run it against a real Prometheus scraping a prover under load.

Third-party kinds (PodMonitor, PrometheusRule from prometheus-operator, ScaledObject
from KEDA) are rendered only when the spec asks for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pxl_operator import manifests

Manifest = dict[str, Any]
Spec = Mapping[str, Any]

PROVER_JOB = "pxl-prover"  # the compose job name, and the job a PodMonitor's jobLabel gives
OPERATOR_JOB = "pxl-operator"
# The pod label `pxl.logos.dev/prover` as a Prometheus target label (podTargetLabels).
PROVER_TARGET_LABEL = "pxl_logos_dev_prover"
SATURATION_WINDOW = "1m"


# Kinds of other projects' CRDs, and the spec field that asks for each.
CUSTOM_KINDS = {
    "PodMonitor": ("monitoring.coreos.com", "spec.monitoring.podMonitor"),
    "PrometheusRule": ("monitoring.coreos.com", "spec.monitoring.prometheusRule"),
    "ScaledObject": ("keda.sh", "spec.autoscaling.saturation.scaler: keda"),
}


def missing_crd(kind: str) -> tuple[str, str]:
    """The Degraded reason and message when the cluster does not know `kind`."""
    group, field = CUSTOM_KINDS[kind]
    return (
        "CRDNotInstalled",
        f"{field} needs the {kind} kind of {group}, which this cluster does not serve; "
        "install its CRDs (prometheus-operator or KEDA) or turn the option off",
    )


def _selector(*matchers: str) -> str:
    joined = ",".join(m for m in matchers if m)
    return f"{{{joined}}}" if joined else ""


def prover_matchers(name: str, namespace: str) -> str:
    """Labels the PodMonitor gives one PXLProver's prover series."""
    return f'namespace="{namespace}",{PROVER_TARGET_LABEL}="{name}"'


def operator_matchers(name: str, namespace: str) -> str:
    """Labels of the operator's series about one PXLProver (scraped with honorLabels)."""
    return f'namespace="{namespace}",prover="{name}"'


def _rule(
    alert: str, expr: str, for_: str, severity: str, summary: str, description: str
) -> dict[str, Any]:
    return {
        "alert": alert,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity},
        "annotations": {"summary": summary, "description": description},
    }


def prover_alerts(matchers: str = "") -> list[dict[str, Any]]:
    """The guide's three alerts, plus what makes them meaningless or the fleet too small.

    Computed from counters and the latency histogram over a window, so every replica
    counts. `matchers` narrows every selector (empty: everything scraped).
    """

    def sel(*extra: str) -> str:
        return _selector(*extra, matchers)

    def rate(metric: str, window: str, *extra: str) -> str:
        return f"sum(rate({metric}{sel(*extra)}[{window}]))"

    hits, misses = "logos_pxl_cache_hits_total", "logos_pxl_cache_misses_total"
    prove = sel('endpoint="/prove"')
    job = sel(f'job="{PROVER_JOB}"')
    return [
        _rule(
            "PXLHighLatency",
            "histogram_quantile(0.95, sum by (le) (rate(logos_pxl_request_duration_seconds_bucket"
            f"{prove}[5m]))) > 0.3",
            "5m",
            "warning",
            "P95 /prove latency above 300 ms",
            "P95 latency of /prove is {{ $value | humanizeDuration }} over the last 5 minutes.",
        ),
        _rule(
            "PXLLowVerificationRatio",
            f"100 * {rate('logos_pxl_verified_total', '10m')}"
            f" / {rate('logos_pxl_goals_total', '10m')} < 95",
            "10m",
            "critical",
            "Fewer than 95 % of goals get a verified verdict",
            'Only {{ $value | printf "%.1f" }} % of goals that parsed were answered with a '
            "verified proof or countermodel (the rest hit a limit or failed a check).",
        ),
        _rule(
            "PXLLowCacheHitRate",
            f"100 * {rate(hits, '15m')} / ({rate(hits, '15m')} + {rate(misses, '15m')}) < 50",
            "15m",
            "info",
            "Cache hit rate below 50 %",
            'Cache hit rate is {{ $value | printf "%.1f" }} %; check PXL_CACHE_SIZE and '
            "PXL_CACHE_TTL.",
        ),
        _rule(
            "PXLProverDown",
            f"up{job} == 0",
            "2m",
            "critical",
            "Prometheus cannot scrape the prover",
            "{{ $labels.instance }} has not answered /metrics for 2 minutes.",
        ),
        _rule(
            "PXLNoCoqSession",
            f"logos_pxl_session_pool_total{sel()} == 0",
            "2m",
            "critical",
            "No live Coq session: the prover cannot answer goals",
            "{{ $labels.instance }} has had no live Coq session for 2 minutes.",
        ),
        _rule(
            "PXLSessionPoolSaturated",
            f"{saturation_query(matchers)} > 0.9",
            "10m",
            "warning",
            "The fleet's Coq sessions are saturated",
            "Busy plus waiting checks are {{ $value | humanizePercentage }} of the Coq "
            "sessions: requests queue. Raise autoscaling.maxReplicas or pool.size.",
        ),
    ]


def operator_alerts(matchers: str = "") -> list[dict[str, Any]]:
    """Alerts on what the operator reports about each PXLProver (its status, mirrored)."""

    def cond(*extra: str) -> str:
        return f"pxl_operator_prover_condition{_selector(*extra, matchers)}"

    who = "PXLProver {{ $labels.namespace }}/{{ $labels.prover }}"
    progressing = cond('type="Progressing"', 'status="True"')
    degraded = cond('type="Degraded"', 'status="True"', 'reason!="RolledBack"')
    rolled_back = cond('type="Degraded"', 'status="True"', 'reason="RolledBack"')
    return [
        _rule(
            "PXLProverPodsNotReady",
            f"pxl_operator_prover_ready_replicas{_selector(matchers)}"
            f" < pxl_operator_prover_replicas{_selector(matchers)}",
            "10m",
            "warning",
            "Prover pods are not ready",
            f"{who} has had fewer ready pods than pods for 10 minutes.",
        ),
        _rule(
            "PXLRolloutStalled",
            f"{progressing} == 1",
            "15m",
            "warning",
            "A rollout has not completed in 15 minutes",
            f"{who} has been rolling out for 15 minutes ({{{{ $labels.reason }}}}).",
        ),
        _rule(
            "PXLProverDegraded",
            f"{degraded} == 1",
            "5m",
            "critical",
            "A PXLProver is Degraded",
            f"{who} is Degraded ({{{{ $labels.reason }}}}); kubectl describe it for what to fix.",
        ),
        _rule(
            "PXLProverRolledBack",
            f"{rolled_back} == 1",
            "1m",
            "warning",
            "A rollout was rolled back",
            f"{who} rolled back a rollout that did not become ready; it serves the last good "
            "kernel until the next change.",
        ),
    ]


def alert_groups() -> list[dict[str, Any]]:
    """`monitoring/alerts.yml`: every alert, over everything Prometheus scrapes."""
    operator_down = _rule(
        "PXLOperatorDown",
        f'up{{job="{OPERATOR_JOB}"}} == 0',
        "5m",
        "warning",
        "Prometheus cannot scrape pxl-operator",
        "No PXLProver is reconciled: kernel changes do not roll and nothing rolls back.",
    )
    return [
        {"name": "pxl-prover", "rules": prover_alerts()},
        {"name": "pxl-operator", "rules": [*operator_alerts(), operator_down]},
    ]


def saturation_query(matchers: str = "", by: str = "") -> str:
    """Busy plus waiting checks per Coq session, averaged over a minute.

    Below 1 some sessions idle; above 1 requests queue for a session. `by` keeps one
    value per group (prometheus-adapter: per pod, an HPA averages them); without it, one
    value for the whole fleet (KEDA's `Value` target scales replicas by value / target).
    """
    group = f" by ({by})" if by else ""
    busy = f"avg_over_time(logos_pxl_session_pool_busy{_selector(matchers)}[{SATURATION_WINDOW}])"
    waiting_sel = _selector(matchers)  # every queue: for admission and for a session
    waiting = f"avg_over_time(logos_pxl_queue_waiting{waiting_sel}[{SATURATION_WINDOW}])"
    size = f"logos_pxl_session_pool_max{_selector(matchers)}"
    return f"(sum{group} ({busy}) + sum{group} ({waiting})) / sum{group} ({size})"


def prometheus_adapter_rule() -> dict[str, Any]:
    """The prometheus-adapter rule serving `pxl_session_saturation` per pod."""
    return {
        "seriesQuery": 'logos_pxl_session_pool_busy{namespace!="",pod!=""}',
        "resources": {
            "overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}
        },
        "name": {"matches": "^logos_pxl_session_pool_busy$", "as": manifests.SATURATION_METRIC},
        "metricsQuery": saturation_query("<<.LabelMatchers>>", by="<<.GroupBy>>"),
    }


# --- builders ---------------------------------------------------------------------------


def _metadata(name: str, namespace: str, extra_labels: Mapping[str, str] | None = None) -> dict:
    return {
        "name": name,
        "namespace": namespace,
        "labels": {**manifests.labels(name), **dict(extra_labels or {})},
    }


def pod_monitor(name: str, namespace: str, spec: Spec) -> Manifest:
    """Scrape every prover pod of this PXLProver.

    `jobLabel` makes `job="pxl-prover"` (the pods' `app.kubernetes.io/name`), as the
    compose job, so the same rules match; `podTargetLabels` adds which PXLProver a series
    belongs to; `honorLabels` keeps the prover's own `endpoint` label (the HTTP route),
    which Prometheus would otherwise rename because the scrape sets `endpoint` to the port.
    """
    settings = spec["monitoring"]
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": _metadata(name, namespace, settings["labels"]),
        "spec": {
            "jobLabel": "app.kubernetes.io/name",
            "podTargetLabels": [manifests.PROVER_LABEL],
            "selector": {"matchLabels": manifests.selector_labels(name)},
            "namespaceSelector": {"matchNames": [namespace]},
            "podMetricsEndpoints": [
                {
                    "port": "http",
                    "path": "/metrics",
                    "interval": settings["interval"],
                    "honorLabels": True,
                }
            ],
        },
    }


def prometheus_rule(name: str, namespace: str, spec: Spec) -> Manifest:
    """The alerts of monitoring/alerts.yml, narrowed to this PXLProver's pods and status."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": _metadata(name, namespace, spec["monitoring"]["labels"]),
        "spec": {
            "groups": [
                {
                    "name": f"pxl-prover.{namespace}.{name}",
                    "rules": prover_alerts(prover_matchers(name, namespace)),
                },
                {
                    "name": f"pxl-operator.{namespace}.{name}",
                    "rules": operator_alerts(operator_matchers(name, namespace)),
                },
            ]
        },
    }


def scaled_object(name: str, namespace: str, spec: Spec) -> Manifest:
    """KEDA scales the Deployment on the fleet's saturation, read from Prometheus."""
    scaling = spec["autoscaling"]
    saturation = scaling["saturation"]
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": _metadata(name, namespace),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicaCount": scaling["minReplicas"],
            "maxReplicaCount": scaling["maxReplicas"],
            "pollingInterval": manifests.SCALE_UP_PERIOD_S,
            "advanced": {
                "horizontalPodAutoscalerConfig": {"behavior": manifests.scaling_behavior(spec)}
            },
            "triggers": [
                {
                    "type": "prometheus",
                    "name": "saturation",
                    "metricType": "Value",
                    "metadata": {
                        "serverAddress": saturation["prometheusAddress"],
                        "query": saturation_query(prover_matchers(name, namespace)),
                        "threshold": f"{saturation['targetPercent'] / 100:g}",
                        "ignoreNullValues": "false",
                    },
                }
            ],
        },
    }


def network_policy(name: str, namespace: str, spec: Spec) -> Manifest:
    """Admit only the ingress controller (when there is an Ingress) and Prometheus, and
    only on the HTTP port; everything else in the cluster is refused."""
    policy = spec["networkPolicy"]
    peers = [policy["prometheus"]]
    if spec["ingress"]["enabled"]:
        peers.insert(0, policy["ingressController"])
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _metadata(name, namespace),
        "spec": {
            "podSelector": {"matchLabels": manifests.selector_labels(name)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [dict(peer) for peer in peers],
                    "ports": [{"protocol": "TCP", "port": manifests.HTTP_PORT}],
                }
            ],
        },
    }


def uses_keda(spec: Spec) -> bool:
    return bool(spec["autoscaling"]["enabled"]) and not manifests.uses_hpa(spec)


def optional_kinds(spec: Spec) -> dict[str, bool]:
    """This module's children and whether the spec wants them (absent ones get deleted)."""
    return {
        "PodMonitor": bool(spec["monitoring"]["podMonitor"]),
        "PrometheusRule": bool(spec["monitoring"]["prometheusRule"]),
        "ScaledObject": uses_keda(spec),
        "NetworkPolicy": bool(spec["networkPolicy"]["enabled"]),
    }


def children(name: str, namespace: str, spec: Spec) -> list[Manifest]:
    """The monitoring, KEDA and NetworkPolicy children the spec asks for, in apply order."""
    wanted = optional_kinds(spec)
    builders = (
        ("NetworkPolicy", network_policy),
        ("PodMonitor", pod_monitor),
        ("PrometheusRule", prometheus_rule),
        ("ScaledObject", scaled_object),
    )
    return [build(name, namespace, spec) for kind, build in builders if wanted[kind]]

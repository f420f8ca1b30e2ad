"""A PXLProver spec with its defaults applied, or a list of what to fix.

The API server applies the CRD's defaults and validation, but the operator must not
trust that alone: `pxl-operator render` runs without a cluster, and a CRD installed
from an older release may let through what this code cannot build. So the same
defaults live here (a test keeps them equal to the CRD's), and every problem is
reported at once with the field path and what a valid value looks like.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

DEFAULT_IMAGE = "ghcr.io/logos-pxl/pxl-prover:0.1.0"
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
SCALING_SIGNALS = ("cpu", "saturation")
SATURATION_SCALERS = ("prometheus-adapter", "keda")
SCRAPE_INTERVAL = re.compile(r"^([0-9]+(ms|s|m|h))+$")

# Mirrors the `default:` values of crds/pxlprover.yaml (tests/test_operator_crd.py checks it).
DEFAULTS: dict[str, Any] = {
    "image": DEFAULT_IMAGE,
    "imagePullPolicy": "IfNotPresent",
    "replicas": 2,
    "autoscaling": {
        "enabled": False,
        "minReplicas": 2,
        "maxReplicas": 10,
        "targetCPUUtilizationPercentage": 70,
        "signal": "cpu",
        "scaleDownStabilizationSeconds": 300,
        "saturation": {"targetPercent": 70, "scaler": "prometheus-adapter"},
    },
    "pool": {"size": 5, "cacheTTLSeconds": 300, "cacheSize": 1000},
    "kernel": {},
    "auth": {"enabled": False},
    "ingress": {"enabled": False, "rateLimitRPS": 20},
    "resources": {},
    "rollout": {"progressDeadlineSeconds": 600, "maxSurge": "25%", "autoRollback": True},
    "podDisruptionBudget": {"minAvailable": 1},
    "logLevel": "INFO",
    "monitoring": {"podMonitor": False, "prometheusRule": False, "interval": "30s", "labels": {}},
    "networkPolicy": {"enabled": False},
}
SECRET_REF_DEFAULTS: dict[str, Any] = {"key": "hmac-key"}

# The schema's shape: which keys each object may hold (None = free-form, checked elsewhere).
KNOWN_FIELDS: dict[str, Any] = {
    "image": None,
    "imagePullPolicy": None,
    "replicas": None,
    "autoscaling": {
        "enabled": None,
        "minReplicas": None,
        "maxReplicas": None,
        "targetCPUUtilizationPercentage": None,
        "targetMemoryUtilizationPercentage": None,
        "signal": None,
        "scaleDownStabilizationSeconds": None,
        "saturation": {"targetPercent": None, "scaler": None, "prometheusAddress": None},
    },
    "pool": {"size": None, "cacheTTLSeconds": None, "cacheSize": None},
    "kernel": {"configMapRef": {"name": None}, "expectedHash": None},
    "auth": {"enabled": None, "secretRef": {"name": None, "key": None}},
    "ingress": {
        "enabled": None,
        "host": None,
        "className": None,
        "tlsSecretName": None,
        "rateLimitRPS": None,
    },
    "resources": {"limits": None, "requests": None, "claims": None},
    "rollout": {"progressDeadlineSeconds": None, "maxSurge": None, "autoRollback": None},
    "podDisruptionBudget": {"minAvailable": None},
    "logLevel": None,
    "monitoring": {"podMonitor": None, "prometheusRule": None, "interval": None, "labels": None},
    "networkPolicy": {
        "enabled": None,
        "ingressController": {"namespaceSelector": None, "podSelector": None},
        "prometheus": {"namespaceSelector": None, "podSelector": None},
    },
}

# Where the pods run, passed through to the pod template as the user wrote them (the
# kinds are core/v1 PodSpec fields; checked by _check_placement, schema in the CRD).
PLACEMENT_FIELDS = (
    "nodeSelector",
    "tolerations",
    "affinity",
    "topologySpreadConstraints",
    "imagePullSecrets",
    "podAnnotations",
    "podLabels",
    "priorityClassName",
    "serviceAccountName",
)
KNOWN_FIELDS.update(dict.fromkeys(PLACEMENT_FIELDS))
# Pod labels the operator sets (its Deployment's selector and ownership): not overridable.
RESERVED_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/component",
)
RESERVED_PREFIX = "pxl.logos.dev/"
TOLERATION_FIELDS = ("key", "operator", "value", "effect", "tolerationSeconds")
SPREAD_FIELDS = (
    "maxSkew",
    "topologyKey",
    "whenUnsatisfiable",
    "labelSelector",
    "minDomains",
    "nodeAffinityPolicy",
    "nodeTaintsPolicy",
    "matchLabelKeys",
)

DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
HOSTNAME = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
KERNEL_HASH = re.compile(r"^[0-9a-f]{64}$")
PERCENT = re.compile(r"^(\d+)%$")
QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?$")


class SpecError(ValueError):
    """The spec cannot be built; `problems` says, per field, what to fix."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _merge_defaults(defaults: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(dict(defaults))
    for key, value in given.items():
        if value is None:
            continue  # JSON null: the API server drops it and applies the default
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge_defaults(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def with_defaults(spec: Mapping[str, Any] | None) -> dict[str, Any]:
    """The spec as the API server would store it after applying the CRD's defaults."""
    merged = _merge_defaults(DEFAULTS, spec or {})
    secret_ref = merged["auth"].get("secretRef")
    if isinstance(secret_ref, Mapping):
        merged["auth"]["secretRef"] = _merge_defaults(SECRET_REF_DEFAULTS, secret_ref)
    return merged


def _unknown_fields(value: Any, shape: Mapping[str, Any], path: str) -> list[str]:
    if not isinstance(value, Mapping):
        return [f"{path}: must be an object"]
    problems = []
    for key, item in value.items():
        if key not in shape:
            problems.append(f"{path}.{key}: unknown field (known: {', '.join(shape)})")
        elif isinstance(shape[key], Mapping) and item is not None:
            problems.extend(_unknown_fields(item, shape[key], f"{path}.{key}"))
    return problems


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Checker:
    """Collects problems so that one round trip tells the user everything to fix."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"spec.{path}: {message}")

    def integer(self, path: str, value: Any, minimum: int, maximum: int | None = None) -> None:
        if not _is_int(value) or value < minimum or (maximum is not None and value > maximum):
            upper = f" and at most {maximum}" if maximum is not None else ""
            self.fail(path, f"must be an integer of at least {minimum}{upper}, got {value!r}")

    def boolean(self, path: str, value: Any) -> None:
        if not isinstance(value, bool):
            self.fail(path, f"must be true or false, got {value!r}")

    def choice(self, path: str, value: Any, choices: tuple[str, ...]) -> None:
        if value not in choices:
            self.fail(path, f"must be one of {', '.join(choices)}, got {value!r}")

    def pattern(self, path: str, value: Any, regex: re.Pattern[str], what: str) -> None:
        if not isinstance(value, str) or not regex.match(value):
            self.fail(path, f"must be {what}, got {value!r}")

    def int_or_percent(self, path: str, value: Any, minimum: int) -> None:
        match = PERCENT.match(value) if isinstance(value, str) else None
        number = value if _is_int(value) else int(match.group(1)) if match else None
        if number is None or number < minimum or (match is not None and number > 100):
            self.fail(path, f"must be an integer or a percentage like '25%' of at least {minimum}")


def _check_resources(check: _Checker, resources: Any) -> None:
    if not isinstance(resources, Mapping):
        return
    claims = resources.get("claims")
    if claims is not None and not (
        isinstance(claims, list)
        and all(isinstance(c, Mapping) and isinstance(c.get("name"), str) for c in claims)
    ):
        check.fail("resources.claims", "must be a list of {name: <resource claim>}")
    for part in ("limits", "requests"):
        amounts = resources.get(part)
        if amounts is None:
            continue
        if not isinstance(amounts, Mapping):
            check.fail(f"resources.{part}", "must map resource names to quantities")
            continue
        for resource, quantity in amounts.items():
            text = str(quantity) if _is_int(quantity) or isinstance(quantity, float) else quantity
            check.pattern(
                f"resources.{part}.{resource}", text, QUANTITY, "a quantity like 500m or 1Gi"
            )


def _check_scaling_signal(check: _Checker, scaling: Mapping[str, Any]) -> None:
    check.choice("autoscaling.signal", scaling["signal"], SCALING_SIGNALS)
    check.integer(
        "autoscaling.scaleDownStabilizationSeconds",
        scaling["scaleDownStabilizationSeconds"],
        0,
        3600,
    )
    saturation = scaling["saturation"]
    if not isinstance(saturation, Mapping):
        check.fail("autoscaling.saturation", "must be an object")
        return
    check.integer("autoscaling.saturation.targetPercent", saturation["targetPercent"], 1, 1000)
    check.choice("autoscaling.saturation.scaler", saturation["scaler"], SATURATION_SCALERS)
    address = saturation.get("prometheusAddress")
    if address is not None and not (
        isinstance(address, str) and address.startswith(("http://", "https://"))
    ):
        check.fail(
            "autoscaling.saturation.prometheusAddress", f"must be an http(s) URL, got {address!r}"
        )
    if saturation["scaler"] == "keda" and not address:
        check.fail(
            "autoscaling.saturation.prometheusAddress",
            "is required with scaler keda (the Prometheus KEDA queries, e.g. "
            "http://prometheus-operated.monitoring.svc:9090)",
        )


def _check_label_map(check: _Checker, path: str, value: Any) -> None:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        check.fail(path, "must map label names to string values")


def _check_peer(check: _Checker, path: str, peer: Any) -> None:
    """A NetworkPolicy peer: a namespace and/or pod label selector."""
    if not isinstance(peer, Mapping) or not peer:
        check.fail(path, "needs a namespaceSelector and/or a podSelector")
        return
    for field in ("namespaceSelector", "podSelector"):
        selector = peer.get(field)
        if selector is None:
            continue
        if not isinstance(selector, Mapping) or set(selector) - {"matchLabels", "matchExpressions"}:
            check.fail(
                f"{path}.{field}", "must be a label selector (matchLabels, matchExpressions)"
            )
        elif selector.get("matchLabels") is not None:
            _check_label_map(check, f"{path}.{field}.matchLabels", selector["matchLabels"])


def _check_monitoring(
    check: _Checker,
    monitoring: Mapping[str, Any],
    policy: Mapping[str, Any],
    ingress: Mapping[str, Any],
) -> None:
    check.boolean("monitoring.podMonitor", monitoring["podMonitor"])
    check.boolean("monitoring.prometheusRule", monitoring["prometheusRule"])
    check.pattern(
        "monitoring.interval", monitoring["interval"], SCRAPE_INTERVAL, "a duration like 30s"
    )
    _check_label_map(check, "monitoring.labels", monitoring["labels"])
    check.boolean("networkPolicy.enabled", policy["enabled"])
    if policy["enabled"] is not True:
        return
    _check_peer(check, "networkPolicy.prometheus", policy.get("prometheus"))
    if ingress["enabled"] is True:
        _check_peer(check, "networkPolicy.ingressController", policy.get("ingressController"))


def _is_string_map(value: Any) -> bool:
    return isinstance(value, Mapping) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def _check_objects(
    check: _Checker, path: str, value: Any, known: tuple[str, ...], required: tuple[str, ...] = ()
) -> list[Mapping[str, Any]]:
    """A list of objects with only `known` keys and every `required` one; returns the list."""
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        check.fail(path, "must be a list of objects")
        return []
    for i, item in enumerate(value):
        for key in item:
            if key not in known:
                check.fail(f"{path}[{i}].{key}", f"unknown field (known: {', '.join(known)})")
        for key in required:
            if key not in item:
                check.fail(f"{path}[{i}].{key}", "is required")
    return list(value)


def _check_placement(check: _Checker, s: Mapping[str, Any]) -> None:
    """Placement fields have the shape of the PodSpec fields they become."""
    for field in ("nodeSelector", "podAnnotations", "podLabels"):
        if s.get(field) is not None and not _is_string_map(s[field]):
            check.fail(field, "must map strings to strings")
    labels, annotations = s.get("podLabels"), s.get("podAnnotations")
    for key in labels if isinstance(labels, Mapping) else {}:
        if key in RESERVED_LABELS or str(key).startswith(RESERVED_PREFIX):
            check.fail(f"podLabels.{key}", "is set by the operator (it selects the pods)")
    for key in annotations if isinstance(annotations, Mapping) else {}:
        if str(key).startswith(RESERVED_PREFIX):
            check.fail(f"podAnnotations.{key}", "is set by the operator")
    for field in ("priorityClassName", "serviceAccountName"):
        if s.get(field) is not None:
            check.pattern(field, s[field], DNS_SUBDOMAIN, "a resource name")
    if s.get("affinity") is not None:
        kinds = ("nodeAffinity", "podAffinity", "podAntiAffinity")
        if not isinstance(s["affinity"], Mapping) or set(s["affinity"]) - set(kinds):
            check.fail("affinity", f"must be an object with only {', '.join(kinds)}")
    if s.get("tolerations") is not None:
        for i, item in enumerate(
            _check_objects(check, "tolerations", s["tolerations"], TOLERATION_FIELDS)
        ):
            if item.get("operator") not in (None, "Exists", "Equal"):
                check.fail(f"tolerations[{i}].operator", "must be Exists or Equal")
            for key in ("key", "value"):
                if item.get(key) is not None and not isinstance(item[key], str):
                    check.fail(f"tolerations[{i}].{key}", "must be a string")
            if item.get("tolerationSeconds") is not None:
                check.integer(f"tolerations[{i}].tolerationSeconds", item["tolerationSeconds"], 0)
            if item.get("effect") not in (None, "NoSchedule", "PreferNoSchedule", "NoExecute"):
                check.fail(
                    f"tolerations[{i}].effect", "must be NoSchedule, PreferNoSchedule or NoExecute"
                )
    if s.get("imagePullSecrets") is not None:
        for i, item in enumerate(
            _check_objects(check, "imagePullSecrets", s["imagePullSecrets"], ("name",), ("name",))
        ):
            check.pattern(
                f"imagePullSecrets[{i}].name", item.get("name"), DNS_SUBDOMAIN, "a Secret name"
            )
    if s.get("topologySpreadConstraints") is not None:
        spread = _check_objects(
            check,
            "topologySpreadConstraints",
            s["topologySpreadConstraints"],
            SPREAD_FIELDS,
            ("maxSkew", "topologyKey", "whenUnsatisfiable"),
        )
        for i, item in enumerate(spread):
            path = f"topologySpreadConstraints[{i}]"
            if "maxSkew" in item:
                check.integer(f"{path}.maxSkew", item["maxSkew"], 1)
            if "whenUnsatisfiable" in item:
                check.choice(
                    f"{path}.whenUnsatisfiable",
                    item["whenUnsatisfiable"],
                    ("DoNotSchedule", "ScheduleAnyway"),
                )
            if "topologyKey" in item and not (
                isinstance(item["topologyKey"], str) and item["topologyKey"]
            ):
                check.fail(
                    f"{path}.topologyKey",
                    "must name a node label, e.g. topology.kubernetes.io/zone",
                )


def resolve(name: str, spec: Mapping[str, Any] | None) -> dict[str, Any]:
    """The spec with defaults applied, validated; raises SpecError listing every problem."""
    check = _Checker()
    if not isinstance(name, str) or not DNS_LABEL.match(name):
        check.problems.append(
            f"metadata.name: {name!r} must be a DNS label (lowercase letters, digits and '-', "
            "starting with a letter, at most 63 characters) because it names the Service"
        )
    if spec is not None and not isinstance(spec, Mapping):
        raise SpecError(["spec: must be an object"])
    unknown = _unknown_fields(spec or {}, KNOWN_FIELDS, "spec")
    if unknown:
        raise SpecError(check.problems + unknown)
    s = with_defaults(spec)

    if not isinstance(s["image"], str) or not s["image"].strip():
        check.fail("image", "must name a container image, e.g. " + DEFAULT_IMAGE)
    check.choice("imagePullPolicy", s["imagePullPolicy"], PULL_POLICIES)
    check.integer("replicas", s["replicas"], 1)
    check.choice("logLevel", s["logLevel"], LOG_LEVELS)

    scaling = s["autoscaling"]
    check.boolean("autoscaling.enabled", scaling["enabled"])
    check.integer("autoscaling.minReplicas", scaling["minReplicas"], 1)
    check.integer("autoscaling.maxReplicas", scaling["maxReplicas"], 1)
    if (
        _is_int(scaling["minReplicas"])
        and _is_int(scaling["maxReplicas"])
        and scaling["minReplicas"] > scaling["maxReplicas"]
    ):
        check.fail(
            "autoscaling",
            f"minReplicas ({scaling['minReplicas']}) must not exceed "
            f"maxReplicas ({scaling['maxReplicas']})",
        )
    check.integer(
        "autoscaling.targetCPUUtilizationPercentage",
        scaling["targetCPUUtilizationPercentage"],
        1,
    )
    if scaling.get("targetMemoryUtilizationPercentage") is not None:
        check.integer(
            "autoscaling.targetMemoryUtilizationPercentage",
            scaling["targetMemoryUtilizationPercentage"],
            1,
        )

    _check_scaling_signal(check, scaling)
    _check_monitoring(check, s["monitoring"], s["networkPolicy"], s["ingress"])

    pool = s["pool"]
    check.integer("pool.size", pool["size"], 1)
    check.integer("pool.cacheTTLSeconds", pool["cacheTTLSeconds"], 0)
    check.integer("pool.cacheSize", pool["cacheSize"], 0)

    kernel = s["kernel"]
    if kernel.get("configMapRef") is not None:
        check.pattern(
            "kernel.configMapRef.name",
            kernel["configMapRef"].get("name"),
            DNS_SUBDOMAIN,
            "the name of a ConfigMap in this namespace",
        )
    if kernel.get("expectedHash") is not None:
        check.pattern(
            "kernel.expectedHash",
            kernel["expectedHash"],
            KERNEL_HASH,
            "64 lowercase hex digits (the kernel hash `pxl-prover` reports)",
        )

    auth = s["auth"]
    check.boolean("auth.enabled", auth["enabled"])
    if auth.get("secretRef") is not None:
        check.pattern(
            "auth.secretRef.name",
            auth["secretRef"].get("name"),
            DNS_SUBDOMAIN,
            "the name of a Secret in this namespace",
        )
        check.pattern(
            "auth.secretRef.key", auth["secretRef"]["key"], SECRET_KEY, "a Secret data key"
        )

    ingress = s["ingress"]
    check.boolean("ingress.enabled", ingress["enabled"])
    if ingress["enabled"] is True and not ingress.get("host"):
        check.fail("ingress.host", "is required when ingress.enabled is true")
    elif ingress.get("host") is not None:
        check.pattern("ingress.host", ingress["host"], HOSTNAME, "a DNS host name")
    for field in ("className", "tlsSecretName"):
        if ingress.get(field) is not None:
            check.pattern(f"ingress.{field}", ingress[field], DNS_SUBDOMAIN, "a resource name")
    check.integer("ingress.rateLimitRPS", ingress["rateLimitRPS"], 1)

    _check_resources(check, s["resources"])

    rollout = s["rollout"]
    check.integer("rollout.progressDeadlineSeconds", rollout["progressDeadlineSeconds"], 1)
    # maxUnavailable is 0, and Kubernetes rejects maxSurge 0 with it: nothing could roll.
    check.int_or_percent("rollout.maxSurge", rollout["maxSurge"], 1)
    check.boolean("rollout.autoRollback", rollout["autoRollback"])
    check.int_or_percent(
        "podDisruptionBudget.minAvailable", s["podDisruptionBudget"]["minAvailable"], 0
    )

    _check_placement(check, s)
    if check.problems:
        raise SpecError(check.problems)
    return s

"""Every child of a PXLProver, built by pure functions of (name, namespace, spec, kernel hash).

Pure builders make `pxl-operator render` show exactly what the operator would apply,
and make the operator idempotent: the same inputs always give the same manifests, so
applying them again changes nothing. Owner references are added by the caller, who
knows the owner's uid; parent labels (e.g. Argo CD's tracking labels) are never copied.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from pxl_operator.kernel import KERNEL_MOUNT_PATH, configmap_name

GROUP = "pxl.logos.dev"
KERNEL_HASH_ANNOTATION = f"{GROUP}/kernel-hash"
TEMPLATE_HASH_ANNOTATION = f"{GROUP}/template-hash"
PROVER_LABEL = f"{GROUP}/prover"
MANAGED_BY = "pxl-operator"
HTTP_PORT = 8088
CACHE_DIR = "/var/cache/pxl"
RUN_AS_USER = 10001
# Longer than the prover's default shutdown grace (PXL_SHUTDOWN_GRACE: its 60 s maximum
# request timeout + 12 s), so the kubelet never kills a pod still finishing an answer.
TERMINATION_GRACE_S = 90
DEFAULT_RESOURCES: dict[str, Any] = {
    "requests": {"cpu": "500m", "memory": "512Mi"},
    "limits": {"memory": "2Gi"},
}
RATE_LIMIT_ANNOTATION = "nginx.ingress.kubernetes.io/limit-rps"
# The custom metric the operator chart's prometheus-adapter rule serves per pod.
SATURATION_METRIC = "pxl_session_saturation"
# What the Ingress exposes: the API; /metrics, /ready, /health stay in the cluster.
API_PATHS = ("/prove", "/prove/batch")
SCALE_UP_PERIOD_S = 15
PLAYGROUND_PATHS = (("/", "Exact"), ("/playground", "Prefix"))

Manifest = dict[str, Any]
Spec = Mapping[str, Any]


def selector_labels(name: str) -> dict[str, str]:
    """Labels that pick this prover's pods (immutable in a Deployment: keep them minimal)."""
    return {"app.kubernetes.io/name": "pxl-prover", PROVER_LABEL: name}


def labels(name: str) -> dict[str, str]:
    """Labels of every child; `app.kubernetes.io/instance` is left to GitOps tools."""
    return {
        **selector_labels(name),
        "app.kubernetes.io/component": "prover",
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def _metadata(name: str, namespace: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": labels(name), **extra}


def hmac_secret_name(name: str, spec: Spec) -> str:
    """The Secret the pods read their HMAC key from: the user's, or the generated one."""
    ref = spec["auth"].get("secretRef")
    return ref["name"] if ref else f"{name}-hmac"


def hmac_secret_key(spec: Spec) -> str:
    ref = spec["auth"].get("secretRef")
    return ref["key"] if ref else "hmac-key"


def generates_hmac_secret(spec: Spec) -> bool:
    """True when the operator owns the HMAC Secret (auth on and no secretRef given)."""
    return bool(spec["auth"]["enabled"]) and not spec["auth"].get("secretRef")


def hmac_secret(name: str, namespace: str, spec: Spec, key_value: str) -> Manifest:
    """The generated HMAC Secret; created once, never patched (the key must not change)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _metadata(hmac_secret_name(name, spec), namespace),
        "type": "Opaque",
        "data": {hmac_secret_key(spec): base64.b64encode(key_value.encode()).decode()},
    }


def _env(name: str, spec: Spec, kernel_hash: str | None) -> list[dict[str, Any]]:
    pool = spec["pool"]
    env: list[dict[str, Any]] = [
        {"name": "PXL_SERVER_PORT", "value": str(HTTP_PORT)},
        {"name": "PXL_POOL_SIZE", "value": str(pool["size"])},
        {"name": "PXL_CACHE_TTL", "value": str(pool["cacheTTLSeconds"])},
        {"name": "PXL_CACHE_SIZE", "value": str(pool["cacheSize"])},
        {"name": "PXL_CACHE_DIR", "value": CACHE_DIR},
        {"name": "LOG_LEVEL", "value": spec["logLevel"]},
        {"name": "ENABLE_HMAC_AUTH", "value": "true" if spec["auth"]["enabled"] else "false"},
    ]
    if spec["auth"]["enabled"]:
        env.append(
            {
                "name": "HMAC_SECRET_KEY",
                "valueFrom": {
                    "secretKeyRef": {
                        "name": hmac_secret_name(name, spec),
                        "key": hmac_secret_key(spec),
                    }
                },
            }
        )
    if kernel_hash:
        env.append({"name": "PXL_EXPECTED_KERNEL_HASH", "value": kernel_hash})
    if configmap_name(spec):
        env.append({"name": "PXL_KERNEL_DIR", "value": KERNEL_MOUNT_PATH})
    return env


def kernel_copy_name(name: str, kernel_hash: str) -> str:
    """The operator's immutable copy of a kernel ConfigMap, named by its content's hash."""
    return f"{name}-kernel-{kernel_hash}"


def kernel_copy_labels(name: str) -> dict[str, str]:
    return {**labels(name), "app.kubernetes.io/component": "kernel"}


def kernel_configmap(
    name: str, namespace: str, source: Mapping[str, Any], kernel_hash: str
) -> Manifest:
    """An immutable copy of the `.v` keys of the user's kernel ConfigMap.

    Pods mount the copy, never the user's ConfigMap: after a rollback, a restarted or
    added pod of the restored template still reads the old kernel's files.
    """
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(
            kernel_copy_name(name, kernel_hash),
            namespace,
            annotations={KERNEL_HASH_ANNOTATION: kernel_hash},
        ),
        "immutable": True,
    }
    body["metadata"]["labels"] = kernel_copy_labels(name)
    for field in ("data", "binaryData"):
        files = {k: v for k, v in (source.get(field) or {}).items() if k.endswith(".v")}
        if files:
            body[field] = files
    return body


def _kernel_volume_source(name: str, spec: Spec, kernel_hash: str | None) -> str | None:
    """The ConfigMap pods mount: the hash-named copy (the user's own only when rendering
    without knowing the hash)."""
    ref = configmap_name(spec)
    if not ref:
        return None
    return kernel_copy_name(name, kernel_hash) if kernel_hash else ref


def _volumes(
    name: str, spec: Spec, kernel_hash: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    volumes: list[dict[str, Any]] = [
        {"name": "cache", "emptyDir": {}},
        {"name": "tmp", "emptyDir": {}},
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "cache", "mountPath": CACHE_DIR},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    ref = _kernel_volume_source(name, spec, kernel_hash)
    if ref:
        volumes.append({"name": "kernel", "configMap": {"name": ref}})
        mounts.append({"name": "kernel", "mountPath": KERNEL_MOUNT_PATH, "readOnly": True})
    return volumes, mounts


def _probe(path: str, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    }


def template_hash(template: Mapping[str, Any]) -> str:
    """A stable identity of a pod template as the operator built it."""
    canonical = json.dumps(template, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def pod_template(name: str, spec: Spec, kernel_hash: str | None) -> Manifest:
    """The pod template; its kernel-hash annotation is what makes a kernel change roll.

    It also carries its own identity (`pxl.logos.dev/template-hash`), so the operator can
    tell which template a Deployment runs even after the API server has added defaults
    and normalised quantities (`cpu: 0.5` comes back as `500m`).
    """
    template = _pod_template(name, spec, kernel_hash)
    _place(template, name, spec)
    template["metadata"]["annotations"][TEMPLATE_HASH_ANNOTATION] = template_hash(template)
    return template


# PodSpec fields a spec passes through as written.
PASSED_THROUGH = (
    "nodeSelector",
    "tolerations",
    "affinity",
    "imagePullSecrets",
    "priorityClassName",
    "serviceAccountName",
)


def default_spread(name: str) -> list[dict[str, Any]]:
    """Spread the pods across zones, then hosts, as far as the cluster allows (never
    blocks scheduling: a one-zone or one-node cluster still runs every pod)."""
    return [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": selector_labels(name)},
        }
        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
    ]


def _place(template: Manifest, name: str, spec: Spec) -> None:
    """Placement fields into the pod template; the operator's own labels and
    annotations win over podLabels/podAnnotations (the selector must keep matching)."""
    metadata, pod = template["metadata"], template["spec"]
    if spec.get("podLabels"):
        metadata["labels"] = {**spec["podLabels"], **metadata["labels"]}
    if spec.get("podAnnotations"):
        metadata["annotations"] = {**spec["podAnnotations"], **metadata["annotations"]}
    for field in PASSED_THROUGH:
        if spec.get(field):
            pod[field] = copy.deepcopy(spec[field])
    spread = spec.get("topologySpreadConstraints")
    if spread is None:
        pod["topologySpreadConstraints"] = default_spread(name)
    elif spread:
        pod["topologySpreadConstraints"] = [
            {"labelSelector": {"matchLabels": selector_labels(name)}, **copy.deepcopy(c)}
            for c in spread
        ]


def disruption_floor(spec: Spec) -> int | str | None:
    """The PDB's minAvailable, lowered so one pod can always be evicted (a node drain
    must not block forever); None when no PDB can allow that (a single pod)."""
    wanted = spec["podDisruptionBudget"]["minAvailable"]
    scaling = spec["autoscaling"]
    pods = scaling["minReplicas"] if scaling["enabled"] else spec["replicas"]
    if isinstance(wanted, str) and wanted.endswith("%"):
        required = math.ceil(int(wanted[:-1]) * pods / 100)
    else:
        required = int(wanted)
    if required < pods:
        return wanted
    return pods - 1 if pods > 1 else None


def _pod_template(name: str, spec: Spec, kernel_hash: str | None) -> Manifest:
    volumes, mounts = _volumes(name, spec, kernel_hash)
    annotations = {KERNEL_HASH_ANNOTATION: kernel_hash} if kernel_hash else {}
    container = {
        "name": "prover",
        "image": spec["image"],
        "imagePullPolicy": spec["imagePullPolicy"],
        "ports": [{"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"}],
        "env": _env(name, spec, kernel_hash),
        "resources": copy.deepcopy(dict(spec["resources"]) or DEFAULT_RESOURCES),
        # Compiling the kernel at start can take a while: liveness waits for it.
        "startupProbe": _probe("/health", 5, 60),
        "livenessProbe": _probe("/health", 10, 3),
        "readinessProbe": _probe("/ready", 5, 3),
        "volumeMounts": mounts,
        "securityContext": {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    return {
        "metadata": {"labels": labels(name), "annotations": annotations},
        "spec": {
            "containers": [container],
            "volumes": volumes,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": RUN_AS_USER,
                "runAsGroup": RUN_AS_USER,
                "fsGroup": RUN_AS_USER,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "terminationGracePeriodSeconds": TERMINATION_GRACE_S,
        },
    }


def deployment(name: str, namespace: str, spec: Spec, kernel_hash: str | None) -> Manifest:
    """The prover Deployment; no `replicas` while an HPA owns scaling."""
    rollout = spec["rollout"]
    body: dict[str, Any] = {
        "selector": {"matchLabels": selector_labels(name)},
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": rollout["maxSurge"]},
        },
        "progressDeadlineSeconds": rollout["progressDeadlineSeconds"],
        "revisionHistoryLimit": 5,
        "template": pod_template(name, spec, kernel_hash),
    }
    if not spec["autoscaling"]["enabled"]:
        body = {"replicas": spec["replicas"], **body}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(name, namespace),
        "spec": body,
    }


def service(name: str, namespace: str) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(name, namespace),
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(name),
            "ports": [{"name": "http", "port": HTTP_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def horizontal_pod_autoscaler(name: str, namespace: str, spec: Spec) -> Manifest:
    scaling = spec["autoscaling"]
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _metadata(name, namespace),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": scaling["minReplicas"],
            "maxReplicas": scaling["maxReplicas"],
            "metrics": _hpa_metrics(spec),
            "behavior": scaling_behavior(spec),
        },
    }


def _hpa_metrics(spec: Spec) -> list[dict[str, Any]]:
    """What the HPA holds at its target: busy + waiting checks per Coq session
    (prometheus-adapter's custom metric) for the saturation signal, else CPU (and memory)."""
    scaling = spec["autoscaling"]
    if scaling["signal"] == "saturation":
        target = {"type": "AverageValue", "averageValue": saturation_target(spec)}
        return [{"type": "Pods", "pods": {"metric": {"name": SATURATION_METRIC}, "target": target}}]
    utilization = {"cpu": scaling["targetCPUUtilizationPercentage"]}
    if scaling.get("targetMemoryUtilizationPercentage") is not None:
        utilization["memory"] = scaling["targetMemoryUtilizationPercentage"]
    return [
        {
            "type": "Resource",
            "resource": {
                "name": resource,
                "target": {"type": "Utilization", "averageUtilization": percent},
            },
        }
        for resource, percent in utilization.items()
    ]


def scaling_behavior(spec: Spec) -> dict[str, Any]:
    """Scale up at once (double, or +4 pods, every 15 s); scale down only after the
    signal stayed low for the stabilisation window, by at most half the pods a minute,
    because a new prover pod compiles its kernel before it is ready."""
    return {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "selectPolicy": "Max",
            "policies": [
                {"type": "Percent", "value": 100, "periodSeconds": SCALE_UP_PERIOD_S},
                {"type": "Pods", "value": 4, "periodSeconds": SCALE_UP_PERIOD_S},
            ],
        },
        "scaleDown": {
            "stabilizationWindowSeconds": spec["autoscaling"]["scaleDownStabilizationSeconds"],
            "selectPolicy": "Min",
            "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}],
        },
    }


def saturation_target(spec: Spec) -> str:
    """The per-session saturation to hold, as a Kubernetes quantity ("700m" = 70 %)."""
    return f"{spec['autoscaling']['saturation']['targetPercent'] * 10}m"


def uses_hpa(spec: Spec) -> bool:
    """The operator's own HPA scales the fleet (KEDA brings its own)."""
    scaling = spec["autoscaling"]
    keda = scaling["signal"] == "saturation" and scaling["saturation"]["scaler"] == "keda"
    return bool(scaling["enabled"]) and not keda


def _ingress_paths(name: str, spec: Spec) -> list[dict[str, Any]]:
    """The API routes, and the playground when it is served (exactly when HMAC is off)."""
    backend = {"service": {"name": name, "port": {"name": "http"}}}
    routes = [(path, "Exact") for path in API_PATHS]
    if not spec["auth"]["enabled"]:
        routes.extend(PLAYGROUND_PATHS)
    return [{"path": path, "pathType": kind, "backend": backend} for path, kind in routes]


def pod_disruption_budget(name: str, namespace: str, spec: Spec) -> Manifest:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _metadata(name, namespace),
        "spec": {
            "minAvailable": disruption_floor(spec),
            "selector": {"matchLabels": selector_labels(name)},
        },
    }


def ingress(name: str, namespace: str, spec: Spec) -> Manifest:
    settings = spec["ingress"]
    annotations = {RATE_LIMIT_ANNOTATION: str(settings["rateLimitRPS"])}
    body: dict[str, Any] = {
        "rules": [
            {
                "host": settings["host"],
                "http": {"paths": _ingress_paths(name, spec)},
            }
        ]
    }
    if settings.get("className"):
        body = {"ingressClassName": settings["className"], **body}
    if settings.get("tlsSecretName"):
        body["tls"] = [{"hosts": [settings["host"]], "secretName": settings["tlsSecretName"]}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": _metadata(name, namespace, annotations=annotations),
        "spec": body,
    }


def label_selector(name: str) -> str:
    """The pods' selector as a string: status.selector, read by the scale subresource."""
    return ",".join(f"{key}={value}" for key, value in selector_labels(name).items())


def endpoint(name: str, namespace: str, spec: Spec) -> str:
    """Where clients reach the fleet: the Ingress host if any, else the in-cluster Service."""
    settings = spec["ingress"]
    if settings["enabled"]:
        scheme = "https" if settings.get("tlsSecretName") else "http"
        return f"{scheme}://{settings['host']}"
    return f"http://{name}.{namespace}.svc:{HTTP_PORT}"


def children(name: str, namespace: str, spec: Spec, kernel_hash: str | None) -> list[Manifest]:
    """Every child the spec asks for except the generated Secret, in apply order."""
    result = [service(name, namespace), deployment(name, namespace, spec, kernel_hash)]
    if uses_hpa(spec):
        result.append(horizontal_pod_autoscaler(name, namespace, spec))
    if disruption_floor(spec) is not None:
        result.append(pod_disruption_budget(name, namespace, spec))
    if spec["ingress"]["enabled"]:
        result.append(ingress(name, namespace, spec))
    return result


# Fields a builder may leave out that an earlier build set: a JSON merge patch keeps what
# it does not mention, so these are cleared explicitly when absent from the new manifest.
OPTIONAL_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "Ingress": (("spec", "ingressClassName"), ("spec", "tls")),
    "Deployment": (("spec", "template", "metadata", "annotations", KERNEL_HASH_ANNOTATION),),
}


def optional_kinds(spec: Spec) -> dict[str, bool]:
    """Children a spec may switch off, and whether it wants them now (absent ones get deleted)."""
    return {
        "HorizontalPodAutoscaler": uses_hpa(spec),
        "Ingress": bool(spec["ingress"]["enabled"]),
        "PodDisruptionBudget": disruption_floor(spec) is not None,
    }

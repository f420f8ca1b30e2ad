"""The Helm charts, rendered and linted by a real Helm engine (Helm v4's Go SDK through
helm-python-sdk's libhelm_c; no helm binary), and every manifest validated strict against
the Kubernetes 1.30 schemas.

What users rely on: the charts install on a real cluster (schema-valid, lint-clean), pods
run locked down (non-root, read-only root filesystem, no capabilities), rollouts never
drop below the serving capacity, the HPA alone owns the replica count when enabled, the
HMAC key stays in a Secret, and the operator holds no permission it does not use.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

helm = pytest.importorskip("helm_python")
kubernetes_validate = pytest.importorskip("kubernetes_validate")

ROOT = Path(__file__).resolve().parent.parent
PROVER_CHART = ROOT / "charts" / "pxl-prover"
OPERATOR_CHART = ROOT / "charts" / "pxl-operator"
CRD_SOURCE = ROOT / "crds" / "pxlprover.yaml"
CHART_CRD = OPERATOR_CHART / "crds" / "pxlprover.yaml"
OPERATOR_DOCKERFILE = ROOT / "operator.Dockerfile"
KUBE_VERSION = "1.30.0"
NAMESPACE = "pxl"
KERNEL_HASH = "ab" * 32
POOL_ENV = ("PXL_POOL_SIZE", "PXL_CACHE_TTL", "PXL_CACHE_SIZE")

PROVER_FULL_VALUES: dict[str, Any] = {
    "replicaCount": 4,
    "autoscaling": {
        "enabled": True,
        "minReplicas": 3,
        "maxReplicas": 12,
        "targetCPUUtilizationPercentage": 60,
        "targetMemoryUtilizationPercentage": 75,
    },
    "ingress": {
        "enabled": True,
        "className": "nginx",
        "host": "pxl.example.org",
        "tlsSecretName": "pxl-tls",
        "rateLimitRPS": 50,
    },
    "auth": {"enabled": True, "existingSecret": "pxl-hmac", "secretKey": "key"},
    "kernel": {"configMapName": "pxl-kernel", "expectedHash": KERNEL_HASH},
    "pool": {"size": 8, "cacheTTLSeconds": 600, "cacheSize": 5000},
    "logLevel": "DEBUG",
}


def render(chart: Path, values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Install-time render of `chart`, as parsed manifests (NOTES.txt left out)."""
    with helm.Chart.load(chart) as loaded:
        rendered = loaded.render(values=values, name="rel", namespace=NAMESPACE, is_install=True)
    manifests = []
    for path, text in sorted(rendered.items()):
        if path.endswith(".txt"):
            continue
        manifests.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return manifests


def only(manifests: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [m for m in manifests if m["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def kinds(manifests: list[dict[str, Any]]) -> list[str]:
    return sorted(m["kind"] for m in manifests)


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def assert_valid(manifests: list[dict[str, Any]]) -> None:
    for manifest in manifests:
        kubernetes_validate.validate(manifest, KUBE_VERSION, strict=True)


def assert_lint_clean(chart: Path, values: dict[str, Any] | None) -> None:
    report = helm.lint(chart, values, strict=True, namespace=NAMESPACE, kube_version="v1.30.0")
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert not report["errors"] and not problems, (report["errors"], problems)


def assert_locked_down(pod_spec: dict[str, Any]) -> None:
    """Non-root, read-only root, no privilege escalation, no capabilities, seccomp."""
    pod_security = pod_spec.get("securityContext", {})
    for container in pod_spec["containers"]:
        security = container["securityContext"]
        assert security.get("runAsNonRoot", pod_security.get("runAsNonRoot")) is True
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert "add" not in security["capabilities"]
        seccomp = security.get("seccompProfile", pod_security.get("seccompProfile"))
        assert seccomp == {"type": "RuntimeDefault"}
        assert not security.get("privileged", False)
        mounted = {m["mountPath"] for m in container.get("volumeMounts", [])}
        assert "/tmp" in mounted, "a read-only root needs a writable /tmp"


def assert_selects(selector: dict[str, str], pod_labels: dict[str, str]) -> None:
    assert selector and selector.items() <= pod_labels.items(), (selector, pod_labels)


# --- pxl-prover -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [None, PROVER_FULL_VALUES, {"auth": {"enabled": False}, "podDisruptionBudget": {}}],
    ids=["defaults", "autoscaling-ingress-existing-secret-kernel", "no-auth"],
)
def test_prover_chart_lints_and_renders_strictly_valid_manifests(
    values: dict[str, Any] | None,
) -> None:
    assert_lint_clean(PROVER_CHART, values)
    manifests = render(PROVER_CHART, values)
    assert_valid(manifests)
    assert "Deployment" in kinds(manifests) and "Service" in kinds(manifests)


def test_prover_defaults_fixed_replicas_generated_hmac_secret_no_hpa_no_ingress() -> None:
    manifests = render(PROVER_CHART)
    assert kinds(manifests) == [
        "Deployment",
        "PodDisruptionBudget",
        "Secret",
        "Service",
    ]
    deployment = only(manifests, "Deployment")
    assert deployment["spec"]["replicas"] == 2

    secret = only(manifests, "Secret")
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    key = base64.b64decode(secret["data"]["hmac-key"])
    assert len(key) >= 32 and key.isalnum(), "the server refuses keys under 32 bytes"
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = env_of(container)
    assert env["ENABLE_HMAC_AUTH"] == "true"
    assert env["HMAC_SECRET_KEY"] == {
        "secretKeyRef": {"name": secret["metadata"]["name"], "key": "hmac-key"}
    }
    assert "PXL_KERNEL_DIR" not in env and "PXL_EXPECTED_KERNEL_HASH" not in env


def test_prover_pod_contract_port_probes_env_and_writable_dirs() -> None:
    deployment = only(render(PROVER_CHART), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert_locked_down(pod)
    (container,) = pod["containers"]
    assert container["ports"] == [{"name": "http", "containerPort": 8088, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    env = env_of(container)
    assert env["PXL_SERVER_PORT"] == "8088"
    assert [env[name] for name in POOL_ENV] == ["5", "300", "1000"]
    assert env["LOG_LEVEL"] == "INFO"
    assert env["PXL_CACHE_DIR"] == "/var/cache/pxl"
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert volumes[mounts["/var/cache/pxl"]]["emptyDir"] == {}
    assert volumes[mounts["/tmp"]]["emptyDir"] == {}
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_prover_with_hpa_leaves_replicas_to_the_hpa_and_wires_everything_up() -> None:
    manifests = render(PROVER_CHART, PROVER_FULL_VALUES)
    assert kinds(manifests) == [
        "Deployment",
        "HorizontalPodAutoscaler",
        "Ingress",
        "PodDisruptionBudget",
        "Service",
    ], "an existing Secret is referenced, never rendered"
    deployment = only(manifests, "Deployment")
    assert "replicas" not in deployment["spec"], "upgrades would reset the HPA's count"
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert_selects(deployment["spec"]["selector"]["matchLabels"], pod_labels)

    hpa = only(manifests, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 12)
    targets = {
        m["resource"]["name"]: m["resource"]["target"]["averageUtilization"]
        for m in hpa["spec"]["metrics"]
    }
    assert targets == {"cpu": 60, "memory": 75}

    service = only(manifests, "Service")
    assert_selects(service["spec"]["selector"], pod_labels)
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert_selects(
        only(manifests, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"], pod_labels
    )

    ingress = only(manifests, "Ingress")
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/limit-rps"] == "50"
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"hosts": ["pxl.example.org"], "secretName": "pxl-tls"}]
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "pxl.example.org"
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": service["metadata"]["name"], "port": {"name": "http"}}

    pod = deployment["spec"]["template"]["spec"]
    assert_locked_down(pod)
    env = env_of(pod["containers"][0])
    assert env["HMAC_SECRET_KEY"] == {"secretKeyRef": {"name": "pxl-hmac", "key": "key"}}
    assert env["PXL_EXPECTED_KERNEL_HASH"] == KERNEL_HASH
    assert env["PXL_KERNEL_DIR"] == "/etc/pxl/kernel"
    assert [env[name] for name in POOL_ENV] == ["8", "600", "5000"]
    assert env["LOG_LEVEL"] == "DEBUG"
    kernel_mount = next(
        m for m in pod["containers"][0]["volumeMounts"] if m["mountPath"] == "/etc/pxl/kernel"
    )
    assert kernel_mount["readOnly"] is True
    volume = next(v for v in pod["volumes"] if v["name"] == kernel_mount["name"])
    assert volume["configMap"]["name"] == "pxl-kernel"
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["pxl.logos.dev/kernel-hash"] == KERNEL_HASH, "a new hash must roll pods"


def test_prover_without_auth_has_no_secret_and_no_key() -> None:
    manifests = render(PROVER_CHART, {"auth": {"enabled": False}})
    assert "Secret" not in kinds(manifests)
    env = env_of(only(manifests, "Deployment")["spec"]["template"]["spec"]["containers"][0])
    assert env["ENABLE_HMAC_AUTH"] == "false"
    assert "HMAC_SECRET_KEY" not in env


@pytest.mark.parametrize(
    ("chart", "values", "complaint"),
    [
        (
            PROVER_CHART,
            {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}},
            "minReplicas must not exceed",
        ),
        (PROVER_CHART, {"autoscaling": {"maxReplica": 5}}, "maxReplica"),
        (PROVER_CHART, {"logLevel": "VERBOSE"}, "logLevel"),
        (PROVER_CHART, {"ingress": {"enabled": True, "host": ""}}, "host"),
        (PROVER_CHART, {"kernel": {"expectedHash": "abc"}}, "expectedHash"),
        (OPERATOR_CHART, {"watchNamespaces": ["Team_A"]}, "watchNamespaces"),
        (OPERATOR_CHART, {"watchNamspaces": ["team-a"]}, "watchNamspaces"),
    ],
    ids=[
        "min-above-max",
        "misspelt-key",
        "bad-log-level",
        "ingress-without-host",
        "short-hash",
        "bad-namespace",
        "misspelt-operator-key",
    ],
)
def test_charts_refuse_values_that_would_deploy_something_else(
    chart: Path, values: dict[str, Any], complaint: str
) -> None:
    """A typo must stop the install with its name, not silently keep the default."""
    with pytest.raises(helm.HelmError, match=complaint):
        render(chart, values)


# --- pxl-operator -----------------------------------------------------------------------

# (apiGroup, resource) -> verbs: what the operator's API calls need, and nothing else.
OPERATOR_NAMESPACED_PERMISSIONS: dict[tuple[str, str], set[str]] = {
    ("pxl.logos.dev", "pxlprovers"): {"get", "list", "watch", "patch"},
    ("pxl.logos.dev", "pxlprovers/status"): {"patch"},
    ("pxl.logos.dev", "pxlprovers/finalizers"): {"update"},
    ("apps", "deployments"): {"get", "list", "watch", "create", "patch"},
    ("", "services"): {"get", "list", "watch", "create", "patch"},
    ("autoscaling", "horizontalpodautoscalers"): {
        "get",
        "list",
        "watch",
        "create",
        "patch",
        "delete",
    },
    ("networking.k8s.io", "ingresses"): {"get", "list", "watch", "create", "patch", "delete"},
    ("policy", "poddisruptionbudgets"): {"get", "list", "watch", "create", "patch", "delete"},
    ("", "secrets"): {"get", "create"},
    ("", "configmaps"): {"get", "list", "watch", "create", "delete"},
    ("", "events"): {"create"},
    ("networking.k8s.io", "networkpolicies"): {"get", "create", "patch", "delete"},
    ("monitoring.coreos.com", "podmonitors"): {"get", "create", "patch", "delete"},
    ("monitoring.coreos.com", "prometheusrules"): {"get", "create", "patch", "delete"},
    ("keda.sh", "scaledobjects"): {"get", "create", "patch", "delete"},
}
OPERATOR_CLUSTER_PERMISSIONS = {
    ("apiextensions.k8s.io", "customresourcedefinitions"): {"list", "watch"},
}


def permissions(role: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        assert "nonResourceURLs" not in rule and "resourceNames" not in rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted.setdefault((group, resource), set()).update(rule["verbs"])
    return granted


def assert_no_wildcards(roles: list[dict[str, Any]]) -> None:
    for role in roles:
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule[field], (role["metadata"]["name"], rule)
            assert not {"escalate", "bind", "impersonate", "deletecollection"} & set(rule["verbs"])


@pytest.mark.parametrize(
    "values",
    [None, {"watchNamespaces": ["team-a", "team-b"], "extraArgs": ["--verbose"]}],
    ids=["cluster-wide", "namespaced"],
)
def test_operator_chart_lints_and_renders_strictly_valid_manifests(
    values: dict[str, Any] | None,
) -> None:
    assert_lint_clean(OPERATOR_CHART, values)
    assert_valid(render(OPERATOR_CHART, values))


def test_operator_cluster_wide_rbac_is_exactly_what_it_uses() -> None:
    manifests = render(OPERATOR_CHART)
    assert kinds(manifests) == [
        "ClusterRole",
        "ClusterRole",
        "ClusterRoleBinding",
        "ClusterRoleBinding",
        "Deployment",
        "ServiceAccount",
    ]
    roles = [m for m in manifests if m["kind"] == "ClusterRole"]
    assert_no_wildcards(roles)
    granted: dict[tuple[str, str], set[str]] = {}
    for role in roles:
        for key, verbs in permissions(role).items():
            granted.setdefault(key, set()).update(verbs)
    assert granted == OPERATOR_NAMESPACED_PERMISSIONS | OPERATOR_CLUSTER_PERMISSIONS
    assert granted[("", "secrets")].isdisjoint({"list", "watch", "patch", "update", "delete"})

    service_account = only(manifests, "ServiceAccount")["metadata"]["name"]
    for binding in (m for m in manifests if m["kind"] == "ClusterRoleBinding"):
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": service_account, "namespace": NAMESPACE}
        ]
        assert binding["roleRef"]["name"] in {r["metadata"]["name"] for r in roles}


def test_operator_rbac_covers_every_call_the_operator_code_makes() -> None:
    """Derived from the operator itself, so a new child kind cannot ship without RBAC."""
    from pxl_operator import kube, manifests
    from pxl_operator.spec import resolve

    roles = [m for m in render(OPERATOR_CHART) if m["kind"] == "ClusterRole"]
    granted: dict[tuple[str, str], set[str]] = {}
    for role in roles:
        for key, verbs in permissions(role).items():
            granted.setdefault(key, set()).update(verbs)

    def resource(kind: str) -> tuple[str, str]:
        prefix, plural = kube.KINDS[kind]
        return ("" if prefix.startswith("/api/") else prefix.split("/")[2], plural)

    for kind in kube.KINDS:
        assert "get" in granted.get(resource(kind), set()), f"the operator reads {kind}s"
    example = yaml.safe_load((ROOT / "examples" / "production.yaml").read_text())
    spec = resolve("pxl", example["spec"])
    children = manifests.children("pxl", NAMESPACE, spec, KERNEL_HASH)
    for child in children:
        assert {"create", "patch"} <= granted[resource(child["kind"])], child["kind"]
    assert manifests.generates_hmac_secret(spec)
    assert "create" in granted[resource("Secret")]
    for kind in manifests.optional_kinds(spec):
        assert "delete" in granted[resource(kind)], f"{kind} is deleted when switched off"
    assert "patch" in granted[("pxl.logos.dev", "pxlprovers/status")]


def test_operator_rbac_covers_every_watch_of_its_kopf_handlers() -> None:
    """kopf lists and watches what handlers and indexes select, and patches its progress
    annotations onto what change handlers (create/update/resume) handle."""
    import kopf

    import pxl_operator.handlers  # noqa: F401  (registers the handlers)

    registry = kopf.get_default_registry()
    # kopf keeps handlers per reaction kind; these are the attributes its own reactor reads.
    watched = [
        *registry._indexing.get_all_handlers(),
        *registry._watching.get_all_handlers(),
        *registry._spawning.get_all_handlers(),
        *registry._changing.get_all_handlers(),
    ]
    patched = [*registry._spawning.get_all_handlers(), *registry._changing.get_all_handlers()]
    assert watched, "no kopf handlers registered"
    (role,) = [
        m
        for m in render(OPERATOR_CHART)
        if m["kind"] == "ClusterRole" and m["metadata"]["name"] == "rel-pxl-operator"
    ]
    granted = permissions(role)
    for handler in watched:
        key = (handler.selector.group, handler.selector.any_name)
        assert {"list", "watch"} <= granted.get(key, set()), (handler.id, key)
    for handler in patched:
        key = (handler.selector.group, handler.selector.any_name)
        assert "patch" in granted[key], (handler.id, key)


def test_operator_namespaced_install_grants_only_in_watched_namespaces() -> None:
    manifests = render(OPERATOR_CHART, {"watchNamespaces": ["team-a", "team-b"]})
    (cluster_role,) = [m for m in manifests if m["kind"] == "ClusterRole"]
    assert permissions(cluster_role) == OPERATOR_CLUSTER_PERMISSIONS
    roles = [m for m in manifests if m["kind"] == "Role"]
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    assert_no_wildcards(roles)
    for role in roles:
        assert permissions(role) == OPERATOR_NAMESPACED_PERMISSIONS
    bindings = [m for m in manifests if m["kind"] == "RoleBinding"]
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["team-a", "team-b"]
    args = only(manifests, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert [a for a in args if a.startswith("--namespace")] == [
        "--namespace=team-a",
        "--namespace=team-b",
    ]


def test_operator_deployment_single_standalone_replica_locked_down_with_liveness() -> None:
    manifests = render(OPERATOR_CHART)
    deployment = only(manifests, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}, "never two operators"
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == only(manifests, "ServiceAccount")["metadata"]["name"]
    assert_locked_down(pod)
    (container,) = pod["containers"]
    args = container["args"]
    assert args[0] == "run"
    assert not [a for a in args if a.startswith("--namespace")], "cluster-wide by default"
    (liveness_arg,) = [a for a in args if a.startswith("--liveness=")]
    match = re.fullmatch(r"--liveness=http://0\.0\.0\.0:(\d+)(/\S+)", liveness_arg)
    assert match, liveness_arg
    probe = container["livenessProbe"]["httpGet"]
    (port,) = [p for p in container["ports"] if p["name"] == probe["port"]]
    assert (str(port["containerPort"]), probe["path"]) == match.groups()


def test_operator_chart_ships_the_crd_byte_identical_to_crds_folder() -> None:
    assert CHART_CRD.read_bytes() == CRD_SOURCE.read_bytes(), (
        "run: cp crds/pxlprover.yaml charts/pxl-operator/crds/pxlprover.yaml"
    )
    with helm.Chart.load(OPERATOR_CHART) as chart:
        (crd_file,) = chart.crds
    crd = yaml.safe_load(crd_file["data"])
    kubernetes_validate.validate(crd, KUBE_VERSION, strict=True)
    assert crd["spec"]["group"] == "pxl.logos.dev"
    assert crd["spec"]["names"]["kind"] == "PXLProver"
    assert "pxl" in crd["spec"]["names"]["shortNames"]
    granted_plurals = {
        resource
        for group, resource in OPERATOR_NAMESPACED_PERMISSIONS
        if group == crd["spec"]["group"] and "/" not in resource
    }
    assert granted_plurals == {crd["spec"]["names"]["plural"]}, "RBAC must name the CRD's plural"


def dockerfile_instructions(path: Path) -> Iterator[tuple[str, str]]:
    logical = re.sub(r"\\\n", " ", path.read_text())
    for line in logical.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            yield instruction.upper(), rest.strip()


def test_operator_image_runs_as_the_numeric_non_root_user_the_chart_expects() -> None:
    """runAsNonRoot only admits images whose USER the kubelet can see is not 0: numeric."""
    instructions = list(dockerfile_instructions(OPERATOR_DOCKERFILE))
    logical_text = " ".join(rest for _, rest in instructions)
    final_base = [rest for name, rest in instructions if name == "FROM"][-1]
    assert "bookworm" in final_base
    users = [rest for name, rest in instructions if name == "USER"]
    assert users, "the image must not run as root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    values = yaml.safe_load((OPERATOR_CHART / "values.yaml").read_text())
    assert int(uid) == values["podSecurityContext"]["runAsUser"]
    entrypoint = [yaml.safe_load(rest) for name, rest in instructions if name == "ENTRYPOINT"]
    assert entrypoint[-1] == ["pxl-operator"], "the chart's args start with `run`"
    context_sources = [
        source
        for name, rest in instructions
        if name == "COPY" and "--from" not in rest
        for source in rest.split()[:-1]
    ]
    context_sources += re.findall(r"--mount=type=bind,source=([^,\s]+),target", logical_text)
    for source in context_sources:
        assert (ROOT / source).exists(), f"build context lacks {source}"


def test_operator_command_accepts_the_chart_arguments() -> None:
    from pxl_operator.cli import build_parser

    values = {"watchNamespaces": ["team-a", "team-b"], "extraArgs": ["--verbose"]}
    deployment = only(render(OPERATOR_CHART, values), "Deployment")
    args = build_parser().parse_args(
        deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    )
    assert args.command == "run"
    assert args.namespace == ["team-a", "team-b"]
    assert args.liveness == "http://0.0.0.0:8080/healthz"
    assert args.verbose is True
    default_args = only(render(OPERATOR_CHART), "Deployment")["spec"]["template"]["spec"]
    assert build_parser().parse_args(default_args["containers"][0]["args"]).namespace is None


def test_prover_pods_outlast_the_provers_shutdown_grace() -> None:
    from pxl_prover.config import load_config

    pod = only(render(PROVER_CHART), "Deployment")["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > load_config(env={}).grace_s

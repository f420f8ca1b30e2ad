"""The operator's pure builders: every child validates strict against Kubernetes 1.30, and
carries the contract the prover pods and the cluster rely on (docs/http-api.md, operator.md)."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pxl_operator import cli, manifests
from pxl_operator.kernel import target_hash
from pxl_operator.spec import KNOWN_FIELDS, SpecError, resolve
from pxl_operator.status import Degraded
from pxl_prover.kernel import BUILTIN_KERNEL_DIR, hash_sources, kernel_hash

KUBE_VERSION = "1.30.0"
HASH = "0123456789abcdef" * 4

SPECS: dict[str, dict[str, Any]] = {
    "minimal": {},
    "autoscaled": {
        "autoscaling": {"enabled": True, "targetMemoryUtilizationPercentage": 80},
        "podDisruptionBudget": {"minAvailable": "50%"},
    },
    "public": {
        "ingress": {
            "enabled": True,
            "host": "pxl.example.com",
            "className": "nginx",
            "tlsSecretName": "pxl-tls",
            "rateLimitRPS": 5,
        },
        "auth": {"enabled": True},
    },
    "plain-http-ingress": {"ingress": {"enabled": True, "host": "pxl.internal"}},
    "own-secret": {"auth": {"enabled": True, "secretRef": {"name": "keys", "key": "pxl"}}},
    "custom-kernel": {
        "kernel": {"configMapRef": {"name": "kernel"}},
        "resources": {"requests": {"cpu": 1, "memory": "1Gi"}, "limits": {"memory": "4Gi"}},
        "rollout": {"maxSurge": 1, "progressDeadlineSeconds": 120, "autoRollback": False},
        "imagePullPolicy": "Always",
        "logLevel": "DEBUG",
    },
}


def build(spec: dict[str, Any], kernel: str | None = HASH) -> dict[str, dict[str, Any]]:
    resolved = resolve("demo", spec)
    children = manifests.children("demo", "pxl", resolved, kernel)
    return {child["kind"]: child for child in children}


def container(children: dict[str, dict[str, Any]]) -> dict[str, Any]:
    (only,) = children["Deployment"]["spec"]["template"]["spec"]["containers"]
    return dict(only)


def env(children: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(children)["env"]}


@pytest.mark.parametrize("case", sorted(SPECS))
def test_every_child_validates_strict(case: str) -> None:
    resolved = resolve("demo", SPECS[case])
    children = manifests.children("demo", "pxl", resolved, HASH)
    if manifests.generates_hmac_secret(resolved):
        children.append(manifests.hmac_secret("demo", "pxl", resolved, "ab" * 32))
    for child in children:
        kubernetes_validate.validate(child, KUBE_VERSION, strict=True)
        assert child["metadata"]["namespace"] == "pxl"
        assert "app.kubernetes.io/instance" not in child["metadata"]["labels"]


def test_strict_validation_would_catch_a_misspelt_field() -> None:
    deployment = build({})["Deployment"]
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBE_VERSION, strict=True)


def test_pods_are_hardened_and_probe_health_and_ready() -> None:
    children = build({})
    pod = children["Deployment"]["spec"]["template"]["spec"]
    prover = container(children)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert prover["securityContext"]["readOnlyRootFilesystem"] is True
    assert prover["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert prover["securityContext"]["allowPrivilegeEscalation"] is False
    assert prover["ports"] == [{"name": "http", "containerPort": 8088, "protocol": "TCP"}]
    assert prover["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert prover["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    mounts = {m["mountPath"]: m["name"] for m in prover["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    for path in ("/var/cache/pxl", "/tmp"):
        assert volumes[mounts[path]]["emptyDir"] == {}


def test_env_carries_the_spec_to_the_prover() -> None:
    children = build(
        {"pool": {"size": 8, "cacheTTLSeconds": 60, "cacheSize": 50}, "logLevel": "WARNING"}
    )
    assert env(children) == {
        "PXL_SERVER_PORT": "8088",
        "PXL_POOL_SIZE": "8",
        "PXL_CACHE_TTL": "60",
        "PXL_CACHE_SIZE": "50",
        "PXL_CACHE_DIR": "/var/cache/pxl",
        "LOG_LEVEL": "WARNING",
        "ENABLE_HMAC_AUTH": "false",
        "PXL_EXPECTED_KERNEL_HASH": HASH,
    }


def test_auth_reads_the_key_from_the_generated_or_the_named_secret() -> None:
    generated = env(build({"auth": {"enabled": True}}))
    assert generated["ENABLE_HMAC_AUTH"] == "true"
    assert generated["HMAC_SECRET_KEY"] == {
        "secretKeyRef": {"name": "demo-hmac", "key": "hmac-key"}
    }
    named = env(build(SPECS["own-secret"]))
    assert named["HMAC_SECRET_KEY"] == {"secretKeyRef": {"name": "keys", "key": "pxl"}}
    assert not manifests.generates_hmac_secret(resolve("demo", SPECS["own-secret"]))

    resolved = resolve("demo", {"auth": {"enabled": True}})
    secret = manifests.hmac_secret("demo", "pxl", resolved, "cd" * 32)
    assert secret["metadata"]["name"] == "demo-hmac"
    assert base64.b64decode(secret["data"]["hmac-key"]).decode() == "cd" * 32


def test_kernel_hash_is_in_the_template_annotation_and_env_so_a_change_rolls() -> None:
    one, two = build({}, HASH), build({}, "f" * 64)
    assert one["Deployment"]["spec"]["template"] != two["Deployment"]["spec"]["template"]
    annotations = two["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["pxl.logos.dev/kernel-hash"] == "f" * 64
    assert env(two)["PXL_EXPECTED_KERNEL_HASH"] == "f" * 64
    unpinned = build({}, None)
    assert (
        "pxl.logos.dev/kernel-hash"
        not in unpinned["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    )
    assert "PXL_EXPECTED_KERNEL_HASH" not in env(unpinned)


def test_each_template_carries_its_own_identity() -> None:
    templates = [build(spec)["Deployment"]["spec"]["template"] for spec in SPECS.values()]
    templates.append(build({}, "f" * 64)["Deployment"]["spec"]["template"])
    by_id = {t["metadata"]["annotations"]["pxl.logos.dev/template-hash"]: t for t in templates}
    distinct = {json.dumps(t, sort_keys=True) for t in templates}
    assert len(by_id) == len(distinct) >= 5
    assert (
        build({})["Deployment"]["spec"]["template"] == build({})["Deployment"]["spec"]["template"]
    )


def test_custom_kernel_is_mounted_read_only_where_the_prover_looks() -> None:
    children = build(SPECS["custom-kernel"])
    prover = container(children)
    (mount,) = [m for m in prover["volumeMounts"] if m["name"] == "kernel"]
    assert mount == {"name": "kernel", "mountPath": "/etc/pxl/kernel", "readOnly": True}
    assert env(children)["PXL_KERNEL_DIR"] == "/etc/pxl/kernel"
    volumes = children["Deployment"]["spec"]["template"]["spec"]["volumes"]
    # The operator's immutable, hash-named copy, never the user's mutable ConfigMap.
    assert {"name": "kernel", "configMap": {"name": f"demo-kernel-{HASH}"}} in volumes


def test_kernel_copy_is_immutable_hash_named_and_holds_only_the_kernel_files() -> None:
    source = {
        "metadata": {"name": "kernel", "labels": {"pxl.logos.dev/kernel": "true"}},
        "data": {"A.v": "Definition a := 1.\n", "_CoqProject": "-R . PXL\n"},
        "binaryData": {"B.v": base64.b64encode(b"Definition b := 2.\n").decode()},
    }
    copy_ = manifests.kernel_configmap("demo", "pxl", source, HASH)
    kubernetes_validate.validate(copy_, KUBE_VERSION, strict=True)
    assert copy_["metadata"]["name"] == f"demo-kernel-{HASH}"
    assert copy_["immutable"] is True
    assert copy_["data"] == {"A.v": "Definition a := 1.\n"}
    assert copy_["binaryData"] == source["binaryData"]
    assert copy_["metadata"]["annotations"]["pxl.logos.dev/kernel-hash"] == HASH
    assert "pxl.logos.dev/kernel" not in copy_["metadata"]["labels"], "copies are not watched"


def test_rollout_strategy_never_takes_a_serving_pod_away_first() -> None:
    spec = build(SPECS["custom-kernel"])["Deployment"]["spec"]
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }
    assert spec["progressDeadlineSeconds"] == 120
    assert spec["replicas"] == 2


def test_with_an_hpa_the_deployment_never_states_replicas() -> None:
    children = build(SPECS["autoscaled"])
    assert "replicas" not in children["Deployment"]["spec"]
    hpa = children["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "demo"}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 10)
    targets = {
        m["resource"]["name"]: m["resource"]["target"]["averageUtilization"] for m in hpa["metrics"]
    }
    assert targets == {"cpu": 70, "memory": 80}
    assert "HorizontalPodAutoscaler" not in build({})


def test_selectors_pick_exactly_the_pods_of_this_prover() -> None:
    children = build(SPECS["public"])
    pod_labels = children["Deployment"]["spec"]["template"]["metadata"]["labels"]
    selector = children["Deployment"]["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items()
    assert children["Service"]["spec"]["selector"] == selector
    assert children["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == selector
    assert selector["pxl.logos.dev/prover"] == "demo"


def test_ingress_terminates_tls_and_rate_limits() -> None:
    ingress = build(SPECS["public"])["Ingress"]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"hosts": ["pxl.example.com"], "secretName": "pxl-tls"}]
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/limit-rps"] == "5"
    resolved = resolve("demo", SPECS["public"])
    assert manifests.endpoint("demo", "pxl", resolved) == "https://pxl.example.com"
    assert manifests.endpoint("demo", "pxl", resolve("demo", {})) == "http://demo.pxl.svc:8088"


def test_builders_are_pure() -> None:
    spec = copy.deepcopy(SPECS["public"])
    resolved = resolve("demo", spec)
    before = copy.deepcopy(resolved)
    first = manifests.children("demo", "pxl", resolved, HASH)
    first[1]["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = "1Ki"
    assert manifests.children("demo", "pxl", resolved, HASH) != first
    assert resolved == before and spec == SPECS["public"]


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"replicas": 0}, "spec.replicas: must be an integer of at least 1"),
        ({"autoscaling": {"minReplicas": 4, "maxReplicas": 3}}, "minReplicas (4) must not exceed"),
        ({"ingress": {"enabled": True}}, "spec.ingress.host: is required"),
        ({"kernel": {"expectedHash": "ABC"}}, "spec.kernel.expectedHash: must be 64 lowercase hex"),
        ({"rollout": {"maxSurge": 0}}, "spec.rollout.maxSurge"),
        ({"rollout": {"maxSurge": "150%"}}, "spec.rollout.maxSurge"),
        ({"logLevel": "TRACE"}, "spec.logLevel: must be one of DEBUG, INFO, WARNING, ERROR"),
        ({"imagePullPolicy": "Sometimes"}, "spec.imagePullPolicy"),
        ({"resources": {"limits": {"cpu": "lots"}}}, "spec.resources.limits.cpu"),
        ({"auth": {"enabled": True, "secretRef": {}}}, "spec.auth.secretRef.name"),
        ({"pool": {"size": "5"}}, "spec.pool.size"),
        ({"autoscaling": {"maxReplica": 3}}, "spec.autoscaling.maxReplica: unknown field"),
    ],
)
def test_invalid_specs_say_what_to_fix(spec: dict[str, Any], fragment: str) -> None:
    with pytest.raises(SpecError) as caught:
        resolve("demo", spec)
    assert any(fragment in problem for problem in caught.value.problems), caught.value.problems


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(SpecError) as caught:
        resolve("Demo_1", {"replicas": -1, "logLevel": "LOUD"})
    assert len(caught.value.problems) == 3
    assert caught.value.problems[0].startswith("metadata.name")


# --- the target kernel hash -----------------------------------------------------------


def test_configmap_kernel_hash_is_the_one_kernel_hash_function() -> None:
    spec = resolve("demo", {"kernel": {"configMapRef": {"name": "kernel"}}})
    configmap = {
        "data": {"A.v": "Definition a := 1.\n", "_CoqProject": "-R . PXL\n"},
        "binaryData": {"B.v": base64.b64encode(b"Definition b := 2.\n").decode()},
    }
    expected = hash_sources({"A.v": b"Definition a := 1.\n", "B.v": b"Definition b := 2.\n"})
    assert target_hash("pxl", spec, configmap) == expected


def test_configmap_kernel_hash_matches_the_folder_it_was_made_from(tmp_path: Path) -> None:
    (tmp_path / "A.v").write_text("Lemma a : True. Proof. exact I. Qed.\n")
    (tmp_path / "B.v").write_text("Require Import A.\n")
    spec = resolve("demo", {"kernel": {"configMapRef": {"name": "kernel"}}})
    configmap = {"data": {p.name: p.read_text() for p in tmp_path.glob("*.v")}}
    assert target_hash("pxl", spec, configmap) == kernel_hash(tmp_path)


@pytest.mark.parametrize(
    ("kernel", "configmap", "reason"),
    [
        ({"configMapRef": {"name": "k"}}, None, "KernelConfigMapNotFound"),
        ({"configMapRef": {"name": "k"}}, {"data": {"README": "x"}}, "KernelConfigMapEmpty"),
        (
            {"configMapRef": {"name": "k"}, "expectedHash": "0" * 64},
            {"data": {"A.v": "x"}},
            "KernelHashMismatch",
        ),
    ],
)
def test_unusable_kernels_are_refused_with_a_reason(
    kernel: dict[str, Any], configmap: dict[str, Any] | None, reason: str
) -> None:
    with pytest.raises(Degraded) as caught:
        target_hash("pxl", resolve("demo", {"kernel": kernel}), configmap)
    assert caught.value.reason == reason


def test_without_a_configmap_the_pin_or_the_built_in_kernel_is_the_target() -> None:
    assert target_hash("pxl", resolve("demo", {"kernel": {"expectedHash": HASH}}), None) == HASH
    assert target_hash("pxl", resolve("demo", {}), None) == kernel_hash(BUILTIN_KERNEL_DIR)


# --- pxl-operator render --------------------------------------------------------------


def write_docs(path: Path, *docs: dict[str, Any]) -> str:
    path.write_text(yaml.safe_dump_all(docs))
    return str(path)


def prover(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "pxl.logos.dev/v1alpha1",
        "kind": "PXLProver",
        "metadata": {"name": "demo"},
        "spec": spec,
    }


def test_render_prints_strictly_valid_children_and_uses_the_given_configmap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "k"},
        "data": {"A.v": "x"},
    }
    path = write_docs(
        tmp_path / "cr.yaml", prover(kernel={"configMapRef": {"name": "k"}}), configmap
    )
    assert cli.main(["render", "-f", path, "-n", "pxl"]) == 0
    out, err = capsys.readouterr()
    docs = [d for d in yaml.safe_load_all(out) if d]
    kinds = [d["kind"] for d in docs]
    assert kinds == ["ConfigMap", "Service", "Deployment", "PodDisruptionBudget"]
    for doc in docs:
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
        assert doc["metadata"]["namespace"] == "pxl"
    annotations = docs[2]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["pxl.logos.dev/kernel-hash"] == hash_sources({"A.v": b"x"})
    assert docs[0]["metadata"]["name"] == f"demo-kernel-{hash_sources({'A.v': b'x'})}"
    assert err == ""


def test_render_without_the_configmap_says_so_and_falls_back_to_the_pin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_docs(
        tmp_path / "cr.yaml", prover(kernel={"configMapRef": {"name": "k"}, "expectedHash": HASH})
    )
    assert cli.main(["render", "-f", path]) == 0
    out, err = capsys.readouterr()
    assert "ConfigMap default/k" in err and "-f" in err
    deployment = [d for d in yaml.safe_load_all(out) if d and d["kind"] == "Deployment"][0]
    assert (
        deployment["spec"]["template"]["metadata"]["annotations"]["pxl.logos.dev/kernel-hash"]
        == HASH
    )


def test_render_reads_what_kubectl_get_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {**prover(kernel={"expectedHash": HASH}), "status": {"kernelHash": HASH}},
            {**prover(replicas=3), "metadata": {"name": "other", "namespace": "team"}},
        ],
    }
    assert cli.main(["render", "-f", write_docs(tmp_path / "list.yaml", listed)]) == 0
    docs = [d for d in yaml.safe_load_all(capsys.readouterr().out) if d]
    deployments = [d for d in docs if d["kind"] == "Deployment"]
    assert [(d["metadata"]["namespace"], d["metadata"]["name"]) for d in deployments] == [
        ("default", "demo"),
        ("team", "other"),
    ]
    assert deployments[1]["spec"]["replicas"] == 3


def test_render_never_prints_a_key_unless_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_docs(
        tmp_path / "cr.yaml", prover(auth={"enabled": True}, kernel={"expectedHash": HASH})
    )
    assert cli.main(["render", "-f", path]) == 0
    out, _ = capsys.readouterr()
    assert "kind: Secret" not in out and "# Secret default/demo-hmac is generated" in out
    assert cli.main(["render", "-f", path, "--generate-secret"]) == 0
    out, _ = capsys.readouterr()
    (secret,) = [d for d in yaml.safe_load_all(out) if d and d["kind"] == "Secret"]
    kubernetes_validate.validate(secret, KUBE_VERSION, strict=True)


def test_render_refuses_an_invalid_prover_naming_the_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_docs(tmp_path / "cr.yaml", prover(replicas=0, ingress={"enabled": True}))
    assert cli.main(["render", "-f", path]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "spec.replicas" in err and "spec.ingress.host" in err
    assert cli.main(["render", "-f", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml" in capsys.readouterr().err


# --- any spec: a clear SpecError, or children that validate strict -------------------

ATOMS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=200),
    st.floats(allow_nan=False, allow_infinity=False, width=16),
    st.sampled_from(
        ["", "25%", "150%", "1Gi", "500m", "lots", "pxl.example.com", "INFO", "a" * 64]
    ),
)
SCALARS = st.one_of(
    ATOMS,
    st.lists(ATOMS, max_size=2),
    st.dictionaries(st.sampled_from(["cpu", "memory", "name", "x"]), ATOMS, max_size=2),
)


def field_values(shape: Any) -> st.SearchStrategy[Any]:
    if not isinstance(shape, dict):
        return st.deferred(lambda: SCALARS)  # (deferred: keeps the strategy's repr short)
    known = st.fixed_dictionaries({}, optional={k: field_values(v) for k, v in shape.items()})
    with_typo = st.tuples(known, st.booleans()).map(lambda t: {**t[0], "typo": 1} if t[1] else t[0])
    return st.one_of(SCALARS, with_typo)


@settings(max_examples=300, deadline=None)
@given(spec=field_values(KNOWN_FIELDS))
def test_any_spec_is_refused_clearly_or_builds_valid_children(spec: Any) -> None:
    try:
        resolved = resolve("demo", spec)
    except SpecError as exc:
        assert exc.problems and all(p.startswith(("spec", "metadata")) for p in exc.problems)
        return
    for child in manifests.children("demo", "pxl", resolved, HASH):
        kubernetes_validate.validate(child, KUBE_VERSION, strict=True)


def test_pods_outlast_the_provers_shutdown_grace() -> None:
    from pxl_prover.config import load_config

    pod = build({})["Deployment"]["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > load_config(env={}).grace_s


def test_placement_fields_reach_the_pod_template_and_validate_strict() -> None:
    from test_operator_crd import PLACEMENT

    children = build(PLACEMENT)
    for child in children.values():
        kubernetes_validate.validate(child, KUBE_VERSION, strict=True)
    template = children["Deployment"]["spec"]["template"]
    pod = template["spec"]
    for field in (
        "nodeSelector",
        "tolerations",
        "affinity",
        "imagePullSecrets",
        "priorityClassName",
        "serviceAccountName",
    ):
        assert pod[field] == PLACEMENT[field], field
    (spread,) = pod["topologySpreadConstraints"]
    assert spread["maxSkew"] == 2 and spread["whenUnsatisfiable"] == "DoNotSchedule"
    assert spread["labelSelector"] == {"matchLabels": manifests.selector_labels("demo")}
    assert template["metadata"]["labels"]["team"] == "logic"
    assert template["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    selector = children["Deployment"]["spec"]["selector"]["matchLabels"]
    assert selector.items() <= template["metadata"]["labels"].items()
    assert template_id_of(build(PLACEMENT)) != template_id_of(build({}))


def template_id_of(children: dict[str, dict[str, Any]]) -> str:
    annotations = children["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    return str(annotations["pxl.logos.dev/template-hash"])


def test_pods_spread_across_zones_and_hosts_by_default_without_blocking() -> None:
    pod = build({})["Deployment"]["spec"]["template"]["spec"]
    spread = {c["topologyKey"]: c for c in pod["topologySpreadConstraints"]}
    assert set(spread) == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
    for constraint in spread.values():
        assert constraint["whenUnsatisfiable"] == "ScheduleAnyway"
        assert constraint["labelSelector"]["matchLabels"] == manifests.selector_labels("demo")
    assert (
        "topologySpreadConstraints"
        not in (build({"topologySpreadConstraints": []})["Deployment"]["spec"]["template"]["spec"])
    )


@pytest.mark.parametrize(
    ("spec", "min_available"),
    [
        ({"replicas": 1}, None),  # one pod: any PDB would forbid every eviction
        ({"replicas": 1, "podDisruptionBudget": {"minAvailable": 0}}, 0),
        ({"replicas": 2}, 1),
        ({"replicas": 2, "podDisruptionBudget": {"minAvailable": 2}}, 1),
        ({"replicas": 3, "podDisruptionBudget": {"minAvailable": "100%"}}, 2),
        ({"replicas": 4, "podDisruptionBudget": {"minAvailable": "50%"}}, "50%"),
        (
            {
                "autoscaling": {"enabled": True, "minReplicas": 3},
                "podDisruptionBudget": {"minAvailable": 3},
            },
            2,
        ),
        ({"autoscaling": {"enabled": True, "minReplicas": 1, "maxReplicas": 5}}, None),
    ],
)
def test_a_pdb_never_forbids_every_eviction(spec: dict[str, Any], min_available: Any) -> None:
    children = build(spec)
    resolved = resolve("demo", spec)
    assert manifests.optional_kinds(resolved)["PodDisruptionBudget"] is (min_available is not None)
    if min_available is None:
        assert "PodDisruptionBudget" not in children
        return
    pdb = children["PodDisruptionBudget"]
    kubernetes_validate.validate(pdb, KUBE_VERSION, strict=True)
    assert pdb["spec"]["minAvailable"] == min_available
    pods = spec.get("replicas") or resolved["autoscaling"]["minReplicas"]
    if isinstance(min_available, int):
        assert min_available < pods, "at least one pod can always be evicted"


def test_an_image_whose_kernel_the_operator_does_not_know_needs_a_pin() -> None:
    other = resolve("demo", {"image": "registry.example/pxl-prover:9.9"})
    with pytest.raises(Degraded) as refused:
        target_hash("pxl", other, None)
    assert refused.value.reason == "KernelHashUnknown"
    assert "pxl kernel-hash" in refused.value.message and "expectedHash" in refused.value.message
    pinned = resolve(
        "demo", {"image": "registry.example/pxl-prover:9.9", "kernel": {"expectedHash": HASH}}
    )
    assert target_hash("pxl", pinned, None) == HASH
    assert target_hash("pxl", resolve("demo", {}), None) == kernel_hash(BUILTIN_KERNEL_DIR)

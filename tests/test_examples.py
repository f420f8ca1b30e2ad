"""The example PXLProvers in examples/: what users copy first, so they must be accepted by
the CRD exactly as written and turn into strictly valid Kubernetes objects.

A CR is checked as `kubectl apply` with strict field validation would: against the CRD's
openAPIV3Schema with unknown fields rejected (the API server would otherwise prune a
misspelt field silently), and against the CRD's CEL rules after the schema's defaults
are applied. Then `pxl-operator render -f` turns it into children that must validate
strict against the Kubernetes 1.30 schemas.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

jsonschema = pytest.importorskip("jsonschema")
celpy = pytest.importorskip("celpy")
kubernetes_validate = pytest.importorskip("kubernetes_validate")

from pxl_prover.kernel import BUILTIN_KERNEL_DIR, hash_sources, kernel_files, kernel_hash  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_DIR = ROOT / "examples"
CRD_PATH = ROOT / "crds" / "pxlprover.yaml"
EXAMPLE_NAMES = ["minimal.yaml", "production.yaml", "custom-kernel.yaml"]
KUBE_VERSION = "1.30.0"
CONFIGMAP_MAX_BYTES = 1024 * 1024  # etcd's limit on one ConfigMap
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def load(name: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((EXAMPLES_DIR / name).read_text()) if doc]


def the_prover(name: str) -> dict[str, Any]:
    (prover,) = [doc for doc in load(name) if doc.get("kind") == "PXLProver"]
    return prover


def crd_schema() -> dict[str, Any]:
    crd = yaml.safe_load(CRD_PATH.read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    return version["schema"]["openAPIV3Schema"]


def rejecting_unknown_fields(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every declared object closed, like strict field validation."""
    closed = copy.deepcopy(schema)

    def close(node: dict[str, Any]) -> None:
        if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
            node.setdefault("additionalProperties", False)
        for child in node.get("properties", {}).values():
            close(child)
        if isinstance(node.get("items"), dict):
            close(node["items"])
        if isinstance(node.get("additionalProperties"), dict):
            close(node["additionalProperties"])

    close(closed)
    return closed


def with_schema_defaults(schema: dict[str, Any], value: Any) -> Any:
    """Structural defaulting as the API server does it (absent fields get `default`)."""
    if isinstance(value, dict):
        result = dict(value)
        for key, child in schema.get("properties", {}).items():
            if key not in result and "default" in child:
                result[key] = copy.deepcopy(child["default"])
            if key in result:
                result[key] = with_schema_defaults(child, result[key])
        return result
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [with_schema_defaults(schema["items"], item) for item in value]
    return value


def cel_violations(schema: dict[str, Any], value: Any, path: str = "") -> list[str]:
    """Messages of the x-kubernetes-validations rules that `value` breaks."""
    environment = celpy.Environment()
    problems = []
    for rule in schema.get("x-kubernetes-validations", []):
        program = environment.program(environment.compile(rule["rule"]))
        if not program.evaluate({"self": celpy.json_to_cel(value)}):
            problems.append(f"{path or '<root>'}: {rule.get('message', rule['rule'])}")
    if isinstance(value, dict):
        for key, child in schema.get("properties", {}).items():
            if key in value:
                problems.extend(cel_violations(child, value[key], f"{path}.{key}"))
    return problems


def admission_problems(resource: dict[str, Any]) -> list[str]:
    """What the API server would refuse in `resource`, as readable messages."""
    schema = crd_schema()
    validator = jsonschema.Draft7Validator(rejecting_unknown_fields(schema))
    problems = [
        f"{'.'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in validator.iter_errors(resource)
    ]
    return problems + cel_violations(schema, with_schema_defaults(schema, resource))


def test_every_example_is_a_named_pxlprover_of_the_served_version() -> None:
    assert sorted(p.name for p in EXAMPLES_DIR.glob("*.yaml")) == sorted(EXAMPLE_NAMES)
    for name in EXAMPLE_NAMES:
        prover = the_prover(name)
        assert prover["apiVersion"] == "pxl.logos.dev/v1alpha1"
        assert DNS_SUBDOMAIN.match(prover["metadata"]["name"])
        assert isinstance(prover["spec"], dict)


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_example_is_accepted_by_the_crd_as_written(name: str) -> None:
    assert admission_problems(the_prover(name)) == []


def test_the_admission_check_catches_typos_and_broken_rules() -> None:
    """The strict check above must be able to fail, or the examples prove nothing."""
    prover = the_prover("production.yaml")
    misspelt = copy.deepcopy(prover)
    misspelt["spec"]["autoscaling"]["maxReplica"] = 30
    assert any("maxReplica" in p for p in admission_problems(misspelt))
    inverted = copy.deepcopy(prover)
    inverted["spec"]["autoscaling"].update(minReplicas=9, maxReplicas=3)
    assert any("minReplicas" in p for p in admission_problems(inverted))
    hostless = copy.deepcopy(prover)
    del hostless["spec"]["ingress"]["host"]
    assert any("host" in p for p in admission_problems(hostless))


def test_production_example_scales_signs_and_terminates_tls_with_a_rate_limit() -> None:
    spec = the_prover("production.yaml")["spec"]
    autoscaling = spec["autoscaling"]
    assert autoscaling["enabled"] is True
    assert autoscaling["minReplicas"] <= autoscaling["maxReplicas"]
    assert spec["auth"]["enabled"] is True
    ingress = spec["ingress"]
    assert ingress["enabled"] is True and ingress["host"] and ingress["tlsSecretName"]
    assert ingress["rateLimitRPS"] > 0
    assert "replicas" not in spec, "the HPA owns the count; a fixed one would mislead"
    assert spec["podDisruptionBudget"]["minAvailable"] < autoscaling["minReplicas"], (
        "a PDB that admits no disruption blocks node drains"
    )


def documented_configmap_command() -> str:
    text = (EXAMPLES_DIR / "custom-kernel.yaml").read_text()
    match = re.search(r"kubectl create configmap (\S+) (.*?)\\?$", text, re.MULTILINE)
    assert match, "custom-kernel.yaml must say how to create the kernel ConfigMap"
    return match.group(0)


def kernel_configmap_as_kubectl_creates_it(name: str) -> dict[str, Any]:
    """What `kubectl create configmap NAME --from-file=coq/A.v ...` produces: one key
    per file, keyed by its base name."""
    files = kernel_files(BUILTIN_KERNEL_DIR)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {path.name: path.read_text(encoding="utf-8") for path in files},
    }


def test_custom_kernel_configmap_from_the_documented_command_carries_the_whole_kernel() -> None:
    prover = the_prover("custom-kernel.yaml")
    name = prover["spec"]["kernel"]["configMapRef"]["name"]
    command = documented_configmap_command()
    assert f"kubectl create configmap {name} " in command
    assert "--from-file=%s ' coq/*.v" in command, "only .v files: coq/ also holds build output"

    configmap = kernel_configmap_as_kubectl_creates_it(name)
    kubernetes_validate.validate(configmap, KUBE_VERSION, strict=True)
    size = sum(len(k) + len(v.encode()) for k, v in configmap["data"].items())
    assert size < CONFIGMAP_MAX_BYTES, f"kernel is {size} bytes, over a ConfigMap's limit"
    # kubectl flattens to base names: a nested kernel would lose files or change its hash.
    sources = {key: value.encode() for key, value in configmap["data"].items()}
    assert hash_sources(sources) == kernel_hash(BUILTIN_KERNEL_DIR)


# --- pxl-operator render ----------------------------------------------------------------


def render_command() -> str:
    cli = shutil.which("pxl-operator", path=str(Path(sys.executable).parent))
    assert cli, f"the pxl-operator console script is not installed next to {sys.executable}"
    return cli


def rendered(name: str, *more_files: Path) -> list[dict[str, Any]]:
    files = [EXAMPLES_DIR / name, *more_files]
    result = subprocess.run(
        [render_command(), "render", *(arg for f in files for arg in ("-f", str(f)))],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    if more_files:
        assert "note:" not in result.stderr, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_rendered_children_validate_strictly(name: str) -> None:
    children = rendered(name)
    assert {"Deployment", "Service"} <= {c["kind"] for c in children}
    for child in children:
        kubernetes_validate.validate(child, KUBE_VERSION, strict=True)


def test_rendered_production_example_leaves_replicas_to_the_hpa() -> None:
    children = {c["kind"]: c for c in rendered("production.yaml")}
    assert {"HorizontalPodAutoscaler", "Ingress", "PodDisruptionBudget"} <= children.keys()
    assert "replicas" not in children["Deployment"]["spec"]
    hpa = children["HorizontalPodAutoscaler"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 20)
    ingress = children["Ingress"]
    assert ingress["spec"]["tls"][0]["secretName"] == "pxl-example-com-tls"
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/limit-rps"] == "50"


def test_rendered_custom_kernel_example_pins_and_mounts_the_configmaps_kernel(
    tmp_path: Path,
) -> None:
    name = the_prover("custom-kernel.yaml")["spec"]["kernel"]["configMapRef"]["name"]
    configmap_file = tmp_path / "kernel-configmap.yaml"
    configmap_file.write_text(yaml.safe_dump(kernel_configmap_as_kubectl_creates_it(name)))
    children = {c["kind"]: c for c in rendered("custom-kernel.yaml", configmap_file)}
    template = children["Deployment"]["spec"]["template"]
    expected = kernel_hash(BUILTIN_KERNEL_DIR)
    assert template["metadata"]["annotations"]["pxl.logos.dev/kernel-hash"] == expected
    (container,) = template["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["PXL_EXPECTED_KERNEL_HASH"] == expected
    assert env["PXL_KERNEL_DIR"] == "/etc/pxl/kernel"
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == "/etc/pxl/kernel"]
    (volume,) = [v for v in template["spec"]["volumes"] if v["name"] == mount["name"]]
    # Pods mount the operator's immutable copy of that ConfigMap, named by its hash.
    copy_name = volume["configMap"]["name"]
    assert copy_name == f"{the_prover('custom-kernel.yaml')['metadata']['name']}-kernel-{expected}"
    kernel_copy = children["ConfigMap"]
    assert kernel_copy["metadata"]["name"] == copy_name and kernel_copy["immutable"] is True
    assert kernel_copy["data"] == kernel_configmap_as_kubectl_creates_it(name)["data"]

"""The PXLProver CRD and the operator agree: same defaults, same verdict on bad specs, and
every status field the operator writes survives structural pruning."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from test_examples import CRD_PATH, admission_problems, crd_schema, with_schema_defaults

from pxl_operator.rollout import Memory
from pxl_operator.spec import SpecError, resolve, with_defaults


def crd() -> dict[str, Any]:
    return dict(yaml.safe_load(CRD_PATH.read_text()))


def prover(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "pxl.logos.dev/v1alpha1",
        "kind": "PXLProver",
        "metadata": {"name": "demo"},
        "spec": spec,
    }


def test_crd_names_scope_subresource_and_printer_columns() -> None:
    definition = crd()
    spec = definition["spec"]
    assert definition["metadata"]["name"] == "pxlprovers.pxl.logos.dev"
    assert (spec["group"], spec["scope"]) == ("pxl.logos.dev", "Namespaced")
    assert spec["names"]["kind"] == "PXLProver" and spec["names"]["plural"] == "pxlprovers"
    assert spec["names"]["shortNames"] == ["pxl"]
    (version,) = spec["versions"]
    assert version["name"] == "v1alpha1" and version["served"] and version["storage"]
    assert version["subresources"] == {
        "status": {},
        "scale": {
            "specReplicasPath": ".spec.replicas",
            "statusReplicasPath": ".status.replicas",
            "labelSelectorPath": ".status.selector",
        },
    }
    columns = {c["name"]: c["jsonPath"] for c in version["additionalPrinterColumns"]}
    assert list(columns) == ["Ready", "KernelHash", "Replicas", "Age"]
    assert columns["Ready"] == '.status.conditions[?(@.type=="Ready")].status'
    assert columns["KernelHash"] == ".status.kernelHash"


@pytest.mark.parametrize(
    "spec",
    [
        {},
        {"auth": {"enabled": True, "secretRef": {"name": "keys"}}},
        {"autoscaling": {"enabled": True}, "ingress": {"enabled": True, "host": "x.example"}},
    ],
)
def test_operator_defaults_are_the_crd_defaults(spec: dict[str, Any]) -> None:
    by_api_server = with_schema_defaults(crd_schema(), prover(copy.deepcopy(spec)))["spec"]
    by_operator = with_defaults(spec)
    if "resources" not in by_api_server:
        by_operator.pop("resources")
    assert by_operator == by_api_server


@pytest.mark.parametrize(
    "spec",
    [
        {"replicas": 0},
        {"autoscaling": {"minReplicas": 6, "maxReplicas": 3}},
        {"ingress": {"enabled": True}},
        {"kernel": {"expectedHash": "A" * 64}},
        {"logLevel": "TRACE"},
        {"imagePullPolicy": "Sometimes"},
        {"pool": {"size": 0}},
        {"rollout": {"progressDeadlineSeconds": 0}},
        {"poolSize": 3},
        {"auth": {"enabled": True, "secretRef": {"key": "k"}}},
    ],
)
def test_crd_and_operator_refuse_the_same_bad_specs(spec: dict[str, Any]) -> None:
    assert admission_problems(prover(spec)), "the CRD admits it"
    with pytest.raises(SpecError):
        resolve("demo", spec)


@pytest.mark.parametrize(
    "spec",
    [
        {"replicas": 1, "rollout": {"maxSurge": 1}},
        {"autoscaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 3}},
        {"ingress": {"enabled": True, "host": "pxl.example.com", "rateLimitRPS": 1}},
        {"resources": {"requests": {"cpu": "250m", "memory": 268435456}}},
        {"podDisruptionBudget": {"minAvailable": "50%"}, "kernel": {"expectedHash": "a" * 64}},
    ],
)
def test_crd_and_operator_accept_the_same_good_specs(spec: dict[str, Any]) -> None:
    assert admission_problems(prover(spec)) == []
    resolve("demo", spec)


def test_every_status_field_the_operator_writes_is_declared() -> None:
    """Structural pruning silently drops undeclared fields: rollback memory would vanish."""
    declared = crd_schema()["properties"]["status"]["properties"]
    written = {"observedGeneration", "conditions", "targetKernelHash", "replicas"}
    written |= {"readyReplicas", "endpoint"} | set(Memory().to_status())
    assert written <= set(declared)
    condition_fields = set(declared["conditions"]["items"]["properties"])
    assert {"type", "status", "reason", "message", "lastTransitionTime"} <= condition_fields
    assert "observedGeneration" in condition_fields


PLACEMENT = {
    "nodeSelector": {"kubernetes.io/arch": "amd64"},
    "tolerations": [
        {"key": "dedicated", "operator": "Equal", "value": "pxl", "effect": "NoSchedule"}
    ],
    "affinity": {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 100,
                    "podAffinityTerm": {
                        "topologyKey": "kubernetes.io/hostname",
                        "labelSelector": {"matchLabels": {"pxl.logos.dev/prover": "demo"}},
                    },
                }
            ]
        }
    },
    "topologySpreadConstraints": [
        {
            "maxSkew": 2,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "DoNotSchedule",
        }
    ],
    "imagePullSecrets": [{"name": "registry-creds"}],
    "podAnnotations": {"prometheus.io/scrape": "true"},
    "podLabels": {"team": "logic"},
    "priorityClassName": "high-priority",
    "serviceAccountName": "pxl-prover",
}


@pytest.mark.parametrize(
    "spec",
    [
        {"rollout": {"maxSurge": 0}},
        {"rollout": {"maxSurge": "0%"}},
        {"rollout": {"maxSurge": "150%"}},
        {"rollout": {"maxSurge": "some"}},
        {"podDisruptionBudget": {"minAvailable": "120%"}},
        {"podDisruptionBudget": {"minAvailable": -1}},
        {"kernel": {"configMapRef": {"name": "Kernel_Files"}}},
        {"auth": {"enabled": True, "secretRef": {"name": "keys", "key": "a key"}}},
        {"ingress": {"enabled": True, "host": "PXL Example"}},
        {"ingress": {"enabled": True, "host": "pxl.example.com", "tlsSecretName": "Bad_TLS"}},
        {"resources": {"requests": {"cpu": "half a core"}}},
        {"image": "   "},
        {"podLabels": {"app.kubernetes.io/name": "other"}},
        {"podLabels": {"pxl.logos.dev/prover": "other"}},
        {"podAnnotations": {"pxl.logos.dev/kernel-hash": "x"}},
        {"tolerations": [{"key": "k", "operator": "Maybe"}]},
        {"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone"}]},
        {
            "topologySpreadConstraints": [
                {"maxSkew": 0, "topologyKey": "z", "whenUnsatisfiable": "ScheduleAnyway"}
            ]
        },
        {"imagePullSecrets": [{"name": "Creds!"}]},
        {"priorityClassName": "High Priority"},
        {"serviceAccountName": "Bad_Account"},
        {"affinity": {"nodeAffinities": {}}},
        {"nodeSelector": {"zone": 1}},
    ],
)
def test_rules_once_only_in_the_operator_are_enforced_by_the_crd_too(spec: dict[str, Any]) -> None:
    """`kubectl apply` refuses these before the operator sees them (schema and CEL)."""
    assert admission_problems(prover(spec)), "the CRD admits it"
    with pytest.raises(SpecError):
        resolve("demo", spec)


@pytest.mark.parametrize("name", ["Demo", "1pxl", "pxl_prover", "a" * 64, "pxl.example"])
def test_the_name_rule_is_a_cel_rule_of_the_crd(name: str) -> None:
    resource = prover({})
    resource["metadata"]["name"] = name
    problems = admission_problems(resource)
    assert any("DNS label" in p for p in problems), problems
    with pytest.raises(SpecError):
        resolve(name, {})


@pytest.mark.parametrize(
    "spec",
    [
        PLACEMENT,
        {"topologySpreadConstraints": []},
        {"rollout": {"maxSurge": "100%"}, "podDisruptionBudget": {"minAvailable": "0%"}},
        {"resources": {"limits": {"cpu": "1.5", "memory": "2e9"}}},
        {"ingress": {"enabled": True, "host": "*.pxl.example.com"}},
    ],
)
def test_placement_and_edge_values_are_accepted_by_both(spec: dict[str, Any]) -> None:
    assert admission_problems(prover(spec)) == []
    resolve("demo", spec)

"""The PXLProver CRD and the operator agree: same defaults, same verdict on bad specs, and
every status field the operator writes survives structural pruning."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from pxl_operator.rollout import Memory
from pxl_operator.spec import SpecError, resolve, with_defaults
from test_examples import CRD_PATH, admission_problems, crd_schema, with_schema_defaults


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

"""The Argo CD health check for PXLProver, executed as Lua 5.1 (what Argo CD embeds).

Argo CD decides from this script whether an Application that contains a PXLProver is
Healthy, Progressing or Degraded; a wrong answer either hides a rolled-back kernel or
blocks a sync wave forever.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

lua51 = pytest.importorskip("lupa.lua51")

ARGOCD_DIR = Path(__file__).resolve().parent.parent / "charts" / "pxl-operator" / "argocd"
HEALTH_LUA = ARGOCD_DIR / "health.lua"
ARGOCD_CM_PATCH = ARGOCD_DIR / "argocd-cm-patch.yaml"
HEALTH_KEY = "resource.customizations.health.pxl.logos.dev_PXLProver"
KERNEL = "3f2a9c0d5e7b41aa" + "0" * 48


def run_health(obj: dict[str, Any], script: str | None = None) -> dict[str, str]:
    """Run the health script the way Argo CD does: `obj` global in, `hs` table out."""
    runtime = lua51.LuaRuntime(unpack_returned_tuples=True)
    runtime.globals().obj = runtime.table_from(obj, recursive=True)
    result = runtime.execute(script if script is not None else HEALTH_LUA.read_text())
    return dict(result.items())


def prover(generation: int = 1, status: dict[str, Any] | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "pxl.logos.dev/v1alpha1",
        "kind": "PXLProver",
        "metadata": {"name": "pxl", "namespace": "default", "generation": generation},
        "spec": {"image": "ghcr.io/logos-dev/pxl-prover:0.1.0"},
    }
    if status is not None:
        obj["status"] = status
    return obj


def condition(kind: str, status: str, reason: str = "", message: str = "") -> dict[str, str]:
    return {"type": kind, "status": status, "reason": reason, "message": message}


def test_fresh_resource_without_status_is_progressing() -> None:
    hs = run_health(prover())
    assert hs["status"] == "Progressing"
    assert "operator" in hs["message"]


def test_status_for_an_older_generation_is_progressing_even_if_it_said_ready() -> None:
    status = {
        "observedGeneration": 2,
        "conditions": [condition("Ready", "True", "RolloutComplete", "3/3 ready")],
    }
    hs = run_health(prover(generation=3, status=status))
    assert hs["status"] == "Progressing"
    assert "generation 3" in hs["message"] and "observed: 2" in hs["message"]


def test_status_without_observed_generation_is_progressing() -> None:
    hs = run_health(prover(generation=1, status={"conditions": []}))
    assert hs["status"] == "Progressing"
    assert "none" in hs["message"]


def test_ready_true_is_healthy_with_replicas_and_kernel_in_the_message() -> None:
    status = {
        "observedGeneration": 4,
        "conditions": [
            condition("Ready", "True", "RolloutComplete", "all replicas serve the kernel"),
            condition("Progressing", "False", "RolloutComplete"),
            condition("Degraded", "False", "AsExpected"),
        ],
        "replicas": 3,
        "readyReplicas": 3,
        "kernelHash": KERNEL,
    }
    hs = run_health(prover(generation=4, status=status))
    assert hs == {"status": "Healthy", "message": "3/3 replicas ready, kernel 3f2a9c0d5e7b"}


def test_ready_true_without_counts_reports_the_condition() -> None:
    status = {
        "observedGeneration": 1,
        "conditions": [condition("Ready", "True", "RolloutComplete", "serving")],
    }
    assert run_health(prover(status=status)) == {
        "status": "Healthy",
        "message": "RolloutComplete: serving",
    }


def test_rolled_back_rollout_is_degraded_with_the_operators_reason_and_message() -> None:
    status = {
        "observedGeneration": 5,
        # The old revision still serves, so Ready may stay True; Degraded must win.
        "conditions": [
            condition("Ready", "True", "RolloutComplete"),
            condition("Progressing", "False", "ProgressDeadlineExceeded"),
            condition(
                "Degraded",
                "True",
                "RolledBack",
                "kernel 9d1e... did not become ready within 600s; restored revision 3",
            ),
        ],
        "replicas": 2,
        "readyReplicas": 2,
    }
    hs = run_health(prover(generation=5, status=status))
    assert hs["status"] == "Degraded"
    assert hs["message"].startswith("RolledBack: kernel 9d1e")
    assert "restored revision 3" in hs["message"]


def test_degraded_from_an_older_generation_is_not_reported_once_the_spec_changed() -> None:
    status = {
        "observedGeneration": 5,
        "conditions": [condition("Degraded", "True", "RolledBack", "old problem")],
    }
    assert run_health(prover(generation=6, status=status))["status"] == "Progressing"


def test_invalid_spec_degraded_without_message_still_names_the_reason() -> None:
    status = {
        "observedGeneration": 1,
        "conditions": [{"type": "Degraded", "status": "True", "reason": "InvalidSpec"}],
    }
    assert run_health(prover(status=status)) == {"status": "Degraded", "message": "InvalidSpec"}


def test_rollout_in_flight_is_progressing_with_its_message() -> None:
    status = {
        "observedGeneration": 2,
        "conditions": [
            condition("Ready", "True", "RolloutComplete"),
            condition("Progressing", "True", "KernelRollout", "1/3 pods serve kernel 9d1e"),
            condition("Degraded", "False", "AsExpected"),
        ],
    }
    hs = run_health(prover(generation=2, status=status))
    assert hs == {"status": "Progressing", "message": "KernelRollout: 1/3 pods serve kernel 9d1e"}


def test_pods_not_ready_yet_is_progressing() -> None:
    status = {
        "observedGeneration": 1,
        "conditions": [condition("Ready", "False", "PodsNotReady", "0/2 replicas ready")],
    }
    hs = run_health(prover(status=status))
    assert hs == {"status": "Progressing", "message": "PodsNotReady: 0/2 replicas ready"}


def test_argocd_cm_patch_carries_exactly_the_tested_script() -> None:
    patch = yaml.safe_load(ARGOCD_CM_PATCH.read_text())
    embedded = patch["data"][HEALTH_KEY]
    assert embedded == HEALTH_LUA.read_text()
    hs = run_health(prover(status={"observedGeneration": 0}), script=embedded)
    assert hs["status"] == "Progressing"

"""What a real cluster does to the operator, emulated: kernel copies a restarted pod reads,
rollbacks that survive lost writes and restarts, scale-ups, retries, skewed images,
label-selected watches, drifted children and orphans (tests/k8s_harness.py).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests
from k8s_harness import Cluster
from test_kernel_configmap_mount import mount_like_a_kubelet
from test_operator_emulated import (
    KERNEL_V1,
    KERNEL_V2,
    KERNEL_V3,
    configmap,
    env_of,
    kernel_hash,
    prover,
    template_hash,
    wait_ready_on,
)

from pxl_operator.kube import Kube
from pxl_operator.reconcile import Reconciler
from pxl_prover.kernel import kernel_hash as folder_hash

pytestmark = pytest.mark.timeout(180)

GOOD, BAD, FIXED = kernel_hash(KERNEL_V1), kernel_hash(KERNEL_V2), kernel_hash(KERNEL_V3)
RETRY = "pxl.logos.dev/retry-rollout"


def kernel_volume(cluster: Cluster, name: str = "demo") -> str:
    template = (cluster.get("Deployment", name) or {})["spec"]["template"]
    (volume,) = [v for v in template["spec"]["volumes"] if v["name"] == "kernel"]
    return str(volume["configMap"]["name"])


def kernel_copies(cluster: Cluster) -> set[str]:
    return {
        c["metadata"]["name"]
        for c in cluster.list("ConfigMap")
        if c["metadata"]["name"].startswith("demo-kernel-")
    }


def condition_is(cluster: Cluster, kind: str, reason: str) -> Any:
    found = cluster.condition("demo", kind)
    return found if found.get("reason") == reason else None


def rolled_back(cluster: Cluster) -> Any:
    return cluster.wait_for(
        "Degraded/RolledBack", lambda: condition_is(cluster, "Degraded", "RolledBack")
    )


def events(cluster: Cluster, reason: str) -> list[dict[str, Any]]:
    return [e for e in cluster.list("Event") if e.get("reason") == reason]


def kernels_applied(cluster: Cluster) -> list[str]:
    """The kernel of each successive pod template the Deployment was given (no repeats)."""
    seen: list[str] = []
    for version in cluster.history("Deployment", "demo"):
        annotations = version["spec"]["template"]["metadata"].get("annotations") or {}
        kernel = annotations.get("pxl.logos.dev/kernel-hash", "")
        if not seen or seen[-1] != kernel:
            seen.append(kernel)
    return seen


def start_bad_rollout(cluster: Cluster) -> None:
    """A fleet on V1, then an edit to V2 whose pods never become ready."""
    cluster.unready = lambda template: BAD in str(template)
    cluster.apply(configmap(KERNEL_V1))
    cluster.apply(prover(kernel={"configMapRef": {"name": "kernel"}}))
    wait_ready_on(cluster, GOOD)
    cluster.patch("ConfigMap", "kernel", {"data": KERNEL_V2})


def assert_stays_on_good(cluster: Cluster, seconds: float = 2.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert template_hash(cluster) == GOOD
        time.sleep(0.1)
    assert kernels_applied(cluster) == [GOOD, BAD, GOOD], "the bad template came back"


# --- content-addressed kernels ------------------------------------------------------------


def test_after_a_rollback_a_restarted_pod_reads_the_old_kernels_files(
    cluster: Cluster, tmp_path: Path
) -> None:
    start_bad_rollout(cluster)
    rolled_back(cluster)
    cluster.wait_for("template restored", lambda: template_hash(cluster) == GOOD)
    deployment = cluster.get("Deployment", "demo")
    expected = env_of(deployment)["PXL_EXPECTED_KERNEL_HASH"]
    assert expected == GOOD
    assert cluster.get("ConfigMap", "kernel")["data"]["Syntax.v"] == KERNEL_V2["Syntax.v"]

    # A pod (re)started now mounts what the restored template names, as a kubelet would.
    mounted = cluster.get("ConfigMap", kernel_volume(cluster))
    assert mounted["metadata"]["name"] == f"demo-kernel-{GOOD}"
    assert mounted["immutable"] is True
    assert mounted["metadata"]["ownerReferences"][0]["name"] == "demo"
    mount = mount_like_a_kubelet(mounted, tmp_path / "pod-kernel")
    assert folder_hash(mount) == expected, "the restarted pod would never become ready"

    with pytest.raises(requests.HTTPError):  # immutable: nobody can change its files
        cluster.patch("ConfigMap", f"demo-kernel-{GOOD}", {"data": KERNEL_V3})

    cluster.patch("ConfigMap", "kernel", {"data": KERNEL_V3})
    wait_ready_on(cluster, FIXED)
    assert kernel_volume(cluster) == f"demo-kernel-{FIXED}"
    cluster.wait_for(
        "old kernel copies collected", lambda: kernel_copies(cluster) == {f"demo-kernel-{FIXED}"}
    )


def test_an_edit_keeps_the_old_copy_while_old_pods_may_restart(cluster: Cluster) -> None:
    cluster.controller_delay_s = 0.3
    cluster.apply(configmap(KERNEL_V1))
    cluster.apply(prover(kernel={"configMapRef": {"name": "kernel"}}))
    wait_ready_on(cluster, GOOD)
    assert kernel_copies(cluster) == {f"demo-kernel-{GOOD}"}
    cluster.scale_blocked = False
    cluster.unready = lambda template: BAD in str(template)  # the rollout stays in flight
    cluster.patch("ConfigMap", "kernel", {"data": KERNEL_V2})
    both = {f"demo-kernel-{GOOD}", f"demo-kernel-{BAD}"}
    cluster.wait_for("both copies while rolling", lambda: kernel_copies(cluster) == both)


# --- durable rollback memory -----------------------------------------------------------------


def test_rollback_holds_when_the_status_write_fails(cluster: Cluster) -> None:
    fault = cluster.fail_writes("PATCH", "/pxlprovers/demo/status", 3, "RolledBack")
    start_bad_rollout(cluster)
    cluster.wait_for("status writes failed", lambda: fault.failed == 3)
    cluster.wait_for("template restored", lambda: template_hash(cluster) == GOOD)
    rolled_back(cluster)
    assert_stays_on_good(cluster)
    status = cluster.get("PXLProver", "demo")["status"]
    assert status["failedKernelHash"] == BAD
    assert events(cluster, "RolledBack")


def test_rollback_is_retried_when_the_deployment_write_fails(emulated: Cluster) -> None:
    emulated.start_operator(resync_interval_s=0.5)
    fault = emulated.fail_writes("PATCH", "/deployments/demo", 2, "rejected-template")
    start_bad_rollout(emulated)
    emulated.wait_for("Deployment writes failed", lambda: fault.failed == 2)
    rolled_back(emulated)
    emulated.wait_for("template restored", lambda: template_hash(emulated) == GOOD)
    assert_stays_on_good(emulated)


def test_a_failing_event_post_does_not_stop_the_rollback(cluster: Cluster) -> None:
    fault = cluster.fail_writes("POST", "/events", 1, "RolledBack")
    start_bad_rollout(cluster)
    rolled_back(cluster)
    cluster.wait_for("template restored", lambda: template_hash(cluster) == GOOD)
    assert fault.failed == 1
    assert_stays_on_good(cluster)
    assert not cluster.operator_errors


def test_operator_restarted_between_the_rollback_and_its_report(cluster: Cluster) -> None:
    fault = cluster.fail_writes("PATCH", "/pxlprovers/demo/status", 10_000, "RolledBack")
    start_bad_rollout(cluster)
    cluster.wait_for("template restored", lambda: template_hash(cluster) == GOOD)
    cluster.wait_for("report failed", lambda: fault.failed >= 1)
    cluster.stop_operator()  # dies before it could record or announce the rollback
    assert cluster.condition("demo", "Degraded").get("reason") != "RolledBack"
    fault.times = 0
    before = len(events(cluster, "RolledBack"))

    cluster.start_operator()
    rolled_back(cluster)
    cluster.wait_for("the rollback announced", lambda: len(events(cluster, "RolledBack")) > before)
    assert_stays_on_good(cluster)
    status = cluster.get("PXLProver", "demo")["status"]
    assert status["kernelHash"] == GOOD and status["failedKernelHash"] == BAD


def test_lost_status_does_not_lose_the_last_good_template(cluster: Cluster) -> None:
    start_bad_rollout(cluster)
    rolled_back(cluster)
    cluster.wait_for("template restored", lambda: template_hash(cluster) == GOOD)
    cluster.stop_operator()
    wiped = dict.fromkeys(
        ["kernelHash", "lastGoodTemplate", "lastGoodRevision", "failedTemplateHash"]
    )
    cluster.patch("PXLProver", "demo", {"status": {**wiped, "conditions": None}}, "status")

    cluster.start_operator()
    rolled_back(cluster)
    assert_stays_on_good(cluster)
    assert cluster.get("PXLProver", "demo")["status"]["kernelHash"] == GOOD


def test_the_periodic_resync_alone_decides_a_rollback(emulated: Cluster) -> None:
    """No kopf handler context at all: the resync path must act and post the event."""
    emulated.unready = lambda template: BAD in str(template)
    emulated.apply(configmap(KERNEL_V1))
    emulated.apply(prover(kernel={"configMapRef": {"name": "kernel"}}))
    reconciler = Reconciler(Kube.from_environment())
    reconciler.known.add(("default", "demo"))

    def resync_until(what: str, check: Any) -> Any:
        def step() -> Any:
            reconciler.resync()
            return check()

        return emulated.wait_for(what, step)

    resync_until("Ready on V1", lambda: cluster_ready_on(emulated, GOOD))
    emulated.patch("ConfigMap", "kernel", {"data": KERNEL_V2})
    resync_until("Degraded/RolledBack", lambda: condition_is(emulated, "Degraded", "RolledBack"))
    resync_until("template restored", lambda: template_hash(emulated) == GOOD)
    for _ in range(5):
        reconciler.resync()
    assert_stays_on_good(emulated, seconds=0.5)
    (event,) = events(emulated, "RolledBack")
    assert event["type"] == "Warning" and event["involvedObject"]["name"] == "demo"
    assert BAD[:12] in event["message"]


def cluster_ready_on(cluster: Cluster, kernel: str) -> bool:
    status = (cluster.get("PXLProver", "demo") or {}).get("status", {})
    ready = cluster.condition("demo", "Ready").get("status") == "True"
    return ready and status.get("kernelHash") == kernel


# --- scale-ups, retries, skew ------------------------------------------------------------------


def test_a_scale_up_is_not_a_rollout(cluster: Cluster) -> None:
    cluster.apply(prover(kernel={"expectedHash": "a" * 64}, autoscaling={"enabled": True}))
    before = wait_ready_on(cluster, "a" * 64)["status"]["readyReplicas"]
    cluster.scale_blocked = True  # the new pods stay Pending for now
    cluster.patch("Deployment", "demo", {"spec": {"replicas": 5}})  # what the HPA does

    def scaling_seen() -> Any:
        status = cluster.get("PXLProver", "demo")["status"]
        return status if status["replicas"] == 5 and status["readyReplicas"] == before else None

    cluster.wait_for("operator sees the added pods not ready yet", scaling_seen)
    progressing = cluster.condition("demo", "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("False", "RolloutComplete")
    assert "scaling" in progressing["message"]
    assert cluster.condition("demo", "Ready")["status"] == "True"
    assert cluster.condition("demo", "Degraded")["status"] == "False"

    cluster.scale_blocked = False
    cluster.wait_for(
        "5 ready", lambda: cluster.get("PXLProver", "demo")["status"]["readyReplicas"] == 5
    )
    assert cluster.condition("demo", "Progressing")["status"] == "False"


def test_a_rejected_template_is_retried_when_asked_and_its_reason_is_shown(
    cluster: Cluster,
) -> None:
    start_bad_rollout(cluster)
    rolled_back(cluster)
    cluster.wait_for("template restored", lambda: template_hash(cluster) == GOOD)
    status = cluster.wait_for(
        "rejection in status",
        lambda: (s := cluster.get("PXLProver", "demo")["status"]).get("failedKernelHash") and s,
    )
    assert status["failedKernelHash"] == BAD
    assert status["failedReason"].startswith("ProgressDeadlineExceeded")
    assert status["failedTemplateHash"]
    assert RETRY in cluster.condition("demo", "Degraded")["message"]

    cluster.unready = lambda template: False  # capacity came back
    time.sleep(1.0)
    assert template_hash(cluster) == GOOD, "a rejected template is not retried by itself"
    cluster.patch("PXLProver", "demo", {"metadata": {"annotations": {RETRY: "2026-11-30T04:10Z"}}})
    wait_ready_on(cluster, BAD)
    cluster.wait_for(
        "no longer degraded", lambda: cluster.condition("demo", "Degraded")["status"] == "False"
    )
    assert "failedKernelHash" not in cluster.get("PXLProver", "demo")["status"]


def test_an_image_whose_kernel_is_unknown_is_not_rolled(cluster: Cluster) -> None:
    cluster.apply(prover())  # the operator's own image: its built-in kernel is known
    first = cluster.wait_for(
        "Ready", lambda: cluster.condition("demo", "Ready").get("status") == "True"
    )
    assert first
    before = cluster.get("Deployment", "demo")["spec"]["template"]
    cluster.patch("PXLProver", "demo", {"spec": {"image": "registry.example/pxl:9.9"}})
    degraded = cluster.wait_for(
        "Degraded/KernelHashUnknown", lambda: condition_is(cluster, "Degraded", "KernelHashUnknown")
    )
    assert "expectedHash" in degraded["message"] and "pxl kernel-hash" in degraded["message"]
    assert cluster.get("Deployment", "demo")["spec"]["template"] == before

    cluster.patch("PXLProver", "demo", {"spec": {"kernel": {"expectedHash": "c" * 64}}})
    wait_ready_on(cluster, "c" * 64)
    image = cluster.get("Deployment", "demo")["spec"]["template"]["spec"]["containers"][0]
    assert image["image"] == "registry.example/pxl:9.9"


# --- watches ------------------------------------------------------------------------------


def test_only_labelled_configmaps_and_own_children_are_listed_or_watched(
    cluster: Cluster,
) -> None:
    cluster.apply(configmap(KERNEL_V1))
    cluster.apply(prover(kernel={"configMapRef": {"name": "kernel"}}))
    wait_ready_on(cluster, GOOD)
    queries = cluster.watch_queries("configmaps")
    assert any(q.get("watch") == "true" for q in queries), "the kernel ConfigMaps are watched"
    for query in queries:
        assert "pxl.logos.dev/" in query.get("labelSelector", ""), query
    for plural in ("services", "deployments", "poddisruptionbudgets"):
        for query in cluster.watch_queries(plural):
            assert query.get("labelSelector") == "app.kubernetes.io/managed-by=pxl-operator"


def test_an_unlabelled_kernel_configmap_still_serves(cluster: Cluster) -> None:
    unlabelled = configmap(KERNEL_V1)
    del unlabelled["metadata"]["labels"]
    cluster.apply(unlabelled)
    cluster.apply(prover(kernel={"configMapRef": {"name": "kernel"}}))
    wait_ready_on(cluster, GOOD)


def test_drifted_children_are_repaired_by_their_watch(cluster: Cluster) -> None:
    cluster.apply(prover(kernel={"expectedHash": "a" * 64}))
    wait_ready_on(cluster, "a" * 64)
    time.sleep(2)  # let the creation's reconciles finish: only a watch can see what follows
    cluster.patch("Service", "demo", {"spec": {"type": "NodePort"}})
    cluster.wait_for(
        "Service repaired", lambda: cluster.get("Service", "demo")["spec"]["type"] == "ClusterIP"
    )
    cluster.patch("PodDisruptionBudget", "demo", {"spec": {"minAvailable": 0}})
    cluster.wait_for(
        "PDB repaired",
        lambda: cluster.get("PodDisruptionBudget", "demo")["spec"]["minAvailable"] == 1,
    )
    cluster.delete("Service", "demo")
    cluster.wait_for("Service re-created", lambda: cluster.get("Service", "demo"))


def test_children_orphaned_by_cascade_orphan_are_adopted(cluster: Cluster) -> None:
    cluster.apply(prover(kernel={"expectedHash": "a" * 64}))
    wait_ready_on(cluster, "a" * 64)
    cluster.delete("PXLProver", "demo", cascade="orphan")
    cluster.wait_for("PXLProver gone", lambda: cluster.get("PXLProver", "demo") is None)
    orphan = cluster.get("Deployment", "demo")
    assert orphan is not None and not orphan["metadata"].get("ownerReferences")

    owner = cluster.apply(prover(kernel={"expectedHash": "a" * 64}))
    wait_ready_on(cluster, "a" * 64)
    for kind in ("Service", "Deployment", "PodDisruptionBudget"):
        refs = cluster.get(kind, "demo")["metadata"]["ownerReferences"]
        assert [r["uid"] for r in refs] == [owner["metadata"]["uid"]], kind
    assert cluster.condition("demo", "Degraded")["status"] == "False"


# --- placement ----------------------------------------------------------------------------


def test_placement_fields_reach_the_pods_and_removing_one_clears_it(cluster: Cluster) -> None:
    from test_operator_crd import PLACEMENT

    cluster.apply(prover(kernel={"expectedHash": "a" * 64}, **PLACEMENT))
    wait_ready_on(cluster, "a" * 64)
    pod = cluster.get("Deployment", "demo")["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == PLACEMENT["nodeSelector"]
    assert pod["tolerations"] == PLACEMENT["tolerations"]
    assert pod["serviceAccountName"] == "pxl-prover"
    assert cluster.get("PodDisruptionBudget", "demo")["spec"]["minAvailable"] == 1

    cluster.patch("PXLProver", "demo", {"spec": {"nodeSelector": None, "replicas": 1}})
    cluster.wait_for(
        "nodeSelector cleared",
        lambda: "nodeSelector" not in cluster.get("Deployment", "demo")["spec"]["template"]["spec"],
    )
    cluster.wait_for(
        "no PDB for a single pod", lambda: cluster.get("PodDisruptionBudget", "demo") is None
    )
    wait_ready_on(cluster, "a" * 64)
    assert cluster.get("Deployment", "demo")["spec"]["template"]["spec"]["tolerations"]

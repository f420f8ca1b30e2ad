"""The real kopf operator, over HTTP, against an emulated API server (tests/k8s_harness.py).

Each test runs `kopf.run` with the operator's handlers exactly as `pxl-operator run`
does, and drives it like a user with kubectl: create, edit, break, restart, delete.
"""

from __future__ import annotations

import base64
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import requests
from k8s_harness import Cluster
from test_examples import crd_schema

from pxl_prover.kernel import hash_sources

pytestmark = pytest.mark.timeout(120)

KERNEL_V1 = {"Syntax.v": "Inductive form := Atom (n : nat).\n"}
KERNEL_V2 = {"Syntax.v": "Inductive form := Atom (n : nat) | Bot.\n"}
KERNEL_V3 = {"Syntax.v": "Inductive form := Atom (n : nat) | Bot | Imp (a b : form).\n"}
CHILD_KINDS = ("Service", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress")


def kernel_hash(files: Mapping[str, str]) -> str:
    return hash_sources({name: text.encode() for name, text in files.items()})


def prover(name: str = "demo", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "pxl.logos.dev/v1alpha1",
        "kind": "PXLProver",
        "metadata": {
            "name": name,
            "labels": {
                "argocd.argoproj.io/instance": "pxl-prod",
                "app.kubernetes.io/instance": "pxl-prod",
            },
        },
        "spec": spec,
    }


def configmap(files: Mapping[str, str], name: str = "kernel") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"pxl.logos.dev/kernel": "true"}},
        "data": {**files, "_CoqProject": "-R . PXL\n"},
    }


def template_hash(cluster: Cluster, name: str = "demo") -> str | None:
    deployment = cluster.get("Deployment", name) or {}
    annotations = deployment.get("spec", {}).get("template", {}).get("metadata", {})
    return (annotations.get("annotations") or {}).get("pxl.logos.dev/kernel-hash")


def env_of(deployment: Mapping[str, Any]) -> dict[str, Any]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def wait_ready_on(cluster: Cluster, kernel: str, name: str = "demo") -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        obj = cluster.get("PXLProver", name) or {}
        status = obj.get("status", {})
        ready = cluster.condition(name, "Ready").get("status") == "True"
        return obj if ready and status.get("kernelHash") == kernel else None

    return dict(cluster.wait_for(f"{name} Ready on kernel {kernel[:12]}", check))


def test_create_builds_every_child_owned_and_without_parent_tracking_labels(
    cluster: Cluster,
) -> None:
    cluster.apply(configmap(KERNEL_V1))
    owner = cluster.apply(
        prover(
            kernel={"configMapRef": {"name": "kernel"}},
            autoscaling={"enabled": True, "minReplicas": 2, "maxReplicas": 6},
            ingress={"enabled": True, "host": "pxl.example.com", "tlsSecretName": "pxl-tls"},
            auth={"enabled": True},
        )
    )
    status = wait_ready_on(cluster, kernel_hash(KERNEL_V1))["status"]
    assert status["endpoint"] == "https://pxl.example.com"
    assert status["targetKernelHash"] == kernel_hash(KERNEL_V1)
    assert status["observedGeneration"] == 1

    children = [cluster.get(kind, "demo") for kind in CHILD_KINDS]
    children.append(cluster.get("Secret", "demo-hmac"))
    for child in children:
        assert child is not None
        refs = child["metadata"]["ownerReferences"]
        assert [(r["kind"], r["name"], r["uid"]) for r in refs] == [
            ("PXLProver", "demo", owner["metadata"]["uid"])
        ]
        assert refs[0]["controller"] is True
        labels = child["metadata"]["labels"]
        assert "argocd.argoproj.io/instance" not in labels
        assert "app.kubernetes.io/instance" not in labels

    key = base64.b64decode(cluster.get("Secret", "demo-hmac")["data"]["hmac-key"]).decode()
    assert len(bytes.fromhex(key)) == 32  # a 256-bit key
    deployment = cluster.get("Deployment", "demo")
    assert env_of(deployment)["HMAC_SECRET_KEY"] == {
        "secretKeyRef": {"name": "demo-hmac", "key": "hmac-key"}
    }
    assert env_of(deployment)["PXL_EXPECTED_KERNEL_HASH"] == kernel_hash(KERNEL_V1)


def test_spec_change_patches_children_but_never_the_hpa_owned_replicas(cluster: Cluster) -> None:
    tls = {"enabled": True, "host": "pxl.example.com", "tlsSecretName": "t", "className": "c"}
    cluster.apply(
        prover(kernel={"expectedHash": "a" * 64}, autoscaling={"enabled": True}, ingress=tls)
    )
    wait_ready_on(cluster, "a" * 64)
    cluster.patch("Deployment", "demo", {"spec": {"replicas": 7}})  # what the HPA does
    secret_before = cluster.get("Secret", "demo-hmac")
    assert cluster.get("Ingress", "demo")["spec"]["tls"][0]["secretName"] == "t"

    cluster.patch("PXLProver", "demo", {"spec": {"ingress": {"tlsSecretName": None}}})
    ingress = cluster.wait_for(
        "TLS dropped from the Ingress",
        lambda: "tls" not in (i := cluster.get("Ingress", "demo"))["spec"] and i,
    )
    assert ingress["spec"]["ingressClassName"] == "c"
    cluster.wait_for(
        "endpoint without TLS",
        lambda: cluster.get("PXLProver", "demo")["status"]["endpoint"] == "http://pxl.example.com",
    )

    cluster.patch(
        "PXLProver",
        "demo",
        {
            "spec": {
                "pool": {"size": 9},
                "logLevel": "DEBUG",
                "ingress": {"enabled": False},
                "autoscaling": {"maxReplicas": 20},
            }
        },
    )
    cluster.wait_for(
        "Deployment env patched",
        lambda: env_of(cluster.get("Deployment", "demo"))["PXL_POOL_SIZE"] == "9",
    )
    deployment = cluster.get("Deployment", "demo")
    assert env_of(deployment)["LOG_LEVEL"] == "DEBUG"
    assert deployment["spec"]["replicas"] == 7
    cluster.wait_for("Ingress removed", lambda: cluster.get("Ingress", "demo") is None)
    cluster.wait_for(
        "HPA patched",
        lambda: cluster.get("HorizontalPodAutoscaler", "demo")["spec"]["maxReplicas"] == 20,
    )
    cluster.wait_for(
        "status observes generation 3",
        lambda: cluster.get("PXLProver", "demo")["status"]["observedGeneration"] == 3,
    )
    assert cluster.get("Secret", "demo-hmac") == secret_before  # auth off: never generated
    assert secret_before is None


def test_kernel_configmap_edit_rolls_the_fleet_without_touching_the_prover(
    cluster: Cluster,
) -> None:
    cluster.apply(prover(kernel={"configMapRef": {"name": "kernel"}}))
    cluster.wait_for(
        "Degraded: kernel ConfigMap missing",
        lambda: cluster.condition("demo", "Degraded").get("reason") == "KernelConfigMapNotFound",
    )
    assert cluster.get("Deployment", "demo") is None  # nothing built on an unknown kernel

    cluster.apply(configmap(KERNEL_V1))
    first = wait_ready_on(cluster, kernel_hash(KERNEL_V1))
    assert first["status"]["lastGoodRevision"] == "1"

    cluster.patch("ConfigMap", "kernel", {"data": KERNEL_V2})
    cluster.wait_for(
        "pod template carries the new kernel hash",
        lambda: template_hash(cluster) == kernel_hash(KERNEL_V2),
    )
    deployment = cluster.get("Deployment", "demo")
    assert env_of(deployment)["PXL_EXPECTED_KERNEL_HASH"] == kernel_hash(KERNEL_V2)
    assert env_of(deployment)["PXL_KERNEL_DIR"] == "/etc/pxl/kernel"
    second = wait_ready_on(cluster, kernel_hash(KERNEL_V2))
    assert second["status"]["lastGoodRevision"] == "2"
    assert second["metadata"]["generation"] == first["metadata"]["generation"]
    assert cluster.condition("demo", "Progressing")["reason"] == "RolloutComplete"


def test_stalled_rollout_is_rolled_back_with_degraded_and_an_event(cluster: Cluster) -> None:
    good, bad, fixed = kernel_hash(KERNEL_V1), kernel_hash(KERNEL_V2), kernel_hash(KERNEL_V3)
    cluster.unready = lambda template: bad in str(template)  # pods on V2 never pass /ready
    cluster.apply(configmap(KERNEL_V1))
    cluster.apply(prover(kernel={"configMapRef": {"name": "kernel"}}))
    wait_ready_on(cluster, good)

    cluster.patch("ConfigMap", "kernel", {"data": KERNEL_V2})
    degraded = cluster.wait_for(
        "Degraded/RolledBack",
        lambda: (c := cluster.condition("demo", "Degraded")).get("reason") == "RolledBack" and c,
    )
    assert degraded["status"] == "True"
    assert bad[:12] in degraded["message"] and good[:12] in degraded["message"]
    cluster.wait_for("template restored", lambda: template_hash(cluster) == good)
    events = cluster.wait_for(
        "a RolledBack event",
        lambda: [e for e in cluster.list("Event") if e.get("reason") == "RolledBack"],
    )
    assert events[0]["type"] == "Warning"
    assert events[0]["involvedObject"]["name"] == "demo"
    assert events[0]["involvedObject"]["kind"] == "PXLProver"
    status = wait_ready_on(cluster, good)["status"]
    assert status["targetKernelHash"] == bad
    assert set(status) <= set(crd_schema()["properties"]["status"]["properties"])
    assert template_hash(cluster) == good  # the stalled template is not re-applied
    assert cluster.condition("demo", "Degraded")["reason"] == "RolledBack"
    cluster.delete("Deployment", "demo")  # even rebuilt from scratch, the bad kernel stays out
    cluster.wait_for(
        "Deployment rebuilt on the good kernel", lambda: template_hash(cluster) == good
    )

    cluster.patch("ConfigMap", "kernel", {"data": KERNEL_V3})  # the fix rolls out again
    wait_ready_on(cluster, fixed)
    cluster.wait_for(
        "no longer degraded", lambda: cluster.condition("demo", "Degraded")["status"] == "False"
    )


def test_operator_restarted_halfway_converges_without_duplicates(cluster: Cluster) -> None:
    cluster.apply(prover(kernel={"expectedHash": "b" * 64}, auth={"enabled": True}))
    cluster.wait_for("Deployment created", lambda: cluster.get("Deployment", "demo"))
    cluster.stop_operator()
    secret = cluster.get("Secret", "demo-hmac")
    assert secret is not None
    cluster.patch(
        "PXLProver", "demo", {"spec": {"replicas": 3, "kernel": {"expectedHash": "c" * 64}}}
    )

    cluster.start_operator()
    status = wait_ready_on(cluster, "c" * 64)["status"]
    assert status["readyReplicas"] == 3
    assert cluster.get("Deployment", "demo")["spec"]["replicas"] == 3
    for kind in ("Service", "Deployment", "PodDisruptionBudget", "Secret"):
        assert len(cluster.list(kind)) == 1, kind
    assert cluster.get("Secret", "demo-hmac")["data"] == secret["data"]  # never regenerated


def test_invalid_spec_reports_what_to_fix_and_creates_nothing(cluster: Cluster) -> None:
    # An older or missing CRD validation let this through; the operator must not build it.
    cluster.apply(
        prover(
            kernel={"expectedHash": "d" * 64},
            autoscaling={"enabled": True, "minReplicas": 5, "maxReplicas": 2},
            ingress={"enabled": True},
        )
    )
    degraded = cluster.wait_for(
        "Degraded/InvalidSpec",
        lambda: (c := cluster.condition("demo", "Degraded")).get("reason") == "InvalidSpec" and c,
    )
    assert "spec.autoscaling" in degraded["message"] and "maxReplicas" in degraded["message"]
    assert "spec.ingress.host" in degraded["message"]
    for kind in CHILD_KINDS:
        assert cluster.list(kind) == [], kind

    cluster.patch(
        "PXLProver",
        "demo",
        {"spec": {"autoscaling": {"maxReplicas": 8}, "ingress": {"host": "pxl.example.com"}}},
    )
    wait_ready_on(cluster, "d" * 64)
    assert cluster.condition("demo", "Degraded")["status"] == "False"
    assert cluster.get("Ingress", "demo") is not None


def test_delete_is_not_blocked_by_a_finalizer(cluster: Cluster) -> None:
    cluster.apply(prover(kernel={"expectedHash": "e" * 64}))
    ready = wait_ready_on(cluster, "e" * 64)
    assert not ready["metadata"].get("finalizers")

    cluster.delete("PXLProver", "demo")
    cluster.wait_for("PXLProver gone", lambda: cluster.get("PXLProver", "demo") is None)
    cluster.wait_for("children collected", lambda: cluster.get("Deployment", "demo") is None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_pxl_operator_run_serves_liveness_and_stops_cleanly(emulated: Cluster) -> None:
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "pxl-operator"),
        "run",
        "--namespace",
        "default",
        f"--liveness=http://127.0.0.1:{port}/healthz",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        emulated.apply(prover(kernel={"expectedHash": "f" * 64}))
        wait_ready_on(emulated, "f" * 64)
        probe = emulated.wait_for(
            "liveness endpoint answers",
            lambda: _get_json(f"http://127.0.0.1:{port}/healthz"),
        )
        assert probe["reconciles"] >= 1
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output


def _get_json(url: str) -> dict[str, Any] | None:
    try:
        response = requests.get(url, timeout=2)
    except requests.ConnectionError:
        return None
    return dict(response.json()) if response.status_code == 200 else None


def test_periodic_resync_repairs_what_no_event_reports(emulated: Cluster) -> None:
    emulated.start_operator(resync_interval_s=0.5)
    emulated.apply(prover(kernel={"expectedHash": "f" * 64}))
    wait_ready_on(emulated, "f" * 64)
    # Someone overwrites the status: no handler fires on status changes, only the resync.
    emulated.patch(
        "PXLProver", "demo", {"status": {"kernelHash": "0" * 64, "readyReplicas": 0}}, "status"
    )
    assert emulated.get("PXLProver", "demo")["status"]["kernelHash"] == "0" * 64
    wait_ready_on(emulated, "f" * 64)
    assert emulated.get("PXLProver", "demo")["status"]["readyReplicas"] == 2

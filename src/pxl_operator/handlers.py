"""kopf handlers: every trigger funnels into the one level-triggered `Reconciler`.

Triggers: the PXLProver itself (create, update, resume after a restart), the kernel
ConfigMap it names (found through a kopf index, so editing the ConfigMap rolls the
fleet without touching the PXLProver), its Deployment (rollout progress, completion,
stall) and its other children (a change by hand is repaired at once) — and, every few
minutes, a resync of every PXLProver seen, in case an event was missed or its handling
failed.

Watches are filtered by label on the server: only ConfigMaps labelled
`pxl.logos.dev/kernel` (the label users put on kernel ConfigMaps) and only children
labelled `app.kubernetes.io/managed-by: pxl-operator` are ever listed or streamed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import kopf
from kubernetes.config import ConfigException

from pxl_operator.kernel import KERNEL_SOURCE_LABEL
from pxl_operator.kube import Kube, load_configuration
from pxl_operator.manifests import GROUP, MANAGED_BY
from pxl_operator.metrics import OperatorMetrics, serve
from pxl_operator.reconcile import KIND, Reconciler

PXLPROVERS = (GROUP, "v1alpha1", "pxlprovers")
CONFIGMAPS = ("", "v1", "configmaps")
# Children watched for drift: a change by hand is repaired at once, not at the resync.
CHILDREN = (
    ("apps", "v1", "deployments"),
    ("", "v1", "services"),
    ("policy", "v1", "poddisruptionbudgets"),
    ("autoscaling", "v2", "horizontalpodautoscalers"),
    ("networking.k8s.io", "v1", "ingresses"),
)
MANAGED = f"app.kubernetes.io/managed-by={MANAGED_BY}"
WATCH_SERVER_TIMEOUT_S = 300
DEFAULT_RESYNC_INTERVAL_S = 300.0


@kopf.on.login(id="credentials")
def login(settings: kopf.OperatorSettings, **_: Any) -> kopf.ConnectionInfo:
    """kopf's watches use the same credentials as the operator's own API calls."""
    try:
        configuration = load_configuration()
    except ConfigException as exc:
        raise kopf.LoginError(f"no Kubernetes credentials: {exc}") from exc
    header = configuration.get_api_key_with_prefix("BearerToken") or ""
    scheme, _, token = header.partition(" ") if " " in header else ("", "", header)
    return kopf.ConnectionInfo(
        server=configuration.host,
        ca_path=configuration.ssl_ca_cert,
        insecure=not configuration.verify_ssl,
        username=configuration.username or None,
        password=configuration.password or None,
        scheme=scheme or None,
        token=token or None,
        certificate_path=configuration.cert_file,
        private_key_path=configuration.key_file,
        trust_env=settings.networking.trust_env,
    )


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    """Watches that reconnect regularly; Events only for warnings; one API client.

    Handler progress lives in annotations only: the CRD's structural schema prunes the
    `status.kopf` field kopf would otherwise also write. No handler needs a finalizer,
    so deleting a PXLProver never waits for the operator; the periodic resync is a plain
    task for the same reason (kopf timers would add a finalizer to every PXLProver).
    """
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage()
    settings.watching.server_timeout = WATCH_SERVER_TIMEOUT_S
    settings.watching.client_timeout = WATCH_SERVER_TIMEOUT_S + 30
    settings.posting.level = logging.WARNING
    # Server-side label selectors: never list or stream every ConfigMap (or Service...)
    # of the cluster, only the kernel sources and the operator's own children.
    settings.watching.label_selectors[CONFIGMAPS] = KERNEL_SOURCE_LABEL
    for resource in CHILDREN:
        settings.watching.label_selectors[resource] = MANAGED
    try:
        kube = Kube.from_environment()
    except ConfigException as exc:
        raise kopf.PermanentError(f"no Kubernetes credentials: {exc}") from exc
    metrics = OperatorMetrics()
    memo.reconciler = Reconciler(kube, metrics=metrics)
    if memo.get("metrics_address"):  # `pxl-operator run --metrics-address`
        memo.metrics_server = serve(metrics, memo.metrics_address)
    interval = float(memo.get("resync_interval", DEFAULT_RESYNC_INTERVAL_S))
    memo.resync_task = asyncio.create_task(_resync_forever(memo.reconciler, interval))


async def _resync_forever(reconciler: Reconciler, interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        await asyncio.to_thread(reconciler.resync)


@kopf.on.cleanup()
async def stop_resync(memo: kopf.Memo, **_: Any) -> None:
    server = memo.get("metrics_server")
    if server is not None:
        server.shutdown()
        server.server_close()
    task = memo.get("resync_task")
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@kopf.on.probe(id="reconciles")
def reconciles(memo: kopf.Memo, **_: Any) -> int:
    """Liveness detail: how many reconciles finished since start."""
    return int(memo.reconciler.completed)


@kopf.index(*PXLPROVERS, id="kernel_configmaps")  # the id is the kwarg name
def kernel_configmaps(
    namespace: str, name: str, spec: kopf.Spec, **_: Any
) -> dict[tuple[str, str], str]:
    """(namespace, ConfigMap name) -> the PXLProvers whose kernel it holds."""
    ref = (spec.get("kernel") or {}).get("configMapRef") or {}
    return {(namespace, ref["name"]): name} if ref.get("name") else {}


@kopf.on.create(*PXLPROVERS, id="create")
@kopf.on.update(*PXLPROVERS, id="update")
@kopf.on.resume(*PXLPROVERS, id="resume")
def prover_changed(namespace: str, name: str, memo: kopf.Memo, **_: Any) -> None:
    memo.reconciler.reconcile(namespace, name)


@kopf.on.event(*CONFIGMAPS, id="kernel-configmap", labels={KERNEL_SOURCE_LABEL: kopf.PRESENT})
def kernel_configmap_changed(
    namespace: str, name: str, memo: kopf.Memo, kernel_configmaps: kopf.Index, **_: Any
) -> None:
    for prover in kernel_configmaps.get((namespace, name), []):
        memo.reconciler.reconcile(namespace, prover)


def child_changed(namespace: str, meta: kopf.Meta, memo: kopf.Memo, **_: Any) -> None:
    """A child changed (rollout progress, an edit by hand, a deletion): reconcile its owner."""
    for ref in meta.get("ownerReferences") or []:
        if ref.get("kind") == KIND and str(ref.get("apiVersion", "")).startswith(f"{GROUP}/"):
            memo.reconciler.reconcile(namespace, ref["name"])


for _group, _version, _plural in CHILDREN:
    kopf.on.event(
        _group,
        _version,
        _plural,
        id=f"child-{_plural}"[:40],
        labels={"app.kubernetes.io/managed-by": MANAGED_BY},
    )(child_changed)

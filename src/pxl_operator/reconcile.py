"""Bring one PXLProver's children and status in line with its spec (level-triggered).

Every trigger — the PXLProver changed, its kernel ConfigMap changed, its Deployment
reported progress, the operator restarted — runs the same `reconcile`, which reads
the current state and converges. That is what makes a restart halfway harmless:
nothing depends on which event was missed.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import hashlib
import json
import logging
import secrets
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import kopf

from pxl_operator import manifests, monitoring
from pxl_operator.kernel import configmap_name, target_hash
from pxl_operator.kube import ApiError, Kube
from pxl_operator.metrics import OperatorMetrics
from pxl_operator.rollout import (
    RETRY_ANNOTATION,
    Memory,
    assess,
    decide,
    is_rejected,
    ready_condition,
    template_id,
)
from pxl_operator.spec import SpecError, resolve
from pxl_operator.status import Condition, Degraded, failure_conditions, merge_conditions, now

KIND = "PXLProver"
WarnFn = Callable[[Mapping[str, Any], str, str], None]
logger = logging.getLogger(__name__)


class OwnerGone(Exception):
    """The PXLProver was deleted while it was being reconciled: stop, change nothing more."""


def is_subset(desired: Any, live: Any) -> bool:
    """True when every field of `desired` has the same value in `live` (lists: same length)."""
    if isinstance(desired, Mapping):
        return isinstance(live, Mapping) and all(
            key in live and is_subset(value, live[key]) for key, value in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(live, list)
            and len(desired) == len(live)
            and all(is_subset(d, item) for d, item in zip(desired, live, strict=True))
        )
    return bool(desired == live)


def owned_by(obj: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    uid = owner.get("metadata", {}).get("uid")
    return any(
        ref.get("uid") == uid for ref in obj.get("metadata", {}).get("ownerReferences") or []
    )


def is_orphan_of(obj: Mapping[str, Any], name: str) -> bool:
    """A child this operator built for a PXLProver named `name` that no controller owns
    any more (its PXLProver was deleted with `--cascade=orphan`): safe to adopt."""
    metadata = obj.get("metadata") or {}
    labels = metadata.get("labels") or {}
    return (
        labels.get("app.kubernetes.io/managed-by") == manifests.MANAGED_BY
        and labels.get(manifests.PROVER_LABEL) == name
        and not any(ref.get("controller") for ref in metadata.get("ownerReferences") or [])
    )


def replacing(live: Any, desired: Any) -> Any:
    """A merge patch that turns `live` into exactly `desired` (nulls what desired lacks)."""
    if not isinstance(desired, Mapping) or not isinstance(live, Mapping):
        return copy.deepcopy(desired)
    patch: dict[str, Any] = {key: None for key in live if key not in desired}
    for key, value in desired.items():
        patch[key] = replacing(live.get(key), value) if key in live else copy.deepcopy(value)
    return patch


def kernel_copies_of(templates: Iterable[Mapping[str, Any] | None]) -> set[str]:
    """Names of the ConfigMaps the given pod templates mount."""
    names = set()
    for template in templates:
        for volume in ((template or {}).get("spec") or {}).get("volumes") or []:
            if (volume.get("configMap") or {}).get("name"):
                names.add(volume["configMap"]["name"])
    return names


def _without_owner_refs(manifest: Mapping[str, Any]) -> dict[str, Any]:
    metadata = {k: v for k, v in manifest["metadata"].items() if k != "ownerReferences"}
    return {**manifest, "metadata": metadata}


def _get_path(obj: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(obj, Mapping) or key not in obj:
            return None
        obj = obj[key]
    return obj


def _clearing_dropped_fields(patch: dict[str, Any], live: Mapping[str, Any]) -> dict[str, Any]:
    """The merge patch plus a null for each optional field the live object has but
    the new manifest dropped (e.g. `tls` after the TLS secret was removed from the spec)."""
    result = copy.deepcopy(patch)
    for path in manifests.OPTIONAL_FIELDS.get(patch["kind"], ()):
        if _get_path(live, path) is not None and _get_path(patch, path) is None:
            node = result
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = None
    return result


class Reconciler:
    """Applies the pure builders' output through the API; one lock per PXLProver."""

    def __init__(
        self, kube: Kube, warn: WarnFn | None = None, metrics: OperatorMetrics | None = None
    ) -> None:
        self.kube = kube
        self.warn = warn or self._post_event
        self.metrics = metrics or OperatorMetrics()
        # Fingerprint of the last manifest applied per child: the same manifest again with a
        # live object that differs (or is gone) means someone changed it: a drift repair.
        self._applied: dict[tuple[str, str, str], str] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self.completed = 0
        self.known: set[tuple[str, str]] = set()

    def _lock(self, namespace: str, name: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault((namespace, name), threading.Lock())

    def reconcile(self, namespace: str, name: str) -> None:
        with self._lock(namespace, name):
            owner = self.kube.get(KIND, namespace, name)
            if owner is None or owner.get("metadata", {}).get("deletionTimestamp"):
                self.known.discard((namespace, name))
                self.metrics.forget(namespace, name)
                return
            self.known.add((namespace, name))
            try:
                with self.metrics.timed_reconcile():
                    self._reconcile(owner)
            except OwnerGone:
                self.known.discard((namespace, name))
                self.metrics.forget(namespace, name)
                return
            self.completed += 1

    def resync(self) -> None:
        """Reconcile every PXLProver seen so far: a safety net for missed or failed events."""
        for namespace, name in sorted(self.known):
            try:
                self.reconcile(namespace, name)
            except Exception:  # one failing prover must not stop the others' resync
                logger.exception("Resync of PXLProver %s/%s failed", namespace, name)

    def _reconcile(self, owner: dict[str, Any]) -> None:
        name = owner["metadata"]["name"]
        namespace = owner["metadata"]["namespace"]
        generation = owner["metadata"].get("generation", 0)
        try:
            spec = resolve(name, owner.get("spec"))
            configmap_ref = configmap_name(spec)
            configmap = (
                self.kube.get("ConfigMap", namespace, configmap_ref) if configmap_ref else None
            )
            target = target_hash(namespace, spec, configmap)
            self._check_auth_secret(owner, spec)
            desired = manifests.children(name, namespace, spec, target)
            desired += monitoring.children(name, namespace, spec)
            self._check_conflicts(owner, desired)
        except SpecError as exc:
            self._report_failure(owner, "InvalidSpec", "fix the spec: " + "; ".join(exc.problems))
            self.metrics.reconciled("InvalidSpec")
            return
        except Degraded as exc:
            self._report_failure(owner, exc.reason, exc.message)
            self.metrics.reconciled(exc.reason)
            return

        status = owner.get("status") or {}
        live = self.kube.get("Deployment", namespace, name)
        memory = Memory.recall(status, live if live and owned_by(live, owner) else None)
        retry = (owner["metadata"].get("annotations") or {}).get(RETRY_ANNOTATION)
        (template,) = [c["spec"]["template"] for c in desired if c["kind"] == "Deployment"]
        if configmap is not None:
            self._ensure_kernel_copy(owner, configmap, target)
        if manifests.generates_hmac_secret(spec):
            self._ensure_generated_secret(owner, spec)
        rejected = is_rejected(template, memory, retry) and memory.last_good_template is not None
        applied = memory.last_good_template if rejected else template
        applied_at = datetime.datetime.now(tz=datetime.UTC)
        rolled = False  # this reconcile gives the Deployment a new pod template
        for child in desired:
            if child["kind"] == "Deployment":
                # A rejected template stays out: keep serving the restored one.
                child = self._deployment_with(child, applied, memory, live)
                rolled = template_id((live or {}).get("spec", {}).get("template")) != template_id(
                    child["spec"]["template"]
                )
            try:
                self._apply(owner, child)
            except ApiError as exc:
                if exc.status != 404 or child["kind"] not in monitoring.CUSTOM_KINDS:
                    raise
                reason, message = monitoring.missing_crd(child["kind"])
                self._report_failure(owner, reason, message)
                self.metrics.reconciled(reason)
                return
        optional = {**manifests.optional_kinds(spec), **monitoring.optional_kinds(spec)}
        for kind, wanted in optional.items():
            if not wanted:
                self._delete_owned(owner, kind, name)

        live = self.kube.get("Deployment", namespace, name)
        outcome = decide(
            live,
            template,
            memory,
            auto_rollback=spec["rollout"]["autoRollback"],
            generation=generation,
            retry=retry,
        )
        annotations = {"metadata": {"annotations": outcome.memory.to_annotations()}}
        if outcome.restore_template is not None:
            # The decision and the action are one write: the restored template together
            # with the memory of the rejection, so no failure can separate them.
            live_template = (live or {}).get("spec", {}).get("template", {})
            self.kube.merge_patch(
                "Deployment",
                namespace,
                name,
                {
                    **annotations,
                    "spec": {"template": replacing(live_template, outcome.restore_template)},
                },
            )
            reason, message = outcome.event or ("RolledBack", "")
            logger.warning("PXLProver %s/%s rolled back: %s", namespace, name, message)
            self._warn(owner, reason, message)
            self.metrics.rollbacks.labels(namespace, name).inc()
        elif outcome.memory != memory:
            self.kube.merge_patch("Deployment", namespace, name, annotations)
        elif memory.failed_template_hash and memory.failed_template_hash != status.get(
            "failedTemplateHash"
        ):
            # A rollback whose report was lost (status write failed, operator restarted).
            degraded = [c for c in outcome.conditions if c["type"] == "Degraded"]
            self._warn(owner, "RolledBack", degraded[0]["message"] if degraded else "")
        self._observe_rollout(
            owner,
            outcome.conditions,
            rolled_back=outcome.restore_template is not None,
            started_now=applied_at if rolled else None,
        )
        self._write_status(
            owner,
            outcome.conditions,
            {
                "targetKernelHash": target,
                "replicas": outcome.state.replicas,
                "readyReplicas": outcome.state.ready,
                "endpoint": manifests.endpoint(name, namespace, spec),
                "selector": manifests.label_selector(name),
                **outcome.memory.to_status(),
            },
        )
        live_template = (live or {}).get("spec", {}).get("template")
        self._collect_kernel_copies(
            owner,
            kernel_copies_of(
                [
                    template,
                    applied,
                    live_template,
                    outcome.restore_template,
                    outcome.memory.last_good_template,
                ]
            ),
        )
        self.metrics.reconciled(None)

    def _observe_rollout(
        self,
        owner: Mapping[str, Any],
        conditions: list[Condition],
        *,
        rolled_back: bool,
        started_now: datetime.datetime | None,
    ) -> None:
        """Rollout duration, to completion or rollback, from the Progressing=True
        transition the status recorded (so it survives an operator restart), or from this
        reconcile when it applied the template and the rollout ended at once."""
        new = {c["type"]: c for c in conditions}.get("Progressing", {})
        if rolled_back:
            result = "rolled_back"
        elif new.get("reason") == "RolloutComplete":
            result = "complete"
        else:
            return
        old = {c.get("type"): c for c in (owner.get("status") or {}).get("conditions") or []}
        started = old.get("Progressing", {})
        since = started_now
        if started.get("status") == "True" and started.get("reason") == "RollingOut":
            with contextlib.suppress(KeyError, TypeError, ValueError):
                since = datetime.datetime.strptime(
                    started["lastTransitionTime"], "%Y-%m-%dT%H:%M:%SZ"
                ).replace(tzinfo=datetime.UTC)
        if since is None:
            return
        seconds = (datetime.datetime.now(tz=datetime.UTC) - since).total_seconds()
        self.metrics.rollout_duration.labels(result).observe(max(seconds, 0.0))

    def _deployment_with(
        self,
        child: dict[str, Any],
        template: Mapping[str, Any] | None,
        memory: Memory,
        live: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """The Deployment to apply: `template`, and the rollback memory as annotations.

        A different template replaces the live one entirely (fields the new one lacks,
        e.g. a dropped nodeSelector, are cleared); the same one is left as served.
        """
        remembered = {k: v for k, v in memory.to_annotations().items() if v is not None}
        metadata = {
            **child["metadata"],
            "annotations": {**child["metadata"].get("annotations", {}), **remembered},
        }
        live_template = (live or {}).get("spec", {}).get("template") or {}
        if (
            template is not None
            and live_template
            and template_id(live_template) != template_id(template)
        ):
            template = replacing(live_template, template)
        return {**child, "metadata": metadata, "spec": {**child["spec"], "template": template}}

    def _warn(self, owner: Mapping[str, Any], reason: str, message: str) -> None:
        """Post a Warning event; never raises (a lost event must not stop a rollback)."""
        try:
            self.warn(owner, reason, message)
        except Exception:
            logger.exception("Could not post event %s for %s", reason, owner["metadata"]["name"])

    def _post_event(self, owner: Mapping[str, Any], reason: str, message: str) -> None:
        """A core/v1 Warning Event about the PXLProver, through the API (works outside
        kopf's handler context, e.g. from the periodic resync)."""
        metadata = owner["metadata"]
        timestamp = now()
        self.kube.post_event(
            metadata["namespace"],
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {
                    "generateName": f"{metadata['name']}.",
                    "namespace": metadata["namespace"],
                },
                "involvedObject": {
                    "apiVersion": owner.get("apiVersion", f"{manifests.GROUP}/v1alpha1"),
                    "kind": KIND,
                    "name": metadata["name"],
                    "namespace": metadata["namespace"],
                    "uid": metadata.get("uid"),
                },
                "type": "Warning",
                "reason": reason,
                "message": message[:1024],
                "source": {"component": manifests.MANAGED_BY},
                "reportingComponent": manifests.MANAGED_BY,
                "reportingInstance": socket.gethostname(),
                "firstTimestamp": timestamp,
                "lastTimestamp": timestamp,
                "count": 1,
            },
        )

    def _ensure_kernel_copy(
        self, owner: Mapping[str, Any], configmap: Mapping[str, Any], digest: str
    ) -> None:
        """Create the immutable hash-named copy of the kernel ConfigMap once."""
        name = owner["metadata"]["name"]
        namespace = owner["metadata"]["namespace"]
        body = manifests.kernel_configmap(name, namespace, configmap, digest)
        copy_name = body["metadata"]["name"]
        live = self.kube.get("ConfigMap", namespace, copy_name)
        if live is not None and owned_by(live, owner):
            return
        if live is not None:
            if not is_orphan_of(live, name):
                raise Degraded(
                    "ChildConflict",
                    f"a ConfigMap named {copy_name} already exists and is not owned by this "
                    "PXLProver; delete or rename it",
                )
            self.kube.delete("ConfigMap", namespace, copy_name)  # immutable: re-create owned
        self._create_owned(owner, "ConfigMap", namespace, body)
        logger.info("Created kernel ConfigMap %s/%s", namespace, copy_name)

    def _collect_kernel_copies(self, owner: Mapping[str, Any], keep: set[str]) -> None:
        """Delete this PXLProver's kernel copies that no template in use refers to."""
        name = owner["metadata"]["name"]
        namespace = owner["metadata"]["namespace"]
        selector = ",".join(f"{k}={v}" for k, v in manifests.kernel_copy_labels(name).items())
        for configmap in self.kube.list("ConfigMap", namespace, selector):
            copy_name = configmap["metadata"]["name"]
            labels = configmap["metadata"].get("labels") or {}
            ours = labels.get("app.kubernetes.io/component") == "kernel" and owned_by(
                configmap, owner
            )
            if ours and labels.get(manifests.PROVER_LABEL) == name and copy_name not in keep:
                self.kube.delete("ConfigMap", namespace, copy_name)
                logger.info("Deleted unused kernel ConfigMap %s/%s", namespace, copy_name)

    def _check_auth_secret(self, owner: Mapping[str, Any], spec: Mapping[str, Any]) -> None:
        ref = spec["auth"].get("secretRef")
        if not spec["auth"]["enabled"] or not ref:
            return
        namespace = owner["metadata"]["namespace"]
        secret = self.kube.get("Secret", namespace, ref["name"])
        if secret is None or ref["key"] not in (secret.get("data") or {}):
            raise Degraded(
                "AuthSecretNotFound",
                f"spec.auth.secretRef names Secret {namespace}/{ref['name']} with key "
                f"{ref['key']!r}, which does not exist; create it or drop secretRef to have "
                "the operator generate a key",
            )

    def _check_conflicts(self, owner: Mapping[str, Any], desired: list[dict[str, Any]]) -> None:
        """Refuse to take over objects of the same name that someone else created."""
        namespace = owner["metadata"]["namespace"]
        for child in desired:
            live = self.kube.get(child["kind"], namespace, child["metadata"]["name"])
            if live is not None and not owned_by(live, owner):
                if is_orphan_of(live, owner["metadata"]["name"]):
                    self._adopt(owner, live)
                    continue
                raise Degraded(
                    "ChildConflict",
                    f"a {child['kind']} named {child['metadata']['name']} already exists and is "
                    "not owned by this PXLProver; delete or rename it",
                )

    def _adopt(self, owner: Mapping[str, Any], live: Mapping[str, Any]) -> None:
        """Take an orphaned child back: this PXLProver becomes its controller owner.

        The owner is read again first: a child is orphaned precisely while its old owner
        is being deleted (`--cascade=orphan`), and adopting it for that owner would hand
        it straight to the garbage collector.
        """
        metadata = owner["metadata"]
        current = self.kube.get(KIND, metadata["namespace"], metadata["name"])
        current_meta = (current or {}).get("metadata") or {}
        if current_meta.get("uid") != metadata.get("uid") or current_meta.get("deletionTimestamp"):
            raise OwnerGone(metadata["name"])
        reference: dict[str, Any] = {"metadata": {}}
        kopf.append_owner_reference(reference, owner=owner)
        others = [
            r for r in live["metadata"].get("ownerReferences") or [] if not r.get("controller")
        ]
        refs = others + reference["metadata"]["ownerReferences"]
        kind, name = live["kind"], live["metadata"]["name"]
        namespace = owner["metadata"]["namespace"]
        self.kube.merge_patch(kind, namespace, name, {"metadata": {"ownerReferences": refs}})
        logger.info("Adopted orphaned %s %s/%s", kind, namespace, name)

    def _ensure_generated_secret(self, owner: Mapping[str, Any], spec: Mapping[str, Any]) -> None:
        """Create the HMAC Secret once; an existing one is never read back or overwritten."""
        name = owner["metadata"]["name"]
        namespace = owner["metadata"]["namespace"]
        secret_name = manifests.hmac_secret_name(name, spec)
        if self.kube.get("Secret", namespace, secret_name) is not None:
            return
        secret = manifests.hmac_secret(name, namespace, spec, secrets.token_hex(32))
        self._create_owned(owner, "Secret", namespace, secret)
        logger.info("Created HMAC Secret %s/%s (a new 256-bit key)", namespace, secret_name)

    def _create_owned(
        self, owner: Mapping[str, Any], kind: str, namespace: str, body: dict[str, Any]
    ) -> None:
        """Create a child owned by `owner`; one that appeared meanwhile (409) is as good."""
        kopf.append_owner_reference(body, owner=owner)
        try:
            self.kube.create(kind, namespace, body)
        except ApiError as exc:
            if exc.status != 409:
                raise

    def _apply(self, owner: Mapping[str, Any], child: dict[str, Any]) -> None:
        """Create the child, or merge-patch it when a field the operator sets differs."""
        kind = child["kind"]
        namespace = owner["metadata"]["namespace"]
        name = child["metadata"]["name"]
        live = self.kube.get(kind, namespace, name)
        fingerprint = hashlib.sha256(json.dumps(child, sort_keys=True).encode()).hexdigest()
        same_as_last = self._applied.get((namespace, kind, name)) == fingerprint
        self._applied[(namespace, kind, name)] = fingerprint
        if live is None:
            if same_as_last:
                self.metrics.drift_repairs.labels(kind).inc()
            body = dict(child)
            kopf.append_owner_reference(body, owner=owner)
            try:
                self.kube.create(kind, namespace, body)
                logger.info("Created %s %s/%s", kind, namespace, name)
                return
            except ApiError as exc:
                if exc.status != 409:
                    raise
                live = self.kube.get(kind, namespace, name) or {}
        patch = _clearing_dropped_fields(_without_owner_refs(child), live)
        if not is_subset(patch, live):
            if same_as_last:
                self.metrics.drift_repairs.labels(kind).inc()
            self.kube.merge_patch(kind, namespace, name, patch)
            logger.info("Patched %s %s/%s", kind, namespace, name)

    def _delete_owned(self, owner: Mapping[str, Any], kind: str, name: str) -> None:
        namespace = owner["metadata"]["namespace"]
        live = self.kube.get(kind, namespace, name)
        if live is not None and owned_by(live, owner) and self.kube.delete(kind, namespace, name):
            logger.info("Deleted %s %s/%s (switched off in the spec)", kind, namespace, name)

    def _report_failure(self, owner: Mapping[str, Any], reason: str, message: str) -> None:
        """Degraded with what to fix; the running pods (if any) are left alone."""
        namespace = owner["metadata"]["namespace"]
        generation = owner["metadata"].get("generation", 0)
        live = self.kube.get("Deployment", namespace, owner["metadata"]["name"])
        ready = None
        if live is not None and owned_by(live, owner):
            state = assess(live)
            ready = ready_condition(state, generation)
            extra: dict[str, Any] = {"replicas": state.replicas, "readyReplicas": state.ready}
        else:
            extra = {}
        extra["selector"] = manifests.label_selector(owner["metadata"]["name"])
        logger.warning(
            "PXLProver %s/%s is degraded (%s): %s",
            namespace,
            owner["metadata"]["name"],
            reason,
            message,
        )
        self._write_status(owner, failure_conditions(reason, message, generation, ready), extra)

    def _write_status(
        self, owner: Mapping[str, Any], conditions: list[Condition], fields: Mapping[str, Any]
    ) -> None:
        old = owner.get("status") or {}
        generation = owner["metadata"].get("generation", 0)
        new = {
            "observedGeneration": generation,
            "conditions": merge_conditions(old.get("conditions"), conditions, now()),
            **fields,
        }
        self.metrics.set_status(
            owner["metadata"]["namespace"], owner["metadata"]["name"], conditions, fields
        )
        if all(old.get(key) == value for key, value in new.items()):
            return
        try:
            self.kube.merge_patch(
                KIND,
                owner["metadata"]["namespace"],
                owner["metadata"]["name"],
                {"status": new},
                subresource="status",
            )
        except ApiError as exc:
            if exc.status != 404:  # deleted meanwhile: its children go with it
                raise

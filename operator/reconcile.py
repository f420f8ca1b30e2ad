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
import threading
from collections.abc import Callable, Mapping
from typing import Any

import kopf
from pxl_operator import manifests, monitoring
from pxl_operator.kernel import KernelError, configmap_name, target_hash
from pxl_operator.kube import ApiError, Kube
from pxl_operator.metrics import OperatorMetrics
from pxl_operator.rollout import (
    Memory,
    assess,
    decide,
    is_rejected,
    ready_condition,
    template_id,
)
from pxl_operator.spec import SpecError, resolve
from pxl_operator.status import Condition, failure_conditions, merge_conditions, now

KIND = "PXLProver"
WarnFn = Callable[[Mapping[str, Any], str, str], None]
logger = logging.getLogger(__name__)


class ReconcileFailure(Exception):
    """The spec cannot be applied as is; reported as Degraded with `reason`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


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

    def __init__(self, kube: Kube, warn: WarnFn, metrics: OperatorMetrics | None = None) -> None:
        self.kube = kube
        self.warn = warn
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
            with self.metrics.timed_reconcile():
                self._reconcile(owner)
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
        except (KernelError, ReconcileFailure) as exc:
            self._report_failure(owner, exc.reason, exc.message)
            self.metrics.reconciled(exc.reason)
            return

        memory = Memory.from_status(owner.get("status") or {})
        (template,) = [c["spec"]["template"] for c in desired if c["kind"] == "Deployment"]
        if manifests.generates_hmac_secret(spec):
            self._ensure_generated_secret(owner, spec)
        rejected = is_rejected(template, memory) and memory.last_good_template is not None
        applied_at = datetime.datetime.now(tz=datetime.UTC)
        rolled = False  # this reconcile gives the Deployment a new pod template
        for child in desired:
            if child["kind"] == "Deployment" and rejected:
                # This template stalled and was rolled back: keep serving the restored one.
                child = {**child, "spec": {**child["spec"], "template": memory.last_good_template}}
            if child["kind"] == "Deployment":
                before = self.kube.get("Deployment", namespace, name) or {}
                rolled = template_id(before.get("spec", {}).get("template")) != template_id(
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
        )
        if outcome.restore_template is not None:
            self.kube.merge_patch(
                "Deployment", namespace, name, {"spec": {"template": outcome.restore_template}}
            )
            reason, message = outcome.event or ("RolledBack", "")
            logger.warning("PXLProver %s/%s rolled back: %s", namespace, name, message)
            self.warn(owner, reason, message)
            self.metrics.rollbacks.labels(namespace, name).inc()
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

    def _check_auth_secret(self, owner: Mapping[str, Any], spec: Mapping[str, Any]) -> None:
        ref = spec["auth"].get("secretRef")
        if not spec["auth"]["enabled"] or not ref:
            return
        namespace = owner["metadata"]["namespace"]
        secret = self.kube.get("Secret", namespace, ref["name"])
        if secret is None or ref["key"] not in (secret.get("data") or {}):
            raise ReconcileFailure(
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
                raise ReconcileFailure(
                    "ChildConflict",
                    f"a {child['kind']} named {child['metadata']['name']} already exists and is "
                    "not owned by this PXLProver; delete or rename it",
                )

    def _ensure_generated_secret(self, owner: Mapping[str, Any], spec: Mapping[str, Any]) -> None:
        """Create the HMAC Secret once; an existing one is never read back or overwritten."""
        name = owner["metadata"]["name"]
        namespace = owner["metadata"]["namespace"]
        secret_name = manifests.hmac_secret_name(name, spec)
        if self.kube.get("Secret", namespace, secret_name) is not None:
            return
        secret = manifests.hmac_secret(name, namespace, spec, secrets.token_hex(32))
        kopf.append_owner_reference(secret, owner=owner)
        try:
            self.kube.create("Secret", namespace, secret)
        except ApiError as exc:
            if exc.status != 409:
                raise
        logger.info("Created HMAC Secret %s/%s (a new 256-bit key)", namespace, secret_name)

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

"""The rollout state machine: progressing, complete, or stalled (then rolled back).

Pure functions of the live Deployment, the pod template the spec asks for, and what
the PXLProver's status remembers. Keeping the decision pure lets it be tested on
every branch without a cluster, and keeps the handlers a thin shell that executes it.

Templates are told apart by the identity annotation the builder stamps on them, never by
comparing fields: the API server adds defaults and normalises quantities.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pxl_operator.manifests import GROUP, KERNEL_HASH_ANNOTATION, TEMPLATE_HASH_ANNOTATION
from pxl_operator.status import Condition, condition

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
# Rollback memory kept on the Deployment itself, so that losing (or failing to write) the
# PXLProver's status never loses the last good template or a rejection.
LAST_GOOD_TEMPLATE_ANNOTATION = f"{GROUP}/last-good-template"
LAST_GOOD_REVISION_ANNOTATION = f"{GROUP}/last-good-revision"
LAST_GOOD_KERNEL_ANNOTATION = f"{GROUP}/last-good-kernel-hash"
REJECTED_ANNOTATION = f"{GROUP}/rejected-template"
MEMORY_ANNOTATIONS = (
    LAST_GOOD_TEMPLATE_ANNOTATION,
    LAST_GOOD_REVISION_ANNOTATION,
    LAST_GOOD_KERNEL_ANNOTATION,
    REJECTED_ANNOTATION,
)
# Set on a PXLProver (any new value, e.g. a timestamp) to roll a rejected template again.
RETRY_ANNOTATION = f"{GROUP}/retry-rollout"
Phase = Literal["Pending", "Progressing", "Complete", "Stalled"]


def template_id(template: Mapping[str, Any] | None) -> str | None:
    """The identity the operator stamped on a pod template (survives server defaulting)."""
    annotations = ((template or {}).get("metadata") or {}).get("annotations") or {}
    return annotations.get(TEMPLATE_HASH_ANNOTATION)


def template_kernel_hash(template: Mapping[str, Any]) -> str | None:
    return (template.get("metadata", {}).get("annotations") or {}).get(KERNEL_HASH_ANNOTATION)


@dataclass(frozen=True)
class RolloutState:
    """What the Deployment controller reports, reduced to what the operator acts on."""

    phase: Phase
    replicas: int = 0
    updated: int = 0
    ready: int = 0
    available: int = 0
    minimum_available: bool = False
    revision: str | None = None
    message: str = ""


def _deployment_condition(deployment: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    for cond in deployment.get("status", {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond
    return {}


def assess(deployment: Mapping[str, Any] | None) -> RolloutState:
    """The rollout phase, by the rules of `kubectl rollout status`."""
    if deployment is None:
        return RolloutState(phase="Pending", message="the Deployment does not exist yet")
    status = deployment.get("status") or {}
    wanted = deployment.get("spec", {}).get("replicas", 1)
    progressing = _deployment_condition(deployment, "Progressing")
    available_cond = _deployment_condition(deployment, "Available")
    ready = status.get("readyReplicas", 0)
    # The operator sets no minReadySeconds, so a ready pod is an available one.
    available = status.get("availableReplicas", ready)
    counts = {
        "replicas": status.get("replicas", 0),
        "updated": status.get("updatedReplicas", 0),
        "ready": ready,
        "available": available,
        "minimum_available": (
            available_cond.get("status") == "True" if available_cond else available > 0
        ),
        "revision": (deployment.get("metadata", {}).get("annotations") or {}).get(
            REVISION_ANNOTATION
        ),
    }
    generation = deployment.get("metadata", {}).get("generation", 0)
    observed = status.get("observedGeneration")
    if observed is not None and observed < generation:
        return RolloutState(
            phase="Pending", message="waiting for the Deployment controller", **counts
        )
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return RolloutState(
            phase="Stalled",
            message=progressing.get("message", "progress deadline exceeded"),
            **counts,
        )
    if counts["updated"] < wanted:
        message = f"{counts['updated']} of {wanted} pods updated"
    elif counts["replicas"] > counts["updated"]:
        message = f"{counts['replicas'] - counts['updated']} old pods pending termination"
    elif counts["available"] < counts["updated"]:
        message = f"{counts['available']} of {counts['updated']} updated pods available"
    else:
        return RolloutState(phase="Complete", message=f"{counts['ready']} pods ready", **counts)
    return RolloutState(phase="Progressing", message=message, **counts)


@dataclass(frozen=True)
class Memory:
    """What the operator remembers between reconciles to make rollback possible.

    Kept twice: in the PXLProver's status (for users) and in annotations of the
    Deployment, written in the same request that acts on it (for the operator), so a
    failed status write or a restart between two steps loses nothing.
    """

    kernel_hash: str | None = None
    last_good_template: Mapping[str, Any] | None = None
    last_good_revision: str | None = None
    failed_template_hash: str | None = None
    failed_kernel_hash: str | None = None
    failed_reason: str | None = None
    # The PXLProver's retry annotation when the template was rejected: a new value retries.
    failed_retry: str | None = None

    @classmethod
    def from_status(cls, status: Mapping[str, Any]) -> Memory:
        raw = status.get("lastGoodTemplate")
        return cls(
            kernel_hash=status.get("kernelHash"),
            last_good_template=json.loads(raw) if raw else None,
            last_good_revision=status.get("lastGoodRevision"),
            failed_template_hash=status.get("failedTemplateHash"),
            failed_kernel_hash=status.get("failedKernelHash"),
            failed_reason=status.get("failedReason"),
            failed_retry=status.get("failedRetry"),
        )

    def to_status(self) -> dict[str, Any]:
        """Status fields; None deletes a field in a JSON merge patch."""
        return {
            "kernelHash": self.kernel_hash,
            "lastGoodTemplate": (
                json.dumps(self.last_good_template, sort_keys=True)
                if self.last_good_template is not None
                else None
            ),
            "lastGoodRevision": self.last_good_revision,
            "failedTemplateHash": self.failed_template_hash,
            "failedKernelHash": self.failed_kernel_hash,
            "failedReason": self.failed_reason,
            "failedRetry": self.failed_retry,
        }

    @classmethod
    def from_annotations(cls, annotations: Mapping[str, str]) -> Memory:
        template = annotations.get(LAST_GOOD_TEMPLATE_ANNOTATION)
        rejected = json.loads(annotations.get(REJECTED_ANNOTATION) or "{}")
        return cls(
            kernel_hash=annotations.get(LAST_GOOD_KERNEL_ANNOTATION),
            last_good_template=json.loads(template) if template else None,
            last_good_revision=annotations.get(LAST_GOOD_REVISION_ANNOTATION),
            failed_template_hash=rejected.get("templateHash"),
            failed_kernel_hash=rejected.get("kernelHash"),
            failed_reason=rejected.get("reason"),
            failed_retry=rejected.get("retry"),
        )

    def to_annotations(self) -> dict[str, str | None]:
        """Deployment annotations; None deletes one in a JSON merge patch."""
        rejected = {
            "templateHash": self.failed_template_hash,
            "kernelHash": self.failed_kernel_hash,
            "reason": self.failed_reason,
            "retry": self.failed_retry,
        }
        status = self.to_status()
        return {
            LAST_GOOD_TEMPLATE_ANNOTATION: status["lastGoodTemplate"],
            LAST_GOOD_REVISION_ANNOTATION: self.last_good_revision,
            LAST_GOOD_KERNEL_ANNOTATION: self.kernel_hash,
            REJECTED_ANNOTATION: (
                json.dumps({k: v for k, v in rejected.items() if v is not None}, sort_keys=True)
                if self.failed_template_hash
                else None
            ),
        }

    @classmethod
    def recall(cls, status: Mapping[str, Any], deployment: Mapping[str, Any] | None) -> Memory:
        """The Deployment's copy when it has one (written first, so never older), else status."""
        annotations = ((deployment or {}).get("metadata") or {}).get("annotations") or {}
        if any(key in annotations for key in MEMORY_ANNOTATIONS):
            return cls.from_annotations(annotations)
        return cls.from_status(status)


@dataclass(frozen=True)
class Outcome:
    """What to do and to report: restore a template, remember, set conditions, post an event."""

    memory: Memory
    conditions: list[Condition]
    restore_template: Mapping[str, Any] | None = None
    event: tuple[str, str] | None = None  # (reason, message) of a Warning event
    state: RolloutState = field(default_factory=lambda: RolloutState(phase="Pending"))


def is_rejected(
    desired_template: Mapping[str, Any], memory: Memory, retry: str | None = None
) -> bool:
    """True when this exact template stalled before and was rolled back, and the user has
    not asked for a retry since (a new `pxl.logos.dev/retry-rollout` value): keep it out."""
    return (
        memory.failed_template_hash is not None
        and memory.failed_template_hash == template_id(desired_template)
        and (memory.failed_retry or None) == (retry or None)
    )


def ready_condition(state: RolloutState, generation: int) -> Condition:
    """Ready while the Deployment has its minimum of available pods (whatever kernel)."""
    if state.minimum_available and state.ready > 0:
        return condition("Ready", True, "MinimumReplicasAvailable", state.message, generation)
    return condition("Ready", False, "NoReadyReplicas", state.message, generation)


def _short(kernel_hash: str | None) -> str:
    return (kernel_hash or "unknown")[:12]


def decide(
    deployment: Mapping[str, Any] | None,
    desired_template: Mapping[str, Any],
    memory: Memory,
    *,
    auto_rollback: bool,
    generation: int,
    retry: str | None = None,
) -> Outcome:
    """The next step of the rollout state machine for one PXLProver.

    `retry` is the PXLProver's retry annotation: a rejected template is tried again
    when it differs from the value recorded at the rejection.
    """
    state = assess(deployment)
    live = (deployment or {}).get("spec", {}).get("template", {})
    target = template_kernel_hash(desired_template)
    rejected = is_rejected(desired_template, memory, retry)
    live_is_desired = deployment is not None and template_id(live) == template_id(desired_template)
    last_good = memory.last_good_template
    live_is_last_good = last_good is not None and template_id(last_good) == template_id(live)
    ready = ready_condition(state, generation)

    def outcome(progressing: Condition, degraded: Condition, **kwargs: Any) -> Outcome:
        conditions = [ready, progressing, degraded]
        return Outcome(
            memory=kwargs.pop("memory", memory), conditions=conditions, state=state, **kwargs
        )

    rolled_back = condition(
        "Degraded",
        True,
        "RolledBack",
        f"the rollout to kernel {_short(target)} did not become ready within its progress "
        f"deadline; restored revision {memory.last_good_revision or '?'} serving kernel "
        f"{_short(memory.kernel_hash)}. Fix the image, kernel ConfigMap or spec; the next "
        f"change is rolled out again (or set annotation {RETRY_ANNOTATION} to a new value "
        "to retry this one)",
        generation,
    )
    healthy = condition("Degraded", False, "AsExpected", "", generation)

    if state.phase == "Complete" and live_is_desired:
        remembered = Memory(
            kernel_hash=target,
            last_good_template=desired_template,
            last_good_revision=state.revision,
        )
        done = condition(
            "Progressing", False, "RolloutComplete", f"serving kernel {_short(target)}", generation
        )
        return outcome(done, healthy, memory=remembered)
    if rejected:
        going_back = state.phase != "Complete"
        progressing = condition(
            "Progressing",
            going_back,
            "RollingBack" if going_back else "RolledBack",
            state.message,
            generation,
        )
        return outcome(progressing, rolled_back)
    if live_is_desired and live_is_last_good:
        # The pod template is the one already rolled out: only the replica count moves
        # (an HPA or spec.replicas). That is scaling, not a rollout.
        scaled = condition(
            "Progressing",
            False,
            "RolloutComplete",
            f"serving kernel {_short(target)}; scaling: {state.message}",
            generation,
        )
        if state.phase == "Stalled":
            stuck = condition(
                "Degraded",
                True,
                "ScalingStalled",
                f"new pods of the current template did not become ready ({state.message}); "
                "check the cluster's capacity",
                generation,
            )
            return outcome(scaled, stuck)
        return outcome(scaled, healthy)
    if state.phase == "Stalled" and live_is_desired:
        if auto_rollback and last_good is not None and not live_is_last_good:
            failed = Memory(
                kernel_hash=memory.kernel_hash,
                last_good_template=last_good,
                last_good_revision=memory.last_good_revision,
                failed_template_hash=template_id(desired_template),
                failed_kernel_hash=target,
                failed_reason=f"ProgressDeadlineExceeded: {state.message}",
                failed_retry=retry or None,
            )
            progressing = condition("Progressing", True, "RollingBack", state.message, generation)
            return outcome(
                progressing,
                rolled_back,
                memory=failed,
                restore_template=last_good,
                event=("RolledBack", rolled_back["message"]),
            )
        why = (
            "autoRollback is off"
            if not auto_rollback
            else "there is no earlier completed rollout to restore"
        )
        stalled = condition(
            "Degraded",
            True,
            "ProgressDeadlineExceeded",
            f"the rollout to kernel {_short(target)} stalled ({state.message}) and {why}; "
            "fix the image, kernel ConfigMap or spec",
            generation,
        )
        progressing = condition(
            "Progressing", False, "ProgressDeadlineExceeded", state.message, generation
        )
        return outcome(progressing, stalled)
    progressing = condition(
        "Progressing",
        True,
        "RollingOut",
        f"rolling out kernel {_short(target)}: {state.message}",
        generation,
    )
    return outcome(progressing, healthy)

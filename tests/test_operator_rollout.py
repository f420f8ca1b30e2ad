"""The rollout state machine and status conditions, branch by branch, without a cluster."""

from __future__ import annotations

import copy
from typing import Any

from pxl_operator import manifests
from pxl_operator.reconcile import is_subset
from pxl_operator.rollout import Memory, assess, decide, is_rejected, template_id
from pxl_operator.spec import resolve
from pxl_operator.status import condition, merge_conditions

GOOD, NEW = "a" * 64, "b" * 64


def template(kernel: str) -> dict[str, Any]:
    return manifests.pod_template("demo", resolve("demo", {}), kernel)


def as_served(tpl: dict[str, Any]) -> dict[str, Any]:
    """The template as the API server returns it: with defaults the operator never sent."""
    served = copy.deepcopy(tpl)
    served["spec"]["dnsPolicy"] = "ClusterFirst"
    served["spec"]["containers"][0]["terminationMessagePath"] = "/dev/termination-log"
    served["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "0.5"  # sent as 500m
    return served


def deployment(
    tpl: dict[str, Any],
    *,
    replicas: int = 2,
    updated: int = 2,
    ready: int = 2,
    total: int | None = None,
    generation: int = 3,
    observed: int = 3,
    progressing: str = "NewReplicaSetAvailable",
    revision: str = "4",
) -> dict[str, Any]:
    return {
        "metadata": {
            "generation": generation,
            "annotations": {"deployment.kubernetes.io/revision": revision},
        },
        "spec": {"replicas": replicas, "template": as_served(tpl)},
        "status": {
            "observedGeneration": observed,
            "replicas": replicas if total is None else total,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "conditions": [
                {"type": "Available", "status": "True" if ready else "False"},
                {
                    "type": "Progressing",
                    "status": "False" if progressing == "ProgressDeadlineExceeded" else "True",
                    "reason": progressing,
                    "message": "ReplicaSet has timed out progressing.",
                },
            ],
        },
    }


def conditions(outcome: Any) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in outcome.conditions}


def test_assess_follows_kubectl_rollout_status() -> None:
    tpl = template(NEW)
    assert assess(None).phase == "Pending"
    assert assess(deployment(tpl, observed=2)).phase == "Pending"
    assert assess(deployment(tpl, updated=1)).phase == "Progressing"
    assert assess(deployment(tpl, total=3)).phase == "Progressing"  # an old pod still there
    assert assess(deployment(tpl, ready=1)).phase == "Progressing"
    assert assess(deployment(tpl, progressing="ProgressDeadlineExceeded")).phase == "Stalled"
    done = assess(deployment(tpl))
    assert (done.phase, done.ready, done.revision) == ("Complete", 2, "4")


def test_templates_are_recognised_despite_server_defaults_and_normalisation() -> None:
    tpl = template(NEW)
    assert template_id(as_served(tpl)) == template_id(tpl)
    assert template_id(template(GOOD)) != template_id(tpl)
    assert not is_subset(tpl, as_served(tpl))  # a field-by-field comparison would not tell


def test_a_patch_is_needed_only_when_a_field_the_operator_sets_differs() -> None:
    live = {"a": {"b": 1, "added-by-server": 2}, "l": [{"x": 1, "y": 2}]}
    assert is_subset({"a": {"b": 1}, "l": [{"x": 1}]}, live)
    assert not is_subset({"a": {"b": 2}}, live)
    assert not is_subset({"l": [{"x": 1}, {"x": 2}]}, live)


def test_a_completed_rollout_is_remembered_as_the_last_good_one() -> None:
    tpl = template(NEW)
    outcome = decide(
        deployment(tpl), tpl, Memory(kernel_hash=GOOD), auto_rollback=True, generation=5
    )
    assert outcome.memory == Memory(
        kernel_hash=NEW, last_good_template=tpl, last_good_revision="4", failed_template_hash=None
    )
    assert conditions(outcome) == {
        "Ready": ("True", "MinimumReplicasAvailable"),
        "Progressing": ("False", "RolloutComplete"),
        "Degraded": ("False", "AsExpected"),
    }
    assert all(c["observedGeneration"] == 5 for c in outcome.conditions)
    assert outcome.restore_template is None and outcome.event is None


def test_a_rollout_in_progress_is_progressing_and_still_ready_on_old_pods() -> None:
    tpl = template(NEW)
    live = deployment(tpl, updated=1, total=3)
    outcome = decide(live, tpl, Memory(kernel_hash=GOOD), auto_rollback=True, generation=1)
    assert conditions(outcome)["Progressing"] == ("True", "RollingOut")
    assert conditions(outcome)["Ready"][0] == "True"
    assert NEW[:12] in outcome.conditions[1]["message"]
    assert outcome.memory.kernel_hash == GOOD


def test_a_stalled_rollout_restores_the_last_good_template_and_says_why() -> None:
    good, bad = template(GOOD), template(NEW)
    memory = Memory(kernel_hash=GOOD, last_good_template=good, last_good_revision="3")
    stalled = deployment(bad, updated=1, total=3, progressing="ProgressDeadlineExceeded")
    outcome = decide(stalled, bad, memory, auto_rollback=True, generation=2)
    assert outcome.restore_template == good
    assert outcome.memory.failed_template_hash == template_id(bad)
    assert outcome.memory.kernel_hash == GOOD
    assert conditions(outcome)["Degraded"] == ("True", "RolledBack")
    reason, message = outcome.event or ("", "")
    assert reason == "RolledBack"
    assert NEW[:12] in message and GOOD[:12] in message and "revision 3" in message


def test_after_a_rollback_the_failed_template_is_not_applied_again() -> None:
    good, bad = template(GOOD), template(NEW)
    memory = Memory(
        kernel_hash=GOOD,
        last_good_template=good,
        last_good_revision="3",
        failed_template_hash=template_id(bad),
    )
    # The controller has not yet picked up the restored template: still "stalled".
    lingering = deployment(good, progressing="ProgressDeadlineExceeded")
    outcome = decide(lingering, bad, memory, auto_rollback=True, generation=2)
    assert outcome.restore_template is None and outcome.event is None
    assert conditions(outcome)["Degraded"] == ("True", "RolledBack")
    # Back on the good template: Ready, still reporting the rollback until the next change.
    settled = decide(deployment(good), bad, memory, auto_rollback=True, generation=2)
    assert conditions(settled) == {
        "Ready": ("True", "MinimumReplicasAvailable"),
        "Progressing": ("False", "RolledBack"),
        "Degraded": ("True", "RolledBack"),
    }
    assert settled.memory == memory


def test_without_auto_rollback_or_a_good_revision_a_stall_is_reported_not_undone() -> None:
    good, bad = template(GOOD), template(NEW)
    stalled = deployment(bad, progressing="ProgressDeadlineExceeded")
    memory = Memory(kernel_hash=GOOD, last_good_template=good)
    for mem, auto, why in [(memory, False, "autoRollback is off"), (Memory(), True, "no earlier")]:
        outcome = decide(stalled, bad, mem, auto_rollback=auto, generation=1)
        assert outcome.restore_template is None and outcome.event is None
        assert conditions(outcome)["Degraded"] == ("True", "ProgressDeadlineExceeded")
        assert why in outcome.conditions[2]["message"]


def test_memory_survives_the_round_trip_through_status() -> None:
    memory = Memory(
        kernel_hash=GOOD,
        last_good_template=template(GOOD),
        last_good_revision="7",
        failed_template_hash="f" * 64,
        failed_kernel_hash=NEW,
        failed_reason="ProgressDeadlineExceeded: ReplicaSet has timed out progressing.",
        failed_retry="2026-11-30T04:00:00Z",
    )
    status = memory.to_status()
    assert all(isinstance(value, str) for value in status.values())
    assert Memory.from_status(status) == memory
    assert Memory().to_status() == dict.fromkeys(status)  # None deletes in a merge patch
    annotations = memory.to_annotations()
    assert all(isinstance(value, str) for value in annotations.values())
    assert Memory.from_annotations(annotations) == memory
    assert Memory().to_annotations() == dict.fromkeys(annotations)


def test_transition_time_moves_only_when_a_condition_flips() -> None:
    old = merge_conditions(None, [condition("Ready", True, "A", "", 1)], "2026-01-01T00:00:00Z")
    same = merge_conditions(old, [condition("Ready", True, "B", "x", 2)], "2026-01-02T00:00:00Z")
    flipped = merge_conditions(
        same, [condition("Ready", False, "C", "", 3)], "2026-01-03T00:00:00Z"
    )
    assert same[0]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert same[0]["reason"] == "B"
    assert flipped[0]["lastTransitionTime"] == "2026-01-03T00:00:00Z"


def test_a_status_with_only_the_counts_is_understood() -> None:
    """Kubernetes omits zero fields; simpler controllers omit conditions."""
    tpl = template(NEW)
    counts_only = {
        "metadata": {"generation": 1},
        "spec": {"replicas": 2, "template": tpl},
        "status": {"replicas": 2, "updatedReplicas": 2, "readyReplicas": 2},
    }
    outcome = decide(counts_only, tpl, Memory(), auto_rollback=True, generation=1)
    assert conditions(outcome)["Ready"] == ("True", "MinimumReplicasAvailable")
    assert outcome.memory.kernel_hash == NEW
    nothing_yet = {**counts_only, "status": {}}
    assert assess(nothing_yet).phase == "Progressing"
    assert conditions(decide(nothing_yet, tpl, Memory(), auto_rollback=True, generation=1))[
        "Ready"
    ] == ("False", "NoReadyReplicas")


def test_a_scale_up_of_the_rolled_out_template_is_not_progressing() -> None:
    tpl = template(GOOD)
    memory = Memory(kernel_hash=GOOD, last_good_template=tpl, last_good_revision="4")
    scaling = deployment(tpl, replicas=5, updated=5, ready=2)
    outcome = decide(scaling, tpl, memory, auto_rollback=True, generation=3)
    assert conditions(outcome) == {
        "Ready": ("True", "MinimumReplicasAvailable"),
        "Progressing": ("False", "RolloutComplete"),
        "Degraded": ("False", "AsExpected"),
    }
    assert outcome.memory == memory and outcome.restore_template is None
    stuck = deployment(tpl, replicas=5, updated=5, ready=2, progressing="ProgressDeadlineExceeded")
    outcome = decide(stuck, tpl, memory, auto_rollback=True, generation=3)
    assert conditions(outcome)["Degraded"] == ("True", "ScalingStalled")
    assert outcome.restore_template is None, "nothing to roll back: the template is the good one"
    # A new template with the same counts is a rollout.
    rolling = deployment(template(NEW), replicas=5, updated=2, ready=2, total=7)
    outcome = decide(rolling, template(NEW), memory, auto_rollback=True, generation=4)
    assert conditions(outcome)["Progressing"] == ("True", "RollingOut")


def test_a_rejection_records_why_and_a_new_retry_value_lifts_it() -> None:
    good, bad = template(GOOD), template(NEW)
    memory = Memory(kernel_hash=GOOD, last_good_template=good, last_good_revision="3")
    stalled = deployment(bad, updated=1, total=3, progressing="ProgressDeadlineExceeded")
    outcome = decide(stalled, bad, memory, auto_rollback=True, generation=2, retry="t1")
    rejected = outcome.memory
    assert rejected.failed_kernel_hash == NEW
    assert rejected.failed_reason and rejected.failed_reason.startswith("ProgressDeadlineExceeded")
    assert rejected.failed_retry == "t1"
    assert "pxl.logos.dev/retry-rollout" in outcome.conditions[2]["message"]
    assert is_rejected(bad, rejected, "t1")
    assert not is_rejected(bad, rejected, "t2"), "a new retry value tries the template again"
    assert not is_rejected(good, rejected, "t1")
    retried = decide(
        deployment(bad, updated=1, total=3),
        bad,
        rejected,
        auto_rollback=True,
        generation=3,
        retry="t2",
    )
    assert conditions(retried)["Progressing"] == ("True", "RollingOut")


def test_memory_is_recalled_from_the_deployment_before_the_status() -> None:
    good, bad = template(GOOD), template(NEW)
    on_deployment = Memory(
        kernel_hash=GOOD, last_good_template=good, failed_template_hash=template_id(bad)
    )
    live = {"metadata": {"annotations": on_deployment.to_annotations()}}
    live["metadata"]["annotations"] = {
        k: v for k, v in live["metadata"]["annotations"].items() if v is not None
    }
    assert Memory.recall({}, live) == on_deployment  # status lost: nothing forgotten
    assert Memory.recall(Memory(kernel_hash=NEW).to_status(), live) == on_deployment
    assert Memory.recall(on_deployment.to_status(), None) == on_deployment  # Deployment gone

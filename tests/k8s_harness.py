"""An emulated Kubernetes cluster for running the real kopf operator over HTTP.

kmock's KubernetesEmulator stores objects and streams watch events, but it is not an
API server: it never bumps `resourceVersion`, has no `generation`, merges a `/status`
patch into the whole object, and runs no controllers. This module adds what the
operator relies on:

- `ApiServer`: `resourceVersion` bumped on every real change (a no-op patch changes
  nothing and emits no event, as on a real server), `generation` bumped on spec
  changes, `uid`/`creationTimestamp`, `generateName`, the `status` subresource for
  the resources that declare it, `spec.replicas` defaulting for Deployments,
  finalizer-aware deletion, and garbage collection of owned objects (also of objects
  created with an owner that is already gone; `propagationPolicy: Orphan` instead strips
  the dependents' owner references, as `kubectl delete --cascade=orphan` does),
  `labelSelector` on list and watch (every list/watch query is recorded), immutable
  ConfigMaps, and the namespace list kopf reads at start. `fail_writes` makes chosen
  writes fail, to test what the operator does when a request is lost midway.
- `DeploymentController`: plays kube-controller-manager for Deployments. For each new
  generation it reports the rollout as progressing, then completes it, or — when the
  test says the new pods never become ready — stalls it with ProgressDeadlineExceeded.
  It writes only through the HTTP API, so the operator sees ordinary watch events.
- `Cluster`: runs both on a background event loop, runs the operator (kopf.run, as
  `pxl-operator run` does) in a thread that can be stopped and restarted, and offers
  kubectl-like helpers over HTTP for the tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import aiohttp.web
import attrs
import kmock
import kopf
import requests
from kmock import action

RESOURCES = {
    "PXLProver": "/apis/pxl.logos.dev/v1alpha1",
    "ConfigMap": "/api/v1",
    "Secret": "/api/v1",
    "Service": "/api/v1",
    "Event": "/api/v1",
    "Deployment": "/apis/apps/v1",
    "HorizontalPodAutoscaler": "/apis/autoscaling/v2",
    "PodDisruptionBudget": "/apis/policy/v1",
    "Ingress": "/apis/networking.k8s.io/v1",
    "NetworkPolicy": "/apis/networking.k8s.io/v1",
    "PodMonitor": "/apis/monitoring.coreos.com/v1",
    "PrometheusRule": "/apis/monitoring.coreos.com/v1",
    "ScaledObject": "/apis/keda.sh/v1alpha1",
}
PLURALS = {
    "PXLProver": "pxlprovers",
    "ConfigMap": "configmaps",
    "Secret": "secrets",
    "Service": "services",
    "Event": "events",
    "Deployment": "deployments",
    "HorizontalPodAutoscaler": "horizontalpodautoscalers",
    "PodDisruptionBudget": "poddisruptionbudgets",
    "Ingress": "ingresses",
    "NetworkPolicy": "networkpolicies",
    "PodMonitor": "podmonitors",
    "PrometheusRule": "prometheusrules",
    "ScaledObject": "scaledobjects",
}
# Custom resources of prometheus-operator and KEDA, as if their CRDs were installed.
THIRD_PARTY = {
    "monitoring.coreos.com/v1/podmonitors": "PodMonitor",
    "monitoring.coreos.com/v1/prometheusrules": "PrometheusRule",
    "keda.sh/v1alpha1/scaledobjects": "ScaledObject",
}
WITH_STATUS_SUBRESOURCE = {"pxlprovers", "deployments"}
NAMESPACE = "default"
REVISION = "deployment.kubernetes.io/revision"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _plain(obj: Any) -> dict[str, Any]:
    """A deep, JSON-only copy of a stored object (kmock wraps nested dicts in views)."""
    return dict(json.loads(json.dumps(obj.last.raw)))


def _now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def label_selector_matches(selector: str, labels: Mapping[str, str]) -> bool:
    """Equality (`a=b`, `a==b`, `a!=b`) and existence (`a`, `!a`) terms, joined by commas."""
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key) != value:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


@attrs.define
class WriteFault:
    """Fail the next `times` requests of `method` whose path ends with `path_suffix` (and
    whose body contains `body_contains`, when given)."""

    method: str
    path_suffix: str
    times: int = 1
    body_contains: str = ""
    status: int = 500
    failed: int = 0


@attrs.define(kw_only=True)
class ApiServer(kmock.KubernetesEmulator):
    """kmock's emulator with the write semantics of a real API server (see module doc)."""

    _revision: int = attrs.field(default=1000, init=False)
    queries: list[tuple[str, str, dict[str, str]]] = attrs.field(factory=list, init=False)
    faults: list[WriteFault] = attrs.field(factory=list, init=False)

    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        # kmock cannot parse the cluster-wide namespace list; kopf reads it at start-up.
        if raw_request.method == "GET" and raw_request.path.rstrip("/") == "/api/v1/namespaces":
            return await self._serve_namespaces(raw_request)
        if raw_request.method == "GET":
            self.queries.append(("GET", raw_request.path, dict(raw_request.query)))
        body = (await raw_request.text()) if raw_request.can_read_body else ""
        for fault in self.faults:
            if (
                fault.method == raw_request.method
                and raw_request.path.endswith(fault.path_suffix)
                and fault.body_contains in body
                and fault.failed < fault.times
            ):
                fault.failed += 1
                return aiohttp.web.json_response(
                    {"kind": "Status", "status": "Failure", "message": "injected failure"},
                    status=fault.status,
                )
        return await super().__call__(raw_request)

    async def _serve_list(self, request: Any) -> Any:
        listed = await super()._serve_list(request)
        selector = request.params.get("labelSelector")
        if selector:
            listed["items"] = [
                item
                for item in listed["items"]
                if label_selector_matches(selector, item.get("metadata", {}).get("labels") or {})
            ]
        return listed

    async def _serve_watch(self, request: Any) -> Any:
        selector = request.params.get("labelSelector")
        async for event in super()._serve_watch(request):
            if selector and isinstance(event, Mapping) and "object" in event:
                labels = event["object"].get("metadata", {}).get("labels") or {}
                if not label_selector_matches(selector, labels):
                    continue
            yield event

    async def _serve_namespaces(self, raw_request: aiohttp.web.BaseRequest) -> Any:
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
        if raw_request.query.get("watch") not in ("true", "1"):
            return aiohttp.web.json_response(
                {
                    "kind": "NamespaceList",
                    "metadata": {"resourceVersion": "1"},
                    "items": [namespace],
                }
            )
        response = aiohttp.web.StreamResponse()
        await response.prepare(raw_request)
        await response.write(json.dumps({"type": "ADDED", "object": namespace}).encode() + b"\n")
        await asyncio.sleep(float(raw_request.query.get("timeoutSeconds", "60")))
        return response

    async def _handle(self, request: Any) -> Any:
        writes = (action.CREATE, action.UPDATE, action.DELETE)
        if request.resource is None or request.action not in writes:
            return await super()._handle(request)
        if request.action != action.CREATE and request.name is None:
            return await super()._handle(request)
        async with self._lock:
            if request.action == action.CREATE:
                await self._create(request)
            elif request.action == action.UPDATE:
                await self._update(request)
            else:
                await self._delete(request)
        # Skip the parent's own (naive) write handling; serve the stored object.
        return await kmock.KubernetesScaffold._handle(self, request)

    def _next_version(self) -> str:
        self._revision += 1
        return str(self._revision)

    async def _emit(self, resource: Any, kind: str, obj: Mapping[str, Any]) -> None:
        await self._buses[resource].put({"type": kind, "object": copy.deepcopy(dict(obj))})

    async def _create(self, request: Any) -> None:
        body = copy.deepcopy(request.data)
        meta = body.setdefault("metadata", {})
        meta["namespace"] = request.namespace or meta.get("namespace")
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        key = (request.resource, meta["namespace"], meta["name"])
        if key in self._objects and not self._objects[key].deleted:
            raise kmock.KubernetesError(
                status=409, reason="AlreadyExists", message=f"{meta['name']} already exists"
            )
        meta.update(
            uid=str(uuid.uuid4()),
            resourceVersion=self._next_version(),
            generation=1,
            creationTimestamp=_now(),
        )
        if request.resource.plural in WITH_STATUS_SUBRESOURCE:
            body.pop("status", None)
        if request.resource.plural == "deployments":
            body.setdefault("spec", {}).setdefault("replicas", 1)
        # The parent's response handler looks the object up by the request's name.
        request.data.clear()
        request.data.update(body)
        if key in self._objects:
            self._objects[key].create(body)
        else:
            self._objects[key] = body
        await self._emit(request.resource, "ADDED", body)
        owners = {ref.get("uid") for ref in meta.get("ownerReferences") or []}
        if owners and not owners & self._live_uids():
            await self._remove(request.resource, self._objects[key])  # the GC: owner is gone

    def _live_uids(self) -> set[str]:
        return {
            _plain(obj)["metadata"].get("uid")
            for obj in list(self._objects.values())
            if not obj.deleted
        }

    def _find(self, request: Any) -> tuple[Any, Any]:
        key = (request.resource, request.namespace, request.name)
        if key not in self._objects or self._objects[key].deleted:
            raise kmock.KubernetesObjectNotFoundError()
        return key, self._objects[key]

    async def _update(self, request: Any) -> None:
        _, obj = self._find(request)
        if not isinstance(request.data, Mapping):
            raise kmock.KubernetesError(status=415, reason="UnsupportedMediaType")
        current = _plain(obj)
        patch = dict(request.data)
        if current.get("immutable") and any(k in patch for k in ("data", "binaryData")):
            raise kmock.KubernetesError(
                status=422, reason="Invalid", message="field is immutable when `immutable` is set"
            )
        if request.subresource == "status":
            patch = {"status": patch.get("status")}
        elif request.resource.plural in WITH_STATUS_SUBRESOURCE:
            patch.pop("status", None)
        new = merge_patch(current, patch)
        for field in ("uid", "name", "namespace", "creationTimestamp", "resourceVersion"):
            if field in current["metadata"]:
                new["metadata"][field] = current["metadata"][field]
        if new.get("spec") != current.get("spec"):
            new["metadata"]["generation"] = current["metadata"].get("generation", 1) + 1
        if new == current:
            return  # a no-op write: no new resourceVersion, no watch event
        new["metadata"]["resourceVersion"] = self._next_version()
        obj.history.append(new)
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            await self._remove(request.resource, obj)
        else:
            await self._emit(request.resource, "MODIFIED", new)

    async def _delete(self, request: Any) -> None:
        _, obj = self._find(request)
        meta = _plain(obj)["metadata"]
        policy = request.params.get("propagationPolicy") or (
            request.data.get("propagationPolicy") if isinstance(request.data, Mapping) else None
        )
        if policy == "Orphan":
            await self._orphan_dependents(meta.get("uid"))
        if meta.get("deletionTimestamp"):
            return
        if meta.get("finalizers"):
            new = merge_patch(
                _plain(obj),
                {
                    "metadata": {
                        "deletionTimestamp": _now(),
                        "resourceVersion": self._next_version(),
                    }
                },
            )
            obj.history.append(new)
            await self._emit(request.resource, "MODIFIED", new)
        else:
            await self._remove(request.resource, obj)

    async def _orphan_dependents(self, uid: str | None) -> None:
        """What the garbage collector does for `--cascade=orphan`: drop the owner reference."""
        for (resource, _, _), child in list(self._objects.items()):
            if child.deleted:
                continue
            current = _plain(child)
            refs = current.get("metadata", {}).get("ownerReferences") or []
            kept = [ref for ref in refs if ref.get("uid") != uid]
            if len(kept) != len(refs):
                new = copy.deepcopy(current)
                new["metadata"]["ownerReferences"] = kept
                new["metadata"]["resourceVersion"] = self._next_version()
                child.history.append(new)
                await self._emit(resource, "MODIFIED", new)

    async def _remove(self, resource: Any, obj: Any) -> None:
        """Delete now, then collect the garbage: objects owned by the deleted one."""
        last = _plain(obj)
        obj.delete()
        await self._emit(resource, "DELETED", last)
        uid = last["metadata"].get("uid")
        for (child_resource, _, _), child in list(self._objects.items()):
            if child.deleted:
                continue
            refs = _plain(child).get("metadata", {}).get("ownerReferences") or []
            if any(ref.get("uid") == uid for ref in refs):
                await self._remove(child_resource, child)


PodsReady = Callable[[Mapping[str, Any]], bool]


class DeploymentController:
    """Rolls Deployments the way the real controller reports it (status via HTTP)."""

    def __init__(
        self,
        server: ApiServer,
        url: str,
        pods_ready: PodsReady,
        delay_s: float,
        scale_blocked: Callable[[], bool] = lambda: False,
    ) -> None:
        self.server = server
        self.url = url.rstrip("/")
        self.pods_ready = pods_ready
        self.delay_s = delay_s
        self.scale_blocked = scale_blocked  # added pods of an unchanged template stay Pending
        self._holding: dict[tuple[str, str], int] = {}
        self._seen: dict[tuple[str, str], tuple[int, str]] = {}
        self._revisions: dict[tuple[str, str], tuple[str, int]] = {}

    def _deployments(self) -> list[dict[str, Any]]:
        found = []
        for (resource, _, _), obj in list(self.server.objects.items()):
            if resource.plural == "deployments" and not obj.deleted:
                found.append(_plain(obj))
        return found

    async def run(self) -> None:
        async with aiohttp.ClientSession() as session:
            while True:
                for deployment in self._deployments():
                    await self._observe(session, deployment)
                await asyncio.sleep(0.05)

    async def _patch(
        self, session: aiohttp.ClientSession, dep: Mapping[str, Any], body: Any, sub: str = ""
    ) -> None:
        meta = dep["metadata"]
        path = f"/apis/apps/v1/namespaces/{meta['namespace']}/deployments/{meta['name']}{sub}"
        headers = {"Content-Type": "application/merge-patch+json"}
        async with session.patch(self.url + path, data=json.dumps(body), headers=headers) as resp:
            resp.raise_for_status()

    def _current_generation(self, key: tuple[str, str]) -> int | None:
        for dep in self._deployments():
            if (dep["metadata"]["namespace"], dep["metadata"]["name"]) == key:
                return int(dep["metadata"]["generation"])
        return None

    async def _observe(self, session: aiohttp.ClientSession, dep: dict[str, Any]) -> None:
        meta = dep["metadata"]
        key = (meta["namespace"], meta["name"])
        generation = int(meta["generation"])
        template = dep["spec"]["template"]
        fingerprint = json.dumps(template, sort_keys=True)
        seen_generation, _ = self._seen.get(key, (0, ""))
        if seen_generation == generation:
            return
        old_fingerprint, revision = self._revisions.get(key, ("", 0))
        replicas = dep["spec"].get("replicas", 1)
        if fingerprint == old_fingerprint and self.scale_blocked():
            # A scale-up whose new pods are Pending: counts move, the template does not.
            if self._holding.get(key) != generation:
                self._holding[key] = generation
                ready = min(dep.get("status", {}).get("readyReplicas", 0), replicas)
                status = self._status(generation, replicas, replicas, ready, "ReplicaSetUpdated")
                await self._patch(session, dep, {"status": status}, "/status")
            return
        self._seen[key] = (generation, fingerprint)
        if fingerprint != old_fingerprint:
            revision += 1
            self._revisions[key] = (fingerprint, revision)
            await self._patch(
                session, dep, {"metadata": {"annotations": {REVISION: str(revision)}}}
            )
            old_ready = dep.get("status", {}).get("readyReplicas", 0)
            await self._patch(
                session,
                dep,
                {
                    "status": self._status(
                        generation, replicas + 1, 1, old_ready, "ReplicaSetUpdated"
                    )
                },
                "/status",
            )
            await asyncio.sleep(self.delay_s)
            if self._current_generation(key) != generation:
                return  # superseded by a newer template: that one rolls instead
        if self.pods_ready(template):
            status = self._status(
                generation, replicas, replicas, replicas, "NewReplicaSetAvailable"
            )
        else:
            # The new pods never pass /ready; the old ones keep serving (maxUnavailable 0).
            old_ready = dep.get("status", {}).get("readyReplicas", 0)
            status = self._status(
                generation, replicas + 1, 1, old_ready, "ProgressDeadlineExceeded", stalled=True
            )
        await self._patch(session, dep, {"status": status}, "/status")

    @staticmethod
    def _status(
        generation: int, total: int, updated: int, ready: int, reason: str, stalled: bool = False
    ) -> dict[str, Any]:
        now = _now()
        return {
            "observedGeneration": generation,
            "replicas": total,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "conditions": [
                {
                    "type": "Available",
                    "status": "True" if ready > 0 else "False",
                    "reason": "MinimumReplicasAvailable",
                    "lastUpdateTime": now,
                    "lastTransitionTime": now,
                },
                {
                    "type": "Progressing",
                    "status": "False" if stalled else "True",
                    "reason": reason,
                    "message": "ReplicaSet has timed out progressing." if stalled else reason,
                    "lastUpdateTime": now,
                    "lastTransitionTime": now,
                },
            ],
        }


class Cluster:
    """The emulated cluster on a background loop, the operator in a restartable thread."""

    def __init__(self, workdir: Path, controller_delay_s: float = 0.3) -> None:
        self.workdir = workdir
        self.controller_delay_s = controller_delay_s
        self.unready: Callable[[Mapping[str, Any]], bool] = lambda template: False
        self.scale_blocked = False
        self._loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._stack = contextlib.AsyncExitStack()
        self._operator: threading.Thread | None = None
        self._operator_stop: threading.Event | None = None
        self.operator_errors: list[BaseException] = []
        self.url = ""

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> None:
        self._loop_thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)

    async def _start(self) -> None:
        self.server = await self._stack.enter_async_context(ApiServer())
        await self._stack.enter_async_context(kmock.Server(self.server))
        self.server.resources.load_bundled()
        self.server.resources["pxl.logos.dev/v1alpha1/pxlprovers"] = kmock.ResourceInfo(
            kind="PXLProver",
            singular="pxlprover",
            shortnames={"pxl"},
            namespaced=True,
            subresources={"status"},
            verbs={"list", "watch", "get", "create", "patch", "update", "delete"},
        )
        for path, kind in THIRD_PARTY.items():
            self.server.resources[path] = kmock.ResourceInfo(
                kind=kind,
                singular=kind.lower(),
                namespaced=True,
                verbs={"list", "watch", "get", "create", "patch", "update", "delete"},
            )
        self.url = str(self.server.url).rstrip("/")
        controller = DeploymentController(
            self.server,
            self.url,
            lambda template: not self.unready(template),
            self.controller_delay_s,
            lambda: self.scale_blocked,
        )
        self._controller = asyncio.ensure_future(controller.run())

    def stop(self) -> None:
        self.stop_operator()

        async def shutdown() -> None:
            self._controller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._controller
            await self._stack.aclose()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._loop_thread.join(timeout=10)

    def kubeconfig(self) -> Path:
        path = self.workdir / "kubeconfig"
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "emulated", "cluster": {"server": self.url}}],
                    "users": [{"name": "tester", "user": {"token": "emulated"}}],
                    "contexts": [
                        {"name": "emulated", "context": {"cluster": "emulated", "user": "tester"}}
                    ],
                    "current-context": "emulated",
                }
            )
        )
        return path

    def start_operator(self, resync_interval_s: float = 300.0) -> None:
        """Run the operator as `pxl-operator run -n default` does (kopf standalone)."""
        import pxl_operator.handlers  # noqa: F401  (registers the handlers)

        stop = threading.Event()
        settings = kopf.OperatorSettings()

        def run() -> None:
            try:
                kopf.run(
                    standalone=True,
                    namespaces=[NAMESPACE],
                    settings=settings,
                    stop_flag=stop,
                    memo=kopf.Memo(resync_interval=resync_interval_s),
                )
            except BaseException as exc:  # reported by the test, not lost in a thread
                self.operator_errors.append(exc)

        self._operator_stop = stop
        self._operator = threading.Thread(target=run, daemon=True)
        self._operator.start()

    def stop_operator(self) -> None:
        if self._operator is None or self._operator_stop is None:
            return
        self._operator_stop.set()
        self._operator.join(timeout=30)
        assert not self._operator.is_alive(), "the operator did not stop"
        self._operator = None

    # -- kubectl-like helpers over HTTP ---------------------------------------------
    def _path(self, kind: str, name: str | None = None, sub: str = "") -> str:
        path = f"{self.url}{RESOURCES[kind]}/namespaces/{NAMESPACE}/{PLURALS[kind]}"
        return f"{path}/{name}{sub}" if name else path

    def apply(self, body: Mapping[str, Any]) -> dict[str, Any]:
        response = requests.post(self._path(body["kind"]), json=dict(body), timeout=10)
        response.raise_for_status()
        return dict(response.json())

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        response = requests.get(self._path(kind, name), timeout=10)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return dict(response.json())

    def list(self, kind: str) -> list[dict[str, Any]]:
        response = requests.get(self._path(kind), timeout=10)
        response.raise_for_status()
        return list(response.json()["items"])

    def patch(
        self, kind: str, name: str, patch: Mapping[str, Any], subresource: str = ""
    ) -> dict[str, Any]:
        response = requests.patch(
            self._path(kind, name, f"/{subresource}" if subresource else ""),
            data=json.dumps(patch),
            headers={"Content-Type": "application/merge-patch+json"},
            timeout=10,
        )
        response.raise_for_status()
        return dict(response.json())

    def delete(self, kind: str, name: str, cascade: str = "") -> None:
        """`kubectl delete`; cascade="orphan" leaves the dependents (owner reference dropped)."""
        params = {"propagationPolicy": "Orphan"} if cascade == "orphan" else {}
        requests.delete(self._path(kind, name), params=params, timeout=10).raise_for_status()

    def fail_writes(
        self, method: str, path_suffix: str, times: int = 1, body_contains: str = ""
    ) -> WriteFault:
        """Make the next `times` `method` requests on a path ending so answer HTTP 500."""
        fault = WriteFault(method, path_suffix, times, body_contains)
        self.server.faults.append(fault)
        return fault

    def history(self, kind: str, name: str) -> list[dict[str, Any]]:
        """Every stored version of an object, oldest first (what an audit log would show)."""
        versions: list[dict[str, Any]] = []
        for (resource, namespace, obj_name), obj in list(self.server.objects.items()):
            if (resource.plural, namespace, obj_name) == (PLURALS[kind], NAMESPACE, name):
                for version in list(obj.history):
                    if version is not None:
                        versions.append(json.loads(json.dumps(version.raw)))
        return versions

    def watch_queries(self, plural: str) -> list[dict[str, str]]:
        """Query strings of every list and watch request the operator made for `plural`."""
        return [
            query
            for _, path, query in list(self.server.queries)
            if path.rstrip("/").endswith(f"/{plural}")
        ]

    def wait_for(self, what: str, check: Callable[[], Any], timeout_s: float = 30.0) -> Any:
        """Poll until `check()` returns something truthy; fail naming `what` otherwise."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert not self.operator_errors, f"the operator crashed: {self.operator_errors!r}"
            result = check()
            if result:
                return result
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout_s}s waiting for: {what}")

    def condition(self, name: str, kind: str) -> dict[str, Any]:
        prover = self.get("PXLProver", name) or {}
        for cond in prover.get("status", {}).get("conditions") or []:
            if cond["type"] == kind:
                return dict(cond)
        return {}

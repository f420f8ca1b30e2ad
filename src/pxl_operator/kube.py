"""A small synchronous Kubernetes API client for the kinds the operator manages.

It speaks plain JSON: GET, POST to create, JSON merge patch (RFC 7386) to update,
DELETE. Merge patches mean the operator only ever asserts the fields it builds, and
a repeated apply is a no-op. Credentials come from the cluster (service account) or
the kubeconfig, the same sources kopf logs in with.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from kubernetes import client, config

# kind -> (API path prefix, plural)
KINDS: dict[str, tuple[str, str]] = {
    "PXLProver": ("/apis/pxl.logos.dev/v1alpha1", "pxlprovers"),
    "ConfigMap": ("/api/v1", "configmaps"),
    "Secret": ("/api/v1", "secrets"),
    "Service": ("/api/v1", "services"),
    "Deployment": ("/apis/apps/v1", "deployments"),
    "HorizontalPodAutoscaler": ("/apis/autoscaling/v2", "horizontalpodautoscalers"),
    "PodDisruptionBudget": ("/apis/policy/v1", "poddisruptionbudgets"),
    "Ingress": ("/apis/networking.k8s.io/v1", "ingresses"),
    "NetworkPolicy": ("/apis/networking.k8s.io/v1", "networkpolicies"),
    "PodMonitor": ("/apis/monitoring.coreos.com/v1", "podmonitors"),
    "PrometheusRule": ("/apis/monitoring.coreos.com/v1", "prometheusrules"),
    "ScaledObject": ("/apis/keda.sh/v1alpha1", "scaledobjects"),
}
MERGE_PATCH = "application/merge-patch+json"
REQUEST_TIMEOUT_S = 30


def load_configuration() -> client.Configuration:
    """In-cluster service account if present, else the kubeconfig named by KUBECONFIG.

    KUBECONFIG is read now, not when `kubernetes` was imported. Raises ConfigException.
    """
    configuration = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=configuration)
    except config.ConfigException:
        config.load_kube_config(
            config_file=os.environ.get("KUBECONFIG"), client_configuration=configuration
        )
    return configuration


class ApiError(Exception):
    """A non-2xx answer of the API server."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


class Kube:
    """Namespaced CRUD on the operator's kinds, returning plain dicts."""

    def __init__(self, api_client: client.ApiClient) -> None:
        self.api = api_client

    @classmethod
    def from_environment(cls) -> Kube:
        return cls(client.ApiClient(load_configuration()))

    def _path(self, kind: str, namespace: str, name: str | None = None) -> str:
        prefix, plural = KINDS[kind]
        path = f"{prefix}/namespaces/{namespace}/{plural}"
        return f"{path}/{name}" if name else path

    def _request(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
        query: list[tuple[str, str]] | None = None,
    ) -> dict[str, Any]:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        method, url, headers, body, _ = self.api.param_serialize(
            method,
            path,
            query_params=query,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        response = self.api.call_api(
            method, url, header_params=headers, body=body, _request_timeout=REQUEST_TIMEOUT_S
        )
        response.read()
        data = json.loads(response.data or b"{}")
        if not 200 <= response.status < 300:
            raise ApiError(
                response.status, data.get("message", "") if isinstance(data, dict) else ""
            )
        return data if isinstance(data, dict) else {}

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return self._request("GET", self._path(kind, namespace, name))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, kind: str, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        """Objects of a kind in a namespace that the label selector picks (server-side)."""
        found = self._request(
            "GET", self._path(kind, namespace), query=[("labelSelector", label_selector)]
        )
        return [item for item in found.get("items") or [] if isinstance(item, dict)]

    def post_event(self, namespace: str, event: Mapping[str, Any]) -> dict[str, Any]:
        """Create a core/v1 Event (events are only ever created, never read back)."""
        return self._request("POST", f"/api/v1/namespaces/{namespace}/events", dict(event))

    def create(self, kind: str, namespace: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._request("POST", self._path(kind, namespace), dict(body))

    def merge_patch(
        self,
        kind: str,
        namespace: str,
        name: str,
        patch: Mapping[str, Any],
        subresource: str | None = None,
    ) -> dict[str, Any]:
        path = self._path(kind, namespace, name) + (f"/{subresource}" if subresource else "")
        return self._request("PATCH", path, dict(patch), MERGE_PATCH)

    def delete(self, kind: str, namespace: str, name: str) -> bool:
        """Delete an object; False when it was already gone."""
        try:
            self._request("DELETE", self._path(kind, namespace, name))
        except ApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

"""A tiny synchronous Kubernetes client for the benchmarks: GET, merge PATCH, LIST, over the local
cluster's admin kubeconfig (client certificate files). It polls objects to see when a change became
visible; it never goes through gitward's own client, so it cannot share its caches or connections.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml


class Kube:
    def __init__(self, kubeconfig: Path) -> None:
        config = yaml.safe_load(kubeconfig.read_text())
        cluster = config["clusters"][0]["cluster"]
        user = config["users"][0]["user"]
        context = ssl.create_default_context(cafile=cluster["certificate-authority"])
        context.load_cert_chain(user["client-certificate"], user["client-key"])
        self.http = httpx.Client(base_url=cluster["server"], verify=context, timeout=30)

    def close(self) -> None:
        self.http.close()

    @staticmethod
    def path(kind: str, namespace: str, name: str = "") -> str:
        base = {
            "ConfigMap": f"/api/v1/namespaces/{namespace}/configmaps",
            "Deployment": f"/apis/apps/v1/namespaces/{namespace}/deployments",
            "Service": f"/api/v1/namespaces/{namespace}/services",
        }[kind]
        return f"{base}/{name}" if name else base

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        response = self.http.get(self.path(kind, namespace, name))
        if response.status_code == 404:
            return None
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def patch(self, kind: str, namespace: str, name: str, body: dict[str, Any]) -> None:
        response = self.http.patch(
            self.path(kind, namespace, name),
            json=body,
            headers={"Content-Type": "application/strategic-merge-patch+json"},
            params={"fieldManager": "bench-drift"},
        )
        response.raise_for_status()

    def count_available_deployments(self, namespace_prefix: str) -> int:
        response = self.http.get("/apis/apps/v1/deployments")
        response.raise_for_status()
        count = 0
        for item in response.json()["items"]:
            if not item["metadata"]["namespace"].startswith(namespace_prefix):
                continue
            status = item.get("status") or {}
            count += bool(status.get("availableReplicas"))
        return count

    def wait_for(
        self, kind: str, namespace: str, name: str, check: Callable[[dict[str, Any]], bool], timeout: float
    ) -> float:
        """Poll every 20 ms until ``check(object)``; returns the ``perf_counter`` when it first held."""
        deadline = time.perf_counter() + timeout
        while True:
            obj = self.get(kind, namespace, name)
            now = time.perf_counter()
            if obj is not None and check(obj):
                return now
            if now > deadline:
                raise TimeoutError(f"{kind} {namespace}/{name} not in the expected state after {timeout}s")
            time.sleep(0.02)

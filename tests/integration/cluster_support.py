"""Helpers shared by the cluster integration tests: unique namespaces and a throw-away CRD."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from gitward.cluster.lightkube_client import LightkubeClient

MANAGER = "gitward-test"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def configmap(namespace: str, name: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }


def crd(group: str, kind: str = "Widget") -> dict[str, Any]:
    plural = kind.lower() + "s"
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
            "scope": "Namespaced",
            "versions": [
                {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}
            ],
        },
    }


async def eventually(predicate: Callable[[], Any], *, deadline: float = 60.0) -> None:
    """Wait for an async or plain predicate; the deadline only turns a hang into a failure."""
    async with asyncio.timeout(deadline):
        while True:
            result = predicate()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            await asyncio.sleep(0.05)


async def create_established_crd(client: LightkubeClient, group: str, kind: str = "Widget") -> dict[str, Any]:
    manifest = crd(group, kind)
    await client.apply(manifest, field_manager=MANAGER)
    name = manifest["metadata"]["name"]

    async def established() -> bool:
        live = await client.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", name)
        conditions = ((live or {}).get("status") or {}).get("conditions") or []
        return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)

    await eventually(established)
    return manifest


def configmap_delete_guard(
    name: str, *, expression: str, message: str, match_resources: dict[str, Any]
) -> list[dict[str, Any]]:
    """A ValidatingAdmissionPolicy and its binding refusing DELETE of ConfigMaps where ``expression``
    is false, for ``match_resources`` (a namespace or object selector): an admission refusal without a
    webhook server (docs/reliability.md, F4)."""
    rule = {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["DELETE"], "resources": ["configmaps"]}
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [rule]},
            "validations": [{"expression": expression, "message": message}],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {"policyName": name, "validationActions": ["Deny"], "matchResources": match_resources},
    }
    return [policy, binding]

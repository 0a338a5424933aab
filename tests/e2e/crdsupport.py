"""CRDs shared by e2e modules of one test session, and what a ``gitward run --from-cluster`` module
needs: gitward's CRDs and free-form foreign ones installed, an environment without ``KUBECONFIG``.

``settle_crds`` waits out the deletion an earlier module started.

A module that made gitward's (or a foreign project's) CRDs deletes them when it ends; the next module
must not find them still terminating, take them for installed, and lose its objects when the deletion
completes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from devtools import toolchain

from gitward.model.crds import KINDS, crds

GITWARD_CRDS = "app.kubernetes.io/part-of=gitward"


def settle_crds(kube: Any, *, selector: str = GITWARD_CRDS, names: tuple[str, ...] = ()) -> None:
    """Wait until no CRD matching ``selector`` or named in ``names`` is being deleted."""
    found = kube.get_json("crd", "-l", selector).get("items") or []
    for name in names:
        if kube.kubectl("get", "crd", name, "-o", "name", check=False).strip():
            found.append(kube.get_json("crd", name))
    for crd in found:
        if crd["metadata"].get("deletionTimestamp"):
            kube.kubectl(
                "wait", "--for=delete", f"crd/{crd['metadata']['name']}", "--timeout=90s", check=False
            )


def cluster_mode_environment(root: Path) -> dict[str, str]:
    """The environment of a ``gitward run --from-cluster --kubeconfig`` process: no ``KUBECONFIG``
    (the flag names the cluster) and no ``GITWARD_*`` of the developer's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITWARD_") and k != "KUBECONFIG"}
    env["XDG_STATE_HOME"] = str(root / "xdg")
    env["GITWARD_KUSTOMIZE"] = str(toolchain.tool_path("kustomize"))
    env["GITWARD_HELM"] = str(toolchain.tool_path("helm"))
    env["NO_COLOR"] = "1"
    return env


def free_form_crd(group: str, version: str, kind: str, plural: str, *, label: str) -> dict[str, Any]:
    """A foreign project's kind as a test needs it: ``spec`` and ``status`` free-form objects, with
    the status subresource (never the project's own schema)."""
    free = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    schema = {"openAPIV3Schema": {"type": "object", "properties": {"spec": free, "status": free}}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}", "labels": {"gitward.dev/test": label}},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": schema,
                }
            ],
        },
    }


def install_crds(kube: Any, foreign: Sequence[dict[str, Any]]) -> list[str]:
    """gitward's CRDs and the ``foreign`` ones not served yet, all Established; returns the names of
    the foreign CRDs this call made (the module deletes those when it ends)."""
    made = [
        c["metadata"]["name"]
        for c in foreign
        if not kube.kubectl("get", "crd", c["metadata"]["name"], "-o", "name", check=False).strip()
    ]
    kube.kubectl(
        "apply", "--server-side", "--field-manager=gitward-test", "-f", "-", stdin=yaml.safe_dump_all(crds())
    )
    made_crds = [c for c in foreign if c["metadata"]["name"] in made]
    if made_crds:
        kube.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(made_crds))
    kube.kubectl(
        *("wait", "--for=condition=Established", "--timeout=60s", "crd"),
        *(f"{info.plural}.gitward.dev" for info in KINDS.values()),
        *(c["metadata"]["name"] for c in foreign),
    )
    return made


def prepare_cluster_mode(
    kube: Any, foreign: Sequence[dict[str, Any]], prefix: str
) -> tuple[bool, list[str], str]:
    """Before a cluster-mode module: earlier deletions settled, the CRDs installed, a new namespace.
    Returns whether gitward's CRDs were there before, the foreign CRDs made, the namespace."""
    settle_crds(kube, names=tuple(c["metadata"]["name"] for c in foreign))
    had_crds = bool(kube.kubectl("get", "crd", "-l", GITWARD_CRDS, "-o", "name"))
    made = install_crds(kube, foreign)
    namespace = f"{prefix}-{os.urandom(4).hex()}"
    kube.kubectl("create", "namespace", namespace)
    return had_crds, made, namespace

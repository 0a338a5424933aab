"""CRDs shared by e2e modules of one test session: wait out the deletion an earlier module started.

A module that made gitward's (or a foreign project's) CRDs deletes them when it ends; the next module
must not find them still terminating, take them for installed, and lose its objects when the deletion
completes.
"""

from __future__ import annotations

from typing import Any

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

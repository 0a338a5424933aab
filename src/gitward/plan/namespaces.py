"""Give every manifest the namespace it will actually live in, before keys are computed.

A manifest without ``metadata.namespace`` lands in the app's destination namespace if its kind is
namespaced; a cluster-scoped kind written with a namespace has it dropped (the API ignores it, and
keeping it would make the key differ from the live object's). Whether a kind is namespaced comes
from discovery, passed in as a function so this stays pure.

Deliberately not here: checking that the namespace is allowed (policy/).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

from gitward.core.keys import group_of

#: ``(group, kind) -> True | False | None``; ``None`` when discovery does not know the kind yet.
IsNamespaced = Callable[[str, str], bool | None]


def fill_namespaces(
    manifests: Iterable[dict[str, Any]],
    *,
    default_namespace: str,
    is_namespaced: IsNamespaced,
) -> list[dict[str, Any]]:
    """Copies of ``manifests`` with ``metadata.namespace`` set or cleared according to scope.

    Unknown kinds (a CRD applied in the same sync) keep what was written, or get the default
    namespace when nothing was written; the dry-run corrects a wrong guess before anything is applied.
    """
    out = []
    for manifest in manifests:
        obj = copy.deepcopy(manifest)
        meta = obj["metadata"] = dict(obj.get("metadata") or {})
        scoped = is_namespaced(group_of(str(obj.get("apiVersion", ""))), str(obj.get("kind", "")))
        if scoped is False:
            meta.pop("namespace", None)
        elif not meta.get("namespace"):
            meta["namespace"] = default_namespace
        out.append(obj)
    return out

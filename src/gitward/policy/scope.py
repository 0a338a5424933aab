"""Whether an object is namespaced and which namespace it lands in.

The caller knows the cluster's discovery data; policy takes it as an ``is_namespaced(group, kind)``
callable that may answer None for a kind the cluster does not know yet (a CRD in the same render).
Unknown kinds are judged by what the manifest says: a ``metadata.namespace`` means namespaced.

Deliberately not here: discovery itself (cluster/), writing the namespace into manifests (plan/).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gitward.core.keys import ResourceKey

IsNamespaced = Callable[[str, str], bool | None]


def is_object_namespaced(obj: Mapping[str, Any], is_namespaced: IsNamespaced) -> bool:
    key = ResourceKey.of(obj)
    answer = is_namespaced(key.group, key.kind)
    return bool(key.namespace) if answer is None else answer


def effective_key(
    obj: Mapping[str, Any], *, default_namespace: str, is_namespaced: IsNamespaced
) -> ResourceKey:
    """The key the object will have in the cluster: the destination namespace filled in for namespaced
    kinds that name none, and no namespace at all for cluster-scoped kinds (the API ignores it)."""
    key = ResourceKey.of(obj)
    if not is_object_namespaced(obj, is_namespaced):
        return key.with_namespace("")
    return key if key.namespace else key.with_namespace(default_namespace)

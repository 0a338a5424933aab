"""``CreateNamespace=true``: make sure an app's destination namespace exists before its objects.

The namespace is applied, marked with the app, only when it does not exist. An existing namespace is
left untouched, whoever made it: adding our mark to it would let a later prune claim a namespace the app
never created. Deliberately not here: putting the namespace into the app's inventory (the caller
decides; Argo CD, for one, never prunes namespaces it created this way).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gitward.apply.ssa import apply_one
from gitward.apply.verdicts import VerdictCache
from gitward.cluster.client import KubeClient
from gitward.core.changes import Action, Change, ChangeSet
from gitward.core.errors import GitwardError
from gitward.core.keys import ResourceKey
from gitward.core.marks import with_marks


def namespace_manifest(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


async def ensure_namespace(
    client: KubeClient,
    namespace: str,
    *,
    app: str,
    live: Callable[[ResourceKey], Mapping[str, Any] | None],
    verdicts: VerdictCache,
    live_is_complete: bool = False,
) -> ChangeSet:
    """Create ``namespace`` (marked with ``app``) unless it exists; UNCHANGED when it does.

    ``live_is_complete``: ``live`` is a watch-fed cache of every Namespace, so a miss means absent
    and no GET is needed.
    """
    key = ResourceKey("", "Namespace", "", namespace)
    try:
        current = live(key)
        if current is None and not live_is_complete:
            current = await client.get("v1", "Namespace", "", namespace)
    except GitwardError as error:
        return ChangeSet.of([Change(key, Action.FAILED, "v1", str(error))])
    if current is not None:
        return ChangeSet.of([Change(key, Action.UNCHANGED, "v1")])
    desired = with_marks(namespace_manifest(namespace), app)
    # Created only if still absent when the request lands: one made meanwhile is left as it is.
    return ChangeSet.of([await apply_one(client, desired, live=None, verdicts=verdicts, adopt=False)])

"""Preconditions that make each write of an ownership mark atomic on the API server.

Every app applies with the one field manager ``gitward``, so server-side apply never conflicts
between two apps: a second app's apply of the same object would silently re-mark it. Who owns an
object is decided from what gitward saw (the watch cache), and another writer (a second gitward,
a stale cache, a person) may get there between that look and the write. So each apply carries a
precondition on the object as it was seen, checked by the API server inside the same request — no
request is added on any path (docs/reliability.md, bad input 8):

- seen absent: ``metadata.resourceVersion: "1"``. When the apply creates the object the server
  ignores a resourceVersion; when the object exists it compares it and answers 409 Conflict. No
  object's resourceVersion is ever 1 (etcd's first write is revision 2), so "the object exists"
  always fails it: of two racing creates, the second is refused instead of re-marking the first.
- seen without our mark (adopting it): its ``resourceVersion``; any change since is a 409.
- seen with our mark: its ``metadata.uid``. The server refuses when the object was deleted since
  (409, "uid mismatch") or replaced by a new one (422, uid is immutable). Controllers updating
  status change the resourceVersion, never the uid, so healing drift never fights them.

The server leaves both fields out of managedFields, so they change nothing about which fields
server-side apply owns or removes. On a refusal the object is read once (the only extra request,
on the conflict path alone) and the decision is made again: another app's mark ends it with
``ForeignOwner``, anything else is written once more under a precondition on the fresh object.

``released``: apps this gitward removed (their tombstones, ``reconcile/removal.py``). A mark naming
one of them binds nobody: the object is adopted like an unmarked one, under its resourceVersion.
A mark naming an app gitward never knew still refuses: another gitward may own it.

Deliberately not here: the in-process claim of the engine (two apps of one process are stopped
before either writes) and the dry-run, which writes nothing and needs no precondition.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from gitward.apply._messages import conflict_managers
from gitward.cluster.client import KubeClient
from gitward.core.errors import ClusterError, GitwardError
from gitward.core.keys import ResourceKey
from gitward.core.marks import FIELD_MANAGER, owner_of

#: A resourceVersion no stored object can have: "create only, never update".
ABSENT_VERSION = "1"


class ForeignOwner(GitwardError):
    """The object carries another app's mark: writing it would take it from its owner."""

    reason = "SharedResource"


def foreign_owner(
    live: Mapping[str, Any] | None, app: str, released: Collection[str] = frozenset()
) -> str | None:
    """The other app named by ``live``'s mark, if any (an unmarked object belongs to nobody, and
    neither does one marked by a ``released`` app)."""
    owner = owner_of(live) if live is not None else None
    return owner if owner not in (None, app) and owner not in released else None


def refusal(key: ResourceKey, owner: str) -> str:
    return f"{key} is managed by application {owner!r}"


def guarded(desired: Mapping[str, Any], live: Mapping[str, Any] | None, app: str) -> dict[str, Any]:
    """``desired`` with the precondition for ``live`` (see the module docstring)."""
    meta = dict(desired.get("metadata") or {})
    seen = (live or {}).get("metadata") or {}
    if live is None:
        meta["resourceVersion"] = ABSENT_VERSION
    elif owner_of(live) == app and seen.get("uid"):
        meta["uid"] = seen["uid"]
    elif seen.get("resourceVersion"):
        meta["resourceVersion"] = seen["resourceVersion"]
    out = dict(desired)
    out["metadata"] = meta
    return out


def is_precondition_failure(error: ClusterError) -> bool:
    """The server refused because the object is not as it was seen (not a field-manager conflict)."""
    text = str(error)
    if error.status == 409:
        return not conflict_managers(text)
    return error.status == 422 and "metadata.uid" in text


async def guarded_apply(
    client: KubeClient,
    desired: Mapping[str, Any],
    *,
    live: Mapping[str, Any] | None,
    app: str,
    force: bool = False,
    adopt: bool = True,
    field_validation: str | None = None,
    released: Collection[str] = frozenset(),
) -> tuple[dict[str, Any] | None, bool]:
    """Apply ``desired`` as decided from ``live``; returns (the server's object, whether it was created).

    ``adopt=False``: an object found to exist already is left alone, returned as ``(None, False)``.
    Raises ``ForeignOwner`` when another app's mark is found, ``ClusterError`` for other refusals.
    """
    key = ResourceKey.of(desired)
    try:
        applied = await client.apply(
            guarded(desired, live, app),
            field_manager=FIELD_MANAGER,
            force=force,
            field_validation=field_validation,
        )
        return applied, live is None
    except ClusterError as error:
        if not is_precondition_failure(error):
            raise
    fresh = await client.get(str(desired.get("apiVersion", "")), key.kind, key.namespace, key.name)
    if fresh is not None and not adopt:
        return None, False  # whoever made it, it is theirs to keep
    owner = foreign_owner(fresh, app, released)
    if owner is not None:
        raise ForeignOwner(refusal(key, owner) + "; it was taken while gitward was writing it")
    applied = await client.apply(
        guarded(desired, fresh, app),
        field_manager=FIELD_MANAGER,
        force=force,
        field_validation=field_validation,
    )
    return applied, fresh is None

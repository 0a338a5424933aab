"""What a sync would change, object by object, as the API, CLI and UI show it.

Each desired object is marked and sent as a server-side dry-run, so defaults, admission mutations and
field ownership are the server's, not guessed; the result is compared with live under the app's ignore
rules (a rule naming fields by manager reads the full live object, whose managedFields the cache
drops) and shown as a unified diff with Secret values masked. Stale inventory entries appear as
deletions. When the dry-run cannot run (its CRD is not installed yet, or the server refuses the object)
the manifest itself stands in and the refusal is kept in ``message``.

Deliberately not here: writes of any kind, and the verdict shortcut of ``ssa`` (a diff is asked for
by a human and must be authoritative).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitward.apply._messages import conflict_managers, safe_message
from gitward.cluster.client import KubeClient
from gitward.core.errors import ClusterError, GitwardError
from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.core.marks import FIELD_MANAGER, is_owned_by, with_marks
from gitward.diff.compare import compare, without_ignored
from gitward.diff.ignore import IgnoreRule, needs_managed_fields
from gitward.diff.unified import unified_diff

LiveLookup = Callable[[ResourceKey], Mapping[str, Any] | None]


@dataclass(frozen=True, kw_only=True)
class ObjectDiffView:
    """One object's pending change: ``action`` is create, update, delete or none."""

    key: ResourceKey
    action: str
    diff: str = ""
    paths: tuple[str, ...] = ()
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        k = self.key
        return {
            "id": k.id,
            "group": k.group,
            "kind": k.kind,
            "namespace": k.namespace,
            "name": k.name,
            "action": self.action,
            "diff": self.diff,
            "paths": list(self.paths),
            "message": self.message,
        }


async def _predict(client: KubeClient, desired: Mapping[str, Any]) -> tuple[Mapping[str, Any], str]:
    """The server's dry-run. A conflict with other field managers (a field someone else changed) is
    predicted again with force: the diff shows what Git sets, and says who holds the fields."""
    try:
        return await client.apply(desired, field_manager=FIELD_MANAGER, dry_run=True), ""
    except ClusterError as error:
        managers = conflict_managers(str(error)) if error.status == 409 else []
        if not managers:
            return desired, f"dry-run failed, showing the manifest as written: {safe_message(error, desired)}"
        note = f"fields held by field manager(s) {', '.join(managers)}; shown as Git sets them"
    except GitwardError as error:
        return desired, f"dry-run failed, showing the manifest as written: {safe_message(error, desired)}"
    try:
        return await client.apply(desired, field_manager=FIELD_MANAGER, dry_run=True, force=True), note
    except GitwardError as error:
        return desired, f"dry-run failed, showing the manifest as written: {safe_message(error, desired)}"


def _view(
    key: ResourceKey,
    predicted: Mapping[str, Any],
    current: Mapping[str, Any] | None,
    *,
    ignore: Sequence[IgnoreRule],
    message: str,
) -> ObjectDiffView:
    result = compare(predicted, current, ignore=ignore)
    if current is None:
        return ObjectDiffView(
            key=key, action="create", diff=unified_diff(key, predicted, None), message=message
        )
    if not result.changed:
        return ObjectDiffView(key=key, action="none", message=message)
    want, have = without_ignored(key, predicted, current, ignore)
    text = unified_diff(key, want, have)
    return ObjectDiffView(key=key, action="update", diff=text, paths=result.paths, message=message)


def _deletion(entry: InventoryEntry, current: Mapping[str, Any] | None, app: str) -> ObjectDiffView:
    if current is None:
        return ObjectDiffView(key=entry.key, action="delete", message="already gone")
    note = "" if is_owned_by(current, app) else "will not be pruned: no tracking mark naming it for this app"
    return ObjectDiffView(
        key=entry.key, action="delete", diff=unified_diff(entry.key, None, current), message=note
    )


async def diff_app(
    client: KubeClient,
    manifests: Iterable[Mapping[str, Any]],
    *,
    app: str,
    live: LiveLookup,
    ignore: Sequence[IgnoreRule] = (),
    stale: Sequence[InventoryEntry] = (),
    concurrency: int = 8,
) -> list[ObjectDiffView]:
    """Every desired object against live (via dry-run), then the stale ones as deletions."""
    limit = asyncio.Semaphore(max(1, concurrency))

    async def one(manifest: Mapping[str, Any]) -> ObjectDiffView:
        desired = with_marks(dict(manifest), app)
        key = ResourceKey.of(desired)
        async with limit:
            predicted, message = await _predict(client, desired)
            current = live(key)
            if current is not None and needs_managed_fields(key, ignore):  # the cache drops them
                current = await client.get(
                    str(desired.get("apiVersion", "")), key.kind, key.namespace, key.name
                )
        return _view(key, predicted, current, ignore=ignore, message=message)

    views = list(await asyncio.gather(*(one(m) for m in manifests)))
    views.extend(_deletion(entry, live(entry.key), app) for entry in stale)
    return views

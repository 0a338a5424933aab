"""Running hooks: created fresh for each sync, waited for by the executor, deleted by their policy.

A hook is created (POST), never server-side applied into an existing object: a Job's template is
immutable and a finished Job cannot run again, so every sync gets a new run. Before the create,
``BeforeHookCreation`` (the default when no policy is given, as in Argo CD and Helm) deletes the
earlier runs and waits until they are gone: the object of the same name, or, for a ``generateName``
hook, every object the hook label selects (``plan.hookmarks``) whose hook annotation names this app
and this hook. Without that policy an earlier run of a named hook still present refuses the create
with a message saying so. An object that is not a run of this hook is never deleted: the sync fails
naming it. (An object carrying this app's own tracking mark for that very name is an earlier run made
before hooks were hooks, and is deleted too.)

After the run, ``HookSucceeded`` deletes a hook that succeeded and ``HookFailed`` one that failed
(Helm's ``hook-succeeded``/``hook-failed`` map to them). Hooks never enter the inventory, so prune never
touches them; their marks keep them out of an inventory rebuilt from the cluster.

Deliberately not here: when hooks run and how long they may take (``executor``, ``waits``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.apply._messages import safe_message
from gitward.apply.waits import WaitControl, wait_gone
from gitward.cluster.client import KubeClient
from gitward.core.changes import Action, Change
from gitward.core.errors import GitwardError
from gitward.core.keys import ResourceKey, version_of
from gitward.core.marks import FIELD_MANAGER, owner_of
from gitward.plan import DeletePolicy, PlannedObject, hook_selector, is_hook_of, with_hook_marks

#: Hooks are deleted in the background: the next run does not wait for the old one's pods.
HOOK_PROPAGATION = "Background"


class HookRefused(GitwardError):
    """A hook cannot be created: another object holds its name, or its earlier run will not go."""

    reason = "HookFailed"


def run_key(planned: PlannedObject, name: str) -> ResourceKey:
    """The key of one run: the generated name for a ``generateName`` hook."""
    key = planned.key
    return ResourceKey(key.group, key.kind, key.namespace, name)


def _earlier_run(live: Mapping[str, Any], planned: PlannedObject, app: str) -> bool:
    return is_hook_of(live, app, planned.key) or owner_of(live) == app


async def _earlier_runs(client: KubeClient, planned: PlannedObject, app: str) -> list[ResourceKey]:
    key = planned.key
    if not planned.generate_name:
        live = await client.get(planned.api_version, key.kind, key.namespace, key.name)
        if live is None:
            return []
        if not _earlier_run(live, planned, app):
            raise HookRefused(f"hook {key}: an object of that name exists and is not a run of this hook")
        return [key]
    found, _ = await client.list(
        planned.api_version, key.kind, namespace=key.namespace or None, label_selector=hook_selector(app, key)
    )
    return [run_key(planned, str(o["metadata"]["name"])) for o in found if is_hook_of(o, app, key)]


async def remove_earlier_runs(
    client: KubeClient, planned: PlannedObject, *, app: str, control: WaitControl
) -> None:
    """BeforeHookCreation: delete the earlier runs of ``planned`` and wait until they are gone."""
    runs = await _earlier_runs(client, planned, app)
    for key in runs:
        await client.delete(
            planned.api_version, key.kind, key.namespace, key.name, propagation=HOOK_PROPAGATION
        )
    for key in runs:
        if not await wait_gone(planned.api_version, key, control=control):
            raise HookRefused(f"hook {key}: the earlier run was deleted but is still there")


async def create_hook(
    client: KubeClient,
    planned: PlannedObject,
    *,
    app: str,
    control: WaitControl,
    field_validation: str,
) -> tuple[str, Change]:
    """Create one run of ``planned``; returns its name and what happened (FAILED with the reason)."""
    key, version = planned.key, version_of(planned.api_version)
    try:
        if DeletePolicy.BEFORE_HOOK_CREATION in planned.delete_policies:
            await remove_earlier_runs(client, planned, app=app, control=control)
        body = with_hook_marks(planned.manifest, app, key)
        if planned.generate_name:
            meta = dict(body["metadata"])
            meta.pop("name", None)
            meta["generateName"] = key.name
            body["metadata"] = meta
        created = await client.create(body, field_manager=FIELD_MANAGER, field_validation=field_validation)
    except GitwardError as error:
        message = error.message if isinstance(error, HookRefused) else safe_message(error, planned.manifest)
        return "", Change(key, Action.FAILED, version, f"hook not created: {message}")
    name = str((created.get("metadata") or {}).get("name") or key.name)
    return name, Change(run_key(planned, name), Action.CREATED, version, "hook")


async def delete_by_policy(
    client: KubeClient, planned: PlannedObject, name: str, *, succeeded: bool
) -> Change | None:
    """HookSucceeded / HookFailed: delete the run when its outcome asks for it; the change, if any."""
    wanted = DeletePolicy.HOOK_SUCCEEDED if succeeded else DeletePolicy.HOOK_FAILED
    if wanted not in planned.delete_policies or not name:
        return None
    key, version = run_key(planned, name), version_of(planned.api_version)
    try:
        await client.delete(
            planned.api_version, key.kind, key.namespace, key.name, propagation=HOOK_PROPAGATION
        )
    except GitwardError as error:  # not the operation's failure: the next BeforeHookCreation retries it
        return Change(key, Action.SKIPPED, version, f"hook not deleted ({wanted}): {safe_message(error, {})}")
    return Change(key, Action.DELETED, version, f"hook ({wanted})")

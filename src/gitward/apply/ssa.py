"""Server-side apply of one object, sending a request only when the object may have drifted.

The decision, cheapest first:
1. the marked manifest's digest equals the last applied one and the live resourceVersion equals the
   one recorded afterwards -> UNCHANGED, nothing sent;
2. the digest is unchanged and the manifest is a subset of the live object (only the server or other
   managers touched other fields) -> UNCHANGED, nothing sent, the new resourceVersion recorded;
3. otherwise, when the object exists, a server-side dry-run; its result equal to live -> UNCHANGED
   (recorded); a missing object skips the dry-run (it could only predict a create);
4. otherwise the real apply -> CREATED (no live object) or CONFIGURED, carrying a precondition on
   the live object it was decided from (``guard``), so a write never takes an object another app
   got to first; a live object carrying another app's mark is refused without any request.

Any refusal becomes a FAILED change with the API's message (Secret values removed, conflicting field
managers named) and the object's verdict is forgotten so the next reconcile asks the server again.
Deliberately not here: ordering, stages and concurrency (``staged``), marking (the caller marks).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from gitward.apply._compare import comparable, desired_digest, is_subset, resource_version
from gitward.apply._messages import safe_message
from gitward.apply.guard import foreign_owner, guarded_apply, refusal
from gitward.apply.verdicts import VerdictCache
from gitward.cluster.client import KubeClient
from gitward.core.changes import Action, Change
from gitward.core.errors import GitwardError
from gitward.core.keys import ResourceKey, version_of
from gitward.core.marks import FIELD_MANAGER, owner_of


def provably_unchanged(
    key: ResourceKey,
    desired: Mapping[str, Any],
    live: Mapping[str, Any] | None,
    *,
    digest: str,
    verdicts: VerdictCache,
) -> bool:
    """Cases 1 and 2: provably nothing to do, without any request."""
    verdict = verdicts.get(key)
    if live is None or verdict is None or verdict.digest != digest:
        return False
    live_version = resource_version(live)
    if live_version and live_version == verdict.resource_version:
        return True
    if is_subset(desired, live):
        verdicts.record(key, digest=digest, resource_version=live_version)
        return True
    return False


class Standing(enum.StrEnum):
    """Where one object stands before any request: what the control loop may conclude for free."""

    UNCHANGED = "unchanged"  # provably as last applied
    MISSING = "missing"  # no live object
    DRIFTED = "drifted"  # the manifest is as last applied but the live object no longer matches it
    UNKNOWN = "unknown"  # the manifest changed, or nothing was recorded: only the server can tell


def standing(
    desired: Mapping[str, Any],
    live: Mapping[str, Any] | None,
    *,
    verdicts: VerdictCache,
    digest: str | None = None,
) -> Standing:
    """Classify one already-marked manifest against live, without any request.

    ``digest`` is the manifest's ``desired_digest`` when the caller already has it (hot path).
    """
    if live is None:
        return Standing.MISSING
    key = ResourceKey.of(desired)
    digest = digest or desired_digest(desired)
    if provably_unchanged(key, desired, live, digest=digest, verdicts=verdicts):
        return Standing.UNCHANGED
    verdict = verdicts.get(key)
    if verdict is not None and verdict.digest == digest:
        return Standing.DRIFTED
    return Standing.UNKNOWN


async def apply_one(
    client: KubeClient,
    desired: Mapping[str, Any],
    *,
    live: Mapping[str, Any] | None,
    verdicts: VerdictCache,
    force: bool = False,
    adopt: bool = True,
    field_validation: str | None = None,
    digest: str | None = None,
) -> Change:
    """Apply one already-marked manifest if it drifted; returns what happened.

    ``adopt=False``: an object that turns out to exist already is left as it is (UNCHANGED).
    ``digest``: what the verdict is recorded under when it is not ``desired``'s own digest (the
    manifest as rendered, when what is sent keeps live values of ignored fields).
    """
    key = ResourceKey.of(desired)
    version = version_of(str(desired.get("apiVersion", "")))
    digest = digest or desired_digest(desired)
    if provably_unchanged(key, desired, live, digest=digest, verdicts=verdicts):
        return Change(key, Action.UNCHANGED, version)
    app = owner_of(desired) or ""
    owner = foreign_owner(live, app)
    if owner is not None:
        verdicts.forget(key)
        return Change(key, Action.FAILED, version, refusal(key, owner))
    try:
        if live is not None:  # a missing object is a create: the dry-run could only say so
            predicted = await client.apply(
                desired,
                field_manager=FIELD_MANAGER,
                force=force,
                dry_run=True,
                field_validation=field_validation,
            )
            if comparable(predicted) == comparable(live):
                verdicts.record(key, digest=digest, resource_version=resource_version(live))
                return Change(key, Action.UNCHANGED, version)
        applied, created = await guarded_apply(
            client, desired, live=live, app=app, force=force, adopt=adopt, field_validation=field_validation
        )
    except GitwardError as error:
        verdicts.forget(key)
        return Change(key, Action.FAILED, version, safe_message(error, desired))
    if applied is None:
        return Change(key, Action.UNCHANGED, version)
    verdicts.record(key, digest=digest, resource_version=resource_version(applied))
    return Change(key, Action.CREATED if created else Action.CONFIGURED, version)

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

A conflict with other field managers follows the one rule in ``conflicts``: fields taken by
out-of-band updates are taken back (one GET for the managers, then the apply with force); fields
another applier claims fail the change unless the caller forces.

Any refusal becomes a FAILED change with the API's message (Secret values removed, conflicting field
managers named) and the object's verdict is forgotten so the next reconcile asks the server again.
Deliberately not here: ordering, stages and concurrency (``staged``), marking (the caller marks).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from typing import Any

from gitward.apply._compare import comparable, desired_digest, is_subset, resource_version
from gitward.apply._messages import safe_message
from gitward.apply.conflicts import out_of_band_only
from gitward.apply.guard import foreign_owner, guarded_apply, refusal
from gitward.apply.verdicts import VerdictCache
from gitward.cluster.client import KubeClient
from gitward.core.changes import Action, Change
from gitward.core.errors import ClusterError, GitwardError
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
    released: Collection[str] = frozenset(),
) -> Change:
    """Apply one already-marked manifest if it drifted; returns what happened.

    ``adopt=False``: an object that turns out to exist already is left as it is (UNCHANGED).
    ``digest``: what the verdict is recorded under when it is not ``desired``'s own digest (the
    manifest as rendered, when what is sent keeps live values of ignored fields).
    ``released``: removed apps whose marks bind nobody (``guard``).
    """
    key = ResourceKey.of(desired)
    version = version_of(str(desired.get("apiVersion", "")))
    digest = digest or desired_digest(desired)
    if provably_unchanged(key, desired, live, digest=digest, verdicts=verdicts):
        return Change(key, Action.UNCHANGED, version)
    app = owner_of(desired) or ""
    owner = foreign_owner(live, app, released)
    if owner is not None:
        verdicts.forget(key)
        return Change(key, Action.FAILED, version, refusal(key, owner))
    send = _Send(client, desired, app=app, adopt=adopt, field_validation=field_validation, released=released)
    try:
        applied: _Applied | GitwardError = await send(live, force=force)
    except GitwardError as error:
        applied = await _take_back(send, error, force=force)
    if isinstance(applied, GitwardError):
        verdicts.forget(key)
        return Change(key, Action.FAILED, version, safe_message(applied, desired))
    if applied is None:
        return Change(key, Action.UNCHANGED, version)
    result, created = applied
    verdicts.record(key, digest=digest, resource_version=resource_version(result))
    if created is None:
        return Change(key, Action.UNCHANGED, version)
    return Change(key, Action.CREATED if created else Action.CONFIGURED, version)


_Applied = tuple[Mapping[str, Any], bool | None] | None
"""The server's object and whether it was created (``None``: the dry-run found nothing to change),
or ``None`` when an existing object was left alone (``adopt=False``)."""


class _Send:
    """The dry-run then the guarded apply of one manifest, against a given live object."""

    def __init__(
        self,
        client: KubeClient,
        desired: Mapping[str, Any],
        *,
        app: str,
        adopt: bool,
        field_validation: str | None,
        released: Collection[str] = frozenset(),
    ) -> None:
        self.client = client
        self.released = released
        self.desired = desired
        self.app = app
        self.adopt = adopt
        self.field_validation = field_validation

    async def __call__(self, live: Mapping[str, Any] | None, *, force: bool) -> _Applied:
        if live is not None:  # a missing object is a create: the dry-run could only say so
            predicted = await self.client.apply(
                self.desired,
                field_manager=FIELD_MANAGER,
                force=force,
                dry_run=True,
                field_validation=self.field_validation,
            )
            if comparable(predicted) == comparable(live):
                return live, None
        applied, created = await guarded_apply(
            self.client,
            self.desired,
            live=live,
            app=self.app,
            force=force,
            adopt=self.adopt,
            field_validation=self.field_validation,
            released=self.released,
        )
        return None if applied is None else (applied, created)

    async def fresh(self) -> dict[str, Any] | None:
        """The live object as the server has it now, managedFields included (the cache drops them)."""
        key = ResourceKey.of(self.desired)
        api_version = str(self.desired.get("apiVersion", ""))
        return await self.client.get(api_version, key.kind, key.namespace, key.name)


async def _take_back(send: _Send, error: GitwardError, *, force: bool) -> _Applied | GitwardError:
    """Apply again with force when the conflict is only with out-of-band updates (``conflicts``)."""
    if force or not isinstance(error, ClusterError) or error.status != 409:
        return error
    try:
        live = await send.fresh()
        if not out_of_band_only(error, live) or foreign_owner(live, send.app, send.released) is not None:
            return error
        return await send(live, force=True)
    except GitwardError as again:
        return again

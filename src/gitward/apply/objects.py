"""Applying one ordinary object of a plan step as its sync options ask (the README, "Sync operations").

- default: server-side apply of what drifted (``ssa.apply_one``), every write with
  ``fieldValidation=Strict`` as ``kubectl apply`` sends it (a server-side apply refuses a field the
  schema does not declare in any case; a create or a replace refuses it only when Strict);
- ``Validate=false``: ``fieldValidation=Ignore`` on what is created or replaced (hooks, ``Replace=true``
  objects, re-creations), so the server drops unknown fields; the plan refuses it on an object that is
  applied server-side, where it could change nothing;
- ``Force=true``: server-side apply with ``force`` (fields another manager owns are taken over), and an
  update the server refuses because a field is immutable becomes delete, wait until gone, create;
- ``Replace=true``: PUT of the whole object instead of a merge (create when it is missing), decided by
  a PUT dry-run; with ``Force=true`` too, delete and create (``kubectl replace --force``);
- ``RespectIgnoreDifferences=true`` (app-wide): for an object that exists, the fields its
  ``ignoreDifferences`` rules name in the manifest (by pointer, jq path expression, or field manager:
  then the full object is read for its managedFields) are sent with their live values (or left out
  when live has none), so a sync never overwrites what the rules say belongs to someone else;
- ``keep`` (a drift fight, ``reconcile/fights.py``): the same for the fields self-heal pauses; the
  verdict then vouches for the manifest but not for the live copy, which is not as Git has it.

Every path keeps the ownership rules: another app's mark refuses the write before any request, a PUT
carries the seen ``resourceVersion`` as its precondition, and only an object carrying this app's mark
is ever deleted to be re-created. Verdicts are recorded under the rendered manifest's digest, so a
no-op reconcile still sends nothing.

Deliberately not here: ordering and stages (``staged``), hooks (``hooks``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitward.apply._compare import comparable, desired_digest, resource_version
from gitward.apply._messages import safe_message
from gitward.apply.guard import foreign_owner, refusal
from gitward.apply.ssa import apply_one, provably_unchanged
from gitward.apply.verdicts import VerdictCache
from gitward.apply.waits import WaitControl, wait_gone
from gitward.cluster.client import KubeClient
from gitward.core.changes import Action, Change
from gitward.core.errors import ClusterError, GitwardError
from gitward.core.keys import ResourceKey, version_of
from gitward.core.marks import FIELD_MANAGER, owner_of
from gitward.diff import pointer
from gitward.diff.ignore import IgnoreRule, needs_managed_fields, places_in
from gitward.diff.managers import managed_entries
from gitward.plan import ObjectOptions, PlannedObject

LiveLookup = Callable[[ResourceKey], Mapping[str, Any] | None]

#: A re-created object's predecessor is deleted in the background: its dependents go with it.
RECREATE_PROPAGATION = "Background"


def field_validation(options: ObjectOptions) -> str:
    return "Strict" if options.validate else "Ignore"


@dataclass(frozen=True, kw_only=True)
class ObjectApply:
    """What every object of one operation is applied with."""

    client: KubeClient
    app: str
    live: LiveLookup
    verdicts: VerdictCache
    digests: Mapping[ResourceKey, str] = field(default_factory=dict)
    force: bool = False  # server-side apply force for every object (a request, app-wide Force, self-heal)
    ignore: Sequence[IgnoreRule] = ()  # RespectIgnoreDifferences: the app's rules; () when off
    keep: Mapping[ResourceKey, Sequence[str]] = field(default_factory=dict)  # pointers sent as live has them
    control: WaitControl | None = None  # for re-creations; without it an object is never re-created
    released: frozenset[str] = frozenset()  # removed apps whose marks bind nobody (``guard``)


async def apply_object(ctx: ObjectApply, planned: PlannedObject) -> Change:
    """Apply ``planned`` (its manifest already marked) if it drifted, as its options say.

    With a fought field kept (``keep``), what the server holds afterwards is not as Git has it: the
    verdict then vouches for the manifest only, never for the live copy's resourceVersion, so every
    later look (a pass's standing, a dry run) compares the live object with Git again and finds the
    field still differs, until a sync writes it as Git has it."""
    change = await _apply_object(ctx, planned)
    verdict = ctx.verdicts.get(planned.key)
    if ctx.keep.get(planned.key) and verdict is not None:
        ctx.verdicts.record(planned.key, digest=verdict.digest, resource_version="")
    return change


async def _apply_object(ctx: ObjectApply, planned: PlannedObject) -> Change:
    key, options = planned.key, planned.options
    live = ctx.live(key)
    digest = ctx.digests.get(key) or desired_digest(planned.manifest)
    sent = await _respecting(ctx, planned, live)
    validation = field_validation(options)
    if options.replace:
        return await _replace(ctx, planned, sent, live, digest=digest, validation=validation)
    change = await apply_one(
        ctx.client,
        sent,
        live=live,
        verdicts=ctx.verdicts,
        force=ctx.force or options.force,
        field_validation=validation,
        digest=digest,
        released=ctx.released,
    )
    if options.force and change.action is Action.FAILED and "field is immutable" in change.message:
        return await _recreate(ctx, planned, sent, live, digest=digest, why=change.message)
    return change


async def _respecting(
    ctx: ObjectApply, planned: PlannedObject, live: Mapping[str, Any] | None
) -> Mapping[str, Any]:
    """The manifest with the fields that are someone else's (the rules, a fight) as live has them."""
    key = planned.key
    kept = ctx.keep.get(key, ())
    if live is None or not (ctx.ignore or kept):
        return planned.manifest
    managed: list[Mapping[str, Any]] = []
    if kept or needs_managed_fields(key, ctx.ignore):
        # The server's copy: managedFields for the rules, and the fought field's value of now (the
        # cache may be a change behind, and sending an older value would take the field back).
        full = await ctx.client.get(planned.api_version, key.kind, key.namespace, key.name)
        live = full if full is not None else live
        managed = managed_entries(full or {})
    pointers = places_in(key, planned.manifest, ctx.ignore, managed=managed)
    pointers += [p for p in kept if p not in pointers]
    return keep_ignored(planned.manifest, live, pointers)


def keep_ignored(
    desired: Mapping[str, Any], live: Mapping[str, Any] | None, pointers: Sequence[str]
) -> Mapping[str, Any]:
    """``desired`` with each pointer's live value (removed where live has none); ``desired`` itself
    when there is nothing to keep. A missing object keeps the rendered values: there is nothing to
    respect yet."""
    if live is None or not pointers:
        return desired
    out = copy.deepcopy(dict(desired))
    for path in pointers:
        found, value = _lookup(live, pointer.split(path))
        if found:
            _set(out, pointer.split(path), copy.deepcopy(value))
        else:
            pointer.remove(out, path)
    return out


def _lookup(doc: Any, tokens: list[str]) -> tuple[bool, Any]:
    node = doc
    for token in tokens:
        if isinstance(node, Mapping) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False, None
    return True, node


def _set(doc: dict[str, Any], tokens: list[str], value: Any) -> None:
    """Set ``value`` at ``tokens``, making missing mappings on the way; a list index must exist."""
    node: Any = doc
    for token in tokens[:-1]:
        if isinstance(node, dict):
            node = node.setdefault(token, {})
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return
    last = tokens[-1]
    if isinstance(node, dict):
        node[last] = value
    elif isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = value


async def _replace(
    ctx: ObjectApply,
    planned: PlannedObject,
    sent: Mapping[str, Any],
    live: Mapping[str, Any] | None,
    *,
    digest: str,
    validation: str,
) -> Change:
    key, version = planned.key, version_of(planned.api_version)
    if provably_unchanged(key, sent, live, digest=digest, verdicts=ctx.verdicts):
        return Change(key, Action.UNCHANGED, version)
    owner = foreign_owner(live, ctx.app, ctx.released)
    if owner is not None:
        ctx.verdicts.forget(key)
        return Change(key, Action.FAILED, version, refusal(key, owner))
    try:
        if live is None:
            created = await ctx.client.create(sent, field_manager=FIELD_MANAGER, field_validation=validation)
            ctx.verdicts.record(key, digest=digest, resource_version=resource_version(created))
            return Change(key, Action.CREATED, version)
        body = _with_version(sent, live)
        predicted = await ctx.client.replace(
            body, field_manager=FIELD_MANAGER, dry_run=True, field_validation=validation
        )
        if comparable(predicted) == comparable(live):
            ctx.verdicts.record(key, digest=digest, resource_version=resource_version(live))
            return Change(key, Action.UNCHANGED, version)
        if planned.options.force:
            return await _recreate(
                ctx, planned, sent, live, digest=digest, why="Replace=true with Force=true"
            )
        replaced = await _put_checked(ctx, planned, sent, live, validation=validation)
    except GitwardError as error:
        ctx.verdicts.forget(key)
        return Change(key, Action.FAILED, version, safe_message(error, sent))
    ctx.verdicts.record(key, digest=digest, resource_version=resource_version(replaced))
    return Change(key, Action.CONFIGURED, version, "replaced (Replace=true)")


def _with_version(sent: Mapping[str, Any], live: Mapping[str, Any]) -> dict[str, Any]:
    """The PUT's precondition: the object must still be the one seen (409 otherwise)."""
    out = dict(sent)
    meta = dict(out.get("metadata") or {})
    meta["resourceVersion"] = resource_version(live)
    out["metadata"] = meta
    return out


async def _put_checked(
    ctx: ObjectApply,
    planned: PlannedObject,
    sent: Mapping[str, Any],
    live: Mapping[str, Any],
    *,
    validation: str,
) -> dict[str, Any]:
    """PUT under the seen resourceVersion; on a 409 read once, check the owner again, PUT again."""
    try:
        return await ctx.client.replace(
            _with_version(sent, live), field_manager=FIELD_MANAGER, field_validation=validation
        )
    except ClusterError as error:
        if error.status != 409:
            raise
    key = planned.key
    fresh = await ctx.client.get(planned.api_version, key.kind, key.namespace, key.name)
    if fresh is None:
        return await ctx.client.create(sent, field_manager=FIELD_MANAGER, field_validation=validation)
    owner = foreign_owner(fresh, ctx.app, ctx.released)
    if owner is not None:
        raise ClusterError(refusal(key, owner) + "; it was taken while gitward was writing it", status=409)
    return await ctx.client.replace(
        _with_version(sent, fresh), field_manager=FIELD_MANAGER, field_validation=validation
    )


async def _recreate(
    ctx: ObjectApply,
    planned: PlannedObject,
    sent: Mapping[str, Any],
    live: Mapping[str, Any] | None,
    *,
    digest: str,
    why: str,
) -> Change:
    """Delete the live object (only when it carries this app's mark), wait until gone, create it."""
    key, version = planned.key, version_of(planned.api_version)
    ctx.verdicts.forget(key)
    if live is not None and owner_of(live) != ctx.app:
        return Change(
            key, Action.FAILED, version, f"{why} (not re-created: the live object is not this app's)"
        )
    if ctx.control is None:
        return Change(key, Action.FAILED, version, f"{why} (not re-created outside a sync)")
    validation = field_validation(planned.options)
    try:
        if live is not None:
            await ctx.client.delete(
                planned.api_version, key.kind, key.namespace, key.name, propagation=RECREATE_PROPAGATION
            )
            if not await wait_gone(planned.api_version, key, control=ctx.control):
                return Change(
                    key, Action.FAILED, version, f"{why}: deleted to re-create it, but it is still there"
                )
        created = await ctx.client.create(sent, field_manager=FIELD_MANAGER, field_validation=validation)
    except GitwardError as error:
        return Change(key, Action.FAILED, version, safe_message(error, sent))
    ctx.verdicts.record(key, digest=digest, resource_version=resource_version(created))
    return Change(key, Action.CONFIGURED, version, f"re-created (Force=true): {why}"[:500])

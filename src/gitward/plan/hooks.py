"""Hook annotations: which sync phase an object runs in and when it is deleted. Parsing only.

Gitward's own annotations come first, then Argo CD's (so Argo CD repositories work unchanged), then
Helm's hook annotations (charts rendered by gitward carry them): ``pre-install``/``pre-upgrade`` map to
PreSync and ``post-install``/``post-upgrade`` to PostSync; Helm hooks with no sync meaning (tests,
delete, rollback hooks) become Skip so they are never applied as ordinary objects.

Deliberately not here: running hooks, waiting for them or deleting them (apply/).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from gitward.core.errors import ValidationError
from gitward.core.keys import ResourceKey

HOOK_ANNOTATIONS = ("gitward.dev/hook", "argocd.argoproj.io/hook")
DELETE_POLICY_ANNOTATIONS = ("gitward.dev/hook-delete-policy", "argocd.argoproj.io/hook-delete-policy")
HELM_HOOK = "helm.sh/hook"
HELM_DELETE_POLICY = "helm.sh/hook-delete-policy"

E = TypeVar("E", bound=enum.StrEnum)


class HookPhase(enum.StrEnum):
    """Phases in execution order; SyncFail runs only when the sync failed; Skip is never applied."""

    PRE_SYNC = "PreSync"
    SYNC = "Sync"
    POST_SYNC = "PostSync"
    SYNC_FAIL = "SyncFail"
    SKIP = "Skip"

    @property
    def rank(self) -> int:
        return list(HookPhase).index(self)


class DeletePolicy(enum.StrEnum):
    BEFORE_HOOK_CREATION = "BeforeHookCreation"
    HOOK_SUCCEEDED = "HookSucceeded"
    HOOK_FAILED = "HookFailed"


_HELM_PHASES = {
    "pre-install": HookPhase.PRE_SYNC,
    "pre-upgrade": HookPhase.PRE_SYNC,
    "post-install": HookPhase.POST_SYNC,
    "post-upgrade": HookPhase.POST_SYNC,
}
_HELM_POLICIES = {
    "before-hook-creation": DeletePolicy.BEFORE_HOOK_CREATION,
    "hook-succeeded": DeletePolicy.HOOK_SUCCEEDED,
    "hook-failed": DeletePolicy.HOOK_FAILED,
}


@dataclass(frozen=True)
class Hook:
    """The phases a hook object runs in (first one orders it) and its delete policies."""

    phases: tuple[HookPhase, ...]
    delete_policies: tuple[DeletePolicy, ...] = (DeletePolicy.BEFORE_HOOK_CREATION,)
    helm: bool = False

    @property
    def phase(self) -> HookPhase:
        return self.phases[0]


def annotations_of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    found = (obj.get("metadata") or {}).get("annotations")
    return found if isinstance(found, Mapping) else {}


def hook_of(obj: Mapping[str, Any]) -> Hook | None:
    """The hook an object declares, or ``None`` for an ordinary object.

    Raises ``ValidationError`` for a phase or policy gitward does not know, naming the object: a
    misspelt ``PreSnyc`` silently applied as an ordinary object would run a migration at the wrong time.
    """
    annotations = annotations_of(obj)
    for name in HOOK_ANNOTATIONS:
        if name in annotations:
            phases = tuple(_parse(obj, name, v, HookPhase) for v in _items(annotations[name]))
            return Hook(phases=phases or (HookPhase.SYNC,), delete_policies=_delete_policies(obj))
    if HELM_HOOK in annotations:
        return _helm_hook(annotations)
    return None


def _delete_policies(obj: Mapping[str, Any]) -> tuple[DeletePolicy, ...]:
    annotations = annotations_of(obj)
    for name in DELETE_POLICY_ANNOTATIONS:
        if name in annotations:
            policies = tuple(_parse(obj, name, v, DeletePolicy) for v in _items(annotations[name]))
            return policies or (DeletePolicy.BEFORE_HOOK_CREATION,)
    return (DeletePolicy.BEFORE_HOOK_CREATION,)


def _helm_hook(annotations: Mapping[str, Any]) -> Hook:
    kinds = _items(annotations[HELM_HOOK])
    phases = tuple(dict.fromkeys(_HELM_PHASES[k] for k in kinds if k in _HELM_PHASES))
    policies = tuple(
        _HELM_POLICIES[p] for p in _items(annotations.get(HELM_DELETE_POLICY, "")) if p in _HELM_POLICIES
    )
    return Hook(
        phases=phases or (HookPhase.SKIP,),
        delete_policies=policies or (DeletePolicy.BEFORE_HOOK_CREATION,),
        helm=True,
    )


def _items(value: Any) -> list[str]:
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


def _parse(obj: Mapping[str, Any], annotation: str, value: str, enum_type: type[E]) -> E:
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(e.value for e in enum_type)
        raise ValidationError(
            f"{ResourceKey.of(obj)}: annotation {annotation}: unknown value {value!r} (allowed: {allowed})",
            reason="InvalidAnnotation",
        ) from None

"""Hook annotations: which sync phases an object runs in and when it is deleted. Parsing only.

Gitward's own annotations come first, then Argo CD's (so Argo CD repositories work unchanged), then
Helm's hook annotations (charts rendered by gitward carry them), mapped as Argo CD maps them:
``pre-install``/``pre-upgrade`` are PreSync, ``post-install``/``post-upgrade`` PostSync, and
``crd-install`` (Helm 2) is no hook at all, since CRDs are applied first anyway. Helm test hooks and
hooks with no sync meaning (delete and rollback hooks) become Skip, so a sync never applies them,
and ``helm_events`` keeps what they were so a dry run can say why they were left out.

Unknown values are refused, never ignored: a misspelt ``PreSnyc`` or ``pre-instal`` applied as an
ordinary object would run a migration at the wrong time.

Deliberately not here: running hooks, waiting for them or deleting them (apply/); where a hook
sits in the plan (``plan.syncplan``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

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
        return _PHASE_RANK[self]

    @property
    def runs_on_success_path(self) -> bool:
        """PreSync, Sync and PostSync: the phases every sync walks through, in that order."""
        return self in (HookPhase.PRE_SYNC, HookPhase.SYNC, HookPhase.POST_SYNC)


_PHASE_RANK = {phase: i for i, phase in enumerate(HookPhase)}


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
#: Helm hook events a sync never runs: tests belong to ``helm test``, the rest to uninstall/rollback.
HELM_TEST_EVENTS = frozenset({"test", "test-success", "test-failure"})
HELM_UNSYNCED_EVENTS = frozenset({"pre-delete", "post-delete", "pre-rollback", "post-rollback"})
_HELM_NOT_A_HOOK = frozenset({"crd-install"})
_HELM_EVENTS = frozenset(_HELM_PHASES) | HELM_TEST_EVENTS | HELM_UNSYNCED_EVENTS | _HELM_NOT_A_HOOK
_HELM_POLICIES = {
    "before-hook-creation": DeletePolicy.BEFORE_HOOK_CREATION,
    "hook-succeeded": DeletePolicy.HOOK_SUCCEEDED,
    "hook-failed": DeletePolicy.HOOK_FAILED,
}


@dataclass(frozen=True)
class Hook:
    """The phases a hook object runs in (first one orders it) and its delete policies.

    ``helm_events`` holds the raw ``helm.sh/hook`` values when the hook came from Helm's annotation.
    """

    phases: tuple[HookPhase, ...]
    delete_policies: tuple[DeletePolicy, ...] = (DeletePolicy.BEFORE_HOOK_CREATION,)
    helm: bool = False
    helm_events: tuple[str, ...] = ()

    @property
    def phase(self) -> HookPhase:
        return self.phases[0]

    @property
    def skipped(self) -> bool:
        """Skip anywhere in the phases wins: the author asked for the object never to be applied."""
        return HookPhase.SKIP in self.phases

    @property
    def helm_test(self) -> bool:
        return any(e in HELM_TEST_EVENTS for e in self.helm_events)

    def skip_reason(self) -> str:
        """Why a skipped hook is left out of a sync, in words a dry run can print."""
        if not self.helm:
            return "Skip hook: never applied by a sync"
        if self.helm_test:
            tests = [e for e in self.helm_events if e in HELM_TEST_EVENTS]
            return f"Helm test hook ({HELM_HOOK}: {', '.join(tests)}): run by helm test, never by a sync"
        events = ", ".join(self.helm_events)
        return f"Helm hook with no sync meaning ({HELM_HOOK}: {events})"


def annotations_of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    found = (obj.get("metadata") or {}).get("annotations")
    return found if isinstance(found, Mapping) else {}


def hook_of(obj: Mapping[str, Any]) -> Hook | None:
    """The hook an object declares, or ``None`` for an ordinary object.

    Raises ``ValidationError`` for a phase, Helm event or policy gitward does not know, naming the
    object and the annotation.
    """
    annotations = annotations_of(obj)
    for name in HOOK_ANNOTATIONS:
        if name in annotations:
            phases = tuple(dict.fromkeys(_parse(obj, name, v, HookPhase) for v in _items(annotations[name])))
            return Hook(phases=phases or (HookPhase.SYNC,), delete_policies=_delete_policies(obj))
    if HELM_HOOK in annotations:
        return _helm_hook(obj, annotations)
    return None


def _delete_policies(obj: Mapping[str, Any]) -> tuple[DeletePolicy, ...]:
    annotations = annotations_of(obj)
    for name in DELETE_POLICY_ANNOTATIONS:
        if name in annotations:
            policies = tuple(_parse(obj, name, v, DeletePolicy) for v in _items(annotations[name]))
            return tuple(dict.fromkeys(policies)) or (DeletePolicy.BEFORE_HOOK_CREATION,)
    return (DeletePolicy.BEFORE_HOOK_CREATION,)


def _helm_hook(obj: Mapping[str, Any], annotations: Mapping[str, Any]) -> Hook | None:
    events = tuple(dict.fromkeys(_items(annotations[HELM_HOOK])))
    for event in events:
        if event not in _HELM_EVENTS:
            _refuse(obj, HELM_HOOK, event, sorted(_HELM_EVENTS))
    if events and all(e in _HELM_NOT_A_HOOK for e in events):
        return None
    phases = tuple(dict.fromkeys(_HELM_PHASES[e] for e in events if e in _HELM_PHASES))
    policies = []
    for value in _items(annotations.get(HELM_DELETE_POLICY, "")):
        if value not in _HELM_POLICIES:
            _refuse(obj, HELM_DELETE_POLICY, value, list(_HELM_POLICIES))
        policies.append(_HELM_POLICIES[value])
    return Hook(
        phases=phases or (HookPhase.SKIP,),
        delete_policies=tuple(dict.fromkeys(policies)) or (DeletePolicy.BEFORE_HOOK_CREATION,),
        helm=True,
        helm_events=events,
    )


def _items(value: Any) -> list[str]:
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


def _parse(obj: Mapping[str, Any], annotation: str, value: str, enum_type: type[E]) -> E:
    try:
        return enum_type(value)
    except ValueError:
        _refuse(obj, annotation, value, [e.value for e in enum_type])


def _refuse(obj: Mapping[str, Any], annotation: str, value: str, allowed: list[str]) -> NoReturn:
    raise ValidationError(
        f"{ResourceKey.of(obj)}: annotation {annotation}: unknown value {value!r} "
        f"(allowed: {', '.join(allowed)})",
        reason="InvalidAnnotation",
    )

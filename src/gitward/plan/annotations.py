"""Per-object annotations that shape a sync: the wave, the sync options and the compare options.

Waves come from ``gitward.dev/sync-wave`` (Argo CD's ``argocd.argoproj.io/sync-wave`` is read too,
and a Helm hook's ``helm.sh/hook-weight`` when it has no wave): an integer, default 0, negative
allowed, in ASCII digits and 64 bits as Argo CD reads it. Sync options come from
``argocd.argoproj.io/sync-options`` and ``gitward.dev/sync-options`` (comma-separated
``Name=value``; gitward's annotation wins per option when both name it); compare options from
``argocd.argoproj.io/compare-options`` and ``gitward.dev/compare-options``. Every value
is checked here, once, so the executor reads typed flags and an option gitward would not act on is
refused with the object and the option named instead of being parsed and ignored: ``ServerSideApply=false``
(gitward only applies server-side) and ``Delete=true`` (gitward never deletes an app's objects when the
app is removed, so ``Delete=false`` is always in effect).

Deliberately not here: acting on the options (apply/), the app-wide options (``model.syncpolicy``,
whose values ``object_defaults`` turns into the base that annotations override).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from gitward.core.errors import ValidationError
from gitward.core.keys import ResourceKey
from gitward.plan.hooks import HELM_HOOK, annotations_of

WAVE_ANNOTATIONS = ("gitward.dev/sync-wave", "argocd.argoproj.io/sync-wave")
HELM_WEIGHT = "helm.sh/hook-weight"
#: Read in this order; a later annotation overrides an earlier one option by option.
SYNC_OPTION_ANNOTATIONS = ("argocd.argoproj.io/sync-options", "gitward.dev/sync-options")
COMPARE_OPTION_ANNOTATIONS = ("argocd.argoproj.io/compare-options", "gitward.dev/compare-options")

#: Sync option name -> field of ``ObjectOptions``. All are booleans written ``true``/``false``.
_SYNC_OPTIONS = {
    "Prune": "prune",
    "Delete": "delete",
    "Replace": "replace",
    "Force": "force",
    "ServerSideApply": "server_side_apply",
    "Validate": "validate",
    "SkipDryRunOnMissingResource": "skip_dry_run_on_missing_resource",
    "PruneLast": "prune_last",
}
_COMPARE_OPTIONS = {"IgnoreExtraneous": "ignore_extraneous"}
_INTEGER = re.compile(r"[+-]?[0-9]{1,30}")
#: Values gitward would parse and then not do: refused instead (docs/architecture.md, "How to extend
#: gitward": an option that is parsed must be acted on).
_CANNOT_HONOUR = {
    ("ServerSideApply", False): "gitward always applies server-side; remove the option",
    ("Delete", True): (
        "gitward never deletes an app's objects when the app is removed, so there is nothing to "
        "delete; Delete=false is what it always does"
    ),
}


def wave_of(obj: Mapping[str, Any]) -> int:
    """The object's sync wave; raises ``ValidationError`` when the annotation is not an integer."""
    annotations = annotations_of(obj)
    names = [*WAVE_ANNOTATIONS, HELM_WEIGHT] if HELM_HOOK in annotations else WAVE_ANNOTATIONS
    for name in names:
        if name in annotations:
            raw = str(annotations[name]).strip()
            # ASCII digits, a sign, 64 bits, as Argo CD's strconv.Atoi reads it: int() alone would
            # also take '1_0' and digits of other scripts
            if _INTEGER.fullmatch(raw) and -(2**63) <= (wave := int(raw)) < 2**63:
                return wave
            raise ValidationError(
                f"{ResourceKey.of(obj)}: annotation {name}: {raw!r} is not an integer",
                reason="InvalidAnnotation",
            )
    return 0


@dataclass(frozen=True)
class ObjectOptions:
    """What one object asks of a sync, after app-wide defaults and its own annotations.

    ``prune=False`` keeps it when it leaves Git; ``delete=False`` keeps it when the app is deleted;
    ``prune_last`` deletes it after the last wave; ``ignore_extraneous`` keeps it out of the app's
    sync status when it is live but not desired. The defaults are the model's app-wide defaults.
    """

    prune: bool = True
    delete: bool = True
    replace: bool = False
    force: bool = False
    server_side_apply: bool = True
    validate: bool = True
    skip_dry_run_on_missing_resource: bool = False
    prune_last: bool = False
    ignore_extraneous: bool = False

    def to_list(self) -> list[str]:
        """The options that differ from the defaults, as sorted ``Name=value`` strings (compact JSON)."""
        base = ObjectOptions()
        out = [
            f"{name}={str(getattr(self, field)).lower()}"
            for name, field in _SYNC_OPTIONS.items()
            if getattr(self, field) != getattr(base, field)
        ]
        out.extend(name for name, field in _COMPARE_OPTIONS.items() if getattr(self, field))
        return sorted(out)

    @classmethod
    def from_list(cls, entries: Iterable[str]) -> ObjectOptions:
        """Inverse of :meth:`to_list`; raises ``ValueError`` for an entry it did not write."""
        values: dict[str, bool] = {}
        for entry in entries:
            if entry in _COMPARE_OPTIONS:
                values[_COMPARE_OPTIONS[entry]] = True
                continue
            name, _, raw = entry.partition("=")
            if name not in _SYNC_OPTIONS or raw not in ("true", "false"):
                raise ValueError(f"not an object option: {entry!r}")
            values[_SYNC_OPTIONS[name]] = raw == "true"
        return dataclasses.replace(cls(), **values)


def object_defaults(app_options: Mapping[str, str]) -> ObjectOptions:
    """The per-object base from an app's parsed options (``SyncPolicy.parsed_options``).

    App-wide ``Replace=true`` or ``Prune=false`` apply to every object unless the object's own
    annotation says otherwise; app options with no per-object meaning (``CreateNamespace``) are ignored
    here because the model validated them already.
    """
    values = {
        field: str(app_options[name]).lower() == "true"
        for name, field in _SYNC_OPTIONS.items()
        if name in app_options
    }
    return dataclasses.replace(ObjectOptions(), **values)


def options_of(obj: Mapping[str, Any], *, defaults: ObjectOptions | None = None) -> ObjectOptions:
    """The object's options: ``defaults`` overridden by its sync- and compare-option annotations.

    Raises ``ValidationError`` naming the object, the annotation and the option for an unknown option,
    a value other than true/false, or one option given twice with different values.
    """
    annotations = annotations_of(obj)
    values: dict[str, bool] = {}
    for annotation in SYNC_OPTION_ANNOTATIONS:
        if annotation in annotations:
            values.update(_parse_sync_options(obj, annotation, annotations[annotation]))
    for annotation in COMPARE_OPTION_ANNOTATIONS:
        if annotation in annotations:
            for item in _items(annotations[annotation]):
                if item not in _COMPARE_OPTIONS:
                    _refuse(obj, annotation, f"unknown compare option {item!r}", _COMPARE_OPTIONS)
                values[_COMPARE_OPTIONS[item]] = True
    return dataclasses.replace(defaults or ObjectOptions(), **values)


def _parse_sync_options(obj: Mapping[str, Any], annotation: str, raw: Any) -> dict[str, bool]:
    values: dict[str, bool] = {}
    for item in _items(raw):
        name, sep, value = (part.strip() for part in item.partition("="))
        if name not in _SYNC_OPTIONS:
            _refuse(obj, annotation, f"unknown sync option {name!r}", _SYNC_OPTIONS)
        if not sep or value.lower() not in ("true", "false"):
            _refuse(obj, annotation, f"sync option {name} must be {name}=true or {name}=false, not {item!r}")
        field, flag = _SYNC_OPTIONS[name], value.lower() == "true"
        if (name, flag) in _CANNOT_HONOUR:
            _refuse(obj, annotation, f"sync option {name}={value.lower()}: {_CANNOT_HONOUR[(name, flag)]}")
        if values.get(field, flag) != flag:
            _refuse(obj, annotation, f"sync option {name} is given twice with different values")
        values[field] = flag
    return values


def _items(value: Any) -> list[str]:
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


def _refuse(obj: Mapping[str, Any], annotation: str, what: str, known: Iterable[str] = ()) -> NoReturn:
    names = ", ".join(sorted(known))
    suffix = f" (known: {names})" if names else ""
    raise ValidationError(
        f"{ResourceKey.of(obj)}: annotation {annotation}: {what}{suffix}", reason="InvalidAnnotation"
    )

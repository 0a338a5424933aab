"""How an Application syncs: automation, the resync interval, retry with backoff, and sync options.

Durations are written as Go strings (``5m``, ``1h30m``) and held as seconds. Sync options are the
``Name=value`` strings Argo CD users know (``CreateNamespace=true``); unknown names and bad values are
errors, and each option has a typed accessor so no caller parses strings. A value gitward would parse
and then not do is refused here, naming the option (``CANNOT_HONOUR``): accepted means acted on. What
each option does is in the README ("Sync operations"); how to add one in docs/architecture.md,
"How to extend gitward".

``timeout`` bounds every wait of one sync (waves becoming healthy, hooks finishing); ``wait`` makes the
sync wait for every object to be healthy after its last step too, and ``healthChecks`` names objects
(of the app or not) that must be healthy then; both are Flux Kustomization fields.

Deliberately not here: when to sync or how to back off (reconcile/), what the options do (apply/).
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, field_validator, model_validator

from gitward.core.keys import ResourceKey
from gitward.model.common import Duration, SpecModel

#: Boolean options and their value when not written.
BOOL_OPTIONS: dict[str, bool] = {
    "CreateNamespace": False,
    "PruneLast": False,
    "ServerSideApply": True,
    "Force": False,
    "Replace": False,
    "Prune": True,
    "Validate": True,
    "ApplyOutOfSyncOnly": True,
    "RespectIgnoreDifferences": False,
    "SkipDryRunOnMissingResource": False,
    "FailOnSharedResource": True,
}
#: Options with a fixed set of values; the first is the default.
CHOICE_OPTIONS: dict[str, tuple[str, ...]] = {
    "PrunePropagationPolicy": ("foreground", "background", "orphan"),
}
#: Values that would ask gitward for something it does not do: refused when the config is loaded.
CANNOT_HONOUR: dict[tuple[str, str], str] = {
    ("ServerSideApply", "false"): "gitward always applies server-side; remove the option",
    ("ApplyOutOfSyncOnly", "false"): (
        "gitward applies only objects that are out of sync (applying an object in sync changes "
        "nothing); remove the option"
    ),
    ("FailOnSharedResource", "false"): (
        "gitward never applies an object another application manages (docs/reliability.md, bad "
        "input 8); remove the option"
    ),
}


def parse_options(options: tuple[str, ...]) -> dict[str, str]:
    """``("CreateNamespace=true", ...)`` -> ``{"CreateNamespace": "true"}``, validating each entry."""
    parsed: dict[str, str] = {}
    for entry in options:
        name, sep, raw = entry.partition("=")
        name, value = name.strip(), raw.strip()
        if not sep or not name:
            raise ValueError(f"sync option {entry!r} must have the form Name=value")
        if name in BOOL_OPTIONS:
            value = value.lower()
            if value not in ("true", "false"):
                raise ValueError(f"sync option {name} must be true or false, not {raw!r}")
        elif name in CHOICE_OPTIONS:
            value = value.lower()
            if value not in CHOICE_OPTIONS[name]:
                choices = ", ".join(CHOICE_OPTIONS[name])
                raise ValueError(f"sync option {name} must be one of {choices}, not {raw!r}")
        else:
            known = ", ".join(sorted([*BOOL_OPTIONS, *CHOICE_OPTIONS]))
            raise ValueError(f"unknown sync option {name!r} (known: {known})")
        if (name, value) in CANNOT_HONOUR:
            raise ValueError(f"sync option {name}={value} is not supported: {CANNOT_HONOUR[(name, value)]}")
        if parsed.get(name, value) != value:
            raise ValueError(f"sync option {name} is given twice with different values")
        parsed[name] = value
    if parsed.get("Validate") == "false" and parsed.get("Replace") != "true":
        raise ValueError(
            "sync option Validate=false is not supported without Replace=true: gitward applies "
            "server-side, and the API server refuses fields its schema does not declare in a server-side "
            "apply whatever the validation setting (Validate=false acts on hooks and Replace=true objects, "
            "which are created or replaced)"
        )
    return parsed


class Automated(SpecModel):
    """Present means: sync on every change without a human. ``allowEmpty`` lets a render of zero objects
    prune everything the app owns (otherwise an empty render is an error, docs/reliability.md, bad input
    10)."""

    prune: bool = False
    self_heal: bool = False
    allow_empty: bool = False


class Backoff(SpecModel):
    duration: Duration = 5.0
    factor: float = Field(default=2.0, ge=1.0)
    max_duration: Duration = 180.0

    @model_validator(mode="after")
    def _max_not_below_first(self) -> Self:
        if self.max_duration < self.duration:
            raise ValueError("backoff maxDuration must not be shorter than duration")
        return self

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based), capped at ``max_duration``."""
        exponent = max(attempt - 1, 0)
        # Cap the exponent so a long failure streak cannot overflow the float.
        return min(self.duration * self.factor ** min(exponent, 64), self.max_duration)


class Retry(SpecModel):
    """``limit`` failed syncs are retried with backoff; a negative limit retries without end."""

    limit: int = Field(default=5, ge=-1)
    backoff: Backoff = Field(default_factory=Backoff)


class HealthCheck(SpecModel):
    """An object that must be healthy when a sync ends (Flux ``healthChecks``)."""

    api_version: str = Field(min_length=1)
    kind: str = Field(min_length=1)
    name: str = Field(min_length=1)
    namespace: str = ""

    @property
    def key(self) -> ResourceKey:
        group = self.api_version.rsplit("/", 1)[0] if "/" in self.api_version else ""
        return ResourceKey(group, self.kind, self.namespace, self.name)


class SyncPolicy(SpecModel):
    automated: Automated | None = None
    interval: Duration = 300.0
    retry: Retry = Field(default_factory=Retry)
    options: tuple[str, ...] = ()
    timeout: Duration = Field(default=300.0, gt=0)  # for every wait of one sync: waves, hooks, checks
    wait: bool = False  # after the last step, wait until every object is healthy (Flux ``wait``)
    health_checks: tuple[HealthCheck, ...] = ()  # healthy when the sync ends (Flux ``healthChecks``)

    @field_validator("options")
    @classmethod
    def _options_valid(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        parse_options(value)
        return value

    @property
    def parsed_options(self) -> dict[str, str]:
        return parse_options(self.options)

    def _flag(self, name: str) -> bool:
        value = self.parsed_options.get(name)
        return BOOL_OPTIONS[name] if value is None else value == "true"

    @property
    def is_automated(self) -> bool:
        return self.automated is not None

    @property
    def create_namespace(self) -> bool:
        return self._flag("CreateNamespace")

    @property
    def prune_last(self) -> bool:
        return self._flag("PruneLast")

    @property
    def server_side_apply(self) -> bool:
        return self._flag("ServerSideApply")

    @property
    def force(self) -> bool:
        return self._flag("Force")

    @property
    def replace(self) -> bool:
        return self._flag("Replace")

    @property
    def prune_allowed(self) -> bool:
        """``Prune=false`` keeps everything the app ever applied, even when automated prune is on."""
        return self._flag("Prune")

    @property
    def validate_objects(self) -> bool:
        return self._flag("Validate")

    @property
    def apply_out_of_sync_only(self) -> bool:
        return self._flag("ApplyOutOfSyncOnly")

    @property
    def respect_ignore_differences(self) -> bool:
        return self._flag("RespectIgnoreDifferences")

    @property
    def skip_dry_run_on_missing_resource(self) -> bool:
        return self._flag("SkipDryRunOnMissingResource")

    @property
    def fail_on_shared_resource(self) -> bool:
        return self._flag("FailOnSharedResource")

    @property
    def prune_propagation_policy(self) -> str:
        return self.parsed_options.get("PrunePropagationPolicy", CHOICE_OPTIONS["PrunePropagationPolicy"][0])

    @property
    def prunes_automatically(self) -> bool:
        """Automated prune is on and not vetoed by ``Prune=false``."""
        return self.automated is not None and self.automated.prune and self.prune_allowed

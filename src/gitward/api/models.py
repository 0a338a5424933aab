"""Pydantic models of the REST API's bodies: they document ``/openapi.json`` and shape responses.

The shapes mirror the dicts that ``reconcile.service.EngineService`` returns (camelCase keys, as in
the Application status). Response models allow extra keys so a field the engine adds later reaches
clients before it is documented here, and most fields have defaults so a partially known app (never
synced, no operation yet) still validates.

Deliberately not here: masking of Secret data (the engine hands over masked dicts) and any logic.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gitward.reconcile.appindex import AppQuery

# Refs and semver ranges may hold spaces, but never control characters, and a leading "-" could be
# read as an option by the git CLI further down, so it is refused at the door.
REVISION_PATTERN = r"^[^\x00-\x1f\x7f\-][^\x00-\x1f\x7f]*$"


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Destination(_Open):
    cluster: str = ""
    namespace: str = ""


class SyncInfo(_Open):
    status: str = Field("Unknown", description="Synced | OutOfSync | Unknown")
    revision: str = ""


class HealthInfo(_Open):
    status: str = Field(
        "Unknown", description="Healthy | Progressing | Degraded | Suspended | Missing | Unknown"
    )
    message: str = ""


class ConditionModel(_Open):
    type: str = Field(description="Ready | Reconciling | Stalled | OrphanedResourceWarning")
    status: str = Field(description='"True" or "False"')
    reason: str = ""
    message: str = ""
    lastTransitionTime: float | str | None = None


class ResourceStatus(_Open):
    id: str = ""
    group: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""
    version: str = ""
    sync: str = ""
    health: str = ""
    message: str = ""
    healthBy: str = Field("", description="Who decided the health: a HealthCheck and rule, a plugin, ...")


class ResourceChange(_Open):
    """What one sync did to one object (``core.changes.Change.to_dict``)."""

    id: str = ""
    group: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""
    version: str = ""
    action: str = Field("", description="created | configured | unchanged | deleted | skipped | failed")
    message: str = ""


class LastOperation(_Open):
    """The app's last operation as its status shows it; ``GET /apps/{name}/history`` has the changes."""

    id: int | str | None = None
    revision: str = ""
    commit: str = ""
    phase: str = Field("", description="Running | Succeeded | Failed | Error")
    startedAt: float | str | None = None
    finishedAt: float | str | None = None
    message: str = ""
    trigger: str = ""
    initiator: str = Field("", description="who asked for it through the API; empty for gitward's own syncs")
    count: int = Field(1, description="syncs this entry stands for: repeated identical heals share one")


class Operation(LastOperation):
    """One operation in full: the app it belongs to and every object it changed."""

    app: str = ""
    resources: list[ResourceChange] = Field(default_factory=list)


class WindowBlock(_Open):
    message: str = Field("", description="e.g. 'blocked by window deny-0 until 2026-03-29T03:30:00Z'")
    windows: list[str] = Field(default_factory=list, description="the windows that block")
    until: float | None = Field(None, description="when the answer changes (epoch seconds), if known")


class DriftFight(_Open):
    object: str = Field("", description="the object's inventory id")
    group: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""
    field: str = Field("", description="JSON pointer of the field fought over")
    manager: str = Field("", description="the field manager that keeps changing it")
    heals: int = Field(0, description="heals it undid before self-heal of the field paused")
    since: float = Field(0.0, description="when the fight was first seen (epoch seconds)")
    pausedUntil: float = Field(0.0, description="self-heal of the field resumes then (epoch seconds)")
    strikes: int = Field(1, description="1 for a first fight; each undone retry doubles the pause")
    suggestion: dict[str, Any] = Field(
        default_factory=dict, description="the ignoreDifferences entries that would end the fight"
    )


class OrphanedResource(_Open):
    group: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""


class OrphanedResources(_Open):
    count: int = Field(0, description="how many there are")
    resources: list[OrphanedResource] = Field(default_factory=list, description="the first 100, in key order")


class AppSummary(_Open):
    name: str
    project: str = ""
    repoURL: str = ""
    path: str = ""
    revision: str = ""
    destination: Destination = Field(default_factory=Destination)
    sync: SyncInfo = Field(default_factory=SyncInfo)
    health: HealthInfo = Field(default_factory=HealthInfo)
    conditions: list[ConditionModel] = Field(default_factory=list)
    suspended: bool = False
    suspendReason: str = ""
    suspendedBy: str = Field("", description="spec | user | rollback | revision; empty when not suspended")
    syncWindow: WindowBlock | None = Field(None, description="set while a sync window holds automation back")
    terminating: bool = Field(False, description="a terminate was asked for the running operation")
    operation: LastOperation | None = None
    resources: list[ResourceStatus] = Field(default_factory=list)
    driftFights: list[DriftFight] = Field(
        default_factory=list, description="fields whose self-heal a drift fight paused"
    )
    orphanedResources: OrphanedResources | None = Field(
        None, description="objects no app manages in the app's namespaces; null unless its Project lists them"
    )
    reason: str = Field("", description="the app's current reason (its Ready condition's), e.g. HookFailed")
    statusMessage: str = Field(
        "", description="the app's current message, naming the failing step and object"
    )
    step: str = Field(
        "",
        description="the step that failed: fetch | verify | render | validate | claims | plan | wave | "
        "hook | prune | health; empty when none did",
    )
    stepDetail: str = Field(
        "", description="the wave or hook in that step, e.g. 'wave 2', 'hook PreSync ...'"
    )


class DiffEntry(_Open):
    id: str = ""
    group: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""
    action: str = Field(description="create | update | delete | none")
    diff: str = Field("", description="unified diff of live against desired, Secret data masked")


class HistoryEntry(Operation):
    """One entry of an app's history: a sync, or a run of identical heals (``count`` > 1)."""

    id: int = Field(description="the id to pass to rollback")
    deployed: bool = Field(
        False, description="deployed a new commit or render: a rollback target, kept longest by retention"
    )
    deployedAt: float | str | None = Field(None, description="when it finished, if it succeeded")


class Event(_Open):
    id: int | str | None = None
    app: str = ""
    time: float | str | None = None
    type: str = Field("Normal", description="Normal | Warning")
    reason: str = ""
    message: str = ""
    object: str = ""
    fields: list[Any] = Field(default_factory=list)
    manager: str = ""


class SyncRequest(BaseModel):
    """Body of ``POST /apps/{name}/sync``; every field is optional."""

    model_config = ConfigDict(extra="forbid")

    revision: str | None = Field(
        None, max_length=255, pattern=REVISION_PATTERN, description="branch, tag, semver range or SHA"
    )
    prune: bool | None = Field(None, description="override the app's prune setting for this sync")
    force: bool = Field(False, description="replace objects the API refuses to patch")


class AppListQuery(BaseModel):
    """Query of ``GET /apps`` for one page of the list (any field given pages the answer)."""

    search: str | None = Field(None, max_length=253, description="part of the name")
    project: str | None = Field(None, max_length=253)
    cluster: str | None = Field(None, max_length=253)
    namespace: str | None = Field(None, max_length=253)
    sync: str | None = Field(None, max_length=32, description="Synced | OutOfSync | Unknown")
    health: str | None = Field(None, max_length=32)
    label: str | None = Field(None, max_length=317, description="key or key=value")
    sort: str | None = Field(None, pattern="^-?(name|project|cluster|namespace|sync|health|updated)$")
    limit: int | None = Field(None, ge=0, le=500)
    offset: int | None = Field(None, ge=0)

    def paged(self) -> bool:
        return any(value is not None for value in self.model_dump().values())

    def to_query(self, projects: frozenset[str] | None) -> AppQuery:
        sort = self.sort or "name"
        return AppQuery(
            search=self.search or "",
            project=self.project or "",
            cluster=self.cluster or "",
            namespace=self.namespace or "",
            sync=self.sync or "",
            health=self.health or "",
            label=self.label or "",
            sort=sort.removeprefix("-"),
            descending=sort.startswith("-"),
            offset=self.offset or 0,
            limit=100 if self.limit is None else self.limit,
            projects=projects,
        )


class ErrorBody(BaseModel):
    reason: str = Field(description="CamelCase reason, as in conditions")
    message: str


class Probe(BaseModel):
    status: str


class TerminateAnswer(_Open):
    """A terminate request taken: the running operation stops at its next step and is recorded."""

    name: str
    terminating: bool = True
    operation: dict[str, Any] = Field(default_factory=dict, description="the operation asked to stop")
    message: str = ""


class DeleteAnswer(_Open):
    """An application removed: what was done with its objects (the tombstone gitward keeps of it)."""

    name: str
    policy: str = Field(description="orphan (marks released, objects kept), foreground or background")
    time: float = 0.0
    why: str = ""
    initiator: str = ""
    objects: list[str] = Field(default_factory=list, description="inventory ids of the released objects")
    message: str = ""


class WindowView(_Open):
    """One sync window of a project, as written and as it stands now (times in epoch seconds)."""

    name: str
    kind: str = Field(description="allow | deny")
    schedule: str
    duration: str
    timeZone: str = "UTC"
    applications: list[str] = Field(default_factory=list)
    namespaces: list[str] = Field(default_factory=list)
    clusters: list[str] = Field(default_factory=list)
    manualSync: bool = False
    andOperator: bool = False
    active: bool
    opened: float | None = Field(None, description="when the open window opened")
    closes: float | None = Field(None, description="when the open window closes (None: not within bounds)")
    nextOpen: float | None = Field(None, description="when the closed window opens next")
    apps: list[str] = Field(default_factory=list, description="the project's applications it covers")


class ProjectWindows(_Open):
    project: str
    time: float = Field(description="the instant the windows were read at (epoch seconds)")
    windows: list[WindowView] = Field(default_factory=list)

"""The ``Project`` object: the tenancy boundary an Application must stay inside.

A Project lists the source repositories (globs), destinations (cluster and namespace globs) and the
kinds its Applications may deploy. Globs use ``fnmatch`` syntax; an entry starting with ``!`` denies
(it wins over any allow). For the kind lists, an omitted whitelist allows every kind and an explicit
empty list allows none; the blacklist is applied after the whitelist.

The implicit project ``default`` allows everything, unless the user defines a Project named default.

``signatureKeys`` (``model/trust.py``), when set, makes every commit an Application of the project
deploys need a valid signature by one of the listed keys (GPG or SSH); otherwise nothing is applied.

``syncWindows`` are Argo CD's allow and deny windows (``kind``, ``schedule``, ``duration``,
``applications``, ``namespaces``, ``clusters``, ``manualSync``, ``timeZone``, and ``andOperator``):
this model checks their shape; the schedule, duration and time zone are read by
``policy/windows.py`` when the configuration is loaded (``reconcile/windowbook.py``), so a bad window
refuses its Project, naming the field, before any app of it syncs.

``orphanedResources`` (Argo CD's AppProject field) turns on the listing of orphaned objects: objects
in an app's namespaces that no app manages, never touched by gitward (``policy/orphans.py``,
``reconcile/orphans.py``). ``warn`` (default true) also puts an ``OrphanedResourceWarning`` condition
on each app of the project that has some; ``ignore`` entries (``group``, ``kind``, ``name``, each a
glob) keep objects off the list.

Deliberately not here: evaluating the rules against rendered objects (policy/), checking signatures
(``sources/signatures.py``), roles (not modelled yet).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from gitward.model.common import ObjectMeta, SpecModel, TopLevelObject, check_no_credentials
from gitward.model.trust import SignatureKeys

DEFAULT_PROJECT = "default"


class GroupKind(SpecModel):
    """A kind pattern: ``group`` ("" is the core group) and ``kind``, each a glob."""

    group: str
    kind: str = Field(min_length=1)


class ProjectDestination(SpecModel):
    cluster: str = Field(default="*", min_length=1)
    namespace: str = Field(default="*", min_length=1)


class SyncWindowSpec(SpecModel):
    """One sync window as written (Argo CD's fields); ``name`` defaults to ``<kind>-<index>``.
    ``syncOverrun`` and other fields gitward does not act on are refused as unknown."""

    name: str | None = Field(default=None, min_length=1)
    kind: Literal["allow", "deny"]
    schedule: str = Field(min_length=1)
    duration: str | float
    time_zone: str = "UTC"
    applications: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    clusters: tuple[str, ...] = ()
    manual_sync: bool = False
    and_operator: bool = False
    description: str = ""

    def document(self) -> dict[str, Any]:
        """The window in its YAML form, as ``policy.windows.parse_window`` reads it."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class OrphanedResourceIgnore(SpecModel):
    """Objects never listed as orphaned: ``group`` ("" the core group), ``kind`` and ``name`` are globs;
    one left out matches any."""

    group: str | None = None
    kind: str | None = None
    name: str | None = None


class OrphanedResources(SpecModel):
    """Listing objects no app manages in the namespaces of the project's apps (opt-in, as in Argo CD)."""

    warn: bool = True
    ignore: tuple[OrphanedResourceIgnore, ...] = ()


class ProjectSpec(SpecModel):
    description: str = ""
    source_repos: tuple[str, ...] = ("*",)
    destinations: tuple[ProjectDestination, ...] = (ProjectDestination(),)
    cluster_resource_whitelist: tuple[GroupKind, ...] | None = None
    cluster_resource_blacklist: tuple[GroupKind, ...] = ()
    namespace_resource_whitelist: tuple[GroupKind, ...] | None = None
    namespace_resource_blacklist: tuple[GroupKind, ...] = ()
    signature_keys: SignatureKeys | None = None  # set: commits must be signed by one of these keys
    sync_windows: tuple[SyncWindowSpec, ...] = ()
    orphaned_resources: OrphanedResources | None = None  # set: orphaned objects are listed

    @field_validator("source_repos")
    @classmethod
    def _repos_without_credentials(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # The patterns are shown in policy errors, as the repoURLs they match are.
        for pattern in value:
            check_no_credentials(pattern.removeprefix("!"), what="source repository")
        return value


class Project(TopLevelObject):
    kind: Literal["Project"] = "Project"
    spec: ProjectSpec = Field(default_factory=ProjectSpec)

    @classmethod
    def implicit_default(cls) -> Project:
        """The project every Application is in unless it names another: everything allowed."""
        return cls(metadata=ObjectMeta(name=DEFAULT_PROJECT), spec=ProjectSpec())

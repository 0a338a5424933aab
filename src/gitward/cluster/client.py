"""The seam between gitward and a Kubernetes API server: the ``KubeClient`` protocol.

Everything above ``cluster/`` talks to clusters through this protocol with plain dicts, so apply,
prune and the control loop never see lightkube or httpx, and timing logic can be unit-tested with an
in-memory fake. The real implementation (``cluster.lightkube_client``) is the only code that sends
requests; it counts them by verb so tests and benchmarks can assert "zero writes".
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class ApiResource:
    """What discovery says about a kind: how to address it and whether it lives in a namespace."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    verbs: frozenset[str] = frozenset()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


@dataclass(frozen=True)
class WatchEvent:
    """One change seen by a watch: ``type`` is ADDED, MODIFIED, DELETED or BOOKMARK."""

    type: str
    object: dict[str, Any]


class WriteObserver(Protocol):
    """Told of each object write the client makes (not dry runs): ``writing()`` is entered before
    the request and its function is given the server's answer (``cluster.cache`` shows it at once)."""

    def writing(self) -> AbstractContextManager[Callable[[dict[str, Any]], None]]: ...


class KubeClient(Protocol):
    """The verbs gitward needs. Errors are ``core.errors.ClusterError`` with the HTTP status."""

    async def server_version(self) -> str:
        """``gitVersion`` of the server, e.g. ``v1.36.3``."""
        ...

    async def api_versions(self) -> list[str]:
        """Every served ``group/version`` (for ``helm template --api-versions``)."""
        ...

    async def resource_for(self, api_version: str, kind: str) -> ApiResource:
        """Discovery lookup; raises ClusterError(status=404) when the kind is unknown."""
        ...

    async def apply(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str,
        force: bool = False,
        dry_run: bool = False,
        field_validation: str | None = None,
    ) -> dict[str, Any]:
        """Server-side apply (PATCH application/apply-patch+yaml); returns the object the server returns.

        ``field_validation``: ``Strict``, ``Warn`` or ``Ignore`` (the server's default when None).
        """
        ...

    async def create(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str,
        dry_run: bool = False,
        field_validation: str | None = None,
    ) -> dict[str, Any]:
        """POST: create only (409 when it exists); ``metadata.generateName`` names it on the server."""
        ...

    async def replace(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str,
        dry_run: bool = False,
        field_validation: str | None = None,
    ) -> dict[str, Any]:
        """PUT: the whole object replaced; a ``metadata.resourceVersion`` in ``obj`` is a precondition."""
        ...

    async def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The live object, or ``None`` when it does not exist."""
        ...

    async def patch(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        name: str,
        patch: Any,
        *,
        patch_type: str = "merge",
        subresource: str | None = None,
        field_manager: str | None = None,
    ) -> dict[str, Any]:
        """A merge, JSON (``json``: RFC 6902, its ``test`` operations checked by the server in the
        same request) or strategic patch; returns the patched object."""
        ...

    async def delete(
        self, api_version: str, kind: str, namespace: str, name: str, *, propagation: str = "Background"
    ) -> bool:
        """Delete; ``False`` when it was already gone."""
        ...

    async def list(
        self, api_version: str, kind: str, *, namespace: str | None = None, label_selector: str | None = None
    ) -> tuple[list[dict[str, Any]], str]:
        """All objects of a kind and the list's resourceVersion (to start a watch from)."""
        ...

    def watch(
        self, api_version: str, kind: str, *, resource_version: str, timeout_seconds: int = 300
    ) -> AsyncIterator[WatchEvent]:
        """Changes since ``resource_version`` with bookmarks; ClusterError(status=410) when too old."""
        ...

    def request_counts(self) -> Mapping[str, int]:
        """Requests sent so far by verb (get, list, watch, apply, dryrun, delete, ...)."""
        ...

    async def close(self) -> None: ...

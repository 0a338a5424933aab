"""What the generators read from outside: the clusters gitward knows, and Git repositories.

The generators are pure; the caller hands them ``Inputs``. ``clusters`` are gitward's Cluster
objects with their labels and annotations, plus the implicit ``in-cluster`` when gitward can reach
it and no Cluster of that name is defined (the caller decides). ``repositories.tree`` is one commit
of one repository, already fetched: its directories and files, and each file's parsed content.
A repository that is not fetched yet raises ``NotFetched``: the caller fetches it and generates
again (a matrix's second Git generator may name a repository only the first one's parameters tell).

Deliberately not here: fetching, reading files, parsing YAML (``reconcile/appsets.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

#: The address Argo CD gives the cluster it runs in; the ``server`` parameter of ``in-cluster``.
IN_CLUSTER_SERVER = "https://kubernetes.default.svc"


@dataclass(frozen=True)
class ClusterInfo:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    implicit: bool = False  # the in-cluster target with no Cluster object: no labels to select on
    server: str = ""  # known for in-cluster only: gitward names clusters, it does not address them


class RepoTree(Protocol):
    """One commit of one repository."""

    @property
    def directories(self) -> Sequence[str]:
        """Every directory, relative to the root, none below a folder whose name starts with ``.``."""
        ...

    @property
    def files(self) -> Sequence[str]:
        """Every regular file, relative to the root, none below such a folder."""
        ...

    def document(self, path: str) -> Any:
        """The file's content parsed as one YAML or JSON document (None when empty)."""
        ...


class Repositories(Protocol):
    def tree(self, url: str, revision: str) -> RepoTree:
        """Raises ``NotFetched`` when ``url`` must be fetched first, ``GeneratorError`` when the
        revision or a file cannot be read."""
        ...


class NotFetched(Exception):
    """The commit ``revision`` of the repository ``url`` is not read yet."""

    def __init__(self, url: str, revision: str) -> None:
        super().__init__(url, revision)
        self.url, self.revision = url, revision


@dataclass(frozen=True)
class Inputs:
    clusters: tuple[ClusterInfo, ...]
    repositories: Repositories

"""What ``gitward bootstrap`` commits to Git and applies to the cluster (pure, no I/O).

Bootstrap makes gitward manage itself from Git, as ``flux bootstrap`` does for Flux. Under the
repository path it owns (``clusters/NAME``) it writes one folder, ``gitward/``, of two files:

- ``install.yaml``: the install (``gitward install --export``: CRDs, namespace, RBAC, workload). The
  CRDs and the Namespace carry ``gitward.dev/sync-options: Prune=false``: removing them from Git by
  mistake must never delete them, since deleting a CRD deletes every object of its kind and deleting
  the namespace deletes gitward itself and its Secrets;
- ``bootstrap.yaml``: gitward's own Application (named after its namespace, the repository and path,
  destination ``in-cluster``, ``deletionPolicy: orphan`` so deleting the Application never deletes
  what it installed, automated with prune and self-heal) and, when credentials were given, the
  Repository naming the Secret that holds them.

The Application renders its path as plain YAML, recursively, with ``gitward/bootstrap.yaml``
excluded: an Application in a render is a child app (app of apps), and the Application naming
itself as its own child would be refused. Any other Application files placed under the path later
become apps managed by the same gitward. ``bootstrap.yaml`` is applied by ``bootstrap`` only
(running it again applies a change).

A path is gitward's when every file directly in its ``gitward/`` folder starts with ``HEADER``. A
path that holds files but no such folder is refused: the Application would apply whatever is there.
Files elsewhere below a bootstrapped path (apps added later) are left alone.

Objects are applied with the same ownership marks the Application puts on them (``core/marks.py``),
so a second bootstrap after the Application synced changes nothing, and the Application adopts them
without a conflict.

Deliberately not here: Git (``sources/gitpush.py``), applying (``cli/bootstrap.py``).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import yaml

import gitward
from gitward.core.marks import with_marks
from gitward.install.manifests import NAME, Install, Settings, build, to_yaml
from gitward.model.common import API_VERSION

FOLDER: Final = "gitward"
INSTALL_FILE: Final = f"{FOLDER}/install.yaml"
BOOTSTRAP_FILE: Final = f"{FOLDER}/bootstrap.yaml"
HEADER: Final = "# Written by gitward bootstrap."
SECRET_NAME: Final = "gitward-bootstrap-git"  # noqa: S105 (a name, not a value)
SYNC_OPTIONS_ANNOTATION: Final = "gitward.dev/sync-options"  # read by plan/annotations.py
PROTECTED_KINDS: Final = frozenset({"CustomResourceDefinition", "Namespace"})


class PathNotOurs(ValueError):
    """The repository path holds something bootstrap did not write."""


@dataclass(frozen=True)
class Credentials:
    """Git credentials given on the command line (read from files); ``repr`` never shows them."""

    username: str | None = None
    password: str | None = None
    bearer_token: str | None = None
    ssh_private_key: str | None = None
    known_hosts: str | None = None

    def __repr__(self) -> str:
        return "Credentials(...)"

    @property
    def any(self) -> bool:
        return any(
            v is not None for v in (self.username, self.password, self.bearer_token, self.ssh_private_key)
        )


@dataclass(frozen=True)
class Target:
    repo_url: str
    branch: str
    path: str  # clusters/NAME, no leading or trailing slash
    settings: Settings

    @property
    def app_name(self) -> str:
        return self.settings.namespace


@dataclass(frozen=True)
class Bootstrap:
    """Files for Git (relative to the repository root) and objects for the cluster, in apply order."""

    files: dict[str, str]
    objects: tuple[dict[str, Any], ...]
    secret: dict[str, Any] | None  # applied, never committed


def protected(manifest: dict[str, Any]) -> dict[str, Any]:
    """``manifest`` with ``Prune=false``: an object whose deletion would take gitward down."""
    if manifest.get("kind") not in PROTECTED_KINDS:
        return manifest
    meta = dict(manifest.get("metadata") or {})
    meta["annotations"] = {**(meta.get("annotations") or {}), SYNC_OPTIONS_ANNOTATION: "Prune=false"}
    return {**manifest, "metadata": meta}


def application(target: Target) -> dict[str, Any]:
    """gitward's own Application: see the module docstring for why each field is what it is."""
    return {
        "apiVersion": API_VERSION,
        "kind": "Application",
        "metadata": {"name": target.app_name, "namespace": target.settings.namespace},
        "spec": {
            "project": "default",
            "source": {
                "repoURL": target.repo_url,
                "revision": target.branch,
                "path": target.path,
                "directory": {"recurse": True, "exclude": [BOOTSTRAP_FILE]},
            },
            "destination": {"cluster": "in-cluster", "namespace": target.settings.namespace},
            "deletionPolicy": "orphan",
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
    }


def repository(target: Target) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "Repository",
        "metadata": {"name": SECRET_NAME, "namespace": target.settings.namespace},
        "spec": {"url": target.repo_url, "secretRef": {"name": SECRET_NAME}},
    }


def secret(target: Target, credentials: Credentials) -> dict[str, Any]:
    """The Secret of the Repository, with the keys ``reconcile/secrets.py`` reads."""
    values = {
        "username": credentials.username,
        "password": credentials.password,
        "bearerToken": credentials.bearer_token,
        "sshPrivateKey": credentials.ssh_private_key,
        "knownHosts": credentials.known_hosts,
    }
    data = {k: base64.b64encode(v.encode()).decode() for k, v in values.items() if v is not None}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": SECRET_NAME,
            "namespace": target.settings.namespace,
            "labels": {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": NAME},
        },
        "type": "Opaque",
        "data": data,
    }


def _header(what: str) -> str:
    return f"{HEADER} {what}\n# gitward {gitward.__version__}; run gitward bootstrap again to change it.\n"


def build_bootstrap(target: Target, credentials: Credentials) -> Bootstrap:
    install: Install = build(target.settings)
    components = tuple(protected(m) for m in install.everything)
    own = (*((repository(target),) if credentials.any else ()), application(target))
    files = {
        f"{target.path}/{INSTALL_FILE}": _header(
            f"The install, synced by the Application {target.app_name!r}."
        )
        + to_yaml(components),
        f"{target.path}/{BOOTSTRAP_FILE}": _header(
            f"Applied by gitward bootstrap, not synced: the Application {target.app_name!r}"
            + (" and its Repository." if credentials.any else ".")
        )
        + to_yaml(own),
    }
    marked = tuple(with_marks(dict(m), target.app_name) for m in components)
    return Bootstrap(
        files=files,
        objects=(*marked, *own),
        secret=secret(target, credentials) if credentials.any else None,
    )


def check_path(path: str, existing: Mapping[str, bytes]) -> None:
    """Refuse a path that holds something bootstrap did not write (see the module docstring).

    ``existing`` maps each file below ``path`` (relative to ``path``) to its content.
    """
    if not existing:
        return
    ours = {name: body for name, body in existing.items() if name.startswith(f"{FOLDER}/")}
    if not ours:
        shown = ", ".join(sorted(existing)[:3]) + (", ..." if len(existing) > 3 else "")
        raise PathNotOurs(
            f"{path} already holds files not written by gitward bootstrap ({shown}); gitward's "
            "Application would apply them: choose an empty path"
        )
    for name, body in sorted(ours.items()):
        if name.count("/") != 1 or not body.startswith(HEADER.encode()):
            raise PathNotOurs(
                f"{path}/{name} was not written by gitward bootstrap; refusing to overwrite "
                f"{path}/{FOLDER}/ (move it away, or choose another path)"
            )


def documents(text: str) -> list[Any]:
    """The YAML documents of a bootstrap file (for tests and checks)."""
    return [d for d in yaml.safe_load_all(text) if d is not None]

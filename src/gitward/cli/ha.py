"""``gitward run --ha``: the options of one replica among several, checked before anything starts.

Several replicas share one PostgreSQL state database (a SQLite file belongs to one process, so
``--ha`` refuses it) and announce themselves with Leases in the management cluster: ``--kubeconfig``,
else ``KUBECONFIG``, else the pod's service account; in ``--lease-namespace`` (default: the pod's
namespace, else ``gitward``). ``--replica-id`` names this replica (default: ``POD_NAME``, else the
host name, which in a pod is its name); it must be a DNS label, because it is part of the Lease's
name and a label value. ``--lease-duration`` is how long a replica that stops renewing keeps its
apps (default 15 s; its apps move to the others within about that plus a fifth).
Without ``--ha`` none of these is accepted, and ``gitward run`` is exactly one process as before.

Deliberately not here: what a replica does (``reconcile/replicas.py``).
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gitward.cli.client import CliError

DEFAULT_LEASE_NAMESPACE = "gitward"
DEFAULT_LEASE_DURATION = 15.0
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def check_options(
    *,
    ha: bool,
    database: str | None,
    replica_id: str | None,
    lease_namespace: str | None,
    lease_duration: float | None,
) -> None:
    """Refuse HA options without ``--ha``, and ``--ha`` without a shared PostgreSQL state."""
    if not ha:
        given = [
            flag
            for flag, value in (
                ("--replica-id", replica_id),
                ("--lease-namespace", lease_namespace),
                ("--lease-duration", lease_duration),
            )
            if value is not None
        ]
        if given:
            raise CliError(f"{', '.join(given)} go with --ha (one of several replicas)")
        return
    if database is None:
        raise CliError(
            "--ha needs a state database the replicas share: --state postgresql://USER@HOST:PORT/DB "
            "(a SQLite file belongs to one process)"
        )


def replica_id(option: str | None, environ: Mapping[str, str]) -> str:
    """``--replica-id``, else ``POD_NAME``, else the host name; a DNS label, or refused."""
    chosen = option or environ.get("POD_NAME") or socket.gethostname().split(".", 1)[0].lower()
    if not _DNS_LABEL.match(chosen):
        raise CliError(
            f"--replica-id {chosen!r} is not a DNS label (lowercase letters, digits and '-', at most 63, "
            "starting and ending with a letter or digit): it names the replica's Lease"
        )
    return chosen


def lease_namespace(option: str | None, *, account_dir: Path | None = None) -> str:
    """``--lease-namespace``, else the pod's namespace, else ``gitward``."""
    if option:
        return option
    if account_dir is None:
        from gitward.cluster.incluster import SERVICE_ACCOUNT_DIR

        account_dir = SERVICE_ACCOUNT_DIR
    try:
        found = (account_dir / "namespace").read_text(encoding="utf-8").strip()
    except OSError:
        found = ""
    return found or DEFAULT_LEASE_NAMESPACE


_ANY_ADDRESS = frozenset({"0.0.0.0", "::"})  # noqa: S104 (compared with, never bound)


def advertised_address(host: str, port: int, *, secure: bool, environ: Mapping[str, str]) -> str:
    """The API address announced in the replica's Lease: the pod's IP when known, else the listen one."""
    shown = environ.get("POD_IP") or (socket.gethostname() if host in _ANY_ADDRESS else host)
    if ":" in shown:
        shown = f"[{shown}]"
    return f"{'https' if secure else 'http'}://{shown}:{port}"


def replica_settings(
    *,
    replica_id_option: str | None,
    namespace_option: str | None,
    duration_option: float | None,
    kubeconfig: Path,
    address: str,
) -> Any:
    """The engine's ``ReplicaSettings`` (imported here: ``gitward app ...`` never loads the engine)."""
    from gitward.model.common import check_namespace
    from gitward.reconcile.settings import ReplicaSettings

    namespace = lease_namespace(namespace_option)
    try:
        check_namespace(namespace)
    except ValueError as exc:
        raise CliError(f"--lease-namespace: {exc}") from None
    duration = DEFAULT_LEASE_DURATION if duration_option is None else duration_option
    return ReplicaSettings(
        replica_id=replica_id(replica_id_option, os.environ),
        namespace=namespace,
        kubeconfig=kubeconfig,
        lease_duration=duration,
        address=address,
    )

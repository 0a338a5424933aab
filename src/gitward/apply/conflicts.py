"""The one rule for field-manager conflicts, the same for a manual sync and an automated one.

Git is the source of truth for the fields it sets. A server-side apply that conflicts only with
managers that wrote those fields with an *update* (``kubectl edit``/``scale``/``set image``/``patch``,
client-side apply, a controller's plain update) takes the fields back: that is an out-of-band edit,
and undoing it is what a sync is for. A conflict with another *applier* (a manager whose entry in
``managedFields`` has operation ``Apply``: another GitOps tool, someone's ``kubectl apply
--server-side``) is shared ownership that gitward does not settle on its own: the sync fails naming
the manager, and ``--force`` (or the ``Force=true`` sync option) takes the fields anyway. A manager
the live object does not list (the live copy was older than the conflict) is treated as an applier:
in doubt, refuse.

See docs/architecture.md, "Safety rules".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.apply._messages import conflict_managers
from gitward.core.errors import ClusterError, GitwardError


def _operations(live: Mapping[str, Any]) -> dict[str, set[str]]:
    """Each field manager of ``live`` with the operations it holds fields by."""
    found: dict[str, set[str]] = {}
    entries = (live.get("metadata") or {}).get("managedFields") or []
    for entry in entries:
        if isinstance(entry, Mapping) and isinstance(entry.get("manager"), str):
            found.setdefault(entry["manager"], set()).add(str(entry.get("operation", "")))
    return found


def out_of_band_only(error: GitwardError, live: Mapping[str, Any] | None) -> bool:
    """Whether ``error`` is an apply conflict with update-only managers, which a sync takes back."""
    if not isinstance(error, ClusterError) or error.status != 409 or live is None:
        return False
    managers = conflict_managers(str(error))
    if not managers:
        return False
    operations = _operations(live)
    return all(operations.get(manager) == {"Update"} for manager in managers)

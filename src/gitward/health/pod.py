"""Pod health: Running and ready, Succeeded, Failed, or stuck in a waiting state a human must fix
(crash loops, image pull errors, bad config).

A running pod that is not meant to restart (``restartPolicy`` Never/OnFailure) is Progressing: it is
a task that has not finished yet.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from gitward.core.status import Health
from gitward.health.common import (
    conditions,
    degraded,
    healthy,
    is_true,
    progressing,
    spec,
    status,
    unknown,
)

#: Waiting reasons that do not resolve by themselves.
_STUCK = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)


def pod_health(obj: Mapping[str, Any]) -> Health:
    st = status(obj)
    phase = str(st.get("phase") or "Pending")
    if phase == "Succeeded":
        return healthy(str(st.get("message") or ""))
    if phase == "Failed":
        return degraded(str(st.get("message") or st.get("reason") or "pod failed"))
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return progressing("pod is terminating")
    stuck = _stuck_container(st)
    if stuck is not None:
        return degraded(stuck)
    if phase == "Running":
        if spec(obj).get("restartPolicy", "Always") != "Always":
            return progressing("pod is running")
        if is_true(conditions(obj).get("Ready")):
            return healthy()
        return progressing("pod is running but not ready")
    if phase == "Pending":
        scheduled = conditions(obj).get("PodScheduled")
        if scheduled is not None and scheduled.get("message"):
            return progressing(str(scheduled["message"]))
        return progressing("pod is pending")
    return unknown(f"pod phase {phase}")


def _stuck_container(st: Mapping[str, Any]) -> str | None:
    for container in _container_statuses(st):
        waiting = (container.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason")
        if reason in _STUCK:
            detail = waiting.get("message") or reason
            return f"container {container.get('name', '?')}: {detail}"
    return None


def _container_statuses(st: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for field in ("initContainerStatuses", "containerStatuses"):
        for item in st.get(field) or []:
            if isinstance(item, Mapping):
                yield item

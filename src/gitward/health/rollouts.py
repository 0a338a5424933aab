"""Argo Rollouts' Rollout.

The Rollout controller sums its state up in ``status.phase`` (Healthy, Progressing, Paused,
Degraded) with ``status.message``; gitward reads it, after two checks of its own: an aborted update
(``status.abort``) is Degraded, and a Rollout paused by its spec or by a pause step
(``spec.paused``, ``status.pauseConditions``) is Suspended, since it waits for a person. Before the
controller has seen the latest spec (``status.observedGeneration``, which Rollouts writes as a
string) it is Progressing. A Rollout with no phase yet is Progressing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.core.status import Health
from gitward.health.common import (
    degraded,
    generation_pending,
    healthy,
    progressing,
    spec,
    status,
    suspended,
)


def rollout_health(obj: Mapping[str, Any]) -> Health:
    current = status(obj)
    message = str(current.get("message") or "")
    if current.get("abort") is True:
        return degraded(message or "the update was aborted")
    if spec(obj).get("paused") is True:
        return suspended(message or "the rollout is paused (spec.paused)")
    if current.get("pauseConditions"):
        return suspended(message or "the rollout is paused at a step")
    if _observed_behind(obj):
        return progressing("waiting for the controller to observe the latest generation")
    phase = str(current.get("phase") or "")
    if phase == "Healthy":
        return healthy(message)
    if phase == "Degraded":
        return degraded(message or "the rollout is degraded")
    if phase == "Paused":
        return suspended(message or "the rollout is paused")
    return progressing(message or "waiting for the rollout to progress")


def _observed_behind(obj: Mapping[str, Any]) -> bool:
    """Rollouts writes observedGeneration as a string; an old controller wrote a hash, not a number."""
    observed = status(obj).get("observedGeneration")
    if isinstance(observed, str) and not observed.isdigit():
        return False
    return generation_pending(obj)

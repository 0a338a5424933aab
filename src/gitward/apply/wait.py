"""Waiting for what was applied to become healthy, bounded by a timeout.

The live objects come through a callable (usually the cluster cache, which is fed by watches, so
polling it costs no API requests). Objects are re-checked until every one has settled — Healthy,
Suspended or Degraded — or the timeout passes; at the timeout the current health is returned with a
note, never an exception, so the caller records it and decides (Argo CD marks the sync as failed).
Deliberately not here: the per-kind health rules (``gitward.health.health_of`` by default; pass a
function with custom checks bound as ``health_of``) and hooks.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from gitward.core.keys import ResourceKey
from gitward.core.status import Health, HealthStatus
from gitward.health import health_of as default_health

LiveObject = Mapping[str, Any] | None
GetLive = Callable[[ResourceKey], LiveObject | Awaitable[LiveObject]]
HealthOf = Callable[[Mapping[str, Any] | None], Health]

_SETTLED = frozenset({HealthStatus.HEALTHY, HealthStatus.SUSPENDED, HealthStatus.DEGRADED})


async def _read(get_live: GetLive, key: ResourceKey) -> LiveObject:
    found = get_live(key)
    if inspect.isawaitable(found):
        return await found
    return found


async def health_now(
    keys: Iterable[ResourceKey], *, get_live: GetLive, health_of: HealthOf = default_health
) -> dict[ResourceKey, Health]:
    return {key: health_of(await _read(get_live, key)) for key in keys}


# A deadline, not a cancellation: at the timeout the health seen so far is the answer.
async def wait_healthy(
    objects: Iterable[ResourceKey],
    *,
    get_live: GetLive,
    timeout: float,  # noqa: ASYNC109
    interval: float = 1.0,
    health_of: HealthOf = default_health,
) -> dict[ResourceKey, Health]:
    """Per-object Health once all have settled, or as they are when ``timeout`` seconds have passed."""
    keys = list(dict.fromkeys(objects))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    health = await health_now(keys, get_live=get_live, health_of=health_of)
    while not all(h.status in _SETTLED for h in health.values()):
        if loop.time() >= deadline:
            note = f"not healthy after {timeout:g}s"
            return {
                k: h
                if h.status in _SETTLED
                else Health(h.status, f"{note}: {h.message}" if h.message else note)
                for k, h in health.items()
            }
        await asyncio.sleep(interval)
        pending = [k for k, h in health.items() if h.status not in _SETTLED]
        health.update(await health_now(pending, get_live=get_live, health_of=health_of))
    return health

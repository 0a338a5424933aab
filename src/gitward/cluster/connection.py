"""One target cluster as the rest of gitward uses it: a client and the cache fed by its watches.

A ``ClusterConnection`` is opened once per ``Cluster`` object and shared by every app that deploys
there, so each kind is listed and watched once per cluster however many apps use it.
``ClusterConnections`` keeps them by cluster name and closes them all on shutdown.

Each connection also probes its API server every few seconds (``cluster.reachability``): the cache
alone cannot tell a quiet cluster from a dead one, and apps must show an outage within seconds.

Deliberately not here: choosing which cluster an app targets (reconcile) and credentials from
Secrets (the caller writes a kubeconfig file for them).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from gitward.cluster.cache import CacheSettings, ClusterCache
from gitward.cluster.failures import RetryPolicy
from gitward.cluster.kubeconfig import load_endpoint
from gitward.cluster.lightkube_client import LightkubeClient
from gitward.cluster.reachability import ReachabilityProbe
from gitward.cluster.senders import USER_AGENT, AiohttpSender
from gitward.cluster.transport import WriteFence


@dataclass(frozen=True)
class ConnectionSettings:
    """Per-cluster request policy: client-side rate limit, retries, connections and watch settings."""

    # Per cluster. High enough that the API server, not the client, bounds a cold sync (at 200 the
    # limit itself made a 1000-app sync 1.4x slower than kubectl: docs/benchmarks.md); the server
    # protects itself with priority and fairness, and its 429s are retried after Retry-After.
    qps: float = 500.0
    burst: int = 1000
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    request_timeout: float = 30.0
    # Requests in flight at once (HTTP/1.1: one connection each); the engine's concurrency times
    # its per-app apply concurrency (8 x 8) fits without queueing.
    max_connections: int = 64
    cache: CacheSettings = field(default_factory=CacheSettings)
    # An outage shows within interval + answer time: with etcd gone the API server fails /readyz
    # after about 4 s (two 2-second etcd checks). 0 turns the probe off.
    probe_interval: float = 2.0
    probe_timeout: float = 10.0
    # With several replicas: asked before every write (``cluster/transport.py``); None: never fenced.
    write_fence: WriteFence | None = field(default=None, compare=False)
    user_agent: str = USER_AGENT  # several replicas: with the replica's id, for audit logs


@dataclass(frozen=True)
class ClusterConnection:
    """A connected cluster: ``client`` for requests, ``cache`` for reads of watched kinds,
    ``reachability`` for whether the API server can serve right now."""

    name: str
    client: LightkubeClient
    cache: ClusterCache
    reachability: ReachabilityProbe

    @classmethod
    async def connect(
        cls,
        kubeconfig: Path | str,
        context: str | None = None,
        *,
        name: str | None = None,
        settings: ConnectionSettings | None = None,
    ) -> ClusterConnection:
        """Open a client for the kubeconfig context and an (empty) cache over it.

        Nothing is listed until ``cache.ensure_watched`` is called for a kind.
        """
        settings = settings or ConnectionSettings()
        client = await LightkubeClient.from_kubeconfig(
            kubeconfig,
            context,
            qps=settings.qps,
            burst=settings.burst,
            retry=settings.retry,
            request_timeout=settings.request_timeout,
            max_connections=settings.max_connections,
            write_fence=settings.write_fence,
            user_agent=settings.user_agent,
        )
        try:
            probe = await _probe(kubeconfig, context, settings)
        except BaseException:
            await client.close()
            raise
        cache = ClusterCache(client, settings=settings.cache)
        client.observe_writes(cache)  # a status right after a create sees the object (cluster.cache)
        probe.start()
        return cls(name=name or context or "default", client=client, cache=cache, reachability=probe)

    async def close(self) -> None:
        """Stop the probe and every watch, then close the connection pools."""
        try:
            await self.reachability.stop()
            await self.cache.stop()
        finally:
            await self.client.close()
            await self.reachability.close()


async def _probe(
    kubeconfig: Path | str, context: str | None, settings: ConnectionSettings
) -> ReachabilityProbe:
    """A probe on a one-connection pool of its own (same server, TLS and credentials as the client)."""
    endpoint = await asyncio.to_thread(load_endpoint, kubeconfig, context)
    sender = AiohttpSender(
        endpoint.server,
        ssl_context=endpoint.ssl_context,
        auth=endpoint.auth,
        timeout=settings.probe_timeout + 1.0,  # the probe's own deadline fires first and says so
        max_connections=1,
        user_agent=settings.user_agent,
    )
    return ReachabilityProbe(sender, interval=settings.probe_interval, timeout=settings.probe_timeout)


class ClusterConnections:
    """Open connections by cluster name; ``get_or_connect`` opens each one once."""

    def __init__(self, *, settings: ConnectionSettings | None = None) -> None:
        self._settings = settings or ConnectionSettings()
        self._connections: dict[str, ClusterConnection] = {}
        self._lock = asyncio.Lock()

    async def get_or_connect(
        self, name: str, kubeconfig: Path | str, context: str | None = None
    ) -> ClusterConnection:
        async with self._lock:
            found = self._connections.get(name)
            if found is None:
                found = await ClusterConnection.connect(
                    kubeconfig, context, name=name, settings=self._settings
                )
                self._connections[name] = found
            return found

    def get(self, name: str) -> ClusterConnection | None:
        return self._connections.get(name)

    def names(self) -> list[str]:
        return sorted(self._connections)

    async def disconnect(self, name: str) -> None:
        async with self._lock:
            found = self._connections.pop(name, None)
        if found is not None:
            await found.close()

    async def close_all(self) -> None:
        async with self._lock:
            connections = list(self._connections.values())
            self._connections.clear()
        for connection in connections:
            await connection.close()

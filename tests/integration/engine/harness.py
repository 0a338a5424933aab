"""Harness for engine tests: a real cluster, a real Git server, and gitward's engine in this process.

Running the engine in-process lets tests read its API request counters (zero writes on a no-op) and
its fetch/render counters; the e2e tier runs the real ``gitward`` process instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from gitward.reconcile.engine import Engine
from gitward.reconcile.settings import EngineSettings


def application(
    name: str,
    *,
    repo: str,
    path: str,
    namespace: str,
    automated: bool = True,
    prune: bool = True,
    self_heal: bool = True,
    options: tuple[str, ...] = ("CreateNamespace=true",),
    **spec: Any,
) -> dict[str, Any]:
    sync_policy: dict[str, Any] = {"interval": "1h", "options": list(options)}
    sync_policy["retry"] = {"limit": -1, "backoff": {"duration": "1s", "factor": 2, "maxDuration": "5s"}}
    if automated:
        sync_policy["automated"] = {"prune": prune, "selfHeal": self_heal}
    source: dict[str, Any] = {"repoURL": repo, "revision": "main", "path": path}
    source.update(spec.pop("source", {}))
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {
            "source": source,
            "destination": {"cluster": "local", "namespace": namespace},
            "syncPolicy": sync_policy,
            **spec,
        },
    }


class Harness:
    def __init__(self, root: Path, kubeconfig: Path) -> None:
        self.root = root
        self.kubeconfig = kubeconfig
        self.config_dir = root / "config"
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.state = root / "state" / "state.db"
        self.engine: Engine | None = None

    def configure(self, *documents: dict[str, Any]) -> None:
        cluster = {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": "local"},
            "spec": {"kubeconfig": str(self.kubeconfig)},
        }
        text = yaml.safe_dump_all([cluster, *documents], sort_keys=False)
        (self.config_dir / "gitward.yaml").write_text(text)

    async def start(self, **overrides: Any) -> Engine:
        """Start the engine; ``overrides`` are EngineSettings fields (e.g. ``fetch_timeout``)."""
        overrides.setdefault("fetch_freshness", 0.0)
        settings = EngineSettings(config_path=self.config_dir, state_path=self.state, **overrides)
        self.engine = await Engine.start(settings)
        return self.engine

    async def stop(self) -> None:
        if self.engine is not None:
            await self.engine.stop()
            self.engine = None

    async def settle(self) -> None:
        """Wait until the work queue is empty (every triggered reconcile has run)."""
        assert self.engine is not None
        await asyncio.sleep(0.05)
        await asyncio.wait_for(self.engine.queue.wait_idle(), timeout=120)

    async def until(self, check: Callable[[], Any], *, within: float = 90.0) -> Any:
        deadline = time.monotonic() + within
        last: Any = None
        while time.monotonic() < deadline:
            last = check()
            if last:
                return last
            await asyncio.sleep(0.2)
        raise AssertionError(f"condition not met in {within}s; last: {last!r}")

    def app(self, name: str) -> dict[str, Any]:
        assert self.engine is not None
        return self.engine.get_app(name)

    def is_synced_healthy(self, name: str) -> bool:
        app = self.app(name)
        return bool(app["sync"]["status"] == "Synced" and app["health"]["status"] == "Healthy")

    def writes(self, cluster: str = "local") -> int:
        assert self.engine is not None
        conn = self.engine.connections.get(cluster)
        assert conn is not None
        counts = conn.client.request_counts()
        return sum(counts.get(v, 0) for v in ("apply", "create", "update", "delete", "other"))


def configmap(name: str, data: dict[str, str]) -> str:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})


def deployment(name: str, *, replicas: int = 1, image: str = "nginx:1.27") -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": name, "image": image}]},
                },
            },
        }
    )

"""``gitward run`` killed with SIGKILL in the middle of a 300-object sync (docs/reliability.md, F3).

At each of many points, drawn from a seeded random generator as "after N of the objects exist"
(N from 0 to 300, watched on the cluster), the process is killed; a commit then removes a third of
the objects from Git *before* the process is started again, so the restarted process must prune
objects that the killed one created but never recorded as applied. Every point has its own app:
even points kill the app's first sync (no status stored yet), odd points a later sync (the app was
Synced with one object, then a commit added 300). After the restart the cluster must hold exactly
the objects still in Git, all marked for the app, and the app must be Synced.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from devtools import toolchain
from devtools.gitservers import FileGitServer
from tests.e2e.process import GITWARD, GitwardProcess, application, configmap, free_port, unique

from gitward.cluster.lightkube_client import LightkubeClient
from gitward.core.localserver import server_record_path
from gitward.core.marks import owner_of

pytestmark = pytest.mark.e2e

OBJECTS = 300
POINTS = 12
SEED = 9_302_026
NAMES = [f"cm-{i:03d}" for i in range(OBJECTS)]
REMOVED = set(NAMES[::3])


@dataclass
class Server:
    """One ``gitward run`` at a time on one state database; started without waiting for it."""

    root: Path
    config: Path
    cluster: Any
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GITWARD_")}
        env["XDG_STATE_HOME"] = str(self.root / "xdg")
        env["GITWARD_KUSTOMIZE"] = str(toolchain.tool_path("kustomize"))
        env["GITWARD_HELM"] = str(toolchain.tool_path("helm"))
        env["NO_COLOR"] = "1"
        self.env = env

    def configure(self, app: str, *, repo: str, namespace: str) -> None:
        cluster = {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": "local"},
            "spec": {"kubeconfig": str(self.cluster.kubeconfig)},
        }
        document = application(app, repo=repo, path=app, namespace=namespace, self_heal=True)
        self.config.write_text(yaml.safe_dump_all([cluster, document], sort_keys=False))

    def launch(self) -> None:
        assert self.process is None
        server_record_path(self.root / "xdg" / "gitward", self.root / "state.db").unlink(missing_ok=True)
        log = self.root / f"gitward-{len(self.logs)}.log"
        self.logs.append(log)
        args = [str(GITWARD), "run", "--config", str(self.config), "--state", str(self.root / "state.db")]
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [*args, "--listen", f"127.0.0.1:{free_port()}"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """SIGKILL: nothing of the process runs after this, no cleanup, no last write."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=30)
            self.process = None

    def cli(self) -> GitwardProcess:
        """The CLI, bound to the running server through discovery (its ``server.json``)."""
        return GitwardProcess(root=self.root, env=self.env, port=0)

    def log_tail(self) -> str:
        return self.logs[-1].read_text(errors="replace")[-3000:] if self.logs else ""


@pytest.fixture
async def kube(kube_cluster: Any) -> AsyncIterator[LightkubeClient]:
    client = await LightkubeClient.from_kubeconfig(kube_cluster.kubeconfig)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def server(tmp_path: Path, kube_cluster: Any) -> Iterator[Server]:
    (tmp_path / "config").mkdir()
    found = Server(root=tmp_path, config=tmp_path / "config" / "gitward.yaml", cluster=kube_cluster)
    try:
        yield found
    finally:
        found.kill()


async def _live(kube: LightkubeClient, namespace: str) -> dict[str, dict[str, Any]]:
    items, _ = await kube.list("v1", "ConfigMap", namespace=namespace)
    return {item["metadata"]["name"]: item for item in items if item["metadata"]["name"] in NAMES}


async def _kill_after(server: Server, kube: LightkubeClient, namespace: str, threshold: int) -> int:
    """Start the process and SIGKILL it once ``threshold`` of the objects exist; returns how many
    existed when it was dead."""
    _, version = await kube.list("v1", "ConfigMap", namespace=namespace)
    seen: set[str] = set()

    async def count() -> None:
        async for event in kube.watch("v1", "ConfigMap", resource_version=version, namespace=namespace):
            if event.type == "ADDED" and event.object["metadata"]["name"] in NAMES:
                seen.add(event.object["metadata"]["name"])
                if len(seen) >= threshold:
                    return

    watching = asyncio.create_task(count())
    await asyncio.sleep(0)
    server.launch()
    if threshold > 0:
        await asyncio.wait_for(asyncio.shield(watching), timeout=180)
    watching.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watching
    assert server.process is not None
    assert server.process.poll() is None, server.log_tail()  # killed while running, not after an exit
    server.kill()
    return len(await _live(kube, namespace))


async def _synced(server: Server, app: str) -> None:
    """Wait until the app is Synced and Healthy as the CLI reports it."""

    def check() -> bool:
        result = server.cli().cli("app", "get", app, "-o", "json")
        if result.code != 0:
            return False
        summary = result.json()
        return bool(summary["sync"]["status"] == "Synced" and summary["health"]["status"] == "Healthy")

    for _ in range(600):
        if server.process is not None and server.process.poll() is not None:
            raise AssertionError(f"gitward run exited: {server.log_tail()}")
        if check():
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"{app} did not become Synced: {server.log_tail()}")


async def _converged(kube: LightkubeClient, namespace: str, app: str, server: Server) -> None:
    """Exactly the objects still in Git exist, each marked for ``app``."""
    wanted = set(NAMES) - REMOVED
    live: dict[str, dict[str, Any]] = {}
    for _ in range(600):
        live = await _live(kube, namespace)
        if set(live) == wanted:
            break
        await asyncio.sleep(0.3)
    orphans = sorted(set(live) & REMOVED)
    assert set(live) == wanted, f"left behind: {orphans[:10]}; missing: {sorted(wanted - set(live))[:10]}"
    assert {owner_of(obj) for obj in live.values()} == {app}
    await _synced(server, app)


async def _point(
    server: Server, git: FileGitServer, kube: LightkubeClient, *, threshold: int, later: bool
) -> int:
    """One kill point with its own app; returns how many objects existed at the kill."""
    app = unique("crash")
    namespace = f"gw-{app}"
    everything = {f"{app}/{name}.yaml": configmap(name, {"n": name}) for name in NAMES}
    if later:
        repo = git.create_repo(app, {f"{app}/seed.yaml": configmap("seed", {})})
        server.configure(app, repo=git.url(app), namespace=namespace)
        server.launch()
        await _synced(server, app)
        server.kill()
        repo.commit(everything, message="300 objects")
    else:
        repo = git.create_repo(app, everything)
        server.configure(app, repo=git.url(app), namespace=namespace)

    created = await _kill_after(server, kube, namespace, threshold)

    repo.commit({f"{app}/{name}.yaml": None for name in REMOVED}, message="remove a third")
    server.launch()
    await _converged(kube, namespace, app, server)
    server.kill()
    server.cluster.kubectl("delete", "namespace", namespace, "--wait=false")
    return created


async def test_objects_a_killed_sync_created_are_pruned_when_they_leave_git(
    server: Server, kube: LightkubeClient, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    thresholds = [rng.randint(0, OBJECTS) for _ in range(POINTS)]
    created: list[int] = []
    with FileGitServer(tmp_path / "git") as git:
        for index, threshold in enumerate(thresholds):
            created.append(await _point(server, git, kube, threshold=threshold, later=index % 2 == 1))
    # The points really fell inside the syncs: most kills left a partly created app behind.
    assert sum(1 for n in created if 0 < n < OBJECTS) >= POINTS // 2, created

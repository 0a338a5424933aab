"""A remote whose HEAD dangles (points at a branch that does not exist) breaks only the apps that ask
for ``HEAD``: apps of the same repository that name ``main`` sync, follow new commits, and the ``HEAD``
app reports why it cannot, until the remote's HEAD is repaired. Over file:// and smart HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from devtools.gitservers import FileGitServer, GitServer, HttpGitServer, git
from tests.integration.engine.harness import Harness, application, configmap

pytestmark = pytest.mark.integration


@pytest.fixture(params=["file", "http"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GitServer]:
    kind = FileGitServer if request.param == "file" else HttpGitServer
    with kind(tmp_path / f"git-{request.param}") as started:
        yield started


async def test_a_dangling_remote_head_leaves_main_apps_working(
    harness: Harness, server: GitServer, namespace: str, kube_cluster: Any
) -> None:
    suffix = uuid4().hex[:6]
    on_main, on_head = f"main-{suffix}", f"head-{suffix}"
    repo = server.create_repo(
        f"dangling-{suffix}",
        {"a/cm.yaml": configmap(on_main, {"v": "1"}), "b/cm.yaml": configmap(on_head, {"v": "1"})},
    )
    git("symbolic-ref", "HEAD", "refs/heads/does-not-exist", cwd=repo.bare)
    url = server.url(f"dangling-{suffix}")
    harness.configure(
        application(on_main, repo=url, path="a", namespace=namespace),
        application(on_head, repo=url, path="b", namespace=namespace, source={"revision": "HEAD"}),
    )
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(on_main))
    await harness.until(lambda: "does not point at an existing branch" in harness.app(on_head)["message"])
    assert harness.app(on_head)["sync"]["status"] != "Synced"
    assert kube_cluster.kubectl("get", "configmap", on_head, "-n", namespace, check=False) == ""

    pushed = repo.commit({"a/cm.yaml": configmap(on_main, {"v": "2"})}, message="main moves on")
    assert await engine.trigger_repository(url) == [on_main]  # the HEAD app is not queued again
    await harness.until(lambda: harness.app(on_main)["sync"]["revision"] == pushed)
    assert kube_cluster.get_json("configmap", on_main, "-n", namespace)["data"] == {"v": "2"}

    git("symbolic-ref", "HEAD", "refs/heads/main", cwd=repo.bare)
    await engine.refresh_app(on_head)
    await harness.until(lambda: harness.is_synced_healthy(on_head))
    assert harness.app(on_head)["sync"]["revision"] == pushed

"""Sync-wave annotations are checked with the rest of the render: a bad one stops the sync before the
first write (Namespaces included), instead of failing half-way through the staged apply."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
import yaml
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, application, configmap

pytestmark = pytest.mark.integration


async def test_a_malformed_sync_wave_refuses_the_sync_before_any_write(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    app = f"waves-{uuid4().hex[:6]}"
    bad = yaml.safe_load(configmap("late", {"k": "v"}))
    bad["metadata"]["annotations"] = {"gitward.dev/sync-wave": "soon"}
    git_server.create_repo(
        app, {"app/a.yaml": configmap("early", {"k": "v"}), "app/b.yaml": yaml.safe_dump(bad)}
    )
    harness.configure(application(app, repo=git_server.url(app), path="app", namespace=namespace))
    await harness.start()
    await harness.until(lambda: "sync-wave" in harness.app(app)["message"])

    assert harness.writes() == 0
    assert kube_cluster.kubectl("get", "namespace", namespace, check=False) == ""
    ready = next(c for c in harness.app(app)["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False"
    assert ready["reason"] == "InvalidAnnotation"

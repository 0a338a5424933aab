"""Fixtures of the engine tests (the harness itself is in ``harness.py``)."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from devtools import toolchain
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness


@pytest.fixture(scope="session", autouse=True)
def render_tools_on_env() -> Iterator[None]:
    """The engine finds kustomize, helm and jsonnet through these variables (as a deployment would)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("GITWARD_KUSTOMIZE", str(toolchain.tool_path("kustomize")))
    mp.setenv("GITWARD_HELM", str(toolchain.tool_path("helm")))
    mp.setenv("GITWARD_JSONNET", str(toolchain.tool_path("jsonnet")))
    yield
    mp.undo()


@pytest.fixture
async def harness(tmp_path: Path, kube_cluster: Any) -> AsyncIterator[Harness]:
    h = Harness(tmp_path, kube_cluster.kubeconfig)
    try:
        yield h
    finally:
        await h.stop()
        leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
        for task in leftovers:
            task.print_stack(file=sys.stderr)
        assert not leftovers, f"the engine left {len(leftovers)} task(s) running after stop()"


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[FileGitServer]:
    with FileGitServer(tmp_path / "git") as server:
        yield server


@pytest.fixture
def namespace() -> str:
    return f"gw-{uuid.uuid4().hex[:8]}"

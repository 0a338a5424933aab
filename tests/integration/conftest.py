"""Fixtures of the tests that talk to the real API server without an engine: a client and a namespace."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from gitward.cluster.lightkube_client import LightkubeClient


@pytest.fixture
def ns(kube_cluster: Any) -> Iterator[str]:
    """A fresh namespace, deleted (without waiting) after the test."""
    name = f"it-{uuid.uuid4().hex[:8]}"
    kube_cluster.kubectl("create", "namespace", name)
    yield name
    kube_cluster.kubectl("delete", "namespace", name, "--ignore-not-found", "--wait=false")


@pytest.fixture
async def client(kube_cluster: Any) -> AsyncIterator[LightkubeClient]:
    """gitward's own client for the test cluster, closed after the test."""
    kube = await LightkubeClient.from_kubeconfig(kube_cluster.kubeconfig)
    try:
        yield kube
    finally:
        await kube.close()

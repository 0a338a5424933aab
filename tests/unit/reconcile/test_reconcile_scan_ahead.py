"""The marked-object scan a fresh pass starts ahead (``Clusters.scan_ahead``): one scan per cluster
however many apps start it, kept for the passes that wait for it; a failed one neither lost nor
reported as an unretrieved error, and scanned again by the pass; a running one ended by ``stop``."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from gitward.core.errors import ClusterError
from gitward.reconcile import clusters as clusters_module
from gitward.reconcile import pipeline
from gitward.reconcile.clusters import Clusters


class _Conn:
    name = "c1"
    client = None


class _Listing:
    """Stands in for the cluster listing (``apply.marked_inventories``): counts, fails first, or
    blocks until released."""

    def __init__(self, *, failures: int = 0, blocked: bool = False) -> None:
        self.calls = 0
        self.failures = failures
        self.release = asyncio.Event()
        if not blocked:
            self.release.set()

    async def __call__(self, client: Any, kinds: Any) -> dict[str, list[Any]]:
        self.calls += 1
        await self.release.wait()
        if self.calls <= self.failures:
            raise ClusterError("listing failed", status=500)
        return {"shop": []}


def _clusters(monkeypatch: pytest.MonkeyPatch, listing: _Listing) -> Clusters:
    monkeypatch.setattr(clusters_module, "marked_inventories", listing)

    async def kinds(conn: Any) -> list[tuple[str, str]]:
        return [("v1", "ConfigMap")]

    monkeypatch.setattr(pipeline, "listable_kinds", kinds)
    found = Clusters.__new__(Clusters)
    found._marked_scans = {}
    found._scan_locks = {}
    found._scans_ahead = {}

    async def connection(cluster: str) -> Any:
        return _Conn()

    found.connection = connection  # type: ignore[method-assign]
    return found


async def test_many_apps_starting_it_make_one_scan_that_the_passes_then_get(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    listing = _Listing()
    clusters = _clusters(monkeypatch, listing)
    for _ in range(5):
        clusters.scan_ahead("c1")
    await asyncio.sleep(0.01)
    assert await clusters.marked_inventories(_Conn()) == {"shop": []}  # type: ignore[arg-type]
    clusters.scan_ahead("c1")  # kept: nothing more to start
    assert listing.calls == 1
    assert not clusters._scans_ahead


async def test_a_failed_scan_is_retrieved_and_the_pass_scans_again_and_sees_the_failure(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    listing = _Listing(failures=2)
    clusters = _clusters(monkeypatch, listing)
    clusters.scan_ahead("c1")
    await asyncio.sleep(0.01)
    gc.collect()  # an unretrieved task exception is logged when the task is collected
    assert "never retrieved" not in caplog.text
    with pytest.raises(ClusterError):
        await clusters.marked_inventories(_Conn())  # type: ignore[arg-type]
    assert listing.calls == 2


async def test_stop_ends_a_scan_still_running(monkeypatch: pytest.MonkeyPatch) -> None:
    listing = _Listing(blocked=True)
    clusters = _clusters(monkeypatch, listing)
    clusters.scan_ahead("c1")
    await asyncio.sleep(0.01)
    assert clusters._scans_ahead
    await clusters.stop()
    assert not clusters._scans_ahead

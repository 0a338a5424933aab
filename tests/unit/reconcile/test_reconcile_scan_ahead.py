"""The marked-object scan started ahead of a fresh pass (``pipeline._scan_ahead``): its result is the
one the pass waits for, and a failed scan is neither lost nor reported as an unretrieved error."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from gitward.core.errors import ClusterError
from gitward.reconcile import pipeline


class _Scans:
    """The part of a pipeline context that scans: each call counts; failures come first."""

    def __init__(self, failures: int) -> None:
        self.calls = 0
        self.failures = failures
        self.kept: dict[str, list[Any]] | None = None

    async def marked_inventories(self, conn: Any) -> dict[str, list[Any]]:
        self.calls += 1
        await asyncio.sleep(0)
        if self.kept is not None:
            return self.kept
        if self.calls <= self.failures:
            raise ClusterError("listing failed", status=500)
        self.kept = {"shop": []}
        return self.kept


async def test_a_scan_started_ahead_is_the_one_the_pass_gets() -> None:
    scans = _Scans(failures=0)
    pipeline._scan_ahead(scans, object())  # type: ignore[arg-type]
    await asyncio.sleep(0.01)
    assert scans.kept == {"shop": []}
    assert not pipeline._SCANS_AHEAD  # nothing left running or held


async def test_a_failed_scan_ahead_is_retrieved_and_the_pass_scans_again_and_sees_the_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    scans = _Scans(failures=2)
    pipeline._scan_ahead(scans, object())  # type: ignore[arg-type]
    await asyncio.sleep(0.01)
    gc.collect()  # an unretrieved task exception is logged when the task is collected
    assert "never retrieved" not in caplog.text
    with pytest.raises(ClusterError):
        await scans.marked_inventories(object())  # the pass's own call: scans again
    assert scans.calls == 2

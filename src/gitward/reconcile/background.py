"""One task that a part of the control loop runs from ``start()`` until ``stop()``.

The status writer, the event writer and the config watcher each run one loop beside the reconciles;
this is how they are started once and stopped without leaving the task behind.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod


class BackgroundLoop(ABC):
    """A subclass gives ``task_name`` and ``_run``; ``start`` is idempotent, ``stop`` waits for the end."""

    task_name = "background"
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self.task_name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    @abstractmethod
    async def _run(self) -> None:
        """The loop; it runs until cancelled."""

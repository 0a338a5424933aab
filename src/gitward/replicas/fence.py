"""The write fence: may this process write now, for this app (or for itself)?

With several replicas, every write to a cluster and every write of an app's rows in the state store
asks the fence first, right before it is sent (``cluster/transport.py``, ``store/store.py``). The
answer is yes only while all of these hold, each on this process's own monotonic clock:

- ``now < deadline``: the deadline is ``sent + duration - margin`` of the last round whose Lease
  renewal *and* list of the members both succeeded (``leases``). A process that was paused, or lost
  the API server, passes it and stops writing by itself, before anyone may count it dead; after a
  SIGSTOP the first thing any write does on resume is this comparison, so stale beliefs never reach
  the wire.
- the app is in ``owned``: the apps this replica took, only once they were its by rendezvous hashing
  over a view of the members younger than the deadline, and its tenure had settled (``leases``).

Which app a write is for travels with the task that makes it (``writing_for``, a context variable:
asyncio copies it into the tasks a pass starts), so the check sits in one place below every writer
instead of in each of them. A write outside any app (the leader's work, the Lease itself is not
fenced) needs only the deadline.

Deliberately not here: computing the deadline and the owned apps (``reconcile/replicas.py``).
"""

from __future__ import annotations

import contextvars
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from gitward.core.errors import Fenced

_WRITING_FOR: contextvars.ContextVar[str | None] = contextvars.ContextVar("gitward_writing_for", default=None)


@contextmanager
def writing_for(app: str | None) -> Iterator[None]:
    """Writes made inside (and in tasks started inside) are for ``app``."""
    token = _WRITING_FOR.set(app)
    try:
        yield
    finally:
        _WRITING_FOR.reset(token)


def current_app() -> str | None:
    """The app the running task writes for, if any."""
    return _WRITING_FOR.get()


class WriteFence:
    """What the replica loop proved last, and the check every write makes against it."""

    def __init__(self, *, monotonic: Callable[[], float], replica: str) -> None:
        self._monotonic = monotonic
        self.replica = replica
        self.deadline = -math.inf  # monotonic: no write at or after it
        self.owned: dict[str, int] = {}  # app -> the epoch this replica took it with (store)
        self.refused = 0  # writes refused, for /metrics and tests

    def may_write(self, app: str | None = None) -> bool:
        if self._monotonic() >= self.deadline:
            return False
        return app is None or app in self.owned

    def check(self, app: str | None = None) -> None:
        """Raise ``Fenced`` unless a write for ``app`` (default: the task's app) may be sent now."""
        target = current_app() if app is None else app
        if self.may_write(target):
            return
        self.refused += 1
        if self._monotonic() >= self.deadline:
            raise Fenced(f"replica {self.replica} cannot prove it still holds its lease: write refused")
        raise Fenced(f"application {target!r} is not owned by replica {self.replica}: write refused")

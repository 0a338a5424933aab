"""Whether a cluster's API server can serve right now, asked every few seconds.

Why: a reconcile that finds nothing to do reads only the watch-fed cache, and during an outage the
cache simply stops changing. Nothing fails, so without a probe every app of a dead cluster keeps
showing its last Synced and Healthy. The probe asks ``/readyz``, which the API server fails as soon as
its storage (etcd) stops answering and which every authenticated user may read; any answer below 500
(a 403 from a cluster that hides its probes included) means the server is up and talking.

The probe has its own connection so it never queues behind the requests of a busy sync and is not
counted with them. A refused connection, a 5xx answer or no answer within the timeout makes the
cluster unreachable; the first answer below 500 makes it reachable again. The timeout is generous
because the answer that matters is slow: with etcd gone, kube-apiserver 1.36 fails ``/readyz`` only
after its two etcd checks time out (2 s each by default).

Deliberately not here: what apps show while their cluster is unreachable (``reconcile.outcome``) and
retries of real requests (``cluster.transport``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from gitward.cluster.senders import Sender, Unreachable

log = logging.getLogger(__name__)

_PATH = "/readyz"
_WITHHELD = ": reason withheld"


@dataclass(frozen=True)
class Reachability:
    """The last verdict: ``since`` is the wall-clock time it last flipped."""

    reachable: bool = True
    since: float = 0.0
    error: str = ""

    def describe(self, cluster: str) -> str:
        """``cluster NAME unreachable since T: why``, for an app's status (empty when reachable)."""
        if self.reachable:
            return ""
        when = datetime.datetime.fromtimestamp(self.since, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"cluster {cluster} unreachable since {when}: {self.error}"


ReachabilityCallback = Callable[[Reachability], None]


def judge(status: int, body: bytes) -> str:
    """Why an answer to ``/readyz`` shows a server that cannot serve; empty when it can."""
    if status < 500:
        return ""
    text = body.decode("utf-8", errors="replace")
    failed = [
        line[3:].strip().removesuffix(_WITHHELD) for line in text.splitlines() if line.startswith("[-]")
    ]
    detail = f": {', '.join(failed)}" if failed else ""
    return f"API server not ready (HTTP {status}){detail}"


class ReachabilityProbe:
    """Probes one API server every ``interval`` seconds and tells subscribers when the verdict flips."""

    def __init__(
        self,
        sender: Sender,
        *,
        interval: float,
        timeout: float,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._sender = sender
        self._interval = interval
        self._timeout = timeout
        self._now = now
        self._state = Reachability(since=now())
        self._subscribers: list[ReachabilityCallback] = []
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def state(self) -> Reachability:
        return self._state

    def on_change(self, callback: ReachabilityCallback) -> Callable[[], None]:
        """Call ``callback(state)`` whenever the verdict flips; returns a function to unsubscribe."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def start(self) -> None:
        if self._task is None and self._interval > 0:
            self._task = asyncio.create_task(self._run(), name=f"probe {self._sender.base_url}")

    async def stop(self) -> None:
        """Stop probing; the last verdict stays readable."""
        # The flag ends the loop even if a cancellation is lost on the way (one landing as the probe's
        # own timeout fires may be swallowed), so stopping never waits on a loop that goes on probing.
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._stopping = False

    async def close(self) -> None:
        """Stop probing and close the probe's connection."""
        await self.stop()
        await self._sender.aclose()

    async def probe(self) -> Reachability:
        """Ask once now; returns (and records) the verdict."""
        try:
            async with asyncio.timeout(self._timeout):
                answer = await self._sender.send("GET", _PATH, params=None, content=None, headers=None)
        except TimeoutError:
            self._record(f"API server {self._sender.base_url} gave no answer within {self._timeout:g}s")
            return self._state
        except Unreachable as err:
            self._record(f"API server {self._sender.base_url} unreachable: {err}")
            return self._state
        self._record(judge(answer.status, answer.body))
        return self._state

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.probe()
            except asyncio.CancelledError:
                raise
            except Exception:
                # The probe must outlive any surprise: a dead probe would freeze the verdict.
                log.exception("reachability probe of %s failed", self._sender.base_url)
            await asyncio.sleep(self._interval)

    def _record(self, error: str) -> None:
        """Only a flip is news: an outage keeps the error it started with, so the apps' messages (and
        the one event each records) do not change with every probe."""
        reachable = not error
        if reachable == self._state.reachable:
            return
        self._state = Reachability(reachable=reachable, since=self._now(), error=error)
        for callback in list(self._subscribers):
            try:
                callback(self._state)
            except Exception:
                log.exception("reachability subscriber failed for %s", self._sender.base_url)

"""Pushes and actions that reach one replica, carried to the replicas that own the apps.

With several replicas behind one Service, a webhook or an API call lands on any of them, while the
apps are spread over all. The receiver records it in the shared state store (``store/requests.py``)
and every replica reads the new rows every ``POLL_SECONDS``:

- a **push** (a webhook naming a repository): the receiver triggers its own apps of that repository
  at once; each other replica triggers its own when it reads the row. Nothing is addressed to a
  replica, so a push reaches an app whichever replica owns it by the time the row is read: one taken
  over in between is compared afresh by its first pass anyway.
- an **action** on an app another replica owns (sync, refresh, rollback, delete; suspend, resume,
  terminate): the owner runs it as if asked directly and writes the answer (an answer is a write
  for the app, so only its owner can give one: ``store/owners.py``); the receiver waits for it (the
  first four) or answers at once that it passed it on (the last three change no cluster state and
  answer without waiting).

Why the store and not a request forwarded to the owner's address: the replicas already share the
store and trust it; forwarding would need the owner's address and a way for replicas to
authenticate each other, and a push forwarded to an owner that dies in between is lost, while a row
is read by whoever owns the apps next. The cost is the poll (one indexed read per replica every
half second) and up to that much latency.

Ids come from a PostgreSQL sequence, which hands them out in order but commits them in any order: a
row can become visible after one with a higher id. So each poll reads from ``LOOKBACK`` ids below
the last one seen, and remembers the ids it handled.
Deliberately not here: what a push triggers (``triggers``), what an action does (``actions``).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Mapping
from typing import Any

from gitward.core.clock import Clock
from gitward.core.errors import Fenced, GitwardError, Stalled, Transient, Waiting
from gitward.reconcile.actions import Actions
from gitward.reconcile.registry import Registry
from gitward.reconcile.replicas import Replicas
from gitward.reconcile.service import AppNotFound
from gitward.store import Store
from gitward.store.requests import ACTION, PUSH

log = logging.getLogger("gitward.replicas")

POLL_SECONDS = 0.5
LOOKBACK = 200
#: How long a receiver waits for the owner's answer to an action before saying so.
ANSWER_WITHIN = 60.0
#: Actions the owner runs for another replica (the engine's method names), and whether the receiver
#: waits for the answer.
ACTIONS = {
    "sync_app": True,
    "refresh_app": True,
    "rollback": True,
    "delete_app": True,
    "suspend_app": False,
    "resume_app": False,
    "terminate_app": False,
}


class Relay:
    """Records what this replica received for others, and acts on what others received for it."""

    def __init__(
        self, *, store: Store, replicas: Replicas, clock: Clock, registry: Registry, actions: Actions
    ) -> None:
        self._store = store
        self._replicas = replicas
        self._clock = clock
        self._registry = registry
        self._actions = actions
        self._last = 0
        self._handled: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._poller: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._last = self._store.last_request_id()
        self._poller = asyncio.create_task(self._poll_forever(), name="relay:poll")

    async def stop(self) -> None:
        tasks = [*self._tasks, *([self._poller] if self._poller else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- what this replica received --------------------------------------------------------------------

    def elsewhere(self, name: str, *, declared: bool = True) -> bool:
        """Whether ``name`` is another replica's (an unknown or invalid app says so here first)."""
        if self._replicas.owns(name):
            return False
        if declared:
            self._registry.runtime(name)  # AppNotFound, or the app's validation error
        return True

    async def push(self, url: str, refs: Mapping[str, str]) -> list[str]:
        """A webhook here: recorded for the other replicas, and this replica's apps triggered."""
        request = self._record(PUSH, url, dict(refs))
        self._handled.add(request)
        return await self._actions.trigger_repository(url, refs=refs)

    async def ask(self, app: str, action: str, args: Mapping[str, Any]) -> Any:
        """An action on ``app``, which another replica owns: its answer (raised if it is an error)."""
        request = self._record(ACTION, app, {"action": action, "args": dict(args)})
        self._handled.add(request)
        owner = self._replicas.owner_of(app) or "?"
        log.info("%s of %s passed to replica %s", action, app, owner)
        deadline = self._clock.monotonic() + ANSWER_WITHIN
        while self._clock.monotonic() < deadline:
            await asyncio.sleep(POLL_SECONDS / 2)
            answer = await asyncio.to_thread(self._store.request_answer, request)
            if answer is not None:
                return _unpack(answer)
        raise Waiting(
            f"application {app!r} is reconciled by replica {owner}, which has not answered "
            f"{action.removesuffix('_app')} within {ANSWER_WITHIN:.0f}s; it may still run it",
            retry_after=5.0,
            reason="NotAnswered",
        )

    def tell(self, app: str, action: str, args: Mapping[str, Any]) -> str:
        """An action on ``app`` the owner runs without this replica waiting; the owner's id."""
        self._handled.add(self._record(ACTION, app, {"action": action, "args": dict(args)}))
        owner = self._replicas.owner_of(app) or "?"
        log.info("%s of %s passed to replica %s", action, app, owner)
        return owner

    def _record(self, kind: str, target: str, payload: Any) -> int:
        return self._store.record_request(
            kind, target, payload, origin=self._replicas.identity, at=self._clock.now()
        )

    # -- what others received -----------------------------------------------------------------------------

    async def _poll_forever(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                await self.poll()
            except Exception:
                log.exception("requests from other replicas not read")

    async def poll(self) -> None:
        rows = await asyncio.to_thread(self._store.requests_after, max(0, self._last - LOOKBACK))
        for row in rows:
            request = int(row["id"])
            self._last = max(self._last, request)
            if request in self._handled or row["origin"] == self._replicas.identity:
                continue
            if row["kind"] == PUSH:
                self._handled.add(request)
                self._spawn(self._pushed(str(row["target"]), row["payload"] or {}))
            elif row["kind"] == ACTION and not row["done"] and self._replicas.owns(str(row["target"])):
                self._handled.add(request)
                self._spawn(self._asked(request, str(row["target"]), row["payload"] or {}))
        floor = self._last - LOOKBACK
        self._handled = {request for request in self._handled if request > floor}

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _pushed(self, url: str, refs: Mapping[str, str]) -> None:
        try:
            await self._actions.trigger_repository(url, refs=refs)
        except Exception:
            log.exception("push to %s from another replica not handled", url)

    async def _asked(self, request: int, app: str, payload: Mapping[str, Any]) -> None:
        action, args = str(payload.get("action") or ""), dict(payload.get("args") or {})
        if action not in ACTIONS:
            answer: dict[str, Any] = {"error": {"kind": "other", "reason": "BadRequest", "message": action}}
        else:
            try:
                answer = {"ok": await self._act(app, action, args)}
            except GitwardError as error:
                answer = {"error": {"kind": _kind(error), "reason": error.reason, "message": error.message}}
        try:
            self._store.answer_request(request, app, answer, at=self._clock.now())
        except Fenced:
            log.info("%s of %s ran, but the app moved before the answer was written", action, app)

    async def _act(self, app: str, action: str, args: Mapping[str, Any]) -> Any:
        """Run an action another replica received for an app this one owns, as if asked here."""
        answer = getattr(self._actions, action)(app, **args)
        return await answer if inspect.isawaitable(answer) else answer


def _kind(error: GitwardError) -> str:
    if isinstance(error, AppNotFound):
        return "notfound"
    if isinstance(error, Stalled):
        return "stalled"
    if isinstance(error, Transient):
        return "transient"
    return "other"


def _unpack(answer: Mapping[str, Any]) -> Any:
    """The owner's answer as the receiver returns it: the value, or the same kind of error raised."""
    if "ok" in answer:
        return answer["ok"]
    error = answer.get("error") or {}
    kind, reason, message = str(error.get("kind")), str(error.get("reason")), str(error.get("message"))
    if kind == "notfound":
        raise AppNotFound(message)
    if kind == "stalled":
        raise Stalled(message, reason=reason)
    if kind == "transient":
        raise Transient(message, reason=reason)
    raise GitwardError(message, reason=reason)

"""The notifier: from the engine's saved statuses and recorded events to messages on their way.

Where it listens: a reconcile calls ``status_saved`` where it persists a status that changed and
``event_recorded`` where it records an event (``reconcile/records.py``). Those two calls see every
operation, health and sync change with the operation's commit, which a commit status needs and the
UI's live feed (``reconcile/livefeed.py``) does not carry; and a direct call cannot fall behind and
lose events the way a ring reader can.

Why it never slows a reconcile: both calls are synchronous and short (compare a few fields, match
globs, fill a template, ``put_nowait`` on each target's bounded queue); the network is touched only by
each target's worker task (``delivery``). Neither call raises: a notifier bug is logged, the
reconcile carries on. With no Notification in the config both return at once.

The OutOfSync trigger needs time to pass without any status change, so a small timer task looks at
the apps that are OutOfSync and fires each Notification once per stretch of OutOfSync, when the
stretch has lasted its ``outOfSyncAfter``.

A reload of the config calls ``configure`` again: an unchanged Notification keeps its workers (and
the messages they hold), a new or changed one gets workers that run at once, a removed one's stop.

Messages waiting when the process stops are lost: notifications are sent at most once.
Deliberately not here: telling events apart (``events``), bodies (``chat``, ``commitstatus``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from gitward.core.clock import Clock
from gitward.core.durations import format_duration
from gitward.model import Application
from gitward.model.notification import Notification, SlackTarget, TeamsTarget, WebhookTarget
from gitward.notify.chat import slack_request, teams_request, webhook_request
from gitward.notify.commitstatus import CommitStatusTarget, commit_status_request, markable
from gitward.notify.delivery import TargetWorker
from gitward.notify.events import OUT_OF_SYNC, AppEvent, Transitions
from gitward.notify.message import Message, Request
from gitward.notify.secrets import SecretValue, TargetSecrets, fetch_secrets
from gitward.notify.template import render, variables
from gitward.notify.transport import Transport
from gitward.policy.globs import allowed_by

log = logging.getLogger("gitward.notify")

NOTIFICATION_FAILED = "NotificationFailed"


#: The target's secrets for one message, read when called (``notify/secrets.py``).
Secrets = Callable[[], Awaitable[TargetSecrets]]


class RecordEvent(Protocol):
    def __call__(self, app: str, *, type: str, reason: str, message: str) -> None: ...


class AppWithStatus(Protocol):
    """What the notifier reads of an app the engine runs: the app and its stored status document."""

    @property
    def app(self) -> Application: ...

    @property
    def status(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class _Route:
    notification: Notification
    workers: tuple[TargetWorker, ...]

    def wants(self, event: AppEvent) -> bool:
        spec = self.notification.spec
        return (
            event.trigger in spec.triggers
            and allowed_by(spec.applications, event.app)
            and allowed_by(spec.projects, event.project)
        )


async def request_for(target: Any, message: Message, *, secrets: Secrets) -> Request:
    """The request for one message to one target, its secrets read now (``notify/secrets.py``)."""
    if not isinstance(target, WebhookTarget | SlackTarget | TeamsTarget):
        markable(target, message)  # a message with no commit to mark reads no secret
    found = await secrets()
    if isinstance(target, WebhookTarget):
        return webhook_request(target, message, found)
    if isinstance(target, SlackTarget):
        return slack_request(target, message, found)
    if isinstance(target, TeamsTarget):
        return teams_request(target, message, found)
    commit_target: CommitStatusTarget = target
    values = variables(message.event, notification=message.notification)
    return commit_status_request(
        commit_target, message, context=render(commit_target.context, values, limit=255), secrets=found
    )


class Notifier:
    def __init__(self, *, record_event: RecordEvent, clock: Clock) -> None:
        self._record_event = record_event
        self._clock = clock
        self._routes: tuple[_Route, ...] = ()
        self._transport = Transport()
        self._transitions = Transitions(started_at=clock.now())
        self._tasks: dict[TargetWorker, asyncio.Task[None]] = {}
        self._timer: asyncio.Task[None] | None = None
        self._started = False
        self._fired: dict[tuple[str, str], float] = {}  # (notification, app) -> OutOfSync stretch told
        self.out_of_sync_checks = 0  # passes of the OutOfSync timer
        self.secrets: SecretValue | None = None  # the management cluster's Secrets (run --from-cluster)

    # -- set-up --------------------------------------------------------------------------------------

    def configure(self, notifications: Sequence[Notification]) -> None:
        """Route to these Notifications from now on. Once started (a reload of the config), an
        unchanged Notification keeps its workers and their queues, a new or changed one gets workers
        that run at once, a removed one's stop; the first Notification of a running process tells
        only what happens from then on."""
        kept = {route.notification.name: route for route in self._routes}
        routes = []
        for notification in notifications:
            old = kept.get(notification.name)
            if old is not None and old.notification == notification:
                routes.append(old)
                continue
            names = notification.spec.target_names()
            workers = tuple(
                self._worker(notification, name, target)
                for name, target in zip(names, notification.spec.targets, strict=True)
            )
            routes.append(_Route(notification, workers))
        if self._started and routes and not self._routes:
            self._transitions = Transitions(started_at=self._clock.now())
        self._routes = tuple(routes)
        if self._started:
            self._run_workers()

    def _worker(self, notification: Notification, name: str, target: Any) -> TargetWorker:
        owner = f"Notification {notification.name!r}, target {name!r}"
        namespace = notification.metadata.namespace or "default"

        async def secrets() -> TargetSecrets:
            return await fetch_secrets(target, reader=self.secrets, namespace=namespace, owner=owner)

        async def build(message: Message) -> Request:
            return await request_for(target, message, secrets=secrets)

        return TargetWorker(
            label=f"{notification.name}/{name}",
            description=f"notification {notification.name}, target {name} ({target.type})",
            queue_size=target.queue_size,
            rate_limit=target.rate_limit,
            retry=target.retry,
            timeout=target.timeout,
            build=build,
            send=self._transport.post,
            on_failure=self._delivery_failed,
            monotonic=self._clock.monotonic,
        )

    def start(self, apps: Iterable[AppWithStatus]) -> None:
        """Seed what each app is now (nothing stored is told again), start the workers and the timer."""
        self._started = True
        if not self._routes:
            return
        now = self._clock.now()
        self._transitions = Transitions(started_at=now)
        for known in apps:
            self._transitions.seed(known.app, known.status, now=now)
        self._run_workers()

    def _run_workers(self) -> None:
        """A task for each worker of the routes that has none, none for a worker no route has; the
        OutOfSync timer (re)started for the timers of now."""
        workers = {worker for route in self._routes for worker in route.workers}
        for gone in [worker for worker in self._tasks if worker not in workers]:
            self._tasks.pop(gone).cancel()
        for worker in workers - self._tasks.keys():
            self._tasks[worker] = asyncio.create_task(worker.run(), name=f"gitward-notify-{worker.label}")
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._timers():
            self._timer = asyncio.create_task(self._out_of_sync_timer(), name="gitward-notify-timer")

    def seed(self, app: Application, status: Mapping[str, Any]) -> None:
        """``app`` is this process's to tell about from now on (with several replicas: it was taken
        over); what its stored status says is not told again."""
        if self._routes:
            self._transitions.seed(app, status, now=self._clock.now())

    def forget(self, app: str) -> None:
        """``app`` is no longer this process's to tell about (another replica owns it now)."""
        self._transitions.forget(app)
        self._fired = {key: since for key, since in self._fired.items() if key[1] != app}

    def idle(self) -> bool:
        """Every target's queue is empty and none is sending: each message routed so far has its outcome."""
        return all(worker.idle for route in self._routes for worker in route.workers)

    async def stop(self) -> None:
        tasks = [*self._tasks.values(), *([self._timer] if self._timer is not None else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._timer = None
        self._started = False
        await self._transport.close()

    # -- what the engine calls -----------------------------------------------------------------------

    def status_saved(self, app: Application, status: Mapping[str, Any]) -> None:
        if not self._routes:
            return
        try:
            for event in self._transitions.observe(app, status, now=self._clock.now()):
                self._dispatch(event)
        except Exception:
            log.exception("notifications for %s not sent", app.name)

    def event_recorded(self, app: str, *, reason: str, message: str) -> None:
        if self._routes and reason == "Drift":
            self._transitions.drift(app, message)

    # -- routing ---------------------------------------------------------------------------------------

    def _dispatch(self, event: AppEvent, *, only: Notification | None = None) -> None:
        for route in self._routes:
            if (only is None or route.notification is only) and route.wants(event):
                self._offer(route, event)

    def _offer(self, route: _Route, event: AppEvent) -> None:
        spec = route.notification.spec
        values = variables(event, notification=route.notification.name)
        text = render(spec.template, values)
        link = render(spec.link, values, limit=2000) if spec.link else ""
        for worker in route.workers:
            message = Message(uuid.uuid4().hex, route.notification.name, event, text, link)
            worker.offer(message)

    def _delivery_failed(self, message: Message, why: str) -> None:
        """Shown where the app's other troubles are: a Warning event on the app."""
        log.warning("%s: %s", message.event.app, why)
        self._record_event(message.event.app, type="Warning", reason=NOTIFICATION_FAILED, message=why)

    # -- OutOfSync for longer than T -----------------------------------------------------------------------

    def _timers(self) -> list[tuple[Notification, float]]:
        return [
            (r.notification, r.notification.spec.out_of_sync_after)
            for r in self._routes
            if r.notification.spec.out_of_sync_after is not None
        ]

    async def _out_of_sync_timer(self) -> None:
        shortest = min(after for _, after in self._timers())
        tick = min(1.0, max(0.05, shortest / 4))
        while True:
            await asyncio.sleep(tick)
            try:
                self.check_out_of_sync()
            except Exception:
                log.exception("OutOfSync notifications not checked")

    def check_out_of_sync(self) -> None:
        """Fire each OutOfSync Notification once per stretch that has lasted its ``outOfSyncAfter``."""
        now = self._clock.now()
        self.out_of_sync_checks += 1
        stretches = self._transitions.out_of_sync()
        current = {(facts.app, since) for since, facts in stretches}
        self._fired = {k: v for k, v in self._fired.items() if (k[1], v) in current}
        for notification, after in self._timers():
            for since, facts in stretches:
                key = (notification.name, facts.app)
                if now - since < after or self._fired.get(key) == since:
                    continue
                event = replace(
                    facts,
                    trigger=OUT_OF_SYNC,
                    message=f"out of sync for more than {format_duration(after)}",
                    time=now,
                )
                self._fired[key] = since
                self._dispatch(event, only=notification)

"""The actions the API and CLI may ask for (``EngineService``): list, get, diff, dry-run, sync, refresh,
history, rollback, events, suspend, resume, terminate, delete, project windows, webhook pushes.

``delete`` removes an app that is no longer declared (its objects released or deleted as the cascade
asked, ``removal``). An app the config declares is refused, naming the file: the config is the
source of truth, so the app is deleted by removing it there, and its deletionPolicy then decides.

A sync, rollback or refresh runs a pass (``reconcile_pass``) and takes the app's lock there, so it
never runs alongside a queued pass.
Suspend, resume and terminate do not wait for the lock: they change what the next pass (or the
running operation, at its next step) does, and say so in the status at once (``gates``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from gitward.apply import diff_app as diff_objects
from gitward.appview import invalid_summary
from gitward.core.clock import Clock
from gitward.core.errors import GitwardError, ValidationError
from gitward.model import Receiver
from gitward.plan import stale
from gitward.reconcile import dryrun, pipeline, several
from gitward.reconcile.config import declaring_file
from gitward.reconcile.context import PipelineContext
from gitward.reconcile.gates import (
    Gates,
    SuspendedBy,
    follow_tracked,
    pin,
    request_terminate,
    resume,
    suspend,
)
from gitward.reconcile.queue import Priority, WorkQueue
from gitward.reconcile.records import Records
from gitward.reconcile.registry import GENERATED_BY, Registry
from gitward.reconcile.removal import POLICIES, Removal, Removals
from gitward.reconcile.runtime import AppRuntime, SyncRequest
from gitward.reconcile.service import AppNotFound
from gitward.reconcile.settings import EngineSettings
from gitward.reconcile.summaries import app_summary
from gitward.reconcile.triggers import RepositoryTriggers
from gitward.reconcile.windowbook import window_view
from gitward.store import Store


class Actions:
    """Implements ``EngineService`` over the registry, the store, the gates and the scheduler's queue."""

    def __init__(
        self,
        *,
        registry: Registry,
        store: Store,
        clock: Clock,
        settings: EngineSettings,
        gates: Gates,
        queue: WorkQueue,
        records: Records,
        context: PipelineContext,
        run_pass: Callable[[AppRuntime, SyncRequest], Awaitable[int | None]],
        triggers: RepositoryTriggers,
        removals: Removals,
    ) -> None:
        self._registry = registry
        self._store = store
        self._clock = clock
        self._settings = settings
        self._gates = gates
        self._queue = queue
        self._records = records
        self._context = context  # what a diff and a dry-run read through (the reconcile pass)
        self._run_pass = run_pass
        self._triggers = triggers
        self._removals = removals

    def list_apps(self) -> list[dict[str, Any]]:
        apps = [app_summary(rt) for rt in self._registry.runtimes.values()]
        apps += [
            invalid_summary(n, m)
            for n, m in self._registry.invalid.items()
            if n not in self._registry.runtimes
        ]
        return sorted(apps, key=lambda a: str(a["name"]))

    def get_app(self, name: str) -> dict[str, Any]:
        if name in self._registry.invalid and name not in self._registry.runtimes:
            return invalid_summary(name, self._registry.invalid[name])
        return app_summary(self._registry.runtime(name))

    async def diff_app(self, name: str) -> list[dict[str, Any]]:
        rt = self._registry.runtime(name)
        prepared = await pipeline.prepare(self._context, rt, SyncRequest(trigger="diff"))
        conn = prepared.connection
        await pipeline.watch_kinds(conn, prepared.objects, rt.inventory)
        views = await diff_objects(
            conn.client,
            prepared.objects,
            app=rt.name,
            live=conn.cache.get,
            ignore=pipeline.ignore_rules(rt),
            stale=stale(rt.inventory, prepared.inventory),
            concurrency=self._settings.apply_concurrency,
        )
        return [v.to_dict() for v in views]

    async def dry_run_sync(
        self, name: str, *, revision: str | None = None, prune: bool | None = None
    ) -> dict[str, Any]:
        """The plan ``sync_app`` would run and what each step would change; writes nothing."""
        rt = self._registry.runtime(name)
        request = SyncRequest(trigger="dry-run", fetch=True, force_fetch=True, revision=revision, prune=prune)
        return await dryrun.dry_run(self._context, rt, request)

    async def sync_app(
        self,
        name: str,
        *,
        revision: str | None = None,
        prune: bool | None = None,
        force: bool = False,
        initiator: str = "",
    ) -> dict[str, Any]:
        rt = self._registry.runtime(name)
        self._gates.check_manual(rt)
        tracked = rt.app.spec.source.revision
        if revision and rt.app.spec.sources:
            several.refuse_other_revision(rt.app, revision)
        if revision and revision != tracked:
            reason = f"synced to {revision}; `gitward app resume {name}` follows {tracked} again"
            pin(rt, revision=revision, by=SuspendedBy.REVISION, reason=reason)
        else:
            follow_tracked(rt)
        request = SyncRequest(
            trigger="sync",
            apply=True,
            fetch=True,
            force_fetch=True,
            revision=revision,
            prune=prune,
            force=force,
            initiator=initiator,
        )
        return await self._run_user_sync(rt, request)

    async def _run_user_sync(self, rt: AppRuntime, request: SyncRequest) -> dict[str, Any]:
        op_id = await self._run_pass(rt, request)
        if op_id is None:
            raise GitwardError(rt.status.error or "sync did not run", reason="SyncFailed")
        operation: dict[str, Any] | None = self._store.get_operation(op_id)
        assert operation is not None
        return operation

    async def refresh_app(self, name: str, *, initiator: str = "") -> dict[str, Any]:
        rt = self._registry.runtime(name)
        request = SyncRequest(trigger="refresh", fetch=True, force_fetch=True, initiator=initiator)
        await self._run_pass(rt, request)
        return app_summary(rt)

    def history(self, name: str) -> list[dict[str, Any]]:
        self._registry.runtime(name)
        return self._store.list_operations(name)

    async def rollback(self, name: str, history_id: int, *, initiator: str = "") -> dict[str, Any]:
        rt = self._registry.runtime(name)
        operation = self._store.get_operation(history_id)
        if operation is None or operation.get("app") != name or not operation.get("commit"):
            raise AppNotFound(f"history entry {history_id} of application {name!r} not found")
        commit = str(operation["commit"])
        if rt.app.spec.sources:
            several.refuse_other_revision(rt.app, commit)
        self._gates.check_manual(rt)
        reason = f"rolled back to history {history_id} ({commit[:12]}); `gitward app resume {name}` resumes"
        pin(rt, revision=commit, by=SuspendedBy.ROLLBACK, reason=reason)
        request = SyncRequest(
            trigger=f"rollback:{history_id}",
            apply=True,
            revision=commit,
            history_id=history_id,
            initiator=initiator,
        )
        return await self._run_user_sync(rt, request)

    def events(self, name: str | None = None, *, limit: int = 100) -> list[dict[str, Any]]:
        return self._store.list_events(name, limit=limit)

    def suspend_app(self, name: str, *, initiator: str = "") -> dict[str, Any]:
        """Automation off until ``resume_app``; what is deployed stays as it is."""
        rt = self._registry.runtime(name)
        if suspend(rt, initiator=initiator):
            self._records.record_event(
                name, type="Normal", reason="Suspended", message=_by("automation suspended", initiator)
            )
            self._records.save_status(rt)
        return app_summary(rt)

    def resume_app(self, name: str, *, initiator: str = "") -> dict[str, Any]:
        """Automation on again at the tracked revision; a pass (with a fetch) is queued at once."""
        rt = self._registry.runtime(name)
        if resume(rt):
            self._records.record_event(
                name, type="Normal", reason="Resumed", message=_by("automation resumed", initiator)
            )
            self._records.save_status(rt)
            self._queue.add(name, priority=Priority.USER, reason="resume")
        return app_summary(rt)

    def terminate_app(self, name: str, *, initiator: str = "") -> dict[str, Any]:
        """Ask the running operation to stop at its next step; raises ``NothingToStop`` when none runs."""
        rt = self._registry.runtime(name)
        running = request_terminate(rt, initiator=initiator, now=self._clock.now())
        message = f"operation {running.get('id')} stops at its next step"
        self._records.record_event(name, type="Normal", reason="Terminating", message=_by(message, initiator))
        self._records.save_status(rt)
        return {"name": name, "terminating": True, "operation": running, "message": message}

    async def delete_app(
        self, name: str, *, cascade: str | None = None, initiator: str = ""
    ) -> dict[str, Any]:
        """Remove an app that is no longer declared: its objects released (``orphan``) or deleted
        (``foreground``/``background``; default: its remembered deletionPolicy), then forgotten.
        Returns the tombstone kept of it."""
        if cascade is not None and cascade not in POLICIES:
            raise ValidationError(f"cascade {cascade!r} is not one of {', '.join(POLICIES)}")
        rt = self._registry.runtimes.get(name)
        if rt is not None and rt.parent is not None:
            made_by = (
                f"made by ApplicationSet {rt.parent.removeprefix(GENERATED_BY)!r}: "
                "remove it from the set's generators"
                if rt.parent.startswith(GENERATED_BY)
                else f"rendered by application {rt.parent!r}: remove it from that app's source"
            )
            raise GitwardError(
                f"application {name!r} is {made_by}; its objects then follow its deletionPolicy "
                f"({rt.app.spec.deletion_policy})",
                reason="DeclaredInConfig",
            )
        if rt is not None or name in self._registry.invalid:
            found = declaring_file(self._settings.config_path, name, settings=self._settings.render)
            where = str(found) if found is not None else f"the config at {self._settings.config_path}"
            policy = f" ({rt.app.spec.deletion_policy})" if rt is not None else ""
            raise GitwardError(
                f"application {name!r} is declared in {where}: remove it there; its objects then "
                f"follow its deletionPolicy{policy}",
                reason="DeclaredInConfig",
            )
        if not self._removals.knows(name):
            raise AppNotFound(f"application {name!r} not found")
        policy = cascade or self._removals.policy_of(name)
        removal = Removal(name, policy, "deleted", initiator=initiator)
        return await self._removals.remove(removal)

    def project_windows(self, name: str) -> dict[str, Any]:
        """The project's sync windows now: open or closed, until when, and the apps each covers."""
        project = self._registry.project(name)
        if project is None:
            if name in self._registry.invalid:
                raise ValidationError(f"project {name!r} is invalid: {self._registry.invalid[name]}")
            raise AppNotFound(f"project {name!r} not found")
        now = self._clock.now()
        apps = self._registry.apps_of_project(name)
        windows = [window_view(state, apps) for state in self._gates.book.states(name, at=now)]
        return {"project": name, "time": now, "windows": windows}

    async def trigger_repository(self, url: str, *, refs: Mapping[str, str] | None = None) -> list[str]:
        return await self._triggers.trigger_repository(url, refs=refs)

    def webhook_receiver(self, name: str) -> Receiver | None:
        return self._registry.webhook_receiver(name)


def _by(message: str, initiator: str) -> str:
    return f"{message} by {initiator}" if initiator else message

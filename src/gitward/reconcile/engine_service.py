"""The ``EngineService`` calls (what the API and CLI may ask), on top of the engine's state.

User actions take the app's lock through ``reconcile`` so they never run alongside a queued pass.
Suspend, resume and terminate do not wait for the lock: they change what the next pass (or the
running operation, at its next step) does, and say so in the status at once (``gates``).
"""

from __future__ import annotations

from typing import Any, cast

from gitward.apply import diff_app as diff_objects
from gitward.core.clock import Clock
from gitward.core.errors import GitwardError, ValidationError
from gitward.model import Project
from gitward.plan import stale
from gitward.reconcile import dryrun, pipeline
from gitward.reconcile.context import PipelineContext
from gitward.reconcile.engine_views import EngineViewsMixin
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
from gitward.reconcile.runtime import AppRuntime, SyncRequest
from gitward.reconcile.service import AppNotFound
from gitward.reconcile.settings import EngineSettings
from gitward.reconcile.views import app_summary, invalid_app_summary
from gitward.reconcile.windowbook import window_view
from gitward.store import Store


class EngineServiceMixin(EngineViewsMixin):
    """Mixed into ``Engine``; every method reads or drives the engine's own state (the UI's reads
    and the status feed in ``EngineViewsMixin``)."""

    runtimes: dict[str, AppRuntime]
    invalid: dict[str, str]
    store: Store
    settings: EngineSettings
    clock: Clock
    gates: Gates
    queue: WorkQueue

    async def reconcile(self, rt: AppRuntime, req: SyncRequest) -> int | None:
        raise NotImplementedError

    def project(self, name: str) -> Project | None:
        raise NotImplementedError

    def record_event(self, app: str, *, type: str, reason: str, message: str) -> None:
        raise NotImplementedError

    def _save_status(self, rt: AppRuntime) -> None:
        raise NotImplementedError

    def _runtime(self, name: str) -> AppRuntime:
        rt = self.runtimes.get(name)
        if rt is None:
            if name in self.invalid:
                raise ValidationError(f"application {name!r} is invalid: {self.invalid[name]}")
            raise AppNotFound(f"application {name!r} not found")
        return rt

    def list_apps(self) -> list[dict[str, Any]]:
        apps = [app_summary(rt) for rt in self.runtimes.values()]
        apps += [invalid_app_summary(n, m) for n, m in self.invalid.items() if n not in self.runtimes]
        return sorted(apps, key=lambda a: str(a["name"]))

    def get_app(self, name: str) -> dict[str, Any]:
        if name in self.invalid and name not in self.runtimes:
            return invalid_app_summary(name, self.invalid[name])
        return app_summary(self._runtime(name))

    async def diff_app(self, name: str) -> list[dict[str, Any]]:
        rt = self._runtime(name)
        prepared = await pipeline.prepare(cast(PipelineContext, self), rt, SyncRequest(trigger="diff"))
        conn = prepared.connection
        await pipeline.watch_kinds(conn, prepared.objects, rt.inventory)
        views = await diff_objects(
            conn.client,
            prepared.objects,
            app=rt.name,
            live=conn.cache.get,
            ignore=pipeline.ignore_rules(rt),
            stale=stale(rt.inventory, prepared.inventory),
            concurrency=self.settings.apply_concurrency,
        )
        return [v.to_dict() for v in views]

    async def dry_run_sync(
        self, name: str, *, revision: str | None = None, prune: bool | None = None
    ) -> dict[str, Any]:
        """The plan ``sync_app`` would run and what each step would change; writes nothing."""
        rt = self._runtime(name)
        request = SyncRequest(trigger="dry-run", fetch=True, force_fetch=True, revision=revision, prune=prune)
        return await dryrun.dry_run(cast(PipelineContext, self), rt, request)

    async def sync_app(
        self,
        name: str,
        *,
        revision: str | None = None,
        prune: bool | None = None,
        force: bool = False,
        initiator: str = "",
    ) -> dict[str, Any]:
        rt = self._runtime(name)
        self.gates.check_manual(rt)
        tracked = rt.app.spec.source.revision
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
        op_id = await self.reconcile(rt, request)
        if op_id is None:
            raise GitwardError(str(rt.status.get("error") or "sync did not run"), reason="SyncFailed")
        operation: dict[str, Any] | None = self.store.get_operation(op_id)
        assert operation is not None
        return operation

    async def refresh_app(self, name: str, *, initiator: str = "") -> dict[str, Any]:
        rt = self._runtime(name)
        request = SyncRequest(trigger="refresh", fetch=True, force_fetch=True, initiator=initiator)
        await self.reconcile(rt, request)
        return app_summary(rt)

    def history(self, name: str) -> list[dict[str, Any]]:
        self._runtime(name)
        return self.store.list_operations(name)

    async def rollback(self, name: str, history_id: int, *, initiator: str = "") -> dict[str, Any]:
        rt = self._runtime(name)
        operation = self.store.get_operation(history_id)
        if operation is None or operation.get("app") != name or not operation.get("commit"):
            raise AppNotFound(f"history entry {history_id} of application {name!r} not found")
        commit = str(operation["commit"])
        self.gates.check_manual(rt)
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
        return self.store.list_events(name, limit=limit)

    def suspend_app(self, name: str, *, initiator: str = "") -> dict[str, Any]:
        """Automation off until ``resume_app``; what is deployed stays as it is."""
        rt = self._runtime(name)
        if suspend(rt, initiator=initiator):
            self.record_event(
                name, type="Normal", reason="Suspended", message=_by("automation suspended", initiator)
            )
            self._save_status(rt)
        return app_summary(rt)

    def resume_app(self, name: str, *, initiator: str = "") -> dict[str, Any]:
        """Automation on again at the tracked revision; a pass (with a fetch) is queued at once."""
        rt = self._runtime(name)
        if resume(rt):
            self.record_event(
                name, type="Normal", reason="Resumed", message=_by("automation resumed", initiator)
            )
            self._save_status(rt)
            self.queue.add(name, priority=Priority.USER, reason="resume")
        return app_summary(rt)

    def terminate_app(self, name: str, *, initiator: str = "") -> dict[str, Any]:
        """Ask the running operation to stop at its next step; raises ``NothingToStop`` when none runs."""
        rt = self._runtime(name)
        running = request_terminate(rt, initiator=initiator, now=self.clock.now())
        message = f"operation {running.get('id')} stops at its next step"
        self.record_event(name, type="Normal", reason="Terminating", message=_by(message, initiator))
        self._save_status(rt)
        return {"name": name, "terminating": True, "operation": running, "message": message}

    def project_windows(self, name: str) -> dict[str, Any]:
        """The project's sync windows now: open or closed, until when, and the apps each covers."""
        project = self.project(name)
        if project is None:
            if name in self.invalid:
                raise ValidationError(f"project {name!r} is invalid: {self.invalid[name]}")
            raise AppNotFound(f"project {name!r} not found")
        now = self.clock.now()
        apps = [rt.app for rt in self.runtimes.values() if rt.app.spec.project == name]
        windows = [window_view(state, apps) for state in self.gates.book.states(name, at=now)]
        return {"project": name, "time": now, "windows": windows}


def _by(message: str, initiator: str) -> str:
    return f"{message} by {initiator}" if initiator else message

"""The ``EngineService`` calls (what the API and CLI may ask), on top of the engine's state.

User actions take the app's lock through ``reconcile`` so they never run alongside a queued pass.
"""

from __future__ import annotations

from typing import Any, cast

from gitward.apply import diff_app as diff_objects
from gitward.core.errors import GitwardError, ValidationError
from gitward.plan import stale
from gitward.reconcile import pipeline
from gitward.reconcile.context import PipelineContext
from gitward.reconcile.engine_views import EngineViewsMixin
from gitward.reconcile.runtime import AppRuntime, SyncRequest
from gitward.reconcile.service import AppNotFound
from gitward.reconcile.settings import EngineSettings
from gitward.reconcile.views import app_summary, invalid_app_summary
from gitward.store import Store


class EngineServiceMixin(EngineViewsMixin):
    """Mixed into ``Engine``; every method reads or drives the engine's own state (the UI's reads
    and the status feed in ``EngineViewsMixin``)."""

    runtimes: dict[str, AppRuntime]
    invalid: dict[str, str]
    store: Store
    settings: EngineSettings

    async def reconcile(self, rt: AppRuntime, req: SyncRequest) -> int | None:
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
        tracked = rt.app.spec.source.revision
        if revision and revision != tracked:
            rt.status.update(suspended=True, suspendReason=f"synced to {revision}", pinnedRevision=revision)
        else:
            rt.status.update(suspended=False, suspendReason="", pinnedRevision=None)
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
        rt.status.update(
            suspended=True,
            suspendReason=f"rolled back to history {history_id} ({commit[:12]}); "
            f"`gitward app sync {name}` resumes",
            pinnedRevision=commit,
        )
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

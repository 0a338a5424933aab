"""The sync executor: runs a sync plan step by step, re-entrant across crashes and restarts.

One step is one (phase, wave) of the plan (``plan.syncplan``). For each step, in order:

1. its ordinary objects are applied (``staged.apply_objects``: Namespaces and CRDs first, only what
   drifted is sent); a failed object fails the step;
2. its hooks are created, each a fresh run (``hooks``), unless an earlier process already created
   this run (its name is in the progress: the executor waits for that run instead);
3. its deletions run (``prune``, with the app's propagation policy);
4. it waits: for every hook to finish, and, when another step follows on the success path, for every
   object of the step to be healthy (``waits``). The last step does not wait for health (the app's
   status shows it), unless the app asks for it (Flux ``wait: true``); a plan of one step and no hooks
   therefore never waits, which keeps a plain sync as fast as before waves existed;
5. hooks are deleted as their policy says, and the step is recorded as done.

After every step, and after every hook created or finished, the ``Recorder`` persists the progress
(``plan.progress``) with the operation, so a process killed at any point resumes the same plan at the
step it was in, and never runs a hook that completed again (docs/reliability.md, F3). A failure (an
object refused, a hook failed, a wave Degraded or not healthy in time) switches the operation to its
SyncFail steps, which get a fresh time budget; the operation ends Failed naming what failed. A
terminate request is honoured between steps and during every wait: the operation ends Terminated,
and no SyncFail hook runs.

Deliberately not here: building the plan, persisting (the recorder's), the operation's record.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from gitward.apply.hooks import create_hook, delete_by_policy, run_key
from gitward.apply.objects import ObjectApply, field_validation
from gitward.apply.prune import prune
from gitward.apply.staged import apply_objects
from gitward.apply.waits import (
    HOOK_SETTLED,
    OBJECT_SETTLED,
    Assess,
    LiveView,
    Outcome,
    WaitControl,
    Waited,
    health_list,
    wait_settled,
)
from gitward.core.changes import Action, Change, ChangeSet
from gitward.core.keys import InventoryEntry, ResourceKey, version_of
from gitward.core.status import OperationPhase
from gitward.core.steps import Step as FailedStep
from gitward.health import health_of
from gitward.plan import (
    HookPhase,
    PlannedObject,
    Progress,
    Step,
    SyncPlan,
    is_hook_of,
    next_step,
    pending_hooks,
)


class Recorder(Protocol):
    """Where the executor reports: the store (progress), the app's status (what it waits for)."""

    def progress(self, progress: Progress, changes: ChangeSet, message: str) -> None: ...

    def waiting(self, message: str) -> None: ...

    def terminate_requested(self) -> bool: ...


@dataclass(frozen=True, kw_only=True)
class ExecutionSettings:
    concurrency: int = 8
    crd_timeout: float = 60.0
    timeout: float = 300.0  # the operation's time for all its waits (waves, hooks)
    propagation: str = "Foreground"  # PrunePropagationPolicy
    wait_at_end: bool = False  # the last step waits for health too (Flux ``wait: true``)
    health_checks: tuple[tuple[str, ResourceKey], ...] = ()  # (apiVersion, key) healthy at the end
    assess: Assess = health_of  # how an object's health is found (the engine's ``HealthRules``)


@dataclass(frozen=True)
class Failure:
    """What failed first, as the app's status names it: the step (``core/steps.py``), the wave or hook
    in it ("wave 2", "hook PreSync Job.batch/db/migrate"), a CamelCase reason and the message."""

    step: FailedStep
    where: str
    reason: str
    message: str


@dataclass(frozen=True)
class Execution:
    """How the operation ended: Succeeded, Failed or Terminated, why, and every change made."""

    phase: OperationPhase
    message: str
    changes: ChangeSet
    progress: Progress
    failure: Failure | None = None  # the first failure, when the operation failed


class _Stop(enum.Enum):
    STOPPED = "stopped"


_Result = str | _Stop  # "" when the step succeeded, else why it failed; STOPPED on a terminate request


def where(step: Step) -> str:
    """How a step is named in messages: ``PreSync``, ``Sync wave 2``, ``PruneLast``."""
    if step.prune_last:
        return "PruneLast"
    return f"{step.phase} wave {step.wave}" if step.phase is HookPhase.SYNC else str(step.phase)


class Executor:
    """Runs ``plan`` from ``progress`` (fresh, or read back after a restart) to its end."""

    def __init__(
        self,
        plan: SyncPlan,
        *,
        objects: ObjectApply,
        view: LiveView,
        recorder: Recorder,
        settings: ExecutionSettings,
        progress: Progress | None = None,
        changes: ChangeSet | None = None,
    ) -> None:
        self.plan = plan
        self.objects = objects
        self.view = view
        self.recorder = recorder
        self.settings = settings
        self.progress = progress or Progress()
        self.changes = changes or ChangeSet()
        self.notes: list[str] = []  # what went wrong on the SyncFail path, added to the message
        self.failure: Failure | None = None  # the first failure, named for the app's status
        self.control = WaitControl(
            view=view,
            deadline=view.monotonic() + settings.timeout,
            stop=recorder.terminate_requested,
            report=recorder.waiting,
            assess=settings.assess,
        )
        self._use_control(self.control)

    def _failed(self, step: FailedStep, where_: str, reason: str, message: str) -> str:
        """Remember the first failure (a SyncFail hook failing later does not replace it)."""
        if message and self.failure is None:
            self.failure = Failure(step, where_, reason, message)
        return message

    def _use_control(self, control: WaitControl) -> None:
        """Waits, and re-creations (Force=true) waiting for the old object, under one deadline."""
        self.control = control
        self.objects = dataclasses.replace(self.objects, control=control)

    async def run(self) -> Execution:
        while (step := next_step(self.plan, self.progress)) is not None:
            if self.recorder.terminate_requested():
                return self._terminated(step)
            result = await self._run_step(step)
            if result is _Stop.STOPPED:
                return self._terminated(step)
            if result and not self.progress.failed:
                self.progress = self.progress.failing(result)
                self._use_control(self.control.with_budget(self.settings.timeout))  # SyncFail's own time
                self._save(f"failed: {result}")
                continue
            if result:  # a SyncFail hook failed too: said in the message, the path goes on
                self.notes.append(result)
            self.progress = self.progress.step_done(step)
            self._save(f"{where(step)} done")
            if next_step(self.plan, self.progress) is None and not self.progress.failed:
                end = await self._end_of_success_path()
                if end is _Stop.STOPPED:
                    return self._terminated(step)
                if end:
                    self.progress = self.progress.failing(end)
                    self._use_control(self.control.with_budget(self.settings.timeout))
                    self._save(f"failed: {end}")
        return self._finished()

    async def _end_of_success_path(self) -> _Result:
        """A refused delete does not stop later waves (it stays owned and is retried), but fails the
        operation; so do the app's own health checks (Flux ``healthChecks``) not healthy in time."""
        refused = [c for c in self.changes if c.action is Action.FAILED]
        if refused:
            message = _failed_objects("deletions", refused)
            return self._failed(FailedStep.PRUNE, "prune", "PruneFailed", message)
        if not self.settings.health_checks:
            return ""
        label = "health checks: waiting for"
        waited = await wait_settled(
            self.settings.health_checks,
            control=self.control,
            settled=OBJECT_SETTLED,
            describe=lambda p: f"{label} {health_list(p)}",
        )
        verdict = _verdict("health checks", waited, self.settings.timeout)
        if isinstance(verdict, str):
            self._failed(FailedStep.HEALTH, "health checks", _health_reason(waited), verdict)
        return verdict

    async def _run_step(self, step: Step) -> _Result:
        objects = [o for o in step.objects if not o.hook]
        if objects:
            applied = await apply_objects(
                self.objects,
                objects,
                concurrency=self.settings.concurrency,
                crd_timeout=self.settings.crd_timeout,
            )
            self.changes += ChangeSet.of(applied)
            failed = [c for c in applied if c.action is Action.FAILED]
            if failed:
                message = f"{where(step)}: {_failed_objects('objects', failed)}"
                return self._failed(FailedStep.WAVE, _wave(step), "ApplyFailed", message)
        runs, failure = await self._start_hooks(step)
        if failure:
            return failure
        await self._prune(step)
        return await self._wait(step, objects, runs)

    async def _start_hooks(self, step: Step) -> tuple[dict[PlannedObject, str], str]:
        """Create each pending hook (or find the run an earlier process created); name per hook."""
        runs: dict[PlannedObject, str] = {}
        for hook in pending_hooks(step, self.progress):
            name = await self._existing_run(step, hook)
            if name is None:
                name, change = await create_hook(
                    self.objects.client,
                    hook,
                    app=self.objects.app,
                    control=self.control,
                    field_validation=field_validation(hook.options),
                )
                self.changes += ChangeSet.of([change])
                if change.action is Action.FAILED:
                    message = f"{step.phase} hook {hook.key}: {change.message}"
                    where_ = f"hook {step.phase} {hook.key}"
                    return runs, self._failed(FailedStep.HOOK, where_, "HookFailed", message)
                self.progress = self.progress.hook_created(step, hook, name)
                self._save(f"{where(step)}: hook {run_key(hook, name)} created")
            runs[hook] = name
        return runs, ""

    async def _existing_run(self, step: Step, hook: PlannedObject) -> str | None:
        name = self.progress.created_name(step, hook)
        if name is None:
            return None
        live = await self.view.read(hook.api_version, run_key(hook, name))
        return name if is_hook_of(live, self.objects.app, hook.key) else None

    async def _prune(self, step: Step) -> None:
        if not step.prunes:
            return
        entries = [InventoryEntry(o.key, version_of(o.api_version)) for o in step.prunes]
        pruned = await prune(
            self.objects.client,
            entries,
            app=self.objects.app,
            live=self.objects.live,
            concurrency=self.settings.concurrency,
            propagation=self.settings.propagation,
        )
        for change in pruned:
            if change.action is Action.DELETED:
                self.objects.verdicts.forget(change.key)
        self.changes += pruned

    def _follows(self, step: Step) -> bool:
        if self.progress.failed:
            return False
        return self.settings.wait_at_end or any(s.index > step.index for s in self.plan.main_steps)

    async def _wait(
        self, step: Step, objects: Sequence[PlannedObject], runs: dict[PlannedObject, str]
    ) -> _Result:
        if runs:
            result = await self._wait_hooks(step, runs)
            if result:
                return result
        if objects and self._follows(step):
            return await self._wait_objects(step, objects)
        return ""

    async def _wait_hooks(self, step: Step, runs: dict[PlannedObject, str]) -> _Result:
        keys = [(hook.api_version, run_key(hook, name)) for hook, name in runs.items()]
        label = f"{where(step)}: waiting for hook"
        waited = await wait_settled(
            keys, control=self.control, settled=HOOK_SETTLED, describe=lambda p: f"{label} {health_list(p)}"
        )
        if waited.outcome is Outcome.STOPPED:
            return _Stop.STOPPED
        for hook, name in runs.items():
            health = waited.health[run_key(hook, name)]
            if health.status in HOOK_SETTLED:
                self.progress = self.progress.hook_done(step, hook)
                self._save(f"{where(step)}: hook {run_key(hook, name)} completed")
        for hook, name in runs.items():
            succeeded = waited.health[run_key(hook, name)].status in HOOK_SETTLED
            if waited.outcome is not Outcome.TIMED_OUT or succeeded:
                deleted = await delete_by_policy(self.objects.client, hook, name, succeeded=succeeded)
                self.changes += ChangeSet.of([deleted] if deleted else [])
        failed = waited.failures()
        message = _hook_failure(step, waited, self.settings.timeout)
        if message:
            named = f"hook {step.phase} {failed[0][0]}" if failed else f"hooks {step.phase}"
            reason = "HookFailed" if failed else "HookTimedOut"
            self._failed(FailedStep.HOOK, named, reason, message)
        return message

    async def _wait_objects(self, step: Step, objects: Sequence[PlannedObject]) -> _Result:
        keys = [(o.api_version, o.key) for o in objects]
        label = f"{where(step)}: waiting for"
        waited = await wait_settled(
            keys, control=self.control, settled=OBJECT_SETTLED, describe=lambda p: f"{label} {health_list(p)}"
        )
        verdict = _verdict(where(step), waited, self.settings.timeout)
        if isinstance(verdict, str):
            self._failed(FailedStep.WAVE, _wave(step), _health_reason(waited), verdict)
        return verdict

    def _save(self, message: str) -> None:
        self.recorder.progress(self.progress, self.changes, message)

    def _terminated(self, step: Step) -> Execution:
        message = f"terminated during {where(step)}"
        self._save(message)
        return Execution(OperationPhase.TERMINATED, message, self.changes, self.progress)

    def _finished(self) -> Execution:
        if self.progress.failed:
            message = "; ".join([self.progress.failure, *self.notes])
            return Execution(OperationPhase.FAILED, message, self.changes, self.progress, self.failure)
        return Execution(OperationPhase.SUCCEEDED, "", self.changes, self.progress)


def _wave(step: Step) -> str:
    """The wave as the status names it: ``wave 2``, ``PreSync wave 0``, ``PruneLast``."""
    if step.prune_last:
        return "PruneLast"
    return f"wave {step.wave}" if step.phase is HookPhase.SYNC else f"{step.phase} wave {step.wave}"


def _health_reason(waited: Waited) -> str:
    return "Degraded" if waited.outcome is Outcome.FAILED else "HealthTimedOut"


def _verdict(what: str, waited: Waited, timeout: float) -> _Result:
    """Why a wait for objects' health failed ("" when it did not)."""
    if waited.outcome is Outcome.STOPPED:
        return _Stop.STOPPED
    if waited.outcome is Outcome.FAILED:
        return f"{what}: {health_list(waited.failures())} is Degraded"
    if waited.outcome is Outcome.TIMED_OUT:
        return f"{what}: not healthy within {timeout:g}s: {health_list(waited.pending(OBJECT_SETTLED))}"
    return ""


def _failed_objects(what: str, failed: Sequence[Change]) -> str:
    shown = "; ".join(f"{c.key}: {c.message}" for c in failed[:5])
    more = f" (and {len(failed) - 5} more)" if len(failed) > 5 else ""
    return f"{len(failed)} {what} failed: {shown}{more}"


def _hook_failure(step: Step, waited: Waited, timeout: float) -> str:
    failed = waited.failures()
    if failed:
        key, health = failed[0]
        return f"{step.phase} hook {key} failed: {health.message or health.status}"
    if waited.outcome is Outcome.TIMED_OUT:
        pending = health_list(waited.pending(HOOK_SETTLED))
        return f"{step.phase} hook did not finish within {timeout:g}s: {pending}"
    return ""

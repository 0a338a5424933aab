"""Where a running sync plan stands, and which step runs next: the re-entrant executor's state machine.

The executor persists a ``Progress`` after every step and after every hook that completes. After a
crash or a restart it rebuilds the plan from the same revision (``build_plan`` is deterministic; the
plan's ``digest`` tells it is the same plan), reads the progress back and asks ``next_step``: it gets
the step it was in, and ``pending_hooks`` leaves out the hooks that already completed, so a finished
PreSync migration is never run twice. Ordinary objects are simply applied again: server-side apply of
the same object is idempotent.

Once the operation has failed (``failing``), only SyncFail steps remain; the success path never
resumes. Deliberately not here: running steps, timeouts, persisting (apply/, store/).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gitward.plan.syncplan import PlannedObject, Step, SyncPlan


@dataclass(frozen=True)
class Progress:
    """Completed steps (by plan index), completed hook runs (``Step.hook_ref``), whether it failed.

    ``hook_names`` maps a hook run to the name the server gave it (``generateName``) or the name it was
    created under, recorded right after the create: a process killed while the hook runs finds it again
    after the restart and waits for it instead of creating a second one. ``failure`` says why the
    operation failed, so the record written after the SyncFail hooks still says it.
    """

    completed_steps: frozenset[int] = frozenset()
    completed_hooks: frozenset[str] = frozenset()
    failed: bool = False
    hook_names: tuple[tuple[str, str], ...] = ()
    failure: str = ""

    def step_done(self, step: Step) -> Progress:
        return dataclasses.replace(self, completed_steps=self.completed_steps | {step.index})

    def hook_done(self, step: Step, hook: PlannedObject) -> Progress:
        return dataclasses.replace(self, completed_hooks=self.completed_hooks | {step.hook_ref(hook)})

    def hook_created(self, step: Step, hook: PlannedObject, name: str) -> Progress:
        names = dict(self.hook_names)
        names[step.hook_ref(hook)] = name
        return dataclasses.replace(self, hook_names=tuple(sorted(names.items())))

    def created_name(self, step: Step, hook: PlannedObject) -> str | None:
        """The name the hook's run was created under, if it was created and not yet completed."""
        return dict(self.hook_names).get(step.hook_ref(hook))

    def failing(self, failure: str = "") -> Progress:
        """The operation failed: from now on only SyncFail steps run."""
        return dataclasses.replace(self, failed=True, failure=failure or self.failure)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "completedSteps": sorted(self.completed_steps),
            "completedHooks": sorted(self.completed_hooks),
            "failed": self.failed,
        }
        if self.hook_names:
            out["hookNames"] = dict(self.hook_names)
        if self.failure:
            out["failure"] = self.failure
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Progress:
        names = data.get("hookNames") or {}
        return cls(
            completed_steps=frozenset(int(i) for i in data.get("completedSteps", ())),
            completed_hooks=frozenset(str(h) for h in data.get("completedHooks", ())),
            failed=bool(data.get("failed", False)),
            hook_names=tuple(sorted((str(k), str(v)) for k, v in names.items())),
            failure=str(data.get("failure", "")),
        )


def next_step(plan: SyncPlan, progress: Progress) -> Step | None:
    """The first step not completed on the path the operation is on; ``None`` when the path is done.

    Raises ``ValueError`` when the progress names steps the plan does not have: it belongs to another
    plan, and resuming it would skip or repeat work.
    """
    _check(plan, progress.completed_steps)
    path: Iterable[Step] = plan.fail_steps if progress.failed else plan.main_steps
    for step in path:
        if step.index not in progress.completed_steps:
            return step
    return None


def pending_hooks(step: Step, progress: Progress) -> tuple[PlannedObject, ...]:
    """The step's hooks that still have to run: those whose run did not complete before."""
    return tuple(h for h in step.hooks if step.hook_ref(h) not in progress.completed_hooks)


def is_done(plan: SyncPlan, progress: Progress) -> bool:
    return next_step(plan, progress) is None


def _check(plan: SyncPlan, completed: Iterable[int]) -> None:
    unknown = sorted(set(completed) - {s.index for s in plan.steps})
    if unknown:
        raise ValueError(f"progress names steps {unknown} that the plan does not have")

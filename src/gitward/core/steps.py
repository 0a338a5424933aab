"""The steps of a reconcile, as a failure names them: where a pass stopped, in words a person reads.

A failure is recorded with its step where it happens: the steps before the first write
(``reconcile/pipeline.py``) put it on the error they raise (``GitwardError.step``), the executor
(``apply/executor.py``) on the failure it reports. The app's status keeps it next to its reason and
message (``core/appstatus.py``), so ``gitward app get`` and the API say which step failed, and
``where`` names the wave or the hook ("wave 2", "hook PreSync Job/db/migrate").
"""

from __future__ import annotations

import enum


class Step(enum.StrEnum):
    FETCH = "fetch"
    VERIFY = "verify"
    RENDER = "render"
    VALIDATE = "validate"
    CLAIMS = "claims"
    PLAN = "plan"
    WAVE = "wave"  # applying a wave's objects, or waiting for them to be healthy
    HOOK = "hook"
    PRUNE = "prune"
    HEALTH = "health"

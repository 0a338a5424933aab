"""API server refusals as a user reads them, against the real local cluster: the failing fields first.

A Job's pod template cannot change; the API server's message quotes the whole template before saying
so, and the answer's ``details.causes`` name the field. The message gitward reports must lead with
that field and "field is immutable", whatever the length of the template.
"""

from __future__ import annotations

from typing import Any

import pytest

from gitward.apply import VerdictCache, apply_staged
from gitward.cluster.failures import MAX_SUMMARY
from gitward.cluster.lightkube_client import LightkubeClient
from gitward.core.changes import Action
from gitward.core.errors import ClusterError
from gitward.core.keys import ResourceKey
from gitward.core.marks import FIELD_MANAGER

pytestmark = pytest.mark.integration

APP = "status-it"


def job(ns: str, image: str) -> dict[str, Any]:
    # Enough of a pod template that the server's quote of it runs to thousands of characters.
    env = [{"name": f"SETTING_{i}", "value": f"value-{i}-" + "x" * 40} for i in range(40)]
    container = {"name": "migrate", "image": image, "command": ["true"], "env": env}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate", "namespace": ns},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [container]}}},
    }


def assert_immutable_template_first(text: str) -> None:
    assert "HTTP 422 Invalid: spec.template: Invalid value: " in text
    cause = text.index("spec.template: Invalid value: ")
    immutable = text.index(": field is immutable", cause)
    assert immutable - cause < 400  # the quoted template is shortened in the cause
    assert text.index('Job.batch "migrate" is invalid', immutable) > immutable  # the API's message after it
    assert len(text) < MAX_SUMMARY + 200


async def sync(client: LightkubeClient, obj: dict[str, Any]) -> Any:
    key = ResourceKey.of(obj)
    live = await client.get(obj["apiVersion"], key.kind, key.namespace, key.name)
    return await apply_staged(client, [obj], app=APP, live={key: live}.get, verdicts=VerdictCache())


async def test_changed_job_template_is_reported_field_and_problem_first(
    client: LightkubeClient, ns: str
) -> None:
    created = await sync(client, job(ns, "busybox:1.36"))
    assert [c.action for c in created] == [Action.CREATED]
    changed = job(ns, "busybox:1.37")

    # What apply reports for the app: the failed change carries the summary.
    result = await sync(client, changed)
    assert [c.action for c in result] == [Action.FAILED]
    assert_immutable_template_first(result.changes[0].message)

    # The client's own error, as every caller gets it.
    with pytest.raises(ClusterError) as raised:
        await client.apply(changed, field_manager=FIELD_MANAGER)
    assert raised.value.status == 422
    assert raised.value.reason == "Invalid"
    assert_immutable_template_first(raised.value.message)

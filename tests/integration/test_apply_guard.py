"""The write-level ownership guard against the real API server (docs/reliability.md, bad input 8).

Here no engine claims anything: each test hands ``apply`` a view of the object that another writer
makes wrong before the write lands (an object created meanwhile, marked by another app, or replaced),
as a second gitward process or a stale cache would. The write must be refused and the refusal name
the owner; nothing another app owns may be re-marked. Also checked: the preconditions cost no
request on the cold path and keep server-side apply's removal of fields a manifest drops.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from gitward.apply import VerdictCache, apply_one, apply_staged, ensure_namespace
from gitward.cluster.lightkube_client import LightkubeClient
from gitward.core.changes import Action
from gitward.core.keys import ResourceKey
from gitward.core.marks import owner_of, with_marks

pytestmark = pytest.mark.integration


def configmap(ns: str, name: str, app: str, **data: str) -> dict[str, Any]:
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}}
    return with_marks({**manifest, "data": data}, app)


async def live(client: LightkubeClient, ns: str, name: str) -> dict[str, Any] | None:
    return await client.get("v1", "ConfigMap", ns, name)


async def test_racing_creates_by_many_apps_leave_each_object_exactly_one_owner(
    client: LightkubeClient, ns: str
) -> None:
    apps = [f"app{i}" for i in range(4)]
    names = [f"cm-{i}" for i in range(20)]

    async def write(app: str, name: str) -> tuple[str, str, Any]:
        # Every writer saw the object absent, as each one's own cache would have.
        change = await apply_one(
            client, configmap(ns, name, app, owner=app), live=None, verdicts=VerdictCache()
        )
        return app, name, change

    results = await asyncio.gather(*(write(app, name) for name in names for app in apps))

    for name in names:
        mine = [(app, change) for app, n, change in results if n == name]
        winners = [app for app, change in mine if change.action is Action.CREATED]
        assert len(winners) == 1, mine
        obj = await live(client, ns, name)
        assert obj is not None
        assert owner_of(obj) == winners[0]
        assert obj["data"] == {"owner": winners[0]}
        for app, change in mine:
            if app != winners[0]:
                assert change.action is Action.FAILED
                assert f"is managed by application {winners[0]!r}" in change.message


async def test_an_object_another_app_created_after_the_check_is_refused_and_left_alone(
    client: LightkubeClient, ns: str
) -> None:
    await client.apply(configmap(ns, "taken", "other", owner="other"), field_manager="gitward")

    change = await apply_one(
        client, configmap(ns, "taken", "mine", owner="mine"), live=None, verdicts=(verdicts := VerdictCache())
    )

    assert change.action is Action.FAILED
    assert "is managed by application 'other'" in change.message
    obj = await live(client, ns, "taken")
    assert obj is not None
    assert owner_of(obj) == "other"
    assert obj["data"] == {"owner": "other"}
    assert ResourceKey.of(obj) not in verdicts


async def test_an_object_of_ours_replaced_by_another_apps_is_refused_despite_a_stale_view(
    client: LightkubeClient, ns: str
) -> None:
    verdicts = VerdictCache()
    first = await apply_one(client, configmap(ns, "cm", "mine", v="1"), live=None, verdicts=verdicts)
    assert first.action is Action.CREATED
    stale_view = await live(client, ns, "cm")
    assert stale_view is not None
    await client.delete("v1", "ConfigMap", ns, "cm")
    await client.apply(configmap(ns, "cm", "other", owner="other"), field_manager="gitward")

    # The cache still shows our object (its delete not seen yet); the manifest changed meanwhile.
    change = await apply_one(client, configmap(ns, "cm", "mine", v="2"), live=stale_view, verdicts=verdicts)

    assert change.action is Action.FAILED
    assert "is managed by application 'other'" in change.message
    obj = await live(client, ns, "cm")
    assert obj is not None
    assert owner_of(obj) == "other"
    assert obj["data"] == {"owner": "other"}


async def test_a_deleted_object_of_ours_seen_stale_is_created_again(client: LightkubeClient, ns: str) -> None:
    verdicts = VerdictCache()
    await apply_one(client, configmap(ns, "cm", "mine", v="1"), live=None, verdicts=verdicts)
    stale_view = await live(client, ns, "cm")
    await client.delete("v1", "ConfigMap", ns, "cm")

    change = await apply_one(client, configmap(ns, "cm", "mine", v="2"), live=stale_view, verdicts=verdicts)

    assert change.action is Action.CREATED
    obj = await live(client, ns, "cm")
    assert obj is not None
    assert stale_view is not None
    assert obj["metadata"]["uid"] != stale_view["metadata"]["uid"]
    assert owner_of(obj) == "mine"
    assert obj["data"] == {"v": "2"}


async def test_an_unmarked_object_created_meanwhile_is_adopted(client: LightkubeClient, ns: str) -> None:
    unmarked = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": ns}}
    await client.apply({**unmarked, "data": {"k": "theirs"}}, field_manager="kubectl")

    change = await apply_one(
        client, configmap(ns, "cm", "mine", k="ours"), live=None, verdicts=VerdictCache(), force=True
    )

    assert change.action is Action.CONFIGURED
    obj = await live(client, ns, "cm")
    assert obj is not None
    assert owner_of(obj) == "mine"
    assert obj["data"] == {"k": "ours"}


@pytest.mark.parametrize("creator", ["kubectl", "another app"])
async def test_a_namespace_created_meanwhile_is_left_as_it_is(
    client: LightkubeClient, kube_cluster: Any, creator: str
) -> None:
    name = f"guard-ns-{uuid.uuid4().hex[:8]}"
    manifest = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    if creator == "another app":
        manifest = with_marks(manifest, "other")
    await client.apply(manifest, field_manager="gitward")
    try:
        # The namespace cache saw no such namespace (it is complete, so no GET is made).
        changes = await ensure_namespace(
            client, name, app="mine", live=lambda key: None, verdicts=VerdictCache(), live_is_complete=True
        )
        assert [c.action for c in changes] == [Action.UNCHANGED]
        obj = await client.get("v1", "Namespace", "", name)
        assert obj is not None
        assert owner_of(obj) == (None if creator == "kubectl" else "other")
    finally:
        kube_cluster.kubectl("delete", "namespace", name, "--ignore-not-found", "--wait=false")


async def test_cold_create_costs_one_request_per_object_and_dropped_fields_are_still_removed(
    client: LightkubeClient, ns: str
) -> None:
    manifests = [configmap(ns, f"cm-{i}", "mine", a="1", b="2") for i in range(10)]
    verdicts = VerdictCache()
    before = dict(client.request_counts())

    changes = await apply_staged(client, manifests, app="mine", live=lambda key: None, verdicts=verdicts)

    after = client.request_counts()
    assert [c.action for c in changes] == [Action.CREATED] * 10
    spent = {verb: after[verb] - before.get(verb, 0) for verb in after if after[verb] != before.get(verb, 0)}
    assert spent.get("apply") == 10
    assert set(spent) <= {"apply", "discovery"}

    # The precondition fields are owned by nobody, so a manifest that drops a field removes it.
    current = await live(client, ns, "cm-0")
    change = await apply_one(client, configmap(ns, "cm-0", "mine", a="1"), live=current, verdicts=verdicts)
    assert change.action is Action.CONFIGURED
    obj = await live(client, ns, "cm-0")
    assert obj is not None
    assert obj["data"] == {"a": "1"}
    assert [(m["manager"], m["operation"]) for m in obj["metadata"]["managedFields"]] == [
        ("gitward", "Apply")
    ]

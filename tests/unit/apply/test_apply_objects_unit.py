"""One object applied with its sync options, against the in-memory kube (the real cluster's proof is
``tests/integration/engine/test_engine_sync_options.py``)."""

from __future__ import annotations

from typing import Any

import pytest
from apply_fakekube import FakeKube
from apply_fakeview import FakeView

from gitward.apply import ObjectApply, VerdictCache, apply_object
from gitward.apply.objects import keep_ignored
from gitward.apply.waits import WaitControl
from gitward.core.changes import Action
from gitward.core.keys import ResourceKey
from gitward.core.marks import with_marks
from gitward.diff import IgnoreRule
from gitward.plan import PlannedObject, build_plan

APP = "shop"
KEY = ResourceKey("", "ConfigMap", "shop", "cfg")


def planned(data: dict[str, str], *options: str, **extra: Any) -> PlannedObject:
    meta: dict[str, Any] = {"name": "cfg", "namespace": "shop"}
    if options:
        meta["annotations"] = {"gitward.dev/sync-options": ",".join(options)}
    obj = with_marks({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data, **extra}, APP)
    return build_plan([obj]).steps[0].objects[0]


def ctx(kube: FakeKube, **kw: Any) -> ObjectApply:
    control = WaitControl(view=FakeView(kube), deadline=60.0)
    return ObjectApply(client=kube, app=APP, live=kube.live, verdicts=VerdictCache(), control=control, **kw)


async def test_every_write_is_strictly_validated_unless_validate_false() -> None:
    kube = FakeKube()
    await apply_object(ctx(kube), planned({"a": "1"}))
    await apply_object(ctx(kube), planned({"a": "2"}, "Replace=true", "Validate=false", bogus="x"))
    assert kube.validations[0] == "Strict"
    assert kube.validations[-1] == "Ignore"


async def test_replace_creates_then_puts_the_whole_object_only_when_it_changed() -> None:
    kube = FakeKube()
    first = await apply_object(ctx(kube), planned({"a": "1"}, "Replace=true"))
    assert first.action is Action.CREATED
    assert kube.writes == [("create", KEY)]
    kube.mutate(KEY, {"data": {"extra": "x"}})  # another writer adds a key
    again = await apply_object(ctx(kube), planned({"a": "2"}, "Replace=true"))
    assert again.action is Action.CONFIGURED
    assert again.message == "replaced (Replace=true)"
    assert kube.writes[-1] == ("replace", KEY)
    assert kube.objects[KEY]["data"] == {"a": "2"}  # the other writer's key is gone: a PUT, not a merge
    unchanged = await apply_object(ctx(kube), planned({"a": "2"}, "Replace=true"))
    assert unchanged.action is Action.UNCHANGED
    assert kube.writes[-1] == ("replace", KEY)  # no second write


async def test_replace_refuses_another_apps_object_without_a_request() -> None:
    kube = FakeKube()
    kube.put(
        with_marks(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "shop"}},
            "billing",
        )
    )
    before = sum(kube.counts.values())
    change = await apply_object(ctx(kube), planned({"a": "1"}, "Replace=true"))
    assert change.action is Action.FAILED
    assert "managed by application 'billing'" in change.message
    assert sum(kube.counts.values()) == before


async def test_force_recreates_an_own_object_the_server_refuses_to_update() -> None:
    kube = FakeKube()
    await apply_object(ctx(kube), planned({"a": "1"}, "Force=true"))
    uid = kube.objects[KEY]["metadata"]["uid"]
    kube.immutable.add(KEY)
    change = await apply_object(ctx(kube), planned({"a": "2"}, "Force=true"))
    assert change.action is Action.CONFIGURED
    assert change.message.startswith("re-created (Force=true)")
    assert kube.objects[KEY]["data"] == {"a": "2"}
    assert kube.objects[KEY]["metadata"]["uid"] != uid
    assert [verb for verb, _ in kube.writes[-2:]] == ["delete", "create"]


@pytest.mark.parametrize("owner", [None, "billing"])
async def test_force_never_deletes_an_object_that_is_not_this_apps(owner: str | None) -> None:
    kube = FakeKube()
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": "shop"},
        "data": {},
    }
    kube.put(with_marks(obj, owner) if owner else obj)
    kube.immutable.add(KEY)
    change = await apply_object(ctx(kube), planned({"a": "2"}, "Force=true"))
    assert change.action is Action.FAILED
    assert ("delete", KEY) not in kube.writes


async def test_without_force_an_immutable_refusal_is_a_failure() -> None:
    kube = FakeKube()
    await apply_object(ctx(kube), planned({"a": "1"}))
    kube.immutable.add(KEY)
    change = await apply_object(ctx(kube), planned({"a": "2"}))
    assert change.action is Action.FAILED
    assert "field is immutable" in change.message


async def test_respect_ignore_differences_sends_the_live_value_of_ignored_fields() -> None:
    kube = FakeKube()
    await apply_object(ctx(kube), planned({"a": "1", "b": "1"}))
    kube.mutate(KEY, {"data": {"a": "scaled"}})
    rules = [IgnoreRule(kind="ConfigMap", json_pointers=("/data/a",))]
    await apply_object(ctx(kube, ignore=rules), planned({"a": "1", "b": "2"}))
    assert kube.objects[KEY]["data"] == {"a": "scaled", "b": "2"}
    await apply_object(ctx(kube), planned({"a": "1", "b": "3"}))  # without the option: Git's value
    assert kube.objects[KEY]["data"] == {"a": "1", "b": "3"}


def test_keep_ignored_copies_live_values_and_drops_what_live_lacks() -> None:
    desired = {"spec": {"replicas": 1, "template": {"x": 1}}, "metadata": {"labels": {"a": "1"}}}
    live = {"spec": {"replicas": 5}, "metadata": {"labels": {}}}
    out = keep_ignored(desired, live, ["/spec/replicas", "/metadata/labels/a", "/spec/missing/deep"])
    assert out == {"spec": {"replicas": 5, "template": {"x": 1}}, "metadata": {"labels": {}}}
    assert desired["spec"]["replicas"] == 1  # the manifest itself is untouched
    assert keep_ignored(desired, None, ["/spec/replicas"]) is desired  # a create sends what Git says

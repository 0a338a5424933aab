"""ignoreDifferences by JSON pointer, jq path expression and field manager, resolved on each object."""

from __future__ import annotations

import copy
from typing import Any

from gitward.core.keys import ResourceKey
from gitward.diff import IgnoreRule, compare
from gitward.diff.ignore import needs_managed_fields, places_in
from gitward.diff.managers import owned_pointers

KEY = ResourceKey("apps", "Deployment", "shop", "web")


def _desired() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "replicas": 1,
            "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}},
        },
    }


def _live() -> dict[str, Any]:
    live = _desired()
    live["spec"]["replicas"] = 4
    live["spec"]["template"]["spec"]["containers"].insert(0, {"name": "istio-proxy", "image": "proxy:1"})
    live["metadata"]["managedFields"] = [
        {
            "manager": "gitward",
            "operation": "Apply",
            "fieldsV1": {
                "f:spec": {
                    "f:template": {"f:spec": {"f:containers": {'k:{"name":"web"}': {".": {}, "f:image": {}}}}}
                }
            },
        },
        {"manager": "autoscaler", "operation": "Update", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
        {
            "manager": "istio",
            "operation": "Update",
            "fieldsV1": {
                "f:spec": {
                    "f:template": {
                        "f:spec": {
                            "f:containers": {
                                'k:{"name":"istio-proxy"}': {".": {}, "f:image": {}, "f:name": {}}
                            }
                        }
                    }
                }
            },
        },
    ]
    return live


def test_without_rules_the_replicas_and_the_injected_sidecar_differ() -> None:
    assert compare(_desired(), _live()).changed


def test_field_managers_name_what_they_own_wherever_it_is_in_each_object() -> None:
    rule = IgnoreRule(kind="Deployment", managers=("autoscaler", "istio"))
    live = _live()
    assert rule.places(live) == ["/spec/replicas", "/spec/template/spec/containers/0"]
    # On the desired object the sidecar is absent and replicas present: only what is there.
    assert rule.places(_desired(), live["metadata"]["managedFields"]) == ["/spec/replicas"]
    assert not compare(_desired(), live, ignore=[rule]).changed


def test_field_manager_rules_on_a_cached_copy_need_the_managed_fields_passed() -> None:
    rule = IgnoreRule(group="*", kind="*", managers=("autoscaler", "istio"))
    full = _live()
    cached = copy.deepcopy(full)
    del cached["metadata"]["managedFields"]
    assert needs_managed_fields(KEY, [rule])
    assert compare(_desired(), cached, ignore=[rule]).changed
    assert not compare(_desired(), cached, ignore=[rule], managed=full["metadata"]["managedFields"]).changed


def test_a_jq_expression_removes_the_element_it_selects_on_each_side() -> None:
    sidecar = IgnoreRule.from_dict(
        {
            "group": "apps",
            "kind": "Deployment",
            "jqPathExpressions": ['.spec.template.spec.containers[] | select(.name == "istio-proxy")'],
            "jsonPointers": ["/spec/replicas"],
        }
    )
    assert places_in(KEY, _live(), [sidecar]) == ["/spec/replicas", "/spec/template/spec/containers/0"]
    assert places_in(KEY, _desired(), [sidecar]) == ["/spec/replicas"]
    assert not compare(_desired(), _live(), ignore=[sidecar]).changed
    # Only what the rule names: the web container's image still counts.
    live = _live()
    live["spec"]["template"]["spec"]["containers"][1]["image"] = "nginx:1.26"
    assert compare(_desired(), live, ignore=[sidecar]).paths == ("/spec/template/spec/containers/0/image",)


def test_a_rule_matches_by_group_kind_name_and_namespace_with_stars() -> None:
    assert IgnoreRule(group="*", kind="*").matches(KEY)
    assert IgnoreRule(group="apps", kind="Deployment", name="web", namespace="shop").matches(KEY)
    assert not IgnoreRule(group="apps", kind="StatefulSet").matches(KEY)
    assert not IgnoreRule(kind="Deployment", name="other").matches(KEY)


def test_owned_pointers_resolve_keys_values_and_indices_and_skip_what_is_absent() -> None:
    obj = {
        "metadata": {"finalizers": ["a", "b"]},
        "spec": {"ports": [{"port": 80}, {"port": 443}], "x": [1, 2]},
    }
    entries = [
        {
            "manager": "m",
            "fieldsV1": {
                "f:metadata": {"f:finalizers": {'v:"b"': {}}, "f:labels": {"f:gone": {}}},
                "f:spec": {"f:ports": {'k:{"port":443}': {"f:port": {}}}, "f:x": {"i:1": {}, "i:9": {}}},
            },
        },
        {"manager": "other", "fieldsV1": {"f:spec": {"f:ports": {}}}},
    ]
    assert owned_pointers(entries, ["m"], obj) == [
        "/metadata/finalizers/1",
        "/spec/ports/1/port",
        "/spec/x/1",
    ]

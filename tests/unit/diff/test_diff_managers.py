"""field_managers: attribute drifted paths to the managedFields entry that owns them."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.diff import field_managers


def _live() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "labels": {"app.kubernetes.io/name": "web", "team": "a"},
            "managedFields": [
                {
                    "manager": "gitward",
                    "operation": "Apply",
                    "time": "2024-01-01T00:00:00Z",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {
                        "f:metadata": {"f:labels": {"f:app.kubernetes.io/name": {}}},
                        "f:spec": {
                            "f:replicas": {},
                            "f:template": {
                                "f:spec": {
                                    "f:containers": {
                                        'k:{"name":"web"}': {".": {}, "f:image": {}, "f:name": {}}
                                    }
                                }
                            },
                        },
                    },
                },
                {
                    "manager": "kubectl-edit",
                    "operation": "Update",
                    "time": "2024-02-01T00:00:00Z",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {
                        "f:metadata": {"f:labels": {"f:team": {}}},
                        "f:spec": {
                            "f:replicas": {},
                            "f:template": {
                                "f:spec": {
                                    "f:containers": {'k:{"name":"sidecar"}': {".": {}, "f:image": {}}},
                                    "f:tolerations": {},
                                }
                            },
                        },
                    },
                },
                {
                    "manager": "finalizer-bot",
                    "operation": "Update",
                    "time": "2023-01-01T00:00:00Z",
                    "fieldsV1": {"f:metadata": {"f:finalizers": {'v:"example.com/x"': {}}}},
                },
                {"manager": "empty", "operation": "Update", "time": "2099-01-01T00:00:00Z", "fieldsV1": {}},
            ],
            "finalizers": ["example.com/x"],
        },
        "spec": {
            "replicas": 3,
            "template": {
                "spec": {
                    "containers": [{"name": "web", "image": "a"}, {"name": "sidecar", "image": "b"}],
                    "tolerations": [{"key": "k"}],
                }
            },
        },
    }


@pytest.mark.parametrize(
    ("path", "manager"),
    [
        ("/metadata/labels/app.kubernetes.io~1name", "gitward"),
        ("/metadata/labels/team", "kubectl-edit"),
        ("/spec/template/spec/containers/0/image", "gitward"),
        ("/spec/template/spec/containers/1/image", "kubectl-edit"),
        ("/spec/template/spec/tolerations/0/key", "kubectl-edit"),  # atomic list owned as a whole
        ("/spec/replicas", "kubectl-edit"),  # shared: the most recent writer
        ("/metadata/finalizers/0", "finalizer-bot"),
    ],
)
def test_field_managers_attributes_paths(path: str, manager: str) -> None:
    assert field_managers(_live(), [path]) == {path: manager}


@pytest.mark.parametrize(
    "path",
    ["/spec/template/spec/containers/5/image", "/spec/paused", "/metadata/annotations/x", "", "/status"],
)
def test_field_managers_leaves_out_unowned(path: str) -> None:
    assert field_managers(_live(), [path]) == {}


def test_field_managers_without_managed_fields() -> None:
    assert field_managers({"metadata": {"name": "x"}}, ["/spec/replicas"]) == {}

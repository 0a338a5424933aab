"""A Project's ``syncWindows`` (Argo CD's field names) and an Application's ``spec.suspend``."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.model import Application, load_objects

pytestmark = pytest.mark.unit


def _project(*windows: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Project",
        "metadata": {"name": "prod"},
        "spec": {"syncWindows": list(windows)},
    }


DENY = {"kind": "deny", "schedule": "0 22 * * *", "duration": "8h", "applications": ["*"]}


def test_windows_are_read_with_argo_cd_field_names() -> None:
    window = {
        **DENY,
        "namespaces": ["web-*"],
        "clusters": ["prod"],
        "manualSync": True,
        "timeZone": "Europe/Berlin",
        "andOperator": True,
        "name": "nightly",
    }
    loaded = load_objects([_project(window)])
    assert not loaded.errors
    (spec,) = loaded.projects[0].spec.sync_windows
    assert spec.document() == {
        **window,
        "description": "",
    }


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"syncOverrun": True}, "spec.syncWindows[0].syncOverrun: unknown field"),
        ({"kind": "maybe"}, "spec.syncWindows[0].kind"),
        ({"schedule": ""}, "spec.syncWindows[0].schedule"),
        ({"applications": "web"}, "spec.syncWindows[0].applications"),
        ({"manualSync": "sometimes"}, "spec.syncWindows[0].manualSync"),
    ],
)
def test_a_malformed_window_refuses_the_project_naming_the_field(change: dict[str, Any], path: str) -> None:
    loaded = load_objects([_project({**DENY, **change})])
    assert not loaded.projects
    (error,) = loaded.errors
    assert (error.kind, error.name) == ("Project", "prod")
    assert path in error.message


def test_spec_suspend_defaults_to_false() -> None:
    spec: dict[str, Any] = {"source": {"repoURL": "https://git.example.com/a.git", "path": "a"}}
    app = Application.model_validate({"metadata": {"name": "a"}, "spec": spec})
    assert app.spec.suspend is False
    suspended = Application.model_validate({"metadata": {"name": "a"}, "spec": {**spec, "suspend": True}})
    assert suspended.spec.suspend is True
    assert suspended.to_document()["spec"]["suspend"] is True

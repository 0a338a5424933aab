"""Flux-style ${VAR} substitution on string values."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitward.render import RenderParams, RenderTools, render
from gitward.render.substitute import substitute_manifests, substitute_text

VARIABLES = {"CLUSTER": "prod", "EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${CLUSTER}", "prod"),
        ("app-${CLUSTER}-x", "app-prod-x"),
        ("${EMPTY}", ""),
        ("${MISSING}", "${MISSING}"),  # unknown without default: left as written
        ("${MISSING:=eu}", "eu"),
        ("${MISSING:-eu}", "eu"),
        ("${CLUSTER:=eu}", "prod"),
        ("$${CLUSTER}", "${CLUSTER}"),  # escape
        ("$CLUSTER", "$CLUSTER"),
        ("${CLUSTER", "${CLUSTER"),
        ("${1BAD}", "${1BAD}"),
    ],
)
def test_substitute_text(text: str, expected: str) -> None:
    assert substitute_text(text, VARIABLES) == expected


def test_only_string_values_are_substituted_and_input_is_untouched() -> None:
    manifest = {
        "metadata": {"name": "a-${CLUSTER}", "labels": {"${CLUSTER}": "${CLUSTER}"}},
        "spec": {"replicas": 3, "list": ["${CLUSTER}", 1, None, True]},
    }
    [out] = substitute_manifests([manifest], VARIABLES)
    assert out == {
        "metadata": {"name": "a-prod", "labels": {"${CLUSTER}": "prod"}},
        "spec": {"replicas": 3, "list": ["prod", 1, None, True]},
    }
    assert manifest["metadata"]["name"] == "a-${CLUSTER}"


def test_substituted_text_is_never_parsed_as_yaml() -> None:
    [out] = substitute_manifests([{"data": {"k": "${V}"}}], {"V": "a: {b: 1}\n- x"})
    assert out == {"data": {"k": "a: {b: 1}\n- x"}}


def test_no_variables_means_no_substitution_at_all() -> None:
    manifests = [{"data": {"k": "$${X}"}}]
    assert substitute_manifests(manifests, {}) == [{"data": {"k": "$${X}"}}]


async def test_only_the_apps_variables_are_read_never_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``${VAR}`` names the app's declared variables only: not gitward's environment, not files."""
    monkeypatch.setenv("GITWARD_TEST_SECRET", "leaked")
    (tmp_path / "secret.txt").write_text("leaked")
    (tmp_path / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata:\n"
        "  env: ${GITWARD_TEST_SECRET}\n  home: ${HOME}\n  path: ${PATH}\n"
        f"  file: ${{{tmp_path}/secret.txt}}\n"
        "  default: ${UNSET:=$(cat secret.txt)}\n  mine: ${CLUSTER}\n"
    )
    tools = RenderTools(kustomize=Path("/nonexistent/kustomize"), helm=Path("/nonexistent/helm"))
    result = await render(
        tmp_path,
        root=tmp_path,
        params=RenderParams(substitute={"CLUSTER": "prod"}),
        tools=tools,
        kube_version="",
        api_versions=(),
    )
    [configmap] = result.manifests
    assert configmap["data"] == {
        "env": "${GITWARD_TEST_SECRET}",
        "home": "${HOME}",
        "path": "${PATH}",
        "file": f"${{{tmp_path}/secret.txt}}",
        "default": "$(cat secret.txt)",
        "mine": "prod",
    }
    assert "leaked" not in str(result.manifests)

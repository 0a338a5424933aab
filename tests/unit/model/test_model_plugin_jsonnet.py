"""The ``Plugin`` kind, an app's ``plugin`` and ``directory.jsonnet`` blocks, and their Argo CD forms."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from gitward.model import Application, Plugin, from_argocd, load_objects
from gitward.model.crds import crds

PLUGIN = {
    "apiVersion": "gitward.dev/v1alpha1",
    "kind": "Plugin",
    "metadata": {"name": "kustomize-helm"},
    "spec": {
        "init": {"command": ["sh", "-c"], "args": ["echo init"]},
        "generate": {"command": ["kustomize", "build", "--enable-helm"], "args": ["."]},
        "discover": {"fileName": "./kustomization.yaml"},
        "timeout": "2m",
    },
}


def app(source: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "web"},
        "spec": {"source": {"repoURL": "https://git.example.com/apps.git", **source}},
    }


def test_a_plugin_loads_with_its_commands_and_the_app_that_names_it() -> None:
    loaded = load_objects([PLUGIN, app({"path": "web", "plugin": {"name": "kustomize-helm"}})])
    assert loaded.errors == ()
    (plugin,) = loaded.plugins
    assert plugin.spec.generate.argv == ("kustomize", "build", "--enable-helm", ".")
    assert plugin.spec.init is not None
    assert plugin.spec.init.argv == ("sh", "-c", "echo init")
    assert plugin.spec.discover is not None
    assert plugin.spec.discover.file_name == "./kustomization.yaml"
    assert plugin.spec.timeout == 120
    (application,) = loaded.applications
    assert application.spec.source.render_hint == "plugin"


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"generate": {"command": []}}, "spec.generate.command"),
        ({"generate": {"command": ["bin/tool"]}}, "a bare name or an absolute path"),
        ({"generate": {"command": ["my tool"]}}, "must name a program"),
        ({"generate": {"command": ["sh"]}, "discover": {"fileName": "../*.yaml"}}, "inside the app's folder"),
        ({"generate": {"command": ["sh"]}, "discover": {"fileName": "/etc/*"}}, "inside the app's folder"),
        ({"generate": {"command": ["sh"]}, "discover": {"find": {"glob": "**"}}}, "spec.discover.find"),
        ({"generate": {"command": ["sh"]}, "version": "v1.0"}, "spec.version"),
        ({"generate": {"command": ["sh"]}, "preserveFileMode": True}, "spec.preserveFileMode"),
        ({"generate": {"command": ["sh"]}, "timeout": "0s"}, "spec.timeout"),
        ({"init": {"command": ["sh"]}}, "spec.generate"),
    ],
)
def test_plugin_fields_gitward_does_not_run_or_that_are_wrong_are_refused(
    spec: dict[str, Any], fragment: str
) -> None:
    loaded = load_objects([{**PLUGIN, "spec": spec}])
    assert loaded.plugins == ()
    (error,) = loaded.errors
    assert error.kind == "Plugin"
    assert fragment in error.message


def test_plugin_env_and_parameters_as_argo_cd_writes_them() -> None:
    source = app(
        {
            "plugin": {
                "env": [{"name": "FOO", "value": "bar-$ARGOCD_APP_NAME-$$HOME"}],
                "parameters": [
                    {"name": "values-files", "array": ["a.yaml"]},
                    {"name": "image", "map": {"tag": "v1"}},
                    {"name": "mode", "string": "fast"},
                ],
            }
        }
    )
    plugin = Application.model_validate(source).spec.source.plugin
    assert plugin is not None
    assert plugin.name is None
    assert [(e.name, e.value) for e in plugin.env] == [("FOO", "bar-$ARGOCD_APP_NAME-$$HOME")]
    assert [p.array for p in plugin.parameters] == [("a.yaml",), None, None]


def test_jsonnet_options_load_with_build_variables_and_code_values() -> None:
    source = app(
        {
            "directory": {
                "jsonnet": {
                    "libs": ["vendor", "./lib/"],
                    "extVars": [
                        {"name": "app", "value": "${ARGOCD_APP_NAME}"},
                        {"name": "n", "value": "3", "code": True},
                    ],
                    "tlas": [
                        {"name": "ns", "value": "$ARGOCD_APP_NAMESPACE"},
                        {"name": "f", "value": "{a: $.b}", "code": True},
                    ],
                }
            }
        }
    )
    directory = Application.model_validate(source).spec.source.directory
    assert directory is not None
    assert directory.jsonnet is not None
    assert directory.jsonnet.libs == ("vendor", "lib")
    assert [(v.name, v.code) for v in directory.jsonnet.tlas] == [("ns", False), ("f", True)]


def test_argo_cd_jsonnet_and_plugin_sources_convert() -> None:
    base: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "guestbook"},
        "spec": {
            "project": "default",
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "gb"},
        },
    }
    jsonnet = {
        "repoURL": "https://github.com/argoproj/argocd-example-apps.git",
        "path": "jsonnet-guestbook",
        "directory": {
            "recurse": True,
            "jsonnet": {
                "libs": ["vendor"],
                "extVars": [{"name": "app", "value": "$ARGOCD_APP_NAME"}],
                "tlas": [{"name": "replicas", "value": "2", "code": True}],
            },
        },
    }
    converted = from_argocd({**base, "spec": {**base["spec"], "source": jsonnet}}).spec.source
    assert converted.directory is not None
    assert converted.directory.jsonnet is not None
    assert converted.directory.recurse is True
    assert converted.directory.jsonnet.tlas[0].code is True
    plugin = {
        "repoURL": "https://github.com/org/apps.git",
        "path": "cmp",
        "plugin": {"env": [{"name": "FOO", "value": "x"}]},
    }
    converted = from_argocd({**base, "spec": {**base["spec"], "source": plugin}}).spec.source
    assert converted.plugin is not None
    assert converted.plugin.env[0].name == "FOO"
    assert converted.directory is None  # a plugin source is not a plain folder
    empty = {"repoURL": "https://github.com/org/apps.git", "path": "cmp", "plugin": {}}
    assert (
        from_argocd({**base, "spec": {**base["spec"], "source": empty}}).spec.source.render_hint == "plugin"
    )


def test_the_plugin_kind_has_a_custom_resource_definition_that_refuses_what_the_model_refuses() -> None:
    (crd,) = [c for c in crds() if c["spec"]["names"]["kind"] == "Plugin"]
    assert crd["metadata"]["name"] == "plugins.gitward.dev"
    assert crd["spec"]["names"]["shortNames"] == ["gwplugin"]
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert spec["required"] == ["generate"]
    assert spec["properties"]["generate"]["properties"]["command"]["minItems"] == 1
    Plugin.model_validate(PLUGIN)
    with pytest.raises(pydantic.ValidationError):
        Plugin.model_validate({**PLUGIN, "spec": {"generate": {"command": []}}})

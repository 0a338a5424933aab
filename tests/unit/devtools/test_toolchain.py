"""The tool builder: staging-module mapping, cached tools are never rebuilt, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from devtools import toolchain

GO_MOD = """module k8s.io/kubernetes

go 1.26.0

require (
\tgithub.com/foo/bar v1.2.3
\tk8s.io/api v0.0.0
\tk8s.io/client-go v0.0.0
\tk8s.io/klog/v2 v2.130.1
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
)
"""


def test_each_staging_module_maps_to_its_published_release() -> None:
    lines = toolchain.staging_replacements(GO_MOD, "v1.36.3")
    assert lines == ["\tk8s.io/api => k8s.io/api v0.36.3", "\tk8s.io/client-go => k8s.io/client-go v0.36.3"]


def test_a_built_tool_is_not_built_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITWARD_CACHE", str(tmp_path))
    tool = toolchain.Tool("kwok", toolchain.KWOK_VERSION)
    tool.directory.mkdir(parents=True)
    tool.path.write_text("#!/bin/sh\n")
    tool.path.chmod(0o755)

    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cached tool must not be rebuilt")

    monkeypatch.setattr(toolchain, "_run", no_build)
    assert toolchain.build_kwok() == tool.path


def test_missing_go_is_a_one_line_error_naming_the_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITWARD_CACHE", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(toolchain.ToolError) as err:
        toolchain.build_kwok()
    assert str(err.value).startswith("kwok: the Go toolchain is missing")
    assert "\n" not in str(err.value)


def test_a_failed_build_names_the_step_and_the_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITWARD_CACHE", str(tmp_path))
    monkeypatch.setattr(toolchain, "KWOK_VERSION", "v0.0.0-does-not-exist")
    with pytest.raises(toolchain.ToolError) as err:
        toolchain._go_install(toolchain.Tool("kwok", "v0.0.0-does-not-exist"), "sigs.k8s.io/kwok/cmd/kwok")
    message = str(err.value)
    assert message.startswith("kwok: `go install")
    assert str(tmp_path / "logs" / "build-kwok.log") in message


FLUX_GO_MOD = """module github.com/fluxcd/kustomize-controller

go 1.26.0

replace github.com/fluxcd/kustomize-controller/api => ./api

// Replace digest lib to master to gather access to BLAKE3.
replace github.com/opencontainers/go-digest => github.com/opencontainers/go-digest v1.0.1-0.2022

require (
\tgithub.com/fluxcd/kustomize-controller/api v1.9.6
)

replace (
\tsigs.k8s.io/kustomize/api => sigs.k8s.io/kustomize/api v0.21.1 // pinned
\tsigs.k8s.io/kustomize/kyaml => ../kyaml
)
"""


def test_only_replacements_by_a_module_version_are_copied() -> None:
    assert toolchain.module_replacements(FLUX_GO_MOD) == [
        "\tsigs.k8s.io/kustomize/api => sigs.k8s.io/kustomize/api v0.21.1",
        "\tgithub.com/opencontainers/go-digest => github.com/opencontainers/go-digest v1.0.1-0.2022",
    ]

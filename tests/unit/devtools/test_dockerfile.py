"""The Dockerfile and ``./dev image`` agree with the pinned tools and with the install's Deployment."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from devtools import image, toolchain

import gitward
from gitward.install.manifests import NAME, PORT, STATE_DIR, Settings, deployment

pytestmark = pytest.mark.unit

DOCKERFILE = (Path(__file__).resolve().parents[3] / "Dockerfile").read_text()


def _instructions(keyword: str) -> list[str]:
    """Arguments of each ``KEYWORD ...`` line (continuations joined)."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [m.group(1).strip() for m in re.finditer(rf"^{keyword}\s+(.*)$", joined, re.M)]


def _args() -> dict[str, str]:
    return dict(a.split("=", 1) for a in _instructions("ARG") if "=" in a)


def _final_stage() -> str:
    return re.split(r"^FROM ", DOCKERFILE, flags=re.M)[-1]


def _container() -> dict[str, object]:
    spec = deployment(Settings())["spec"]["template"]["spec"]
    return {"pod": spec["securityContext"], **spec["containers"][0]}


def test_the_pinned_tools_are_the_toolchains_versions() -> None:
    args = _args()
    assert args["HELM_VERSION"] == toolchain.HELM_VERSION
    assert args["KUSTOMIZE_VERSION"] == toolchain.KUSTOMIZE_VERSION
    assert args["SOPS_VERSION"] == toolchain.SOPS_VERSION
    assert args["JSONNET_VERSION"] == toolchain.JSONNET_VERSION
    assert args["KUBERNETES_MINOR"] == toolchain.KUBERNETES_VERSION.split(".")[1]
    assert args["VERSION"] == gitward.__version__
    go = re.search(r"^FROM golang:(\d+\.\d+)", DOCKERFILE, re.M)
    assert go is not None
    assert go.group(1) == "1.26"


def test_the_tools_are_built_as_the_toolchain_builds_them() -> None:
    (run,) = [r for r in _instructions("RUN") if "go install" in r]
    assert "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}" in run
    assert "sigs.k8s.io/kustomize/kustomize/v5@${KUSTOMIZE_VERSION}" in run
    assert "github.com/getsops/sops/v3/cmd/sops@${SOPS_VERSION}" in run
    assert "github.com/google/go-jsonnet/cmd/jsonnet@${JSONNET_VERSION}" in run
    for stamp in (
        "internal/version.version=${HELM_VERSION}",
        "chartutil.k8sVersionMinor=${KUBERNETES_MINOR}",
    ):
        assert stamp in run
    assert "CGO_ENABLED=0" in " ".join(_instructions("ENV"))


def test_the_image_runs_as_the_deployments_user_with_the_gitward_entrypoint() -> None:
    container = _container()
    pod = container["pod"]
    assert isinstance(pod, dict)
    user = f"{pod['runAsUser']}:{pod['runAsGroup']}"
    final = _final_stage()
    assert re.search(rf"^USER {user}$", final, re.M)
    assert user == image.USER
    assert f"gitward:x:{pod['runAsUser']}:{pod['runAsGroup']}:" in final
    assert json.loads(_instructions("ENTRYPOINT")[-1]) == [NAME]


def test_state_home_and_default_command_match_the_deployment() -> None:
    container = _container()
    assert [m["mountPath"] for m in container["volumeMounts"]] == [STATE_DIR, "/tmp"]  # type: ignore[attr-defined]
    env = {e["name"]: e["value"] for e in container["env"]}  # type: ignore[attr-defined]
    final = _final_stage()
    assert json.loads(_instructions("VOLUME")[-1]) == [STATE_DIR]
    assert f"HOME={env['HOME']}" in final
    assert image.ENV["HOME"] == env["HOME"]
    assert f"TMPDIR={env['TMPDIR']}" in final
    for key in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        assert f"{key}={image.ENV[key]}" in final
        assert image.ENV[key].startswith(env["HOME"] + "/")
    cmd = json.loads(_instructions("CMD")[-1])
    assert cmd == container["args"][: len(cmd)] == image.CMD  # type: ignore[index]
    assert f"EXPOSE {PORT}" in final


def test_the_image_installs_the_programs_gitward_run_needs() -> None:
    final = _final_stage()
    for package in ("git", "openssh-client", "bubblewrap", "python3", "gpg", "ca-certificates"):
        assert re.search(rf"\s{re.escape(package)}(\s|$)", final), package
        assert package in image.RUN_PACKAGES
    for tool in ("helm", "kustomize", "sops"):
        assert f"/out/{tool}" in final


def test_dev_setup_does_not_install_the_image_builders() -> None:
    devtools_dir = Path(image.__file__).parent
    assert not (devtools_dir / "image-packages.txt").match("debian-packages*.txt")
    assert "buildah" not in (devtools_dir / "debian-packages.txt").read_text()

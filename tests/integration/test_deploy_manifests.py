"""``deploy/``: the checked-in kustomize base and Helm chart are what the install builder makes, and the
pinned kustomize and helm read them into exactly the builder's manifests."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml
from devtools import deploymanifests

from gitward.install import Settings, build

ROOT = Path(__file__).resolve().parents[2]


def _key(obj: dict[str, Any]) -> tuple[str, str, str]:
    meta = obj["metadata"]
    return (obj["kind"], meta.get("namespace", ""), meta["name"])


def _by_key(documents: list[Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {_key(d): d for d in documents if d}


def _run(*args: str | Path) -> str:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_checked_in_files_are_the_generated_ones() -> None:
    generated = deploymanifests.render()
    for relative, text in generated.items():
        assert (ROOT / relative).read_text(encoding="utf-8") == text, (
            f"{relative} is stale: run python -m devtools deploy-manifests"
        )
    on_disk = {p.relative_to(ROOT) for p in (ROOT / "deploy").rglob("*") if p.is_file()}
    assert on_disk - set(generated) <= {Path("deploy/README.md")}


def test_kustomize_build_gives_the_default_install(tools: dict[str, Path]) -> None:
    built = _by_key(list(yaml.safe_load_all(_run(tools["kustomize"], "build", "deploy/kustomize"))))
    assert built == _by_key(list(build(Settings()).everything))


def test_helm_lint_and_template_give_the_install_for_the_values(tools: dict[str, Path]) -> None:
    chart = "deploy/helm/gitward"
    _run(tools["helm"], "lint", "--strict", chart)
    settings = Settings(namespace="team-a", replicas=1, image="registry.example/gitward:9", apply_role=False)
    rendered = _run(
        tools["helm"],
        *("template", "gitward", chart, "--namespace", settings.namespace, "--include-crds"),
        *("--set", f"replicas={settings.replicas}", "--set", f"image={settings.image}"),
        *("--set", "applyRole=false"),
    )
    expected = build(settings)
    without_namespace = [m for m in expected.everything if m["kind"] != "Namespace"]  # --create-namespace
    assert _by_key(list(yaml.safe_load_all(rendered))) == _by_key(without_namespace)
    several = subprocess.run(
        [str(tools["helm"]), "template", "gitward", chart, "--set", "replicas=3"],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    assert several.returncode != 0
    assert "replicas 3: more than one replica needs a state database they share" in several.stderr
    with_apply_role = _run(tools["helm"], "template", "gitward", chart, "--namespace", "team-a")
    kinds = {_key(d) for d in yaml.safe_load_all(with_apply_role) if d}
    assert ("ClusterRoleBinding", "", "gitward-apply-team-a") in kinds

"""Signed commits through the real engine (docs/reliability.md, bad input 14).

A Project that lists trusted keys (a GPG key file and an SSH allowed-signers file): an unsigned
commit is refused with nothing applied and the status naming the commit; commits signed by the
trusted GPG and SSH keys deploy; on top of them, a commit signed by a key the project does not
trust and an unsigned one are refused while the last good state stays. A Flux GitRepository's
``verify`` (keys from its Secret, read from the secrets folder) is honoured the same way. Keys,
signatures and verdicts come from the real gpg, ssh-keygen and git.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import yaml
from devtools import toolchain
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, application, configmap
from tests.integration.trust_fixtures import GpgKey, SshKey, signed_commit

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def keys() -> Iterator[dict[str, GpgKey]]:
    made = {name: GpgKey.create(name) for name in ("alice", "mallory")}
    yield made
    for key in made.values():
        key.close()


@pytest.fixture(autouse=True)
def sops_on_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITWARD_SOPS", str(toolchain.tool_path("sops")))


def _data(kube_cluster: Any, name: str, namespace: str) -> dict[str, str] | None:
    out = kube_cluster.kubectl("get", "configmap", name, "-n", namespace, "-o", "json", check=False)
    return yaml.safe_load(out)["data"] if out.strip() else None


async def _refused(harness: Harness, app: str, *fragments: str) -> str:
    await harness.until(lambda: all(f in str(harness.app(app)["message"]) for f in fragments))
    await harness.settle()
    return str(harness.app(app)["message"])


async def test_only_commits_signed_by_the_projects_keys_deploy(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any, keys: dict[str, GpgKey],
    tmp_path: Path,
) -> None:  # fmt: skip
    alice, mallory = keys["alice"], keys["mallory"]
    bob = SshKey.create(tmp_path / "ssh", "bob")
    eve = SshKey.create(tmp_path / "ssh", "eve")
    (tmp_path / "alice.asc").write_bytes(alice.public())
    (tmp_path / "allowed_signers").write_text(f"bob@example.com {bob.public}\n")
    app = f"signed-{uuid4().hex[:6]}"
    repo = git_server.create_repo(app, {"app/cm.yaml": configmap(app, {"v": "unsigned-1"})})
    project = {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Project",
        "metadata": {"name": "trusted"},
        "spec": {"signatureKeys": {
            "gpgKeyFiles": [str(tmp_path / "alice.asc")],
            "sshAllowedSignersFiles": [str(tmp_path / "allowed_signers")],
        }},
    }  # fmt: skip
    spec = application(app, repo=git_server.url(app), path="app", namespace=namespace, project="trusted")
    harness.configure(project, spec)
    engine = await harness.start()

    unsigned = repo.head()
    message = await _refused(harness, app, unsigned[:12], "is not signed")
    assert "project 'trusted'" in message
    assert "nothing is applied" in message
    assert _data(kube_cluster, app, namespace) is None
    assert harness.writes() == 0

    by_gpg = signed_commit(repo, {"app/cm.yaml": configmap(app, {"v": "gpg"})}, gpg=alice)
    await engine.refresh_app(app)
    await harness.until(lambda: _data(kube_cluster, app, namespace) == {"v": "gpg"})
    assert harness.app(app)["sync"]["revision"] == by_gpg

    by_ssh = signed_commit(repo, {"app/cm.yaml": configmap(app, {"v": "ssh"})}, ssh=bob)
    await engine.refresh_app(app)
    await harness.until(lambda: _data(kube_cluster, app, namespace) == {"v": "ssh"})
    assert harness.is_synced_healthy(app)
    good = harness.app(app)["sync"]["revision"]
    assert good == by_ssh

    # Refused on top of a good deployment: the live object and the app's revision stay as they were.
    for signer, files, why in [
        ({"gpg": mallory}, {"v": "by-mallory"}, "not among the trusted keys"),
        ({"ssh": eve}, {"v": "by-eve"}, "not among the trusted keys"),
        ({}, {"v": "unsigned-2"}, "is not signed"),
    ]:
        commit = signed_commit(repo, {"app/cm.yaml": configmap(app, files)}, **signer)  # type: ignore[arg-type]
        await engine.refresh_app(app)
        await _refused(harness, app, commit[:12], why)
        assert _data(kube_cluster, app, namespace) == {"v": "ssh"}
        assert harness.app(app)["sync"]["revision"] == good

    runs = engine.fetcher.signatures.verifications
    await engine.refresh_app(app)
    assert engine.fetcher.signatures.verifications == runs  # the verdict on that commit is remembered


async def test_a_flux_git_repository_verify_is_honoured_with_keys_from_its_secret(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any, keys: dict[str, GpgKey],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    secrets = tmp_path / "secrets"
    (secrets / "flux-system" / "pgp-public").mkdir(parents=True)
    (secrets / "flux-system" / "pgp-public" / "alice.asc").write_bytes(keys["alice"].public())
    monkeypatch.setenv("GITWARD_SECRETS_DIR", str(secrets))
    kube_cluster.kubectl("create", "namespace", namespace)
    name = f"flux-{uuid4().hex[:6]}"
    repo = git_server.create_repo(name, {
        "apps/cm.yaml": configmap(name, {"v": "unsigned"}),
        "apps/kustomization.yaml": "resources: [cm.yaml]\n",
    })  # fmt: skip
    flux = [
        {"apiVersion": "gitward.dev/v1alpha1", "kind": "Cluster", "metadata": {"name": "in-cluster"},
         "spec": {"kubeconfig": str(kube_cluster.kubeconfig)}},
        {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
         "metadata": {"name": name, "namespace": "flux-system"},
         "spec": {"url": git_server.url(name), "ref": {"branch": "main"}, "interval": "1h",
                  "verify": {"mode": "HEAD", "secretRef": {"name": "pgp-public"}}}},
        {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
         "metadata": {"name": name, "namespace": "flux-system"},
         "spec": {"interval": "1h", "retryInterval": "1s", "path": "./apps", "prune": True,
                  "targetNamespace": namespace, "sourceRef": {"kind": "GitRepository", "name": name}}},
    ]  # fmt: skip
    harness.configure(*flux)
    engine = await harness.start()
    await _refused(harness, name, repo.head()[:12], "is not signed", "spec.source.verify")
    assert _data(kube_cluster, name, namespace) is None

    signed_commit(repo, {"apps/cm.yaml": configmap(name, {"v": "signed"})}, gpg=keys["alice"])
    await engine.refresh_app(name)
    await harness.until(lambda: _data(kube_cluster, name, namespace) == {"v": "signed"})

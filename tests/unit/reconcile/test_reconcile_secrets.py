"""Credentials read from Secrets: the keys, private files for SSH and kubeconfigs, errors without values."""

from __future__ import annotations

import base64
import stat
from pathlib import Path
from typing import Any, cast

import pytest

from gitward.cluster.client import KubeClient
from gitward.core.errors import ClusterError, FetchError
from gitward.model.cluster import Cluster
from gitward.model.flux import credentials_repository
from gitward.model.receiver import Receiver
from gitward.model.repository import Repository
from gitward.reconcile.secrets import ClusterSecrets, receiver_secret


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class _Kube:
    def __init__(self) -> None:
        self.secrets: dict[tuple[str, str], dict[str, str]] = {}
        self.forbidden = False

    async def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        assert (api_version, kind) == ("v1", "Secret")
        if self.forbidden:
            raise ClusterError("secrets is forbidden", status=403)
        data = self.secrets.get((namespace, name))
        return None if data is None else {"data": {k: _b64(v) for k, v in data.items()}}


def _repository(**spec: Any) -> Repository:
    return Repository.model_validate(
        {
            "metadata": {"name": "private", "namespace": "gitward"},
            "spec": {"url": "https://git.example.com/", "secretRef": {"name": "git-creds"}, **spec},
        }
    )


async def test_basic_auth_and_token_are_read_at_each_use(tmp_path: Path) -> None:
    kube = _Kube()
    secrets = ClusterSecrets(cast(KubeClient, kube), tmp_path / "secrets")
    kube.secrets[("gitward", "git-creds")] = {"username": "deploy", "password": "first\n"}
    creds = await secrets.git_credentials(_repository())
    assert (creds.username, creds.password) == ("deploy", "first")
    kube.secrets[("gitward", "git-creds")] = {"bearerToken": "tok-123"}
    creds = await secrets.git_credentials(_repository())
    assert creds.bearer_token == "tok-123"
    assert creds.password is None
    assert not (tmp_path / "secrets").exists()  # nothing written for values git takes from memory


async def test_ssh_keys_and_a_kubeconfig_become_private_files(tmp_path: Path) -> None:
    kube = _Kube()
    folder = tmp_path / "secrets"
    secrets = ClusterSecrets(cast(KubeClient, kube), folder)
    kube.secrets[("gitward", "git-creds")] = {"sshPrivateKey": "KEY", "knownHosts": "host ssh-ed25519 AAAA"}
    creds = await secrets.git_credentials(_repository())
    assert creds.ssh_private_key is not None
    assert creds.known_hosts is not None
    assert creds.ssh_private_key.read_text() == "KEY\n"
    assert creds.known_hosts.read_text() == "host ssh-ed25519 AAAA"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(creds.ssh_private_key.stat().st_mode) == 0o600

    kube.secrets[("team", "prod")] = {"kubeconfig": "apiVersion: v1\nkind: Config\n"}
    cluster = Cluster.model_validate(
        {"metadata": {"name": "prod", "namespace": "team"}, "spec": {"secretRef": {"name": "prod"}}}
    )
    path = await secrets.kubeconfig(cluster)
    assert path.read_text() == "apiVersion: v1\nkind: Config\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_errors_name_the_secret_and_never_a_value(tmp_path: Path) -> None:
    kube = _Kube()
    secrets = ClusterSecrets(cast(KubeClient, kube), tmp_path / "secrets")
    with pytest.raises(FetchError, match=r"'git-creds' in namespace 'gitward'.*not found") as missing:
        await secrets.git_credentials(_repository())
    assert missing.value.reason == "SecretNotFound"
    kube.secrets[("gitward", "git-creds")] = {"user": "deploy", "pass": "hunter2-value"}
    with pytest.raises(FetchError, match="holds none of the keys") as wrong_keys:
        await secrets.git_credentials(_repository())
    assert "hunter2-value" not in str(wrong_keys.value)
    kube.forbidden = True
    with pytest.raises(FetchError, match="Secrets in its own namespace only"):
        await secrets.git_credentials(_repository())


async def test_a_flux_git_repository_secret_is_read_with_flux_keys_and_named_in_errors(
    tmp_path: Path,
) -> None:
    """The implied Repository of a GitRepository's secretRef: Flux's identity/known_hosts keys, read in
    the GitRepository's namespace, and errors that name the GitRepository."""
    git_repository = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": "fleet", "namespace": "flux-system"},
        "spec": {"url": "ssh://git@git.example.com/org/fleet.git", "secretRef": {"name": "fleet-auth"}},
    }
    repository = credentials_repository(git_repository)
    assert repository is not None
    kube = _Kube()
    secrets = ClusterSecrets(cast(KubeClient, kube), tmp_path / "secrets")
    kube.secrets[("flux-system", "fleet-auth")] = {"identity": "KEY", "known_hosts": "host ssh-ed25519 AAAA"}
    creds = await secrets.git_credentials(repository)
    assert creds.ssh_private_key is not None
    assert creds.ssh_private_key.read_text() == "KEY\n"
    assert creds.known_hosts is not None
    kube.forbidden = True
    with pytest.raises(FetchError, match="Secrets in its own namespace only") as forbidden:
        await secrets.git_credentials(repository)
    assert "GitRepository flux-system/fleet" in str(forbidden.value)
    assert "namespace 'flux-system'" in str(forbidden.value)


async def test_a_receivers_secret_comes_from_its_secret_or_its_file_and_is_empty_when_unreadable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kube = _Kube()
    secrets = ClusterSecrets(cast(KubeClient, kube), tmp_path / "secrets")
    by_secret = Receiver.model_validate(
        {
            "metadata": {"name": "push", "namespace": "gitward"},
            "spec": {"type": "generic", "secretRef": {"name": "push"}},
        }
    )
    kube.secrets[("gitward", "push")] = {"secret": "shared-value\n"}
    assert await receiver_secret(by_secret, secrets) == b"shared-value"
    kube.secrets[("gitward", "push")] = {"token": "under-another-key"}
    assert await receiver_secret(by_secret, secrets) == b""
    assert await receiver_secret(by_secret, None) == b""  # no management cluster to read it from

    (tmp_path / "push.secret").write_text("from-a-file\n")
    by_file = Receiver.model_validate(
        {
            "metadata": {"name": "file"},
            "spec": {"type": "generic", "secretFile": str(tmp_path / "push.secret")},
        }
    )
    assert await receiver_secret(by_file, secrets) == b"from-a-file"
    (tmp_path / "push.secret").unlink()
    assert await receiver_secret(by_file, secrets) == b""
    logged = caplog.text
    assert "Secret 'push' (the secretRef of Receiver 'push') has no key 'secret'" in logged
    assert "secret file unreadable" in logged
    assert "under-another-key" not in logged

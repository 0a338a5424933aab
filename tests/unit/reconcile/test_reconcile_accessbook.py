"""The API's access config follows the loaded config: a refused object keeps its last good version,
followers hear each change, and an OIDCProvider's client secret is read at use from its Secret or file.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, cast

import pytest

from gitward.cluster.client import KubeClient
from gitward.core.errors import FetchError
from gitward.model import load_objects
from gitward.model.secretrefs import in_cluster
from gitward.reconcile.accessbook import AccessBook, AccessConfig
from gitward.reconcile.secrets import ClusterSecrets

API = "gitward.dev/v1alpha1"


def _binding(name: str, role: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "RoleBinding",
        "metadata": {"name": name},
        "spec": {"role": role, "users": ["alice@example.com"], **spec},
    }


def _provider(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "OIDCProvider",
        "metadata": {"name": name, "namespace": "gitward"},
        "spec": {"issuer": "https://sso.example.com", "clientID": "gitward", **spec},
    }


def test_followers_hear_the_config_now_and_each_change_only() -> None:
    book = AccessBook(config_path=Path("/nowhere"))
    heard: list[AccessConfig] = []
    stop = book.listen(heard.append)
    assert heard == [AccessConfig()]
    assert book.configure(load_objects([_binding("a", "viewer")]))
    assert not book.configure(load_objects([_binding("a", "viewer")]))  # the same: nobody told
    assert [[b.spec.role for b in c.role_bindings] for c in heard] == [[], ["viewer"]]
    stop()
    book.configure(load_objects([_binding("a", "deployer")]))
    assert len(heard) == 2
    assert book.current.role_bindings[0].spec.role == "deployer"


def test_a_refused_object_keeps_its_last_good_version_and_a_new_refused_one_is_absent() -> None:
    book = AccessBook(config_path=Path("/nowhere"))
    book.configure(in_cluster(load_objects([_provider("sso", secretRef={"name": "oidc"})])))
    edited = [
        _provider("sso", clientSecretFile="/etc/secret"),  # refused in the cluster
        _provider("other", clientSecretFile="/etc/secret"),  # refused, never good
        _binding("b", "no such role, a space"),  # refused by the model
    ]
    config = in_cluster(load_objects(edited))
    assert {e.name for e in config.errors} == {"sso", "other", "b"}
    book.configure(config)
    (provider,) = book.current.oidc_providers
    assert provider.name == "sso"
    assert provider.spec.secret_ref is not None
    assert book.current.role_bindings == ()
    book.configure(load_objects([]))  # deleted: gone, not kept
    assert book.current == AccessConfig()


class _Kube:
    """Answers GETs of Secrets from a table (the client's side is tested with the cluster)."""

    def __init__(self, secrets: dict[tuple[str, str], dict[str, str]]) -> None:
        self.secrets = secrets

    async def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        assert (api_version, kind) == ("v1", "Secret")
        data = self.secrets.get((namespace, name))
        if data is None:
            return None
        return {"data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


async def test_the_client_secret_is_read_from_the_secret_at_each_use(tmp_path: Path) -> None:
    secrets = {("gitward", "oidc"): {"clientSecret": "first-value\n"}}
    book = AccessBook(config_path=tmp_path)
    book.secrets = ClusterSecrets(cast(KubeClient, _Kube(secrets)), tmp_path / "secrets")
    (provider,) = load_objects([_provider("sso", secretRef={"name": "oidc"})]).oidc_providers
    assert await book.client_secret(provider) == "first-value"
    secrets[("gitward", "oidc")] = {"clientSecret": "rotated"}
    assert await book.client_secret(provider) == "rotated"

    secrets[("gitward", "oidc")] = {"password": "not-the-key"}
    with pytest.raises(FetchError) as missing:
        await book.client_secret(provider)
    said = str(missing.value)
    assert "Secret 'oidc' (the secretRef of OIDCProvider 'sso') has no key 'clientSecret'" in said
    assert "not-the-key" not in said
    del secrets[("gitward", "oidc")]
    with pytest.raises(FetchError, match=r"Secret 'oidc' in namespace 'gitward'.*not found"):
        await book.client_secret(provider)


async def test_a_client_secret_file_is_read_relative_to_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "oidc-secret").write_text("from-a-file\n")
    book = AccessBook(config_path=tmp_path)
    (relative, public, missing) = load_objects(
        [
            _provider("a", clientSecretFile="oidc-secret"),
            _provider("b"),
            _provider("c", clientSecretFile="absent"),
        ]
    ).oidc_providers
    assert await book.client_secret(relative) == "from-a-file"
    assert await book.client_secret(public) is None
    with pytest.raises(FetchError, match=r"OIDCProvider 'c': clientSecretFile .*absent cannot be read"):
        await book.client_secret(missing)


async def test_a_secret_ref_outside_the_cluster_mode_is_an_error_not_a_crash() -> None:
    book = AccessBook(config_path=Path("/nowhere"))
    (provider,) = load_objects([_provider("sso", secretRef={"name": "oidc"})]).oidc_providers
    with pytest.raises(FetchError, match="only with gitward run --from-cluster"):
        await book.client_secret(provider)

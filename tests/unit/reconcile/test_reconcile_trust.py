"""Keys read for an app: the secrets folder (a mounted Secret's layout), what is refused, and digests
that change when a key file changes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from gitward.core.errors import Stalled
from gitward.model import Application
from gitward.reconcile.trust import TrustKeys


def _app(source: dict[str, Any]) -> Application:
    spec = {"source": {"repoURL": "https://git.example.com/a.git", **source}}
    return Application.model_validate({"metadata": {"name": "a"}, "spec": spec})


def _secret(root: Path, files: dict[str, str]) -> dict[str, Any]:
    folder = root / "flux-system" / "keys"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return {"namespace": "flux-system", "name": "keys"}


def test_a_decryption_secret_is_a_folder_of_agekey_and_asc_files(tmp_path: Path) -> None:
    ref = _secret(tmp_path, {"a.agekey": "AGE-SECRET-KEY-1", "b.asc": "pgp", "README": "ignored"})
    (tmp_path / "flux-system" / "keys" / "..data").mkdir()  # a mounted Secret's hidden entries
    keys = TrustKeys(tmp_path).decryption(_app({"decryption": {"secretRef": ref}}))
    assert keys is not None
    assert [Path(p).name for p in keys.age_key_files] == ["a.agekey"]
    assert [Path(p).name for p in keys.pgp_key_files] == ["b.asc"]


@pytest.mark.parametrize(
    ("files", "fragment"),
    [
        ({"sops.vault-token": "t"}, "not with cloud KMS or Vault"),
        ({"README": "x"}, r"holds no \*.agekey or \*.asc file"),
    ],
)
def test_a_decryption_secret_gitward_cannot_use_is_refused(
    tmp_path: Path, files: dict[str, str], fragment: str
) -> None:
    ref = _secret(tmp_path, files)
    with pytest.raises(Stalled, match=fragment) as refused:
        TrustKeys(tmp_path).decryption(_app({"decryption": {"secretRef": ref}}))
    assert "secret flux-system/keys" in str(refused.value)


def test_a_missing_secret_names_the_folder_it_was_looked_for_in(tmp_path: Path) -> None:
    app = _app({"decryption": {"secretRef": {"namespace": "ns", "name": "gone"}}})
    with pytest.raises(Stalled, match=f"{tmp_path}/ns/gone"):
        TrustKeys(tmp_path).decryption(app)


def test_the_keys_digest_follows_the_key_content(tmp_path: Path) -> None:
    key = tmp_path / "age.txt"
    key.write_text("AGE-SECRET-KEY-1ONE")
    trust = TrustKeys(tmp_path)
    app = _app({"decryption": {"ageKeyFiles": [str(key)]}})
    first, again = trust.decryption(app), trust.decryption(app)
    assert first is not None
    assert again is not None
    assert first.keys_digest == again.keys_digest
    key.write_text("AGE-SECRET-KEY-1TWO")
    os.utime(key, ns=(1, 1))
    second = trust.decryption(app)
    assert second is not None
    assert second.keys_digest != first.keys_digest
    assert "AGE-SECRET" not in repr(second)  # paths and a digest, never the key
    key.unlink()
    with pytest.raises(Stalled, match="unreadable"):
        trust.decryption(app)


def test_signature_requirements_come_from_the_source_verify_with_inline_ssh_keys(tmp_path: Path) -> None:
    ssh = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample bob"
    app = _app({"verify": {"mode": "HEAD", "keys": {"sshKeys": [ssh]}}})
    [requirement] = TrustKeys(tmp_path).requirements(app, project=None, repository=None)
    assert requirement.where == "spec.source.verify"
    assert requirement.keys.ssh == (f'trusted namespaces="git" {ssh}',)
    assert TrustKeys(tmp_path).requirements(_app({}), project=None, repository=None) == []

"""Commit and tag signatures checked by ``SignatureVerifier`` with the real git, gpg and ssh-keygen.

Each verdict comes from a real signed (or forged) object in a real bare repository: a good GPG and
SSH signature by a trusted key, a signature by a key not trusted, a commit whose content was changed
under its signature, an unsigned commit, and an annotated tag. Verdicts are remembered: asking
again runs no git.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from devtools.gitservers import WorkRepo, create_repo, git
from tests.integration.trust_fixtures import GpgKey, SshKey, signed_commit

from gitward.core.errors import ValidationError
from gitward.sources.signatures import KeySet, SignatureVerifier

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def alice() -> Iterator[GpgKey]:
    key = GpgKey.create("alice")
    yield key
    key.close()


@pytest.fixture(scope="module")
def mallory() -> Iterator[GpgKey]:
    key = GpgKey.create("mallory")
    yield key
    key.close()


@pytest.fixture
def repo(tmp_path: Path) -> WorkRepo:
    return create_repo(tmp_path / "bare.git", tmp_path / "work", {"a.txt": "1"})


def _forged(repo: WorkRepo, commit: str) -> str:
    """A commit object with ``commit``'s signature over a different message (content changed)."""
    text = git("cat-file", "commit", commit, cwd=repo.work) + "\n"
    forged = text.replace("signed change", "forged change")
    done = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
        cwd=repo.bare, input=forged.encode(), capture_output=True, check=True,
    )  # fmt: skip
    return done.stdout.decode().strip()


async def test_gpg_and_ssh_signatures_by_trusted_keys_pass_and_others_say_why(
    tmp_path: Path, repo: WorkRepo, alice: GpgKey, mallory: GpgKey
) -> None:
    bob = SshKey.create(tmp_path / "ssh", "bob")
    eve = SshKey.create(tmp_path / "ssh", "eve")
    keys = KeySet(gpg=(alice.public(),), ssh=(f'bob@example.com namespaces="git" {bob.public}',))
    verifier = SignatureVerifier(tmp_path / "trust")

    gpg_signed = signed_commit(repo, {"a.txt": "2"}, gpg=alice)
    ssh_signed = signed_commit(repo, {"a.txt": "3"}, ssh=bob)
    by_mallory = signed_commit(repo, {"a.txt": "4"}, gpg=mallory)
    by_eve = signed_commit(repo, {"a.txt": "5"}, ssh=eve)
    unsigned = signed_commit(repo, {"a.txt": "6"})
    forged_gpg = _forged(repo, gpg_signed)
    forged_ssh = _forged(repo, ssh_signed)

    verdicts = {
        name: await verifier.verify(repo.bare, commit, keys)
        for name, commit in [
            ("gpg", gpg_signed), ("ssh", ssh_signed), ("mallory", by_mallory), ("eve", by_eve),
            ("unsigned", unsigned), ("forged_gpg", forged_gpg), ("forged_ssh", forged_ssh),
        ]
    }  # fmt: skip
    assert {name: (v.ok, v.reason) for name, v in verdicts.items()} == {
        "gpg": (True, "Signed"),
        "ssh": (True, "Signed"),
        "mallory": (False, "UnknownKey"),
        "eve": (False, "UnknownKey"),
        "unsigned": (False, "Unsigned"),
        "forged_gpg": (False, "BadSignature"),
        "forged_ssh": (False, "BadSignature"),
    }
    assert alice.fingerprint in verdicts["gpg"].signer
    assert mallory.fingerprint[-16:] in verdicts["mallory"].signer
    assert "SHA256:" in verdicts["eve"].signer

    runs = verifier.verifications
    again = await verifier.verify(repo.bare, gpg_signed, keys)
    assert again.ok
    assert verifier.verifications == runs  # remembered: no git ran
    other_keys = KeySet(gpg=(mallory.public(),))
    assert not (await verifier.verify(repo.bare, gpg_signed, other_keys)).ok  # a new key set is asked


async def test_an_annotated_tag_is_verified_as_a_tag(tmp_path: Path, repo: WorkRepo, alice: GpgKey) -> None:
    signed_commit(repo, {"a.txt": "2"}, gpg=alice)
    git(
        "-c",
        f"user.signingkey={alice.fingerprint}",
        "tag",
        "-s",
        "-m",
        "v1",
        "v1.0.0",
        cwd=repo.work,
        env=alice.env,
    )
    git("tag", "-a", "-m", "v2", "v2.0.0", cwd=repo.work)
    repo.push()
    signed_tag = git("rev-parse", "refs/tags/v1.0.0", cwd=repo.work)
    plain_tag = git("rev-parse", "refs/tags/v2.0.0", cwd=repo.work)
    keys = KeySet(gpg=(alice.public(),))
    verifier = SignatureVerifier(tmp_path / "trust")
    assert (await verifier.verify(repo.bare, signed_tag, keys, tag=True)).ok
    assert (await verifier.verify(repo.bare, plain_tag, keys, tag=True)).reason == "Unsigned"


async def test_a_private_key_given_as_trusted_is_refused(
    tmp_path: Path, repo: WorkRepo, alice: GpgKey
) -> None:
    verifier = SignatureVerifier(tmp_path / "trust")
    with pytest.raises(ValidationError, match="private key"):
        await verifier.verify(repo.bare, repo.head(), KeySet(gpg=(alice.private(),)))
    with pytest.raises(ValidationError, match="no OpenPGP public key"):
        await verifier.verify(repo.bare, repo.head(), KeySet(gpg=(b"not a key",)))

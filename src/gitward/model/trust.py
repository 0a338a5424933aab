"""Trust in what is deployed: the keys a commit must be signed with, and the keys that decrypt SOPS.

``SignatureKeys`` lists public keys: OpenPGP keys (armored files, or inline armored blocks) and SSH
keys (``allowed_signers`` files in ssh-keygen's format, or inline ``ssh-ed25519 AAAA...`` lines).
Public keys are not secrets, so both inline and file forms are accepted; an inline block that holds
a private key is refused at load, because the config is meant to be committed. A Project or a
Repository that lists keys requires every commit it deploys to be signed by one of them; an
Application's ``source.verify`` (what a Flux GitRepository's ``verify`` becomes) adds Flux's modes.

``Decryption`` names private keys, so only by file: age identity files and armored OpenPGP private
key files, or a ``secretRef``. A ``SecretRef`` names a Kubernetes Secret; standalone gitward reads it
from a folder holding one file per key (the layout of a Secret mounted as a volume), see
``reconcile/trust.py``.

Deliberately not here: reading files or checking signatures (``sources/signatures.py``), decrypting
(``render/sops.py``).
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from gitward.model.common import FilePath, Name, Namespace, SpecModel

_PRIVATE_MARKERS = ("PRIVATE KEY",)
_SSH_KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)


class SecretRef(SpecModel):
    """A Secret by namespace and name (standalone gitward: a folder of one file per key)."""

    namespace: Namespace = Field(min_length=1)
    name: Name


def _public_only(value: str, what: str) -> str:
    if any(marker in value for marker in _PRIVATE_MARKERS):
        raise ValueError(f"{what} holds a private key: list public keys only (the config may be committed)")
    return value


class SignatureKeys(SpecModel):
    """The public keys a signature must come from; at least one entry."""

    gpg_key_files: tuple[FilePath, ...] = ()
    gpg_keys: tuple[str, ...] = ()  # inline armored public key blocks
    ssh_allowed_signers_files: tuple[FilePath, ...] = ()
    ssh_keys: tuple[str, ...] = ()  # inline "TYPE BASE64 [comment]" lines
    secret_ref: SecretRef | None = None  # every file of the Secret is an armored OpenPGP public key

    @field_validator("gpg_keys")
    @classmethod
    def _gpg_keys_public(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for block in value:
            _public_only(block, "signatureKeys.gpgKeys")
            if "BEGIN PGP PUBLIC KEY BLOCK" not in block:
                raise ValueError("signatureKeys.gpgKeys entries must be armored OpenPGP public key blocks")
        return value

    @field_validator("ssh_keys")
    @classmethod
    def _ssh_keys_public(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for line in value:
            _public_only(line, "signatureKeys.sshKeys")
            parts = line.split()
            if len(parts) < 2 or parts[0] not in _SSH_KEY_TYPES or "\n" in line.strip():
                raise ValueError(
                    "signatureKeys.sshKeys entries must be one public key line each "
                    f"('{_SSH_KEY_TYPES[0]} AAAA... comment')"
                )
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not (
            self.gpg_key_files
            or self.gpg_keys
            or self.ssh_allowed_signers_files
            or self.ssh_keys
            or self.secret_ref
        ):
            raise ValueError(
                "signatureKeys lists no key (gpgKeyFiles, gpgKeys, sshAllowedSignersFiles, sshKeys)"
            )
        return self


VerifyMode = Literal["HEAD", "Tag", "TagAndHEAD"]


class SourceVerify(SpecModel):
    """Flux's commit verification: ``HEAD`` checks the commit, ``Tag`` the annotated tag the revision
    names, ``TagAndHEAD`` both."""

    mode: VerifyMode = "HEAD"
    keys: SignatureKeys


class Decryption(SpecModel):
    """SOPS decryption keys: age identity files, armored OpenPGP private key files, or a Secret whose
    ``*.agekey`` and ``*.asc`` files are read as those."""

    provider: Literal["sops"] = "sops"
    age_key_files: tuple[FilePath, ...] = ()
    pgp_key_files: tuple[FilePath, ...] = ()
    secret_ref: SecretRef | None = None

    @model_validator(mode="after")
    def _has_keys(self) -> Self:
        if not (self.age_key_files or self.pgp_key_files or self.secret_ref):
            raise ValueError("decryption names no key (ageKeyFiles, pgpKeyFiles or secretRef)")
        return self

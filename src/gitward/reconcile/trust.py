"""Which keys an app's commit must be signed with, and which keys decrypt its SOPS files, read at use.

Signatures: every requirement that applies must hold. The app's Project (``signatureKeys``), the
Repository whose URL prefix serves the app's repoURL (the longest, as for credentials), and the app's
own ``source.verify`` (a Flux GitRepository's ``verify``, with its mode) each add one; the commit
(and, in Tag modes, the annotated tag) must carry a valid signature by one of that requirement's
keys. Decryption: the app's ``source.decryption`` keys, by file.

A ``secretRef`` names a Kubernetes Secret; standalone gitward reads it from the folder
``<secrets dir>/<namespace>/<name>/``, one file per key, which is what a Secret mounted as a volume
looks like (hidden entries, such as a mounted Secret's ``..data``, are skipped). The secrets dir is
``GITWARD_SECRETS_DIR``, else ``/etc/gitward/secrets``. In a decryption Secret, ``*.agekey`` files
are age identities and ``*.asc`` files armored OpenPGP private keys, as in Flux; Flux's cloud KMS and
Vault entries (``sops.*``) are refused, since gitward cannot honour them. In a verification Secret
every file is an armored OpenPGP public key, as in Flux.

Key files are re-read when they change (size, mtime or inode), so a rotated key takes effect at the
next reconcile while an unchanged one costs a ``stat``; only digests of private keys are kept.

Deliberately not here: checking signatures (``sources/signatures.py``), decrypting (``render/sops.py``).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from gitward.core.errors import FetchError, Stalled
from gitward.model import Application, Project
from gitward.model.repository import Repository
from gitward.model.trust import SecretRef, SignatureKeys
from gitward.render.params import DecryptionParams
from gitward.sources import GitCache
from gitward.sources.signatures import KeySet, SignatureVerifier, Verdict

DEFAULT_SECRETS_DIR = Path("/etc/gitward/secrets")
MAX_KEY_BYTES = 1 << 20
_SSH_PRINCIPAL = "trusted"


def secrets_dir() -> Path:
    return Path(os.environ.get("GITWARD_SECRETS_DIR") or DEFAULT_SECRETS_DIR)


@dataclass(frozen=True)
class Requirement:
    """One rule a commit must pass: signed by one of ``keys`` (in ``mode``), named ``where``."""

    where: str  # "project P", "repository R", "spec.source.verify"
    keys: KeySet
    mode: str = "HEAD"  # HEAD | Tag | TagAndHEAD


class TrustKeys:
    """Reads trusted and decryption keys for apps, remembering file contents by their ``stat``."""

    def __init__(self, root: Path | None = None) -> None:
        self.secrets_root = root or secrets_dir()
        self._files: dict[str, tuple[tuple[int, int, int], bytes]] = {}

    def read(self, path: str | Path, *, what: str) -> bytes:
        """The bytes of key file ``path``; Stalled naming ``what`` when it cannot be read."""
        name = str(path)
        try:
            info = os.stat(name)
            stamp = (info.st_size, info.st_mtime_ns, info.st_ino)
            found = self._files.get(name)
            if found is not None and found[0] == stamp:
                return found[1]
            if info.st_size > MAX_KEY_BYTES:
                raise Stalled(f"{what} {name} is larger than {MAX_KEY_BYTES} bytes", reason="KeyFileInvalid")
            data = Path(name).read_bytes()
        except OSError as exc:
            raise Stalled(f"{what} {name} unreadable: {exc.strerror}", reason="KeyFileUnreadable") from None
        self._files[name] = (stamp, data)
        return data

    def secret_files(self, ref: SecretRef) -> dict[str, Path]:
        """The files of the Secret ``ref`` names, by key."""
        folder = self.secrets_root / ref.namespace / ref.name
        try:
            entries = sorted(os.listdir(folder))
        except OSError:
            raise Stalled(
                f"secret {ref.namespace}/{ref.name} not found: standalone gitward reads a secretRef from "
                f"the folder {folder} (one file per key, as a mounted Secret; GITWARD_SECRETS_DIR sets "
                "the root)",
                reason="SecretNotFound",
            ) from None
        return {
            name: folder / name for name in entries if not name.startswith(".") and (folder / name).is_file()
        }

    # -- signatures ------------------------------------------------------------------------------

    def requirements(
        self, app: Application, *, project: Project | None, repository: Repository | None
    ) -> list[Requirement]:
        found: list[Requirement] = []
        if project is not None and project.spec.signature_keys is not None:
            found.append(Requirement(f"project {project.name!r}", self.keyset(project.spec.signature_keys)))
        if repository is not None and repository.spec.signature_keys is not None:
            keys = self.keyset(repository.spec.signature_keys)
            found.append(Requirement(f"repository {repository.name!r}", keys))
        verify = app.spec.source.verify
        if verify is not None:
            found.append(Requirement("spec.source.verify", self.keyset(verify.keys), verify.mode))
        return found

    def keyset(self, keys: SignatureKeys) -> KeySet:
        gpg = [self.read(path, what="trusted GPG key file") for path in keys.gpg_key_files]
        gpg += [block.encode() for block in keys.gpg_keys]
        ssh: list[str] = []
        for signers in keys.ssh_allowed_signers_files:
            text = self.read(signers, what="SSH allowed signers file").decode("utf-8", "replace")
            ssh += [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
        ssh += [f'{_SSH_PRINCIPAL} namespaces="git" {line.strip()}' for line in keys.ssh_keys]
        if keys.secret_ref is not None:
            for name, path in self.secret_files(keys.secret_ref).items():
                gpg.append(self.read(path, what=f"trusted key {name!r} of secret"))
            if not gpg and not ssh:
                ref = keys.secret_ref
                raise Stalled(f"secret {ref.namespace}/{ref.name} holds no key", reason="SecretNotFound")
        return KeySet(gpg=tuple(gpg), ssh=tuple(ssh))

    # -- decryption ------------------------------------------------------------------------------

    def decryption(self, app: Application) -> DecryptionParams | None:
        """The app's SOPS keys by file, with a digest of their content (the render cache key)."""
        spec = app.spec.source.decryption
        if spec is None:
            return None
        age = list(spec.age_key_files)
        pgp = list(spec.pgp_key_files)
        if spec.secret_ref is not None:
            more_age, more_pgp = self._decryption_secret(spec.secret_ref)
            age += more_age
            pgp += more_pgp
        digest = hashlib.sha256()
        for kind, paths in (("age", age), ("pgp", pgp)):
            for path in paths:
                content = self.read(path, what=f"{kind} key file")
                digest.update(f"{kind}\0{path}\0".encode() + hashlib.sha256(content).digest())
        return DecryptionParams(
            age_key_files=tuple(age), pgp_key_files=tuple(pgp), keys_digest=digest.hexdigest()
        )

    def _decryption_secret(self, ref: SecretRef) -> tuple[list[str], list[str]]:
        age: list[str] = []
        pgp: list[str] = []
        for name, path in self.secret_files(ref).items():
            if name.endswith(".agekey"):
                age.append(str(path))
            elif name.endswith(".asc"):
                pgp.append(str(path))
            elif name.startswith("sops."):
                raise Stalled(
                    f"secret {ref.namespace}/{ref.name} holds {name!r}: gitward decrypts with age and PGP "
                    "keys only (*.agekey, *.asc), not with cloud KMS or Vault",
                    reason="DecryptionUnsupported",
                )
        if not age and not pgp:
            raise Stalled(
                f"secret {ref.namespace}/{ref.name} holds no *.agekey or *.asc file", reason="SecretNotFound"
            )
        return age, pgp


_WHY = {
    "Unsigned": "is not signed",
    "UnknownKey": "is signed by {signer}, which is not among the trusted keys",
    "BadSignature": "has a bad signature ({signer}): it does not match the content it signs",
    "ExpiredKey": "is signed by {signer}, whose key has expired",
    "RevokedKey": "is signed by {signer}, whose key was revoked",
    "Unverifiable": "carries a signature that cannot be checked ({signer})",
}


def refusal(what: str, verdict: Verdict, requirement: Requirement) -> Stalled:
    """The app's error for a refused signature: which object, why, and whose rule."""
    why = _WHY.get(verdict.reason, _WHY["Unverifiable"]).format(signer=verdict.signer or "unknown key")
    return Stalled(
        f"{what} {why}; {requirement.where} requires a signature by one of its trusted keys, so nothing "
        "is applied",
        reason=f"Signature{verdict.reason}" if verdict.reason != "Unsigned" else "CommitUnsigned",
    )


async def check_signatures(
    requirements: list[Requirement],
    *,
    git: GitCache,
    verifier: SignatureVerifier,
    url: str,
    revision: str,
    commit: str,
) -> None:
    """Stalled unless ``commit`` (and, in Tag modes, the tag ``revision`` names) passes every rule."""
    mirror = git.mirror_path(url)
    for requirement in requirements:
        if requirement.mode in ("HEAD", "TagAndHEAD"):
            verdict = await verifier.verify(mirror, commit, requirement.keys)
            if not verdict.ok:
                raise refusal(f"commit {commit[:12]}", verdict, requirement)
        if requirement.mode in ("Tag", "TagAndHEAD"):
            tag = git.tag_of(url, revision)
            name, object_id, tagged = tag if tag is not None else (None, None, "")
            if name is None or object_id is None:
                kind = (
                    f"names the lightweight tag {name!r}, which has no signature" if name else "names no tag"
                )
                raise Stalled(
                    f"revision {revision!r} {kind}; {requirement.where} mode {requirement.mode} verifies an "
                    "annotated tag's signature, so nothing is applied",
                    reason="SignatureUnverifiable",
                )
            if tagged != commit:
                raise FetchError(f"tag {name!r} moved while it was read; retrying", reason="TagMoved")
            verdict = await verifier.verify(mirror, object_id, requirement.keys, tag=True)
            if not verdict.ok:
                raise refusal(f"tag {name!r} ({object_id[:12]})", verdict, requirement)

"""Check that a commit (or an annotated tag) is signed by a trusted key, with git, gpg and ssh-keygen.

Why git's own ``verify-commit``/``verify-tag``: it is what users run themselves, it finds the
signature in the object exactly as git wrote it, and it hands OpenPGP signatures to ``gpg`` and SSH
signatures to ``ssh-keygen -Y verify``, the real tools. Nothing of the user's own keyring or git
configuration takes part: each set of trusted keys gets its own folder under gitward's private
cache (``trust/<digest>/``) with a GNUPGHOME holding only those public keys (``no-autostart``: no
agent is ever started) and an ``allowed_signers`` file for SSH; git runs with no system or global
config, that folder as HOME, and X.509 (gpgsm) signatures switched off, so they count as
unverifiable.

A verdict is trusted only when git says the signature is good (exit status 0) *and* the tool's own
output names a good signature; the output also decides the reason shown when it is not:
``Unsigned``, ``UnknownKey`` (signed, but by no trusted key), ``BadSignature`` (the signature does
not match the content), ``ExpiredKey``/``RevokedKey``, or ``Unverifiable``.

Verdicts are remembered by (object id, key set digest): an object never changes, so a no-op
reconcile costs a dictionary lookup (docs/reliability.md, bad input 14).

Deliberately not here: which keys apply to an app (``reconcile/trust.py``), reading key files.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pygit2

from gitward.core.errors import FetchError, ValidationError
from gitward.sources.gitcli import run_git_checked
from gitward.sources.gitread import tag_names
from gitward.sources.semver import is_constraint, parse_constraint

_MEMO_LIMIT = 65_536
_GPG_STATUS = re.compile(r"^\[GNUPG:\] (\w+) ?(.*)$", re.M)
_SSH_GOOD = re.compile(r'^Good "git" signature for (\S+) with (\S+) key (SHA256:\S+)', re.M)
_SSH_KEY = re.compile(r"with (\S+) key (SHA256:[A-Za-z0-9+/=]+)")
_ARMOR = "-----BEGIN PGP "
_SECRET_PACKET_TAGS = frozenset({5, 7})  # secret key, secret subkey


@dataclass(frozen=True)
class KeySet:
    """Trusted public keys, by content: OpenPGP keys (armored or binary) and allowed_signers lines."""

    gpg: tuple[bytes, ...] = ()
    ssh: tuple[str, ...] = ()

    @property
    def digest(self) -> str:
        h = hashlib.sha256()
        for blob in sorted(self.gpg):
            h.update(b"gpg\0" + hashlib.sha256(blob).digest())
        for line in sorted(self.ssh):
            h.update(b"ssh\0" + line.encode() + b"\n")
        return h.hexdigest()


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str  # Signed | Unsigned | UnknownKey | BadSignature | ExpiredKey | RevokedKey | Unverifiable
    signer: str = ""  # "GPG key <fingerprint or key id>" or "SSH key SHA256:..." when known


def is_private_openpgp(blob: bytes) -> bool:
    """Whether ``blob`` (armored or binary) starts with secret key material."""
    text = blob[:200].decode("ascii", "replace")
    if _ARMOR in text:
        return "PRIVATE KEY BLOCK" in text
    if not blob or not blob[0] & 0x80:
        return False
    tag = blob[0] & 0x3F if blob[0] & 0x40 else (blob[0] & 0x3C) >> 2
    return tag in _SECRET_PACKET_TAGS


def _gpg_verdict(output: str, code: int) -> Verdict:
    status = {name: rest for name, rest in _GPG_STATUS.findall(output)}
    fingerprint = status.get("VALIDSIG", "").split(" ")[0]
    key_id = fingerprint or next(
        (
            status[n].split(" ")[0]
            for n in ("GOODSIG", "BADSIG", "ERRSIG", "EXPKEYSIG", "REVKEYSIG")
            if n in status
        ),
        "",
    )
    signer = f"GPG key {key_id}" if key_id else ""
    if code == 0 and "GOODSIG" in status and fingerprint:
        return Verdict(True, "Signed", signer)
    for name, reason in (
        ("BADSIG", "BadSignature"),
        ("EXPKEYSIG", "ExpiredKey"),
        ("REVKEYSIG", "RevokedKey"),
    ):
        if name in status:
            return Verdict(False, reason, signer)
    if "NO_PUBKEY" in status or "ERRSIG" in status:
        return Verdict(False, "UnknownKey", signer)
    return Verdict(False, "Unverifiable", signer)


def _ssh_verdict(output: str, code: int) -> Verdict:
    good = _SSH_GOOD.search(output)
    if code == 0 and good:
        return Verdict(True, "Signed", f"SSH key {good.group(3)} ({good.group(1)})")
    key = _SSH_KEY.search(output)
    signer = f"SSH key {key.group(2)}" if key else "an SSH key"
    if "No principal matched" in output:
        return Verdict(False, "UnknownKey", signer)
    if "incorrect signature" in output or "verification failed" in output:
        return Verdict(False, "BadSignature", signer)
    return Verdict(False, "Unverifiable", signer)


def classify(output: str, code: int) -> Verdict:
    """What git's verify-commit/verify-tag said (``--raw``): gpg status lines or ssh-keygen's words."""
    if not output.strip() or "no signature found" in output:
        return Verdict(False, "Unsigned")
    if "[GNUPG:]" in output:
        return _gpg_verdict(output, code)
    if "signature" in output.lower():
        return _ssh_verdict(output, code)
    return Verdict(False, "Unverifiable")


def revision_tag(repo: pygit2.Repository, revision: str) -> str | None:
    """The tag ``revision`` names, read in ``resolve_revision``'s order: ``refs/tags/X``, else a
    name that is not a branch (branches win) but is a tag, else the best tag of a semver range."""
    rev = revision.strip()
    if rev.startswith("refs/tags/"):
        return rev.removeprefix("refs/tags/")
    if rev.startswith("refs/") or repo.references.get(f"refs/heads/{rev}") is not None:
        return None
    if repo.references.get(f"refs/tags/{rev}") is not None:
        return rev
    if is_constraint(rev):
        return parse_constraint(rev).best(tag_names(repo))
    return None


def tag_object(repo: pygit2.Repository, tag: str) -> tuple[str, str] | None:
    """(annotated tag object id, commit it points at) of ``tag``; None for a lightweight tag."""
    ref = repo.references.get(f"refs/tags/{tag}")
    if ref is None:
        return None
    obj = repo.get(ref.target)
    if not isinstance(obj, pygit2.Tag):
        return None
    return str(obj.id), str(obj.peel(pygit2.Commit).id)


class SignatureVerifier:
    """Verdicts on commits and tags of local mirrors, with one private trust folder per key set."""

    def __init__(self, root: Path, *, timeout: float = 30.0) -> None:
        self.root = root
        self.timeout = timeout
        self.verifications = 0  # real git runs (remembered verdicts do not count)
        self._verdicts: dict[tuple[str, str], Verdict] = {}
        self._ready: dict[str, asyncio.Future[Path]] = {}

    async def verify(self, mirror: Path, object_id: str, keys: KeySet, *, tag: bool = False) -> Verdict:
        """The verdict on commit (or tag object) ``object_id`` of the bare ``mirror`` against ``keys``."""
        memo = (object_id, keys.digest)
        found = self._verdicts.get(memo)
        if found is not None:
            return found
        folder = await self._trust_folder(keys)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(folder),
            "GNUPGHOME": str(folder / "gnupg"),
            "LC_ALL": "C",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
        }
        args = [
            "--git-dir", str(mirror),
            "-c", f"gpg.ssh.allowedSignersFile={folder / 'allowed_signers'}",
            "-c", "gpg.ssh.program=ssh-keygen",
            "-c", "gpg.program=gpg",
            "-c", "gpg.x509.program=false",
            "verify-tag" if tag else "verify-commit", "--raw", object_id,
        ]  # fmt: skip
        self.verifications += 1
        try:
            code, out, err = await run_git_checked(args, env=env, timeout=self.timeout)
        except TimeoutError:
            raise FetchError(
                f"signature check of {object_id[:12]} timed out", reason="VerifyTimeout"
            ) from None
        verdict = classify(out + err, code)
        if len(self._verdicts) >= _MEMO_LIMIT:
            self._verdicts.clear()
        self._verdicts[memo] = verdict
        return verdict

    async def _trust_folder(self, keys: KeySet) -> Path:
        """The folder of ``keys`` (made once, atomically; concurrent callers share the making)."""
        digest = keys.digest
        final = self.root / digest[:32]
        running = self._ready.get(digest)
        if running is None:
            running = asyncio.ensure_future(self._make_folder(final, keys))
            self._ready[digest] = running
            running.add_done_callback(lambda done: self._forget_failed(digest, done))
        return await asyncio.shield(running)

    def _forget_failed(self, digest: str, done: asyncio.Future[Path]) -> None:
        """A folder that could not be made is tried again by the next caller (keys may be fixed)."""
        if done.cancelled() or done.exception() is not None:
            self._ready.pop(digest, None)

    async def _make_folder(self, final: Path, keys: KeySet) -> Path:
        if (final / "ready").exists():
            return final
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        staging = self.root / f".new-{uuid.uuid4().hex}"
        try:
            (staging / "gnupg").mkdir(parents=True, mode=0o700)
            staging.chmod(0o700)
            (staging / "gnupg" / "gpg.conf").write_text("no-autostart\nno-auto-key-retrieve\n")
            (staging / "allowed_signers").write_text("".join(line + "\n" for line in keys.ssh))
            for index, blob in enumerate(keys.gpg):
                await self._import(staging / "gnupg", blob, index)
            (staging / "ready").write_text("")
            shutil.rmtree(final, ignore_errors=True)
            os.rename(staging, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return final

    async def _import(self, home: Path, blob: bytes, index: int) -> None:
        if is_private_openpgp(blob):
            raise ValidationError(
                f"trusted GPG key {index + 1} is a private key: list its public key",
                reason="InvalidTrustedKey",
            )
        process = await asyncio.create_subprocess_exec(
            "gpg", "--homedir", str(home), "--batch", "--no-tty", "--status-fd", "1", "--import",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            out, _ = await asyncio.wait_for(process.communicate(blob), timeout=self.timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise FetchError("importing trusted GPG keys timed out", reason="VerifyTimeout") from None
        if b"[GNUPG:] IMPORT_OK" not in out:
            raise ValidationError(
                f"trusted GPG key {index + 1} holds no OpenPGP public key gpg can import",
                reason="InvalidTrustedKey",
            )

"""Real keys for the trust tests: GPG keys made by ``gpg``, SSH keys by ``ssh-keygen``, age keys by the
pinned ``age-keygen``, SOPS files encrypted by the pinned ``sops``, and signed commits made by ``git``.

Every GPG home is a fresh short folder under /tmp (gpg-agent's socket path must stay short) and its
agent is stopped when the key is closed, so a test leaves no process behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from devtools import toolchain
from devtools.gitservers import WorkRepo, git


def _run(argv: list[str], *, env: dict[str, str] | None = None, stdin: bytes | None = None) -> bytes:
    done = subprocess.run(
        argv, env={**os.environ, **(env or {})}, input=stdin, capture_output=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} {argv[1:3]} failed: {done.stderr.decode(errors='replace')[-500:]}")
    return done.stdout


@dataclass
class GpgKey:
    """A passphrase-less OpenPGP key (signing primary, encryption subkey) in its own GNUPGHOME."""

    home: Path
    fingerprint: str

    @classmethod
    def create(cls, name: str) -> GpgKey:
        home = Path(tempfile.mkdtemp(prefix="gw-gpg-", dir="/tmp"))
        home.chmod(0o700)
        env = {"GNUPGHOME": str(home)}
        uid = f"{name} <{name}@example.com>"
        gpg = ["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", ""]
        _run([*gpg, "--quick-gen-key", uid, "future-default", "default", "never"], env=env)
        listing = _run(["gpg", "--batch", "--with-colons", "--list-keys", uid], env=env).decode()
        fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
        return cls(home=home, fingerprint=fingerprint)

    @property
    def env(self) -> dict[str, str]:
        return {"GNUPGHOME": str(self.home)}

    def public(self) -> bytes:
        return _run(["gpg", "--batch", "--armor", "--export", self.fingerprint], env=self.env)

    def private(self) -> bytes:
        argv = ["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", ""]
        return _run([*argv, "--armor", "--export-secret-keys", self.fingerprint], env=self.env)

    def close(self) -> None:
        subprocess.run(["gpgconf", "--homedir", str(self.home), "--kill", "all"], check=False, timeout=30)
        shutil.rmtree(self.home, ignore_errors=True)


@dataclass
class SshKey:
    private: Path

    @classmethod
    def create(cls, folder: Path, name: str) -> SshKey:
        folder.mkdir(parents=True, exist_ok=True)
        key = folder / name
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{name}@example.com", "-f", str(key)])
        return cls(private=key)

    @property
    def public(self) -> str:
        return self.private.with_suffix(".pub").read_text().strip()


def signed_commit(
    repo: WorkRepo,
    files: dict[str, str | bytes | None],
    *,
    gpg: GpgKey | None = None,
    ssh: SshKey | None = None,
    message: str = "signed change",
) -> str:
    """Commit ``files`` signed with ``gpg`` or ``ssh`` (neither: unsigned), push, return the SHA."""
    repo.write(files)
    git("add", "-A", cwd=repo.work)
    if gpg is not None:
        args = ["-c", f"user.signingkey={gpg.fingerprint}", "-c", "gpg.format=openpgp", "commit", "-S"]
        git(*args, "-q", "-m", message, cwd=repo.work, env=gpg.env)
    elif ssh is not None:
        args = ["-c", f"user.signingkey={ssh.private}", "-c", "gpg.format=ssh", "commit", "-S"]
        git(*args, "-q", "-m", message, cwd=repo.work)
    else:
        git("commit", "-q", "-m", message, cwd=repo.work)
    repo.push()
    return repo.head()


@dataclass
class AgeKey:
    identity: Path
    recipient: str

    @classmethod
    def create(cls, path: Path) -> AgeKey:
        path.parent.mkdir(parents=True, exist_ok=True)
        _run([str(toolchain.tool_path("age-keygen")), "-o", str(path)])
        recipient = next(
            line.split(":", 1)[1].strip() for line in path.read_text().splitlines() if "public key:" in line
        )
        return cls(identity=path, recipient=recipient)


def sops_encrypt(
    plaintext: str | bytes,
    *,
    name: str,
    age: AgeKey | None = None,
    pgp: GpgKey | None = None,
    regex: str | None = "^(data|stringData)$",
) -> bytes:
    """``plaintext`` encrypted by the real sops as a file called ``name`` (its extension sets the format)."""
    folder = Path(tempfile.mkdtemp(prefix="gw-sops-"))
    try:
        source = folder / name
        source.write_bytes(plaintext.encode() if isinstance(plaintext, str) else plaintext)
        argv = [str(toolchain.tool_path("sops")), "encrypt"]
        if age is not None:
            argv += ["--age", age.recipient]
        if pgp is not None:
            argv += ["--pgp", pgp.fingerprint]
        if regex and name.endswith((".yaml", ".yml", ".json")):
            argv += ["--encrypted-regex", regex]
        return _run([*argv, str(source)], env=pgp.env if pgp is not None else None)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

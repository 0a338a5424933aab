"""SOPS: decrypt the encrypted files a render reads, before the render; never let ciphertext through.

What is decrypted: every file the render reads that sops encrypted (YAML, JSON, dotenv, INI or
binary, told by the file's extension as ``sops`` itself tells it): the manifests of a plain folder,
and every file a kustomization names (resources, patches, ``secretGenerator`` files and envs, ...).
Flux decrypts generator files before the build but whole resources only after it, without checking
their MAC (kustomize has changed them by then). Gitward decrypts every encrypted file as it is in
Git, before the render, so sops checks the MAC of exactly what was encrypted and a tampered file is
refused. Helm renders are not decrypted (there is no sops convention for charts); whatever the
engine, ``ciphertext_left`` refuses a render that still holds sops ciphertext, so it is never applied
(docs/reliability.md, bad input 13).

Why the ``sops`` binary and not a library (pyrage and cryptography): the MAC that proves a file
untampered is a SHA-512 over every value of the file in document order, each value written the way
sops's Go YAML and JSON stores type it (``yes``, ``0644``, floats, comments); a re-implementation
on Python's YAML 1.1 loader that disagrees on one value either refuses good files or, worse, hashes
fewer values than sops and accepts a tampered one. The binary also brings Shamir key groups, the
five formats and ``mac_only_encrypted`` for free. It runs in the render jail (``jail``): no network,
the copied files and a keys folder bound read-only, nothing else. Keys are never passed in the
environment: age identities are written to ``keys/age.txt`` and armored OpenPGP private keys,
dearmored, to ``keys/gnupg/secring.gpg`` (read by sops's built-in OpenPGP, so no gpg agent runs),
both inside the render's private temporary folder, removed with it.

Decrypted text never leaves the render: errors from sops are mapped onto fixed messages (its own
output may quote values), and errors of the tools that read decrypted files are scrubbed of every
decrypted value (``Decryptor.scrub``). The render cache keeps decrypted manifests in memory only,
keyed by the Git tree and a digest of the keys (``DecryptionParams.keys_digest``), never on disk.

Deliberately not here: which keys an app has (``reconcile/trust.py``); cloud KMS, Vault and
age-plugin keys (refused where keys are read).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gitward.core.errors import RenderError
from gitward.render.jail import Confinement
from gitward.render.manifests import canonical_json
from gitward.render.params import DecryptionParams, RenderSettings, RenderTools
from gitward.render.runner import run_tool

_FORMATS = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".env": "dotenv", ".ini": "ini"}
_CIPHERTEXT = b"ENC[AES256_GCM,data:"
_MARKERS = (_CIPHERTEXT, b"sops_mac=ENC[", b"mac: ENC[", b'"mac": "ENC[')
_ARMOR_LINE = re.compile(r"^-----(BEGIN|END) PGP ([A-Z ]+)-----$")
_MIN_SCRUB = 4  # shorter decrypted fragments are too common to hide ("true", ports)
NO_KEYS = "NoDecryptionKeys"
FAILED = "DecryptionFailed"
TAMPERED = "DecryptionIntegrity"


def sops_format(path: str) -> str:
    """The format sops gives a file of this name (its extension; anything else is binary)."""
    for suffix, name in _FORMATS.items():
        if path.lower().endswith(suffix):
            return name
    return "binary"


def is_encrypted(data: bytes) -> bool:
    """Whether ``data`` holds sops metadata or a sops-encrypted value (so must not be used as is)."""
    return any(marker in data for marker in _MARKERS)


def is_encrypted_manifest(obj: Mapping[str, Any]) -> bool:
    return isinstance(obj.get("sops"), dict)


def dearmor(blob: bytes) -> bytes:
    """Binary OpenPGP packets of ``blob`` (armored blocks decoded; binary input kept as it is)."""
    text = blob.decode("ascii", "replace")
    if "-----BEGIN PGP" not in text:
        return blob
    out = bytearray()
    body: list[str] | None = None
    in_headers = False
    for raw in text.splitlines():
        line = raw.strip()
        match = _ARMOR_LINE.match(line)
        if match and match.group(1) == "BEGIN":
            body, in_headers = [], True
        elif match and body is not None:
            out += base64.b64decode("".join(body))
            body = None
        elif body is not None:
            if in_headers:
                in_headers = ":" in line  # armor headers end at the first line without "key: value"
                if in_headers or not line:
                    continue
            if not line.startswith("="):  # the CRC24 line
                body.append(line)
    return bytes(out)


class Decryptor:
    """Decrypts sops files for one render inside its temporary folder ``workdir``."""

    def __init__(
        self, params: DecryptionParams | None, *, tools: RenderTools, workdir: Path, settings: RenderSettings
    ) -> None:
        self.params = params
        self.tools = tools
        self.workdir = workdir
        self.settings = settings
        self.decrypted = 0
        self._secrets: set[str] = set()
        self._keys: Path | None = None
        self._inputs = 0

    async def decrypt(self, data: bytes, *, shown: str, path: Path | None = None) -> bytes:
        """The plaintext of sops file ``data`` (named ``shown`` in messages); ``path``: a copy of it
        already inside ``workdir``, else one is written there."""
        if self.params is None:
            raise RenderError(
                f"{shown} is encrypted with SOPS and the application has no decryption keys "
                "(spec.source.decryption); the file is not applied",
                reason=NO_KEYS,
            )
        keys = await asyncio.to_thread(self._write_keys)
        fmt = sops_format(shown)
        if path is None:
            self._inputs += 1
            path = self.workdir / "sops-input" / f"{self._inputs}{Path(shown).suffix}"
            await asyncio.to_thread(_write_private, path, data)
        argv = [str(self.tools.sops), "decrypt", "--input-type", fmt, "--output-type", fmt, str(path)]
        try:
            output = await run_tool(
                argv,
                name="sops",
                home=self.workdir / "home",
                cwd=self.workdir,
                time_limit=self.tools.timeout,
                settings=self.settings,
                confinement=Confinement(
                    program=self.tools.jail, readable=(self.workdir,), home=self.workdir / "home"
                ),
                extra_env={"SOPS_AGE_KEY_FILE": str(keys / "age.txt"), "GNUPGHOME": str(keys / "gnupg")},
            )
        except RenderError as err:
            raise _explained(err, shown, data) from None
        self.decrypted += 1
        self._remember(output.stdout)
        return output.stdout

    def _write_keys(self) -> Path:
        """The keys folder, written once per render: age identities and dearmored PGP secret keys."""
        if self._keys is not None:
            return self._keys
        assert self.params is not None
        keys = self.workdir / "keys"
        (keys / "gnupg").mkdir(parents=True, mode=0o700)
        age = b"".join(_read_key(path, "age") + b"\n" for path in self.params.age_key_files)
        pgp = b"".join(dearmor(_read_key(path, "PGP")) for path in self.params.pgp_key_files)
        _write_private(keys / "age.txt", age)
        _write_private(keys / "gnupg" / "secring.gpg", pgp)
        self._keys = keys
        return keys

    def _remember(self, plaintext: bytes) -> None:
        """Note every decrypted line and value, so tool errors can be scrubbed of them."""
        for raw in plaintext.decode("utf-8", "replace").splitlines():
            line = raw.strip()
            for part in (line, *(line.split(sep, 1)[1] for sep in (":", "=") if sep in line)):
                value = part.strip().strip("\"'").strip()
                if len(value) >= _MIN_SCRUB:
                    self._secrets.add(value)

    def scrub(self, text: str) -> str:
        """``text`` with every decrypted value this render met replaced by ``***``."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def scrubbed(self, err: RenderError) -> RenderError:
        """The same error, scrubbed when this render decrypted anything."""
        if not self.decrypted:
            return err
        return RenderError(self.scrub(str(err)), reason=err.reason)


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.touch(mode=0o600)
    path.write_bytes(data)


def _read_key(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise RenderError(f"{what} key file {path} unreadable: {exc.strerror}", reason=NO_KEYS) from None


_SOPS_ERRORS = (
    ("MAC mismatch", TAMPERED, "failed its integrity check (MAC mismatch): it was changed after encryption"),
    ("failed to verify", TAMPERED, "failed its integrity check: it was changed after it was encrypted"),
    ("data key", FAILED, "cannot be decrypted with the application's keys (none of them is a recipient)"),
    ("metadata not found", FAILED, "holds SOPS-encrypted values but no sops metadata"),
    ("Error unmarshalling", FAILED, "is not a valid SOPS file"),
    ("Error loading file", FAILED, "is not a valid SOPS file"),
)


def _explained(err: RenderError, shown: str, data: bytes) -> RenderError:
    """sops's failure as a fixed sentence: its own words may quote a value, so they are not shown."""
    if err.reason in ("RenderTimeout", "RenderToolMissing", "SandboxUnavailable"):
        return err
    words = str(err)
    for needle, reason, sentence in _SOPS_ERRORS:
        if needle in words:
            if reason == FAILED and needle == "data key":
                sentence += f"; it is encrypted for {recipients(data) or 'unknown recipients'}"
            return RenderError(f"{shown} {sentence}", reason=reason)
    return RenderError(f"{shown} could not be decrypted by sops", reason=FAILED)


_RECIPIENT = re.compile(rb"(age1[0-9a-z]{20,})|fp[\"']?\s*[:=]\s*[\"']?([0-9A-Fa-f]{16,40})")


def recipients(data: bytes) -> str:
    """The public recipients a sops file names (age public keys, PGP fingerprints), for messages."""
    found: list[str] = []
    for age, fingerprint in _RECIPIENT.findall(data):
        name = age.decode() if age else f"PGP {fingerprint.decode()}"
        if name not in found:
            found.append(name)
    return ", ".join(found[:5])


async def decrypt_files(files: Iterable[tuple[Path, str]], decryptor: Decryptor) -> None:
    """Replace every sops-encrypted file of a render's copy by its plaintext, in place."""
    for path, shown in files:
        if not path.is_file():
            continue
        data = await asyncio.to_thread(path.read_bytes)
        if is_encrypted(data):
            plaintext = await decryptor.decrypt(data, shown=shown, path=path)
            await asyncio.to_thread(path.write_bytes, plaintext)


def ciphertext_left(manifests: Iterable[dict[str, Any]]) -> str | None:
    """The first rendered object that still holds sops ciphertext, described; None when none does.

    Covers what no decryption reached: sops metadata left on an object, an ``ENC[...]`` value in any
    field, a Secret whose data is a base64 sops file (a generator fed an encrypted file).
    """
    objects = list(manifests)
    if not objects:
        return None
    suspects = [o for o in objects if is_encrypted_manifest(o)]
    if not suspects and _CIPHERTEXT in canonical_json(objects):
        suspects = [o for o in objects if _CIPHERTEXT in canonical_json([o])]
    suspects += [o for o in objects if o.get("kind") == "Secret" and _encrypted_data(o)]
    return _describe(suspects[0]) if suspects else None


def _encrypted_data(secret: Mapping[str, Any]) -> bool:
    data = secret.get("data")
    if not isinstance(data, dict):
        return False
    for value in data.values():
        if isinstance(value, str) and len(value) > 16:
            try:
                decoded = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                continue
            if is_encrypted(decoded):
                return True
    return False


def _describe(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    namespace = f"{meta.get('namespace')}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')} {namespace}{meta.get('name') or meta.get('generateName')}"


def refuse_ciphertext(manifests: Iterable[dict[str, Any]]) -> None:
    """RenderError when a rendered object still holds sops ciphertext: it is never applied."""
    left = ciphertext_left(manifests)
    if left is not None:
        raise RenderError(
            f"{left} is still SOPS-encrypted after the render; gitward never applies ciphertext "
            "(plain and kustomize apps decrypt with spec.source.decryption; Helm charts are not decrypted)",
            reason=NO_KEYS,
        )

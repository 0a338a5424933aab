"""Reading a target's secrets at send time, from its files or its Secret, without ever showing them.

Secrets are read for each message rather than once at start, so a rotated secret (a remounted or
edited Kubernetes Secret, a file an operator replaced) takes effect at the next message, as a
Receiver's secret does. A target with ``secretRef`` (``run --from-cluster``) has its keys fetched
before the message is built (``fetch_secrets``, through the engine's reading of the management
cluster's Secrets, ``SecretValue``); any other reads its files as the message is built
(``TargetSecrets.get``). A file or Secret that cannot be read fails the delivery with a message
naming the field or key, the path or Secret and the kind of error, never the content. Files are
capped: a secret is a line, not a disk.

Deliberately not here: what the secret is used for (``chat``, ``commitstatus``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from gitward.core.errors import GitwardError
from gitward.model.notification import SECRET_KEYS

MAX_SECRET_BYTES = 64 * 1024
_WRITTEN = {"secret_file": "secretFile", "url_file": "urlFile", "token_file": "tokenFile"}


class DeliveryError(Exception):
    """A message that cannot be sent; ``retry`` when trying again later may help.

    The text is shown in the app's events: it names fields, files, hosts' answers by status code,
    never a secret, a URL read from a file or a response body.
    """

    def __init__(self, message: str, *, retry: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry = retry
        self.retry_after = retry_after


class Skipped(Exception):
    """This target has nothing to do with this event (a commit status without a commit)."""


def read_secret(path: str, *, field: str) -> str:
    """The file's content without surrounding whitespace; raises ``DeliveryError`` naming the file."""
    try:
        with Path(path).expanduser().open("rb") as file:
            data = file.read(MAX_SECRET_BYTES + 1)
    except OSError as exc:
        raise DeliveryError(f"cannot read {field} {path}: {exc.strerror or type(exc).__name__}") from None
    if len(data) > MAX_SECRET_BYTES:
        raise DeliveryError(f"{field} {path} is larger than {MAX_SECRET_BYTES} bytes")
    text = data.decode("utf-8", "replace").strip()
    if not text:
        raise DeliveryError(f"{field} {path} is empty")
    return text


def read_url(path: str, *, field: str) -> str:
    """A webhook URL kept in a file (it is the credential of Slack and Teams webhooks)."""
    return check_url(read_secret(path, field=field), where=f"{field} {path}")


def check_url(url: str, *, where: str) -> str:
    if not url.lower().startswith(("http://", "https://")) or any(c.isspace() for c in url):
        raise DeliveryError(f"{where} does not hold one http:// or https:// URL")
    return url


class SecretValue(Protocol):
    """Reads one key of a Secret of the management cluster (``reconcile/secrets.py::ClusterSecrets``)."""

    async def value(self, namespace: str, name: str, key: str, *, owner: str) -> str: ...


class TargetSecrets:
    """One target's secrets for one message: its files, read when asked, or its Secret's keys,
    fetched beforehand (``fetch_secrets``). ``field`` is the target's file field (``secret_file``,
    ``url_file``, ``token_file``), whose key in a Secret is ``SECRET_KEYS[field]``."""

    def __init__(self, target: Any, values: Mapping[str, str] | None = None, *, where: str = "") -> None:
        self._target = target
        self._values = values
        self._where = where  # "Secret 's' (the secretRef of ...)"

    def get(self, field: str) -> str:
        if self._values is None:
            return read_secret(str(getattr(self._target, field)), field=_WRITTEN[field])
        value = self._values.get(field, "")
        if not value:
            raise DeliveryError(f"{self._where} has no key {SECRET_KEYS[field]!r}")
        return value

    def url(self, field: str = "url_file") -> str:
        if self._values is None:
            return read_url(str(getattr(self._target, field)), field=_WRITTEN[field])
        return check_url(self.get(field), where=f"the key {SECRET_KEYS[field]!r} of {self._where}")


def needed(target: Any) -> tuple[str, ...]:
    """The file fields a target's message needs (a webhook with a written ``url`` needs no URL)."""
    if target.type == "webhook":
        return ("secret_file",) if target.url else ("secret_file", "url_file")
    if target.type in ("slack", "teams"):
        return ("url_file",)
    return ("token_file",)


async def fetch_secrets(
    target: Any, *, reader: SecretValue | None, namespace: str, owner: str
) -> TargetSecrets:
    """The target's secrets: its files (read later, when the message is built), or the keys of the
    Secret its ``secretRef`` names, read now (an error names the Secret and key, never a value)."""
    ref = target.secret_ref
    if ref is None:
        return TargetSecrets(target)
    where = f"Secret {ref.name!r} (the secretRef of {owner})"
    if reader is None:
        raise DeliveryError(f"{owner}: secretRef is read only with gitward run --from-cluster")
    values: dict[str, str] = {}
    for field in needed(target):
        try:
            values[field] = await reader.value(namespace, ref.name, SECRET_KEYS[field], owner=owner)
        except GitwardError as error:
            raise DeliveryError(error.message) from None
    return TargetSecrets(target, values, where=where)

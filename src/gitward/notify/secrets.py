"""Reading a target's secret from its file, at send time, without ever showing the secret.

Files are read for each message rather than once at start, so a rotated secret (a remounted
Kubernetes Secret, a file an operator replaced) takes effect at the next message, as a Receiver's
secret does. A file that cannot be read fails the delivery with a message naming the field, the
path and the kind of error, never the content. Files are capped: a secret is a line, not a disk.

Deliberately not here: what the secret is used for (``chat``, ``commitstatus``).
"""

from __future__ import annotations

from pathlib import Path

MAX_SECRET_BYTES = 64 * 1024


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
    url = read_secret(path, field=field)
    if not url.lower().startswith(("http://", "https://")) or any(c.isspace() for c in url):
        raise DeliveryError(f"{field} {path} does not hold one http:// or https:// URL")
    return url

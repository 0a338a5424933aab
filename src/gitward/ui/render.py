"""The web UI's templates (Jinja2) and static assets, as one ``PageRenderer`` the API serves.

Why this shape: docs/architecture.md, layers keeps ``fastapi`` in ``api/`` and lets ``ui/`` and ``api/`` not
import each other. So ``ui/`` is presentation only: it turns plain dicts into HTML and owns the
files under ``static/``; ``api/`` authenticates, authorizes, asks the engine and hands the result
here through its ``PageRenderer`` protocol; ``gitward run`` (``cli/``) plugs the two together. The
browser then talks to the API over HTTP only (forms, ``fetch``, the event stream).

Autoescape is on for every template: every string the engine hands over (names, messages, diffs)
is text, never markup. Assets are versioned by the hash of their contents, so a new release is
never served a stale script from the browser's cache.

Deliberately not here: any decision about who may see or do what (the API decides and passes
``can``), and any I/O besides reading the package's own files.
"""

from __future__ import annotations

import datetime
import hashlib
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitward.ui.diffview import side_by_side

if TYPE_CHECKING:
    import jinja2

STATIC_DIR = Path(__file__).parent / "static"
TEMPLATE_DIR = Path(__file__).parent / "templates"

_TONE = {
    "Synced": "ok",
    "Healthy": "ok",
    "Succeeded": "ok",
    "Normal": "ok",
    "configured": "info",
    "created": "ok",
    "create": "ok",
    "configure": "info",
    "prune": "warn",
    "hook": "info",
    "unchanged": "muted",
    "deleted": "warn",
    "OutOfSync": "warn",
    "Progressing": "info",
    "Running": "info",
    "Suspended": "muted",
    "Missing": "bad",
    "Degraded": "bad",
    "Failed": "bad",
    "Error": "bad",
    "Warning": "bad",
    "failed": "bad",
    "Unknown": "muted",
}


def tone(value: Any) -> str:
    """The colour family of a status word: ok, info, warn, bad or muted (CSS classes)."""
    return _TONE.get(str(value), "muted")


def short(revision: Any) -> str:
    """A commit SHA shortened as git does; branch and tag names as they are."""
    text = "" if revision is None else str(revision)
    return text[:7] if len(text) == 40 and all(c in "0123456789abcdef" for c in text) else text


def when(value: Any) -> str:
    """Epoch seconds as an ISO-like UTC time; other values as given."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        moment = datetime.datetime.fromtimestamp(value, datetime.UTC)
        return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    return "" if value is None else str(value)


def ago(value: Any, now: float | None = None) -> str:
    """How long ago an epoch time was, in the largest whole unit ("3m ago")."""
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        return ""
    current = now if now is not None else datetime.datetime.now(datetime.UTC).timestamp()
    seconds = max(0, int(current - value))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def _asset_versions() -> dict[str, str]:
    out = {}
    for path in sorted(STATIC_DIR.iterdir()):
        if path.is_file():
            out[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return out


def _environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=True,
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(tone=tone, short=short, when=when, ago=ago, side_by_side=side_by_side)
    versions = _asset_versions()
    env.globals["asset"] = lambda name: f"/static/{name}?v={versions.get(name, '0')}"
    return env


class JinjaPages:
    """Implements ``api.pageseam.PageRenderer``.

    Jinja2 is imported, and the assets hashed, when the first page is rendered: ``gitward run``
    serves the API before anyone opens the UI, and a server nobody browses never pays for it."""

    static_dir = STATIC_DIR

    def __init__(self) -> None:
        self._env: jinja2.Environment | None = None
        self._lock = threading.Lock()  # pages render in the API's worker threads

    def render(self, template: str, context: Mapping[str, Any]) -> str:
        return self._templates().get_template(template).render(**context)

    def _templates(self) -> jinja2.Environment:
        with self._lock:
            if self._env is None:
                self._env = _environment()
            return self._env


def renderer() -> JinjaPages:
    return JinjaPages()

"""One spelling per Git repository, so a webhook's URLs can be matched with Applications' ``repoURL``.

A push notification names a repository several ways (``https://host/org/repo.git``, the web page
``https://host/org/repo``, ``git@host:org/repo.git``, ``ssh://git@host:2222/org/repo``) and a user
writes any one of them in ``spec.source.repoURL``. ``repository_key`` reduces all of them to
``host/path``: host lowercased, scheme, user info, port, a trailing ``.git`` and slashes dropped.
Local repositories (``file://`` URLs and plain paths) become their absolute path.

Matching is deliberately a little generous (the port and the scheme are ignored): a false match only
costs one extra fetch, a missed match costs a change not deployed until the next interval.
Deliberately not here: credentials (never part of the key) and case folding of paths (servers differ).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# user@host:path, as git itself reads it: no "://" and no slash before the colon.
_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>.*)$")


def _trim(path: str) -> str:
    path = path.strip().rstrip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")]
    return path.rstrip("/")


def repository_key(url: str) -> str:
    """``host/org/repo`` for remote URLs, ``/abs/path`` for local ones; "" for an empty URL."""
    text = url.strip()
    if not text:
        return ""
    if "://" not in text:
        scp = _SCP_LIKE.match(text)
        if scp is not None and not re.match(r"^[A-Za-z]:[\\/]", text):
            return f"{scp.group('host').lower()}/{_trim(scp.group('path')).lstrip('/')}"
        return "/" + _trim(text).lstrip("/")
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    path = _trim(parts.path)
    if parts.scheme.lower() == "file" or not host:
        return "/" + path.lstrip("/")
    return f"{host}/{path.lstrip('/')}"


def same_repository(a: str, b: str) -> bool:
    key = repository_key(a)
    return bool(key) and key == repository_key(b)

"""One spelling per Git repository, so a webhook's URLs can be matched with Applications' ``repoURL``.

A push notification names a repository several ways (``https://host/org/repo.git``, the web page
``https://host/org/repo``, ``git@host:org/repo.git``, ``ssh://git@host:2222/org/repo``) and a user
writes any one of them in ``spec.source.repoURL``. ``repository_key`` reduces all of them to
``host/path``: host lowercased, scheme, user info, port, a trailing ``.git`` and slashes dropped.
Local repositories (``file://`` URLs and plain paths) become their absolute path.

Matching is deliberately a little generous (the port and the scheme are ignored): a false match only
costs one extra fetch, a missed match costs a change not deployed until the next interval.
Credentials are never part of the key. ``credential_in`` finds a password or an access token in a
URL's user info, for the loader to refuse (secrets belong in Repository files) and for
``core/redact.py`` to mask.

Deliberately not here: case folding of paths (servers differ) and masking text (``core/redact.py``).
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

# user@host:path, as git itself reads it: no "://" and no slash before the colon.
_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>.*)$")


def _trim(path: str) -> str:
    path = path.strip().rstrip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")]
    return path.rstrip("/")


def repository_key(url: str) -> str:
    """``host/org/repo`` for remote URLs, ``/abs/path`` for local ones; "" for an empty URL or one
    whose host cannot be read (an unclosed ``[``)."""
    text = url.strip()
    if not text:
        return ""
    span = userinfo_span(text)
    if span is not None:
        # cut the user info out first: a password holding '/' would otherwise be read as the host
        # and part of the path, and credentials are never part of the key
        text = text[: span[0]] + text[span[1] + 1 :]
    if "://" not in text:
        scp = _SCP_LIKE.match(text)
        if scp is not None and not re.match(r"^[A-Za-z]:[\\/]", text):
            return f"{scp.group('host').lower()}/{_trim(scp.group('path')).lstrip('/')}"
        return "/" + _trim(text).lstrip("/")
    try:
        parts = urlsplit(text)
    except ValueError:  # "Invalid IPv6 URL"
        return ""
    host = (parts.hostname or "").lower()
    path = _trim(parts.path)
    if parts.scheme.lower() == "file" or not host:
        return "/" + path.lstrip("/")
    return f"{host}/{path.lstrip('/')}"


def same_repository(a: str, b: str) -> bool:
    key = repository_key(a)
    return bool(key) and key == repository_key(b)


# -- credentials ----------------------------------------------------------------------------------
#
# Secrets belong in Repository files, never in a URL: a URL is shown in ``app get``, the API, logs
# and errors. These functions find the user info of one URL the way git reads it, and say whether it
# carries a secret. ``core/redact.py`` masks with the same rules, so what is refused at load is
# exactly what is masked in a message.

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# A valid authority after the user info: ``host``, ``host:port`` or ``[v6]:port``. The port needs a
# digit: ``https://user:/secret@host`` is a password starting with '/', not an empty port.
_HOST_PORT = re.compile(r"^(?:\[[0-9A-Fa-f:.]*\]|[^:\[\]]*)(?::[0-9]+)?$")
# ``user@host:path`` with the user as long as possible, so a password holding '@' is all user info.
_SCP_USER = re.compile(r"^(?P<user>.+)@(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):")
# Prefixes of access tokens issued by Git hosts (GitHub, GitLab, Bitbucket).
_TOKEN_PREFIXES = (
    "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_",
    "glpat-", "gloas-", "gldt-", "glrt-", "glptt-", "glft-", "glsoat-", "glcbt-",
    "ATBB", "ATCTT",
)  # fmt: skip
# Other hosts' tokens are long runs of letters and digits (Gitea: 40 hex, Azure DevOps: 52).
_LONG_TOKEN = re.compile(r"^(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9_-]{32,}$")
#: Schemes whose bare user name is an account (``ssh://git@host``), not a secret.
SSH_SCHEMES = frozenset({"", "ssh", "git+ssh", "ssh+git"})


def looks_like_token(name: str) -> bool:
    """True for a user name that is an access token (``ghp_...``, a long random string)."""
    text = unquote(name)
    return text.startswith(_TOKEN_PREFIXES) or bool(_LONG_TOKEN.match(text))


def userinfo_span(url: str) -> tuple[int, int] | None:
    """Where the user info of ``url`` is (start, end of ``user[:password]``), or None.

    Generous on purpose: a password holding ``/``, ``?`` or ``#`` cuts a URL's authority short, so
    when the authority before the first ``/`` is not a valid ``host[:port]`` everything up to the
    last ``@`` is taken as user info. Addresses without a scheme are scp-like as git reads them
    (a ``:`` with no ``/`` before it); an absolute path has no user info.
    """
    scheme = _SCHEME.match(url)
    if scheme is not None:
        start = scheme.end()
        rest = url[start:]
        head = re.split(r"[/?#]", rest, maxsplit=1)[0]
        if "@" in head:
            return start, start + head.rindex("@")
        if "@" in rest and not _HOST_PORT.match(head):
            return start, start + rest.rindex("@")
        return None
    colon = url.find(":")
    if colon < 0 or "/" in url[:colon] or "@" not in url:
        return None
    scp = _SCP_USER.match(url)
    if scp is not None:
        return 0, scp.end("user")
    first = url[: url.index("@")]
    if ":" in first and "/" not in first:
        # ``user:password@host/path``: not a working address, but a secret all the same.
        return 0, url.rindex("@")
    return None


def url_scheme(url: str) -> str:
    """The lowercased scheme, "" for scp-like addresses and paths."""
    scheme = _SCHEME.match(url)
    return scheme.group(0)[:-3].lower() if scheme is not None else ""


def credential_in(url: str) -> str:
    """What secret the user info of ``url`` carries: "a password", "a token", or "" for none.

    ``https://user@host`` and ``git@host:org/repo`` carry none: a bare user name names an account
    (its password, if any, comes from a Repository file).
    """
    span = userinfo_span(url)
    if span is None:
        return ""
    info = url[span[0] : span[1]]
    if ":" in unquote(info):
        return "a password"
    return "a token" if looks_like_token(info) else ""

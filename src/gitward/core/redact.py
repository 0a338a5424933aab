"""One redaction for every message path: credentials in URLs are masked wherever a URL appears.

A URL is shown in ``app get``, the API, logs, events and errors, and it travels through git's own
error output. The loader refuses URLs with credentials, but a credential can still reach a message
by another route (a webhook payload, git's stderr, a URL typed into a command), so every message
gitward builds goes through ``redact_text`` (``GitwardError`` and ``ObjectError`` call it on
construction, ``gitward run`` filters its log records through it).

What is masked, with ``***`` in place of the user info (``https://***@host/org/repo``):
- a password (``user:secret@``) or an access-token user name, in any URL or scp-like address;
- any user name in a URL whose scheme is not SSH (``https://name@host``): a name cannot be told
  from a token there, and hiding a harmless name costs little.
An SSH account name (``ssh://git@host``, ``git@host:org/repo``) stays: it is never a secret, and
hiding it would make every SSH address unreadable.

Deliberately not here: Secret data in manifests (``diff/masking.py``) and the values of known
secrets, which the code holding them masks (``sources/credentials.py``).
"""

from __future__ import annotations

import re

from gitward.core.repourl import SSH_SCHEMES, credential_in, url_scheme, userinfo_span

MASK = "***"

# Where a URL starts in running text: a scheme not glued to a word before it.
_SCHEME_START = r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://"
# A URL in running text: a scheme and everything up to whitespace, a quote or an angle bracket, or
# up to the next URL when two are written without a space (``https://a/x,https://b/y``).
_URL_IN_TEXT = re.compile(rf"""{_SCHEME_START}(?:(?!{_SCHEME_START})[^\s'"<>`])*""")
# The same up to whitespace only, read first: user info may hold a quote or a bracket, which would
# cut the URL above short and leave the rest of a password shown (``'https://u:pa'ss@h/'``).
_WIDE_URL_IN_TEXT = re.compile(rf"""{_SCHEME_START}(?:(?!{_SCHEME_START})\S)*""")
# A word that may be an scp-like address (``user@host:path``): no scheme, holds an '@' and a ':'.
_WORD_IN_TEXT = re.compile(r"""(?<![^\s'"<>`(\[=,])[^\s'"<>`(\[=,]*@[^\s'"<>`]*""")
# The same up to whitespace only, read last: a password may hold the quotes, brackets, '=' or ','
# that end the word above (``user:pa=ss@host:path``).
_WIDE_WORD_IN_TEXT = re.compile(r"""(?<!\S)\S*@\S*""")
# A URL inside such a word (``user:pw@host:path,https://...``): only what comes before it is scp-like.
_SCHEME_IN_WORD = re.compile(_SCHEME_START)


def redact_url(url: str) -> str:
    """``url`` with its user info masked when it may be secret (see the module docstring)."""
    span = userinfo_span(url)
    if span is None:
        return url
    if not credential_in(url) and url_scheme(url) in SSH_SCHEMES:
        return url
    start, end = span
    return f"{url[:start]}{MASK}{url[end:]}"


def redact_text(text: str) -> str:
    """``text`` with every URL and scp-like address in it passed through ``redact_url``."""
    if "@" not in text:
        return text  # the common case: no user info anywhere
    out = _WIDE_URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
    out = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), out)
    out = _WORD_IN_TEXT.sub(_redact_word, out)
    return _WIDE_WORD_IN_TEXT.sub(_redact_word, out)


def _redact_word(match: re.Match[str]) -> str:
    word = match.group(0)
    url = _SCHEME_IN_WORD.search(word)
    head, tail = (word[: url.start()], word[url.start() :]) if url else (word, "")
    if "@" not in head or ":" not in head:
        return word  # URLs were handled above; an address without ':' is an e-mail, not scp-like
    return redact_url(head) + tail

"""Fuzzing the URL readers and the redaction of credentials (``core/repourl.py``, ``core/redact.py``;
docs/reliability.md row 19).

URLs are generated with every scheme form (web, SSH, scp-like ``user@host:path``, unknown schemes),
user names, passwords drawn from every character RFC 3986 allows in user info plus the ``@``, ``/``,
``?`` and ``#`` people type into them, IPv6 hosts, ports, paths, queries and fragments, and access
tokens as user names. Properties: ``credential_in`` finds every password and token; ``redact_url``
and ``redact_text`` (with the URL anywhere in a message, quoted or bracketed as git and HTTP
libraries word it) never leave a password or token in their output, show a plain URL's host and
path unchanged, and are idempotent; ``repository_key`` never holds a credential and gives a URL
the key it has without its user info; none of them fails on any text.
"""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from gitward.core.redact import MASK, redact_text, redact_url
from gitward.core.repourl import credential_in, repository_key, userinfo_span

pytestmark = pytest.mark.fuzz

UNRESERVED = string.ascii_letters + string.digits + "-._~"
SUB_DELIMS = "!$&'()*+,;="
percent = st.builds("%{:02X}".format, st.integers(0, 255))
user_names = st.lists(st.sampled_from(UNRESERVED + SUB_DELIMS) | percent, min_size=1, max_size=12).map(
    "".join
)
# Passwords: RFC 3986 user info characters, a ':' and the '@', '/', '?', '#' typed into them anyway.
# Not digits then '/', '?' or '#' (``https://user:8443/x@h``), nor an '@' before one of those
# (``https://user:p@ss/w@h``): git itself reads those as a port or a host and a path, so there is
# no telling them from a URL without credentials.
passwords = (
    st.lists(st.sampled_from(UNRESERVED + SUB_DELIMS + ":@/?#") | percent, min_size=6, max_size=20)
    .map("".join)
    .filter(lambda p: not re.match(r"[0-9]+[/?#]", p) and not re.search(r"@.*[/?#]", p))
)
tokens = st.builds(
    "{}{}".format,
    st.sampled_from(["ghp_", "gho_", "github_pat_", "glpat-", "gldt-", "ATBB", ""]),
    st.text(string.ascii_letters + string.digits, min_size=32, max_size=40).filter(
        lambda t: any(c.isdigit() for c in t) and any(c.isalpha() for c in t)
    ),
)
WEB_SCHEMES = ["https", "http", "HTTPS", "git", "oci", "s3", "ftp"]
SSH_SCHEMES = ["ssh", "git+ssh", "ssh+git", "SSH"]
hosts = st.sampled_from(["git.example.com", "h", "10.0.0.1", "[::1]", "[2001:db8::7]", "gitlab.com"])
ports = st.sampled_from(["", ":22", ":8443", ":"])
paths = st.sampled_from(["", "/", "/org/repo.git", "/org/r", "/r@v2", "/a/b?ref=main", "/x#frag", "/%41b"])
scp_paths = st.sampled_from(["org/repo.git", "r", "/abs/r", "org/r@v2", "~user/r"])


def leaks(secret: str, output: str) -> bool:
    return secret in output


@given(st.sampled_from(WEB_SCHEMES + SSH_SCHEMES), user_names, passwords, hosts, ports, paths)
@example("https", "user", "pa/ss@x", "h", "", "/org/r")
@example("https", "user", "p@ss#w?rd", "h", "", "/r@v2")
def test_a_password_in_a_url_is_found_and_never_shown(
    scheme: str, user: str, password: str, host: str, port: str, path: str
) -> None:
    rest = f"{host}{port}{path}"
    url = f"{scheme}://{user}:{password}@{rest}"
    assume(password not in f"{scheme}://{user}:" and password not in rest)
    assert credential_in(url) == "a password"
    shown = redact_url(url)
    assert not leaks(password, shown)
    assert redact_url(shown) == shown
    if not set(password) & set("@/?#") and "@" not in path:
        assert shown == f"{scheme}://{MASK}@{rest}"


@given(st.sampled_from(WEB_SCHEMES + SSH_SCHEMES), tokens, hosts, ports, paths)
def test_a_token_as_user_name_is_found_and_never_shown(
    scheme: str, token: str, host: str, port: str, path: str
) -> None:
    url = f"{scheme}://{token}@{host}{port}{path}"
    assert credential_in(url) == "a token"
    shown = redact_url(url)
    assert not leaks(token, shown)
    assert shown == f"{scheme}://{MASK}@{host}{port}{path}"


@given(user_names, passwords | tokens, st.sampled_from(["git.example.com", "h", "[::1]"]), scp_paths)
@example("user", "pa/ss", "host", "org/r")
def test_scp_like_addresses_with_a_secret_never_show_it(user: str, secret: str, host: str, path: str) -> None:
    url = f"{user}:{secret}@{host}:{path}" if ":" not in secret[:0] else ""
    token_form = f"{secret}@{host}:{path}"
    for address in (url, token_form if credential_in(token_form) else url):
        assume(secret not in address.split("@")[-1] and secret not in user)
        assert credential_in(address)
        assert not leaks(secret, redact_url(address))


@given(st.sampled_from(WEB_SCHEMES), user_names, hosts, ports, paths)
def test_any_user_name_of_a_web_url_is_masked_and_an_ssh_account_is_kept(
    scheme: str, user: str, host: str, port: str, path: str
) -> None:
    if "@" not in path:
        assert redact_url(f"{scheme}://{user}@{host}{port}{path}") == f"{scheme}://{MASK}@{host}{port}{path}"
    assume(credential_in(f"ssh://{user}@{host}{port}{path}") == "")
    assert redact_url(f"ssh://{user}@{host}{port}{path}") == f"ssh://{user}@{host}{port}{path}"


# How messages quote a URL: git's "unable to access '...'", HTML-ish <...>, key=value lists, parens.
CONTEXTS = [
    ("", ""),
    ("fetch of ", " failed"),
    ("fatal: unable to access '", "/': The requested URL returned error: 403"),
    ('"', '"'),
    ("<", ">"),
    ("(", ")"),
    ("[", "]"),
    ("url=", ",next=git@h:o/r"),
    ("`", "`"),
    ("two: ", " https://u:other@h/y"),
    ("tried ", ",https://u:other@h/y"),  # a list without spaces
    ("line\n", "\nline"),
]


@given(
    st.sampled_from(WEB_SCHEMES + SSH_SCHEMES), user_names, passwords, hosts, paths, st.sampled_from(CONTEXTS)
)
@example("https", "user", "pa'ss", "h", "/org/r", CONTEXTS[2])  # a quote inside the password: was shown
@example("https", "a", "aaaa'/", "h", "", CONTEXTS[0])  # a quote and a slash: was shown
@example("https", "u", "p)w(1", "h", "/x", CONTEXTS[5])
def test_a_password_in_a_message_is_never_shown(
    scheme: str, user: str, password: str, host: str, path: str, context: tuple[str, str]
) -> None:
    before, after = context
    url = f"{scheme}://{user}:{password}@{host}{path}"
    assume(password not in before + after + host + path + user)
    text = f"{before}{url}{after}"
    shown = redact_text(text)
    assert not leaks(password, shown)
    assert redact_text(shown) == shown


@given(
    user_names,
    passwords | tokens,
    st.sampled_from(["git.example.com", "h"]),
    scp_paths,
    st.sampled_from(CONTEXTS),
)
@example("user", "pa=ss", "host", "org/r", CONTEXTS[1])  # a delimiter of words inside it: was shown
@example("a", "aaaaa'", "git.example.com", "org/r", CONTEXTS[0])  # a quote inside it: was shown
def test_a_secret_in_an_scp_like_address_in_a_message_is_never_shown(
    user: str, secret: str, host: str, path: str, context: tuple[str, str]
) -> None:
    before, after = context
    address = f"{user}:{secret}@{host}:{path}"
    assume(secret not in before + after + host + path + user)
    shown = redact_text(f"{before}{address}{after}")
    assert not leaks(secret, shown)


@given(st.text(max_size=120))
@example("https://@")
@example("a@b:c@d:")
@example("x://[::1")
def test_the_url_readers_take_any_text(text: str) -> None:
    credential_in(text)
    userinfo_span(text)
    repository_key(text)
    shown = redact_text(text)
    assert redact_text(shown) == shown
    assert redact_url(redact_url(text)) == redact_url(text)


@given(st.sampled_from(WEB_SCHEMES + SSH_SCHEMES), user_names, passwords, tokens, hosts, ports, paths)
@example(
    "https", "u", "pa/ss", "ghp_0123456789abcdef0123456789abcdef", "h", "", "/org/r"
)  # '/': was in the key
def test_a_repository_key_never_holds_a_credential(
    scheme: str, user: str, password: str, token: str, host: str, port: str, path: str
) -> None:
    plain = f"{scheme}://{host}{port}{path}"
    for secret, url in (
        (password, f"{scheme}://{user}:{password}@{host}{port}{path}"),
        (token, f"{scheme}://{token}@{host}{port}{path}"),
    ):
        assume(secret.lower() not in plain.lower())
        key = repository_key(url)
        assert secret.lower() not in key
        # else the URL itself is ambiguous: ``https://u:pa/ss@h/r@v2``, ``https://h:/r@v2``
        if not ((set(secret) & set("/?#") or port == ":") and "@" in path):
            assert key == repository_key(plain)

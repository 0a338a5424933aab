"""Secret masking and text redaction (docs/reliability.md, bad input 12), and the unified diff."""

from __future__ import annotations

import base64
from typing import Any

from gitward.core.keys import ResourceKey
from gitward.diff import mask_object, mask_secrets, redact_text, secret_values, unified_diff

PASSWORD = "hunter2-very-secret"
TOKEN = "tok-abcdef-0123"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _secret(**data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "creds",
            "namespace": "prod",
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": f'{{"data":{{"p":"{_b64(PASSWORD)}"}}}}',
                "keep": "yes",
            },
        },
        "type": "Opaque",
        "data": {k: _b64(v) for k, v in data.items()},
    }


def _text(obj: Any) -> str:
    return repr(obj)


def _assert_no_secret(text: str) -> None:
    for value in (PASSWORD, TOKEN, _b64(PASSWORD), _b64(TOKEN)):
        assert value not in text


def test_mask_secrets_equal_values_equal_masks_different_values_different() -> None:
    desired = _secret(password=PASSWORD, token=TOKEN, same=PASSWORD)
    live = _secret(password=PASSWORD, token="old-token-value", same=PASSWORD)
    d, lv = mask_secrets(desired, live)
    assert d is not None
    assert lv is not None
    _assert_no_secret(_text(d) + _text(lv))
    assert d["data"]["password"] == lv["data"]["password"] == d["data"]["same"]
    assert d["data"]["token"] != lv["data"]["token"]
    assert d["data"]["token"] != d["data"]["password"]
    assert set(d["data"]["token"]) == {"+"}
    assert "kubectl.kubernetes.io/last-applied-configuration" not in d["metadata"]["annotations"]
    assert d["metadata"]["annotations"]["keep"] == "yes"
    # inputs are left alone
    assert desired["data"]["password"] == _b64(PASSWORD)


def test_mask_does_not_derive_mask_from_value() -> None:
    short, long = mask_object(_secret(a="x")), mask_object(_secret(a="x" * 500))
    assert short["data"]["a"] == long["data"]["a"]


def test_mask_string_data_matches_encoded_data() -> None:
    desired = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"p": PASSWORD}}
    live = _secret(p=PASSWORD)
    d, lv = mask_secrets(desired, live)
    assert d is not None
    assert lv is not None
    assert d["stringData"]["p"] == lv["data"]["p"]
    _assert_no_secret(_text(d) + _text(lv))


def test_mask_leaves_other_kinds_and_handles_none() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}}
    d, lv = mask_secrets(cm, None)
    assert d == cm
    assert lv is None
    fake = {"apiVersion": "example.com/v1", "kind": "Secret", "data": {"a": "b"}}
    assert mask_object(fake)["data"] == {"a": "b"}


def test_mask_object_masks_lists_of_secrets() -> None:
    lst = {"apiVersion": "v1", "kind": "SecretList", "items": [_secret(p=PASSWORD), _secret(t=TOKEN)]}
    _assert_no_secret(_text(mask_object(lst)))


def test_secret_values_and_redact_text() -> None:
    pem = "-----BEGIN KEY-----\nMIIBVwIBADANBgkqhkiG9w0BAQEFAASCAT\n-----END KEY-----\n"
    values = secret_values(_secret(p=PASSWORD, pem=pem))
    message = (
        f"admission webhook denied: value {PASSWORD!r} and {_b64(PASSWORD)} "
        "and line MIIBVwIBADANBgkqhkiG9w0BAQEFAASCAT"
    )
    redacted = redact_text(message, values)
    _assert_no_secret(redacted)
    assert "MIIBVwIBADANBgkqhkiG9w0BAQEFAASCAT" not in redacted
    assert redacted.startswith("admission webhook denied: value '******'")
    assert secret_values({"kind": "ConfigMap", "apiVersion": "v1", "data": {"a": "b"}}) == set()


def test_redact_text_longest_first_and_noop() -> None:
    assert redact_text("abcdef abc", ["abc", "abcdef"]) == "****** ******"
    assert redact_text("nothing here", []) == "nothing here"
    assert redact_text("a.b", ["."]) == "a******b"  # regex metacharacters are literal


def test_unified_diff_masks_and_headers() -> None:
    key = ResourceKey("", "Secret", "prod", "creds")
    live = _secret(password=PASSWORD, token="old-token-value")
    live["metadata"]["uid"] = "abc"
    live["metadata"]["resourceVersion"] = "7"
    desired = _secret(password=PASSWORD, token=TOKEN)
    text = unified_diff(key, desired, live)
    _assert_no_secret(text)
    assert "old-token-value" not in text
    assert text.startswith("--- live/Secret/prod/creds\n+++ desired/Secret/prod/creds\n")
    changed = [ln for ln in text.splitlines() if ln[:1] in "+-" and not ln.startswith(("---", "+++"))]
    assert len(changed) == 2  # only the token line changed; uid/resourceVersion are normalised away
    assert all("token" in ln for ln in changed)


def test_unified_diff_empty_when_equal_and_against_missing() -> None:
    key = ResourceKey("", "ConfigMap", "", "c")
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"b": "1", "a": "2"}}
    assert unified_diff(key, cm, dict(cm, status={"x": 1})) == ""
    created = unified_diff(key, cm, None)
    assert created.startswith("--- live/ConfigMap/c\n+++ desired/ConfigMap/c\n")
    assert created.index("+  a: '2'") < created.index("+  b: '1'")

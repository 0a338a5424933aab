"""API answers become ClusterError with the API's message; Secret values never reach a message."""

from __future__ import annotations

import base64

import orjson
import pytest

from gitward.cluster.failures import (
    RetryPolicy,
    error_from_response,
    parse_retry_after,
    redact,
    secret_values,
)


def _status(message: str, reason: str, code: int) -> bytes:
    return orjson.dumps(
        {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "message": message,
            "reason": reason,
            "code": code,
        }
    )


def test_status_message_is_kept_with_what_was_attempted() -> None:
    body = _status('ConfigMap "x" is invalid: data[bad key]: Invalid value', "Invalid", 422)
    err = error_from_response(422, body, what="apply ConfigMap ns/x")
    assert err.status == 422
    assert err.reason == "Invalid"
    assert str(err) == 'apply ConfigMap ns/x: ConfigMap "x" is invalid: data[bad key]: Invalid value'


def test_non_status_body_falls_back_to_http_code() -> None:
    err = error_from_response(502, b"<html>bad gateway</html>", what="list Pod")
    assert err.status == 502
    assert str(err) == "list Pod: HTTP 502"
    assert err.reason == "ClusterUnavailable"


def test_secret_values_plain_and_base64_are_masked() -> None:
    plain = "hunter2-very-secret"
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "data": {"password": base64.b64encode(plain.encode()).decode()},
        "stringData": {"token": "tok-123456"},
    }
    values = secret_values(secret)
    encoded_token = base64.b64encode(b"tok-123456").decode()
    body = _status(f'Secret "s" is invalid: {plain} and {encoded_token} and tok-123456', "Invalid", 422)
    err = error_from_response(422, body, what="apply Secret ns/s", secrets=values)
    text = str(err)
    assert plain not in text
    assert "tok-123456" not in text
    assert encoded_token not in text
    assert secret["data"]["password"] not in text
    assert "***" in text


def test_non_secret_objects_have_nothing_to_mask() -> None:
    assert secret_values({"kind": "ConfigMap", "data": {"a": "b"}}) == []
    assert redact("a b", []) == "a b"


@pytest.mark.parametrize(
    ("attempt", "hint", "expected"),
    [(1, None, 0.2), (2, None, 0.4), (3, None, 0.8), (10, None, 5.0), (1, 3.0, 3.0), (1, 999.0, 10.0)],
)
def test_retry_delay_grows_and_honours_retry_after_within_a_cap(
    attempt: int, hint: float | None, expected: float
) -> None:
    assert RetryPolicy().delay(attempt, retry_after=hint) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("value", "expected"), [("2", 2.0), (" 1.5 ", 1.5), ("", None), (None, None), ("Wed, 21", None)]
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected

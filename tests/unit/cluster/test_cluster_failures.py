"""API answers become ClusterError with a summary of the API's answer; Secret values never reach a message.

The two ``testdata/status_*.json`` bodies are answers of a real API server: an apply that changes a
Job's ``spec.template``, and an apply of a Deployment with four invalid fields.
"""

from __future__ import annotations

import base64
from pathlib import Path

import orjson
import pytest

from gitward.cluster.failures import (
    MAX_CAUSE,
    MAX_SUMMARY,
    RetryPolicy,
    error_from_response,
    parse_retry_after,
    redact,
    secret_values,
    short_cause,
)

TESTDATA = Path(__file__).parent / "testdata"


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


def test_short_status_message_is_kept_whole_after_status_and_reason() -> None:
    body = _status('ConfigMap "x" is invalid: data[bad key]: Invalid value', "Invalid", 422)
    err = error_from_response(422, body, what="apply ConfigMap ns/x")
    assert err.status == 422
    assert err.reason == "Invalid"
    assert (
        str(err)
        == 'apply ConfigMap ns/x: HTTP 422 Invalid: ConfigMap "x" is invalid: data[bad key]: Invalid value'
    )


def test_non_status_body_falls_back_to_http_code() -> None:
    err = error_from_response(502, b"<html>bad gateway</html>", what="list Pod")
    assert err.status == 502
    assert str(err) == "list Pod: HTTP 502"
    assert err.reason == "ClusterUnavailable"


def test_immutable_job_template_puts_the_field_and_its_problem_first() -> None:
    body = (TESTDATA / "status_job_template_immutable.json").read_bytes()
    assert len(orjson.loads(body)["message"]) > 2000  # the pod template is quoted whole
    text = str(error_from_response(422, body, what="apply Job ns/migrate"))
    assert text.startswith("apply Job ns/migrate: HTTP 422 Invalid: spec.template: Invalid value: {")
    cause_end = text.index(": field is immutable")
    assert cause_end < MAX_CAUSE + 60
    # then the API's own message, cut so the whole stays near the bound
    assert text.index('Job.batch "j" is invalid', cause_end) > cause_end
    assert len(text) <= MAX_SUMMARY + 40
    assert text.endswith("more characters)")


def test_invalid_deployment_lists_every_cause_as_field_and_message() -> None:
    body = (TESTDATA / "status_deployment_invalid.json").read_bytes()
    text = str(error_from_response(422, body, what="apply Deployment ns/d"))
    head, _, rest = text.partition(" | ")
    assert head == (
        "apply Deployment ns/d: HTTP 422 Invalid: "
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0; "
        'spec.template.metadata.labels: Invalid value: {"a":"c"}: '
        "`selector` does not match template `labels`; "
        'spec.template.spec.containers[0].name: Invalid value: "Bad_Name": a lowercase RFC 1123 label must '
        "consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric "
        "character (e.g. 'my-name',  or '123-abc', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?'); "
        "spec.template.spec.containers[0].image: Required value"
    )
    assert rest.startswith('Deployment.apps "d" is invalid: [spec.replicas')


def test_causes_are_never_cut_however_many_there_are() -> None:
    causes = [
        {"reason": "FieldValueRequired", "message": "Required value", "field": f"spec.items[{i}].name"}
        for i in range(80)
    ]
    body = orjson.dumps(
        {
            "kind": "Status",
            "message": "x" * 5000,
            "reason": "Invalid",
            "code": 422,
            "details": {"causes": causes},
        }
    )
    text = str(error_from_response(422, body, what="apply Widget ns/w"))
    assert all(f"spec.items[{i}].name: Required value" in text for i in range(80))
    assert text.count("x") < 400  # the message still gets its minimum share, no more


def test_a_long_cause_keeps_its_end() -> None:
    dump = "core.PodSpec{" + "Field:nil, " * 200 + "}"
    assert short_cause(f"Invalid value: {dump}: field is immutable").endswith("…: field is immutable")
    assert len(short_cause(f"Invalid value: {dump}: field is immutable")) < MAX_CAUSE
    unknown = "prefix " + "a" * 1000 + " the part that says what is wrong"
    shortened = short_cause(unknown)
    assert shortened.startswith("prefix aaa")
    assert shortened.endswith("the part that says what is wrong")
    assert len(shortened) <= MAX_CAUSE + 3
    assert short_cause("Required value") == "Required value"


def test_secret_values_are_masked_before_a_quoted_value_is_shortened() -> None:
    plain = "s3cr3t-" + "q" * 400  # long enough to be shortened in the cause
    secret = {"apiVersion": "v1", "kind": "Secret", "stringData": {"token": plain}}
    cause = {
        "reason": "FieldValueInvalid",
        "message": f'Invalid value: "{plain}": bad',
        "field": "data[token]",
    }
    body = orjson.dumps(
        {
            "kind": "Status",
            "message": f'Secret "s" is invalid: data[token]: Invalid value: "{plain}": bad',
            "reason": "Invalid",
            "code": 422,
            "details": {"causes": [cause]},
        }
    )
    text = str(error_from_response(422, body, what="apply Secret ns/s", secrets=secret_values(secret)))
    assert "s3cr3t" not in text
    assert 'data[token]: Invalid value: "***": bad' in text


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

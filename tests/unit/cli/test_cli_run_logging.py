"""``gitward run``'s log formats: console and JSON lines, structured fields, URL credentials masked."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from gitward.cli.logsetup import ConsoleFormatter, JsonFormatter, LogFormat, LogLevel, configure_logging
from gitward.core.logfields import fields


def _record(
    message: str, *args: object, exc: BaseException | None = None, extra: dict[str, Any] | None = None
) -> logging.LogRecord:
    exc_info = (type(exc), exc, None) if exc is not None else None
    record = logging.LogRecord("gitward.test", logging.WARNING, __file__, 1, message, args, exc_info)
    for key, value in (extra or {}).items():
        setattr(record, key, value)
    return record


def _console(message: str, *args: object, **kw: Any) -> str:
    line = ConsoleFormatter().format(_record(message, *args, **kw))
    return line.split(" ", 2)[2]  # without the date and time


def _json(message: str, *args: object, **kw: Any) -> dict[str, Any]:
    text = JsonFormatter().format(_record(message, *args, **kw))
    assert "\n" not in text
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def test_a_url_argument_is_masked() -> None:
    line = _console("fetch of %s failed", "https://deployer:pw-77x@git.example.com/org/r.git")
    assert line == "WARNING gitward.test: fetch of https://***@git.example.com/org/r.git failed"
    assert _json("fetch of %s failed", "https://deployer:pw-77x@git.example.com/org/r.git")["message"] == (
        "fetch of https://***@git.example.com/org/r.git failed"
    )


def test_an_exception_text_is_masked_too() -> None:
    line = _console("push failed", exc=RuntimeError("cannot reach ghp_abc123@github.com:org/r"))
    assert "ghp_abc123" not in line
    assert "RuntimeError: cannot reach ***@github.com:org/r" in line
    parsed = _json("push failed", exc=RuntimeError("cannot reach ghp_abc123@github.com:org/r"))
    assert "ghp_abc123" not in json.dumps(parsed)
    assert "RuntimeError: cannot reach ***@github.com:org/r" in parsed["exception"]


def test_a_line_without_user_info_is_unchanged() -> None:
    assert _console("synced %s at %s", "web", "ssh://git@host/org/r") == (
        "WARNING gitward.test: synced web at ssh://git@host/org/r"
    )


def test_fields_follow_the_console_message_as_key_value_pairs() -> None:
    extra = fields(app="web", step="render", reason="RenderToolMissing", message="helm is missing", gone=None)
    line = _console("operation failed", extra=extra)
    assert line == (
        "WARNING gitward.test: operation failed "
        'app=web step=render reason=RenderToolMissing message="helm is missing"'
    )


def test_fields_go_on_the_message_line_before_a_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError as exc:
        line = ConsoleFormatter().format(_record("failed", exc=exc, extra=fields(app="web")))
    first, _, rest = line.partition("\n")
    assert first.endswith("failed app=web")
    assert "ValueError: boom" in rest


def test_a_json_line_holds_the_base_keys_and_every_field() -> None:
    parsed = _json(
        "operation finished",
        extra=fields(app="web", phase="Succeeded", objects=3, path=Path("/x"), message="all synced"),
    )
    assert parsed["level"] == "warning"
    assert parsed["logger"] == "gitward.test"
    assert parsed["message"] == "operation finished"
    assert parsed["time"].endswith("Z")
    assert parsed["app"] == "web"
    assert parsed["phase"] == "Succeeded"
    assert parsed["objects"] == 3
    assert parsed["path"] == "/x"
    assert parsed["message_"] == "all synced"  # a field never hides the line's own message


def test_a_credential_in_a_field_is_masked() -> None:
    parsed = _json("fetch failed", extra=fields(repo="https://u:secret@git.example.com/r.git"))
    assert parsed["repo"] == "https://***@git.example.com/r.git"
    line = _console("fetch failed", extra=fields(repo="https://u:secret@git.example.com/r.git"))
    assert "secret" not in line


@pytest.mark.parametrize("fmt", list(LogFormat))
def test_the_level_hides_less_severe_lines(fmt: LogFormat) -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    try:
        configure_logging(fmt, LogLevel.WARNING, stream=stream)
        log = logging.getLogger("gitward.test")
        log.info("quiet", extra=fields(app="web"))
        log.warning("loud", extra=fields(app="web"))
    finally:
        root.handlers[:] = saved[1]
        root.setLevel(saved[0])
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert "loud" in lines[0]
    if fmt is LogFormat.JSON:
        assert json.loads(lines[0])["app"] == "web"

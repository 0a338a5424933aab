"""``gitward run`` logs through a formatter that masks URL credentials in the whole line."""

from __future__ import annotations

import logging

from gitward.cli.run import _RedactingFormatter


def _line(message: str, *args: object, exc: BaseException | None = None) -> str:
    exc_info = (type(exc), exc, None) if exc is not None else None
    record = logging.LogRecord("gitward.test", logging.WARNING, __file__, 1, message, args, exc_info)
    return _RedactingFormatter("%(levelname)s %(name)s: %(message)s").format(record)


def test_a_url_argument_is_masked() -> None:
    line = _line("fetch of %s failed", "https://deployer:pw-77x@git.example.com/org/r.git")
    assert line == "WARNING gitward.test: fetch of https://***@git.example.com/org/r.git failed"


def test_an_exception_text_is_masked_too() -> None:
    line = _line("push failed", exc=RuntimeError("cannot reach ghp_abc123@github.com:org/r"))
    assert "ghp_abc123" not in line
    assert "RuntimeError: cannot reach ***@github.com:org/r" in line


def test_a_line_without_user_info_is_unchanged() -> None:
    assert _line("synced %s at %s", "web", "ssh://git@host/org/r") == (
        "WARNING gitward.test: synced web at ssh://git@host/org/r"
    )

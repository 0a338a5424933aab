"""URL credentials: which ones the loader refuses, and how every message shows them (masked)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gitward.core.errors import FetchError, GitwardError, RenderError
from gitward.core.redact import redact_text, redact_url
from gitward.core.repourl import credential_in, looks_like_token, repository_key

TABLE = yaml.safe_load((Path(__file__).parent / "testdata" / "core_url_credentials.yaml").read_text())


@pytest.mark.parametrize("row", TABLE["urls"], ids=[r["url"] for r in TABLE["urls"]])
def test_credential_and_display_of_each_url(row: dict[str, Any]) -> None:
    assert credential_in(row["url"]) == row["credential"]
    assert redact_url(row["url"]) == row["shown"]


@pytest.mark.parametrize("row", TABLE["texts"], ids=[r["text"][:40] for r in TABLE["texts"]])
def test_every_url_in_a_text_is_redacted(row: dict[str, Any]) -> None:
    assert redact_text(row["text"]) == row["shown"]


@pytest.mark.parametrize("row", TABLE["urls"], ids=[r["url"] for r in TABLE["urls"]])
def test_a_url_alone_in_a_text_is_shown_as_redact_url_shows_it(row: dict[str, Any]) -> None:
    assert redact_text(f"fetch of {row['url']} failed") == f"fetch of {row['shown']} failed"


def test_redaction_is_idempotent() -> None:
    for row in TABLE["urls"]:
        assert redact_url(row["shown"]) == row["shown"]


@pytest.mark.parametrize(
    ("name", "token"),
    [
        ("deployer", False),
        ("git", False),
        ("oauth2", False),
        ("x-access-token", False),
        ("svc-deploy-production-eu-west", False),  # long, but no digit: a name
        ("ghp_abc", True),
        ("glpat-abc", True),
        ("ATBB3xYz", True),
        ("0123456789abcdef0123456789abcdef", True),  # 32 hex characters
        ("0123456789abcdef0123456789abcde", False),  # 31: below the generic length
    ],
)
def test_token_like_names(name: str, token: bool) -> None:
    assert looks_like_token(name) is token


@pytest.mark.parametrize("error", [GitwardError, FetchError, RenderError])
def test_every_gitward_error_masks_url_credentials(error: type[GitwardError]) -> None:
    raised = error("git fetch of https://user:s3cret@host/org/r failed: user:s3cret@host:org/r")
    assert "s3cret" not in str(raised)
    assert "s3cret" not in raised.message
    assert raised.message == "git fetch of https://***@host/org/r failed: ***@host:org/r"


def test_the_repository_key_never_holds_user_info() -> None:
    assert repository_key("https://user:s3cret@host/org/r.git") == "host/org/r"
    assert repository_key("ghp_abc123@github.com:org/r.git") == "github.com/org/r"

"""The ``Repository`` object: credentials for Git or Helm repositories whose URL starts with ``url``.

Credentials live in files (a mounted Secret, a file only the operator can read), never inline in the
config, so the config itself can be committed to Git. The longest matching ``url`` prefix wins, as
with Argo CD's repository credential templates. For the same reason ``url`` itself must not hold a
password or a token (``check_no_credentials``).
``signatureKeys`` (``model/trust.py``), when set, makes every commit fetched from a matching URL
need a valid signature by one of the listed keys before any app deploys it.

Deliberately not here: reading the files (reconcile does, when it needs them).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from gitward.model.common import FilePath, SpecModel, TopLevelObject, check_no_credentials
from gitward.model.trust import SignatureKeys


class RepositorySpec(SpecModel):
    url: str = Field(min_length=1)
    username: str | None = None
    password_file: FilePath | None = None
    bearer_token_file: FilePath | None = None
    ssh_private_key_file: FilePath | None = None
    known_hosts_file: FilePath | None = None
    signature_keys: SignatureKeys | None = None  # set: commits must be signed by one of these keys

    @field_validator("url")
    @classmethod
    def _url_without_credentials(cls, value: str) -> str:
        return check_no_credentials(value, what="url")


class Repository(TopLevelObject):
    kind: Literal["Repository"] = "Repository"
    spec: RepositorySpec

    def matches(self, url: str) -> bool:
        return url.startswith(self.spec.url)


def credentials_for(repositories: tuple[Repository, ...], url: str) -> Repository | None:
    """The Repository with the longest URL prefix of ``url``, if any."""
    matching = [r for r in repositories if r.matches(url)]
    return max(matching, key=lambda r: len(r.spec.url), default=None)

"""The ``Repository`` object: credentials for Git or Helm repositories whose URL starts with ``url``.

Credentials live in files (a mounted Secret, a file only the operator can read) or, with ``run
--from-cluster``, in a Secret that ``secretRef`` names (in the Repository's own namespace, keys
``username``/``password``, ``bearerToken``, or ``sshPrivateKey`` with ``knownHosts``); never inline in
the config, so the config itself can be committed to Git. ``secretRef`` and the ``*File`` fields
exclude each other; which of them a config may use depends on where it is read from
(``model/secretrefs.py``). The longest matching ``url`` prefix wins, as
with Argo CD's repository credential templates. For the same reason ``url`` itself must not hold a
password or a token (``check_no_credentials``).
``signatureKeys`` (``model/trust.py``), when set, makes every commit fetched from a matching URL
need a valid signature by one of the listed keys before any app deploys it.

Deliberately not here: reading the files (reconcile does, when it needs them).
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from gitward.model.common import FilePath, Name, SpecModel, TopLevelObject, check_no_credentials
from gitward.model.trust import SignatureKeys


class LocalSecretRef(SpecModel):
    """A Secret in the namespace of the object that names it (read with ``run --from-cluster`` only)."""

    name: Name


#: The fields of a Repository that name files (refused when the config is read from the cluster).
REPOSITORY_FILE_FIELDS = ("passwordFile", "bearerTokenFile", "sshPrivateKeyFile", "knownHostsFile")


class RepositorySpec(SpecModel):
    url: str = Field(min_length=1)
    username: str | None = None
    password_file: FilePath | None = None
    bearer_token_file: FilePath | None = None
    ssh_private_key_file: FilePath | None = None
    known_hosts_file: FilePath | None = None
    secret_ref: LocalSecretRef | None = None  # the credentials are in this Secret
    signature_keys: SignatureKeys | None = None  # set: commits must be signed by one of these keys

    @model_validator(mode="after")
    def _one_source_of_secrets(self) -> Self:
        if self.secret_ref is not None and self.file_fields():
            raise ValueError(
                f"secretRef and {', '.join(self.file_fields())} exclude each other: the credentials "
                "come either from the Secret or from files"
            )
        return self

    def file_fields(self) -> list[str]:
        """The fields set here that name files, as written in the config."""
        values = (
            self.password_file,
            self.bearer_token_file,
            self.ssh_private_key_file,
            self.known_hosts_file,
        )
        return [name for name, value in zip(REPOSITORY_FILE_FIELDS, values, strict=True) if value]

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

"""The ``Receiver`` object: a webhook endpoint for one Git hosting service, with its shared secret.

Served at ``POST /api/v1/webhooks/<name>``. ``type`` decides how a request is authenticated and where
the repository URLs are read from the payload (``api/webhooks.py``). The secret is never inline, so
the config can be committed: in a config file it lives in a file (a mounted Secret, a file only the
operator can read) named by ``secretFile``; with ``run --from-cluster`` in a Secret of the Receiver's
namespace named by ``secretRef``, under the key ``secret`` (``model/secretrefs.py`` refuses each
where the other belongs). It is read when a request arrives, so a rotated secret takes effect
without a restart.

Deliberately not here: reading the file or checking signatures (``api/``), and any choice of which
apps to refresh (a webhook only triggers a fetch of the repository it names).
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import model_validator

from gitward.model.common import FilePath, SpecModel, TopLevelObject
from gitward.model.repository import LocalSecretRef

ReceiverType = Literal["github", "gitlab", "gitea", "bitbucket", "generic"]
#: The key of a Receiver's Secret (``secretRef``) that holds the shared secret.
RECEIVER_SECRET_KEY = "secret"  # noqa: S105 (a key name, not a secret)


class ReceiverSpec(SpecModel):
    type: ReceiverType
    secret_file: FilePath | None = None
    secret_ref: LocalSecretRef | None = None  # or: the Secret holding it under RECEIVER_SECRET_KEY

    @model_validator(mode="after")
    def _one_source_of_the_secret(self) -> Self:
        if (self.secret_file is None) == (self.secret_ref is None):
            raise ValueError(
                "give exactly one of secretFile (a config file) and secretRef (a Secret with the key "
                f"{RECEIVER_SECRET_KEY!r}, with gitward run --from-cluster)"
            )
        return self


class Receiver(TopLevelObject):
    kind: Literal["Receiver"] = "Receiver"
    spec: ReceiverSpec

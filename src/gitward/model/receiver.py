"""The ``Receiver`` object: a webhook endpoint for one Git hosting service, with its shared secret.

Served at ``POST /api/v1/webhooks/<name>``. ``type`` decides how a request is authenticated and where
the repository URLs are read from the payload (``api/webhooks.py``). The secret lives in a file (a
mounted Secret, a file only the operator can read) named by ``secretFile``, never inline, so the
config can be committed; the file is read when a request arrives, so a rotated secret takes effect
without a restart.

Deliberately not here: reading the file or checking signatures (``api/``), and any choice of which
apps to refresh (a webhook only triggers a fetch of the repository it names).
"""

from __future__ import annotations

from typing import Literal

from gitward.model.common import FilePath, SpecModel, TopLevelObject

ReceiverType = Literal["github", "gitlab", "gitea", "bitbucket", "generic"]


class ReceiverSpec(SpecModel):
    type: ReceiverType
    secret_file: FilePath


class Receiver(TopLevelObject):
    kind: Literal["Receiver"] = "Receiver"
    spec: ReceiverSpec

"""Where a local gitward server announces itself, so the CLI finds it without flags.

``gitward run`` writes ``server.json`` (``{"url": ..., "tokenFile": ..., "caFile": ...}``; ``caFile``
only for a self-signed certificate of ``--tls auto``) into the user's state directory and the CLI
reads it when neither ``--server`` nor ``GITWARD_SERVER`` is given. Both sides need the same path
and the same format, and they live in sibling packages, so both are defined here.

Deliberately not here: reading or writing the files (L0 does no I/O; ``api/`` writes, ``cli/``
reads) and the token itself -- ``server.json`` names the token file, it never holds the token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

SERVER_INFO_FILE = "server.json"
DEFAULT_STATE_FILE = "state.db"


def user_state_dir(*, environ: Mapping[str, str], home: Path) -> Path:
    """``$XDG_STATE_HOME/gitward``, or ``~/.local/state/gitward`` when unset or relative.

    The XDG spec says relative values are invalid and must be ignored, which also keeps a stray
    relative setting from scattering state into the current directory.
    """
    xdg = environ.get("XDG_STATE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".local" / "state"
    return base / "gitward"


def token_file_for(state_file: Path) -> Path:
    """The admin token lives next to the state database: ``<stem>.token`` in the same folder."""
    return state_file.with_name(f"{state_file.stem}.token")


@dataclass(frozen=True)
class ServerInfo:
    url: str
    token_file: Path
    ca_file: Path | None = None  # the certificate to trust for this server (``--tls auto``)

    def to_json(self) -> str:
        data = {"url": self.url, "tokenFile": str(self.token_file)}
        if self.ca_file is not None:
            data["caFile"] = str(self.ca_file)
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ServerInfo:
        """Raises ValueError on anything but an object with string ``url`` and ``tokenFile``."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("server info is not a JSON object")
        url, token_file = data.get("url"), data.get("tokenFile")
        if not isinstance(url, str) or not isinstance(token_file, str) or not url or not token_file:
            raise ValueError("server info needs string fields url and tokenFile")
        ca_file = data.get("caFile")
        if ca_file is not None and not (isinstance(ca_file, str) and ca_file):
            raise ValueError("server info field caFile must be a path")
        return cls(url=url, token_file=Path(token_file), ca_file=Path(ca_file) if ca_file else None)

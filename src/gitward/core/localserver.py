"""Where a local gitward server announces itself, so the CLI finds it without flags.

Each ``gitward run`` writes its own record, keyed by its state file: ``<user state dir>/servers/
<hash>.json`` (``server_record_path``), holding ``{"url", "tokenFile", "caFile", "stateFile", "pid"}``
(``caFile`` only for a self-signed certificate of ``--tls auto``), and removes it on a clean exit. The
CLI reads every record when neither ``--server`` nor ``GITWARD_SERVER`` is given, skips those whose
process is gone, and uses the one that is left; with several it lists them and asks which
(``cli/discovery.py``). Two servers with different state files never overwrite each other's record;
a server restarted on the same state file replaces its own. Both sides need the same path and the
same format, and they live in sibling packages, so both are defined here.

Deliberately not here: reading or writing the files (L0 does no I/O; ``api/`` writes, ``cli/``
reads) and the token itself -- a record names the token file, it never holds the token.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

SERVER_INFO_FILE = "server.json"  # a record without a state file (written by hand or by a test)
SERVERS_DIR = "servers"
DEFAULT_STATE_FILE = "state.db"


def user_state_dir(*, environ: Mapping[str, str], home: Path) -> Path:
    """``$XDG_STATE_HOME/gitward``, or ``~/.local/state/gitward`` when unset or relative.

    The XDG spec says relative values are invalid and must be ignored, which also keeps a stray
    relative setting from scattering state into the current directory.
    """
    xdg = environ.get("XDG_STATE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".local" / "state"
    return base / "gitward"


def server_record_path(user_state: Path, state_file: Path) -> Path:
    """The record of the server whose state is ``state_file`` (an absolute path)."""
    digest = hashlib.sha256(str(state_file).encode("utf-8")).hexdigest()[:16]
    return user_state / SERVERS_DIR / f"{digest}.json"


def token_file_for(state_file: Path) -> Path:
    """The admin token lives next to the state database: ``<stem>.token`` in the same folder."""
    return state_file.with_name(f"{state_file.stem}.token")


@dataclass(frozen=True)
class ServerInfo:
    url: str
    token_file: Path
    ca_file: Path | None = None  # the certificate to trust for this server (``--tls auto``)
    state_file: Path | None = None  # the server's state database: what the record is keyed by
    pid: int | None = None  # the server's process; a record whose process is gone is ignored

    def to_json(self) -> str:
        data: dict[str, str | int] = {"url": self.url, "tokenFile": str(self.token_file)}
        if self.ca_file is not None:
            data["caFile"] = str(self.ca_file)
        if self.state_file is not None:
            data["stateFile"] = str(self.state_file)
        if self.pid is not None:
            data["pid"] = self.pid
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
        ca_file = _optional_path(data, "caFile")
        state_file = _optional_path(data, "stateFile")
        pid = data.get("pid")
        if pid is not None and (isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0):
            raise ValueError("server info field pid must be a positive integer")
        return cls(url=url, token_file=Path(token_file), ca_file=ca_file, state_file=state_file, pid=pid)


def _optional_path(data: dict[str, object], key: str) -> Path | None:
    value = data.get(key)
    if value is None:
        return None
    if not (isinstance(value, str) and value):
        raise ValueError(f"server info field {key} must be a path")
    return Path(value)

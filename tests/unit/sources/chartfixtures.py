"""Build .tgz chart archives in memory, including hostile ones."""

from __future__ import annotations

import gzip
import io
import tarfile


def make_tgz(members: list[tuple[str, bytes | None, str]]) -> bytes:
    """members: (name, content, kind), kind in file|dir|symlink|hardlink; a link's content is its target."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, content, kind in members:
            info = tarfile.TarInfo(name)
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind in ("symlink", "hardlink"):
                info.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE
                info.linkname = (content or b"").decode()
                tar.addfile(info)
            else:
                data = content or b""
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue())


def good_chart(name: str = "demo", version: str = "0.1.0") -> bytes:
    return make_tgz(
        [
            (f"{name}/Chart.yaml", f"apiVersion: v2\nname: {name}\nversion: {version}\n".encode(), "file"),
            (f"{name}/values.yaml", b"x: 1\n", "file"),
            (f"{name}/templates/cm.yaml", b"kind: ConfigMap\n", "file"),
        ]
    )

"""``configwatch``: a settled change of the config's files calls the reload once; the same bytes
written again (a touch, an editor's save) call nothing."""

from __future__ import annotations

import os
from pathlib import Path

from gitward.reconcile.configwatch import ConfigWatch


async def test_a_change_reloads_once_and_a_touch_does_not(tmp_path: Path) -> None:
    (tmp_path / "apps.yaml").write_text("a: 1\n")
    calls: list[int] = []
    watch = ConfigWatch(tmp_path, lambda: calls.append(1), interval=0.01, settle=0.01)

    assert await watch.look() is False  # nothing changed
    (tmp_path / "apps.yaml").write_text("a: 2\n")
    assert await watch.look() is True
    assert calls == [1]
    assert await watch.look() is False

    stat = (tmp_path / "apps.yaml").stat()
    os.utime(tmp_path / "apps.yaml", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))
    assert await watch.look() is False  # same bytes
    (tmp_path / "more.yml").write_text("b: 1\n")  # a new file is a change
    (tmp_path / "notes.txt").write_text("ignored")
    assert await watch.look() is True
    assert calls == [1, 1]

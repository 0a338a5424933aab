"""A unified diff as rows of a side-by-side table: what was live on the left, what Git wants on the right.

Why: the API serves each object's difference as one unified diff (masked Secret data included), and
a person reading a long manifest change often wants the two versions next to each other. Pairing
is done per hunk: a run of removed lines and the run of added lines after it share rows, so a
changed value sits next to its old value; context lines appear on both sides.

Deliberately not here: computing diffs (``apply``/``diff`` do, with Secrets masked) and HTML.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cell:
    text: str
    kind: str  # "ctx" | "del" | "add" | "empty" | "hunk"
    number: int | None = None


@dataclass(frozen=True)
class Row:
    left: Cell
    right: Cell


_EMPTY = Cell("", "empty")


def _hunk_start(line: str) -> tuple[int, int]:
    """``@@ -a,b +c,d @@`` -> (a, c)."""
    try:
        old, new = line.split("@@")[1].split()[:2]
        return int(old[1:].split(",")[0]), int(new[1:].split(",")[0])
    except (IndexError, ValueError):
        return 1, 1


def side_by_side(diff: str) -> list[Row]:
    rows: list[Row] = []
    removed: list[Cell] = []
    added: list[Cell] = []
    left_no = right_no = 1

    def flush() -> None:
        for i in range(max(len(removed), len(added))):
            left = removed[i] if i < len(removed) else _EMPTY
            right = added[i] if i < len(added) else _EMPTY
            rows.append(Row(left, right))
        removed.clear()
        added.clear()

    for line in diff.splitlines():
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            flush()
            left_no, right_no = _hunk_start(line)
            rows.append(Row(Cell(line, "hunk"), Cell(line, "hunk")))
        elif line.startswith("-"):
            removed.append(Cell(line[1:], "del", left_no))
            left_no += 1
        elif line.startswith("+"):
            added.append(Cell(line[1:], "add", right_no))
            right_no += 1
        else:
            flush()
            text = line[1:] if line.startswith(" ") else line
            rows.append(Row(Cell(text, "ctx", left_no), Cell(text, "ctx", right_no)))
            left_no += 1
            right_no += 1
    flush()
    return rows

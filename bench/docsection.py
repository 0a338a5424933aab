"""A benchmark's section of docs/benchmarks.md: the text between ``<!-- bench:NAME -->`` and
``<!-- /bench:NAME -->``, replaced by each run that writes the document, and the commit it names.

Why one place: every benchmark rewrites only its own section, so a partial run never clobbers the
others' figures; where a section is new, it goes after the one named (or at the end).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def replace_section(text: str, name: str, section: str, *, after: str | None = None) -> str:
    """``text`` with the section ``name`` holding ``section``."""
    block = f"<!-- bench:{name} -->\n{section.rstrip()}\n<!-- /bench:{name} -->"
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S)
    if pattern.search(text):
        return pattern.sub(lambda _m: block, text)
    end = f"<!-- /bench:{after} -->" if after else ""
    if end and end in text:
        return text.replace(end, f"{end}\n\n{block}", 1)
    return f"{text.rstrip()}\n\n{block}\n"


def write_section(name: str, section: str, *, after: str | None = None, doc: Path = DOC) -> None:
    doc.write_text(replace_section(doc.read_text(), name, section, after=after).rstrip() + "\n")


def commit(root: Path | None = None, *, under: str = "src") -> str:
    """The HEAD of the checkout at ``root`` (this one by default), with ``+changes`` when ``under``
    differs from it (the code measured); "" outside a Git checkout."""
    where = root if root is not None else DOC.parent.parent

    def out(*args: str) -> str:
        return subprocess.run(args, capture_output=True, text=True, check=False, cwd=where).stdout.strip()

    head = out("git", "rev-parse", "--short", "HEAD")
    if not head:
        return ""
    return head + ("+changes" if out("git", "status", "--porcelain", "--", under) else "")

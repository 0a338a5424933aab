"""A ``gitward preview`` report as Markdown for a pull-request comment.

The shape: a title line naming the repository and both commits, a summary table (one row per app
the change touches), one line listing the apps it leaves unchanged, the config errors the change
brings, then one collapsed ``<details>`` block per touched app with its objects and their diffs.

Comments have a size limit (GitHub's is 65,536 characters), so the text is built to fit
``max_chars``: a diff longer than ``DIFF_LINES`` lines is cut with a count of the lines left out;
an app whose block does not fit is shown without its diffs (the objects still listed), and when
even that does not fit it is left out; table rows that do not fit are counted. Whatever is left
out is said, with the count, at the end (``-o json`` has everything).

Everything that comes from the repository or the cluster (names, messages, diffs) is untrusted:
text is HTML-escaped and table pipes escaped, and each diff sits in a code fence longer than any
run of backticks inside it, so a manifest cannot inject markup into the comment. Diffs are already
masked (no Secret value reaches this module).

Deliberately not here: computing the report (``reconcile/preview.py``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

#: GitHub's limit on the body of a pull-request comment, in characters.
GITHUB_COMMENT_LIMIT = 65_536
DIFF_LINES = 200

_RESULT = {"ok": "ok", "refused": "**refused**", "failed": "**failed**"}
_SECTIONS = (
    ("created", "Created"),
    ("changed", "Changed"),
    ("pruned", "Pruned"),
    ("hooks", "Hooks"),
)


def text(value: Any) -> str:
    """Untrusted text for Markdown: one line, HTML-escaped, pipes and Markdown marks escaped."""
    line = " ".join(str(value if value is not None else "").split())
    return html.escape(re.sub(r"([\\|*_`\[\]#~])", r"\\\1", line), quote=False)


def code(value: Any) -> str:
    """Untrusted text as inline code: HTML ``<code>`` so no backtick or pipe in it can close it."""
    return f"<code>{html.escape(str(value), quote=False).replace('|', '&#124;')}</code>"


def _fence(body: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    return "`" * max(3, longest + 1)


def _short(commit: str) -> str:
    return commit[:12]


def _object_name(entry: Mapping[str, Any]) -> str:
    kind = f"{entry.get('kind', '')}.{entry['group']}" if entry.get("group") else str(entry.get("kind", ""))
    return "/".join(p for p in (kind, str(entry.get("namespace") or ""), str(entry.get("name") or "")) if p)


def _diff_block(diff: str) -> str:
    lines = diff.splitlines()
    if len(lines) > DIFF_LINES:
        left = len(lines) - DIFF_LINES
        lines = [*lines[:DIFF_LINES], f"... {left} more line{'s' if left != 1 else ''} not shown"]
    body = "\n".join(lines)
    fence = _fence(body)
    return f"{fence}diff\n{body}\n{fence}\n"


def _counts(app: Mapping[str, Any]) -> tuple[int, int, int, int]:
    pruned = sum(1 for o in app["pruned"] if o.get("action") == "prune")
    released = len(app["pruned"]) - pruned
    return len(app["created"]), len(app["changed"]), pruned, released


def _pruned_cell(pruned: int, released: int) -> str:
    return f"{pruned} (+{released} released)" if released else str(pruned)


def _row(app: Mapping[str, Any]) -> str:
    created, changed, pruned, released = _counts(app)
    cells = [
        f"**{text(app['name'])}**",
        text(app["cluster"]),
        text(app["namespace"]),
        text(app["change"]),
        str(created),
        str(changed),
        _pruned_cell(pruned, released),
        str(len(app["violations"])),
        _RESULT.get(str(app["status"]), text(app["status"])),
    ]
    return "| " + " | ".join(cells) + " |\n"


_TABLE_HEAD = (
    "| Application | Cluster | Namespace | Change | Created | Changed | Pruned | Violations | Result |\n"
    "|---|---|---|---|--:|--:|--:|--:|---|\n"
)


def _summary_line(app: Mapping[str, Any]) -> str:
    created, changed, pruned, released = _counts(app)
    parts = [f"{created} created", f"{changed} changed", f"{pruned} pruned"]
    if released:
        parts.append(f"{released} released")
    if app["violations"]:
        parts.append(f"{len(app['violations'])} violations")
    status = {"refused": ", refused", "failed": ", failed"}.get(str(app["status"]), "")
    name, change = html.escape(str(app["name"])), html.escape(str(app["change"]))
    return f"<b>{name}</b> ({change}{status}): {', '.join(parts)}"


def _object_lines(entries: Sequence[Mapping[str, Any]], *, diffs: bool) -> str:
    out = ""
    for entry in entries:
        note = f" ({text(entry['message'])})" if entry.get("message") else ""
        out += f"- {code(_object_name(entry))}{note}\n"
        if diffs and entry.get("diff"):
            out += "\n" + _diff_block(str(entry["diff"]))
    return out


def _details(app: Mapping[str, Any], *, diffs: bool) -> str:
    body = ""
    if app.get("error"):
        error = app["error"]
        step = f" at {text(error['step'])}" if error.get("step") else ""
        body += f"**Could not be previewed**{step}: {text(error['reason'])}: {text(error['message'])}\n\n"
    for note in app.get("notes") or ():
        body += f"> {text(note)}\n\n"
    if app["violations"]:
        body += "**Policy violations**\n\n"
        for v in app["violations"]:
            where = f" {code(v['object'])}" if v.get("object") else ""
            body += f"- [{text(v['rule'])}]{where}: {text(v['message'])}\n"
        body += "\n"
    for field, title in _SECTIONS:
        entries = [e for e in app[field] if field != "pruned" or e.get("action") != "release"]
        if entries:
            body += f"**{title}**\n\n" + _object_lines(entries, diffs=diffs) + "\n"
    released = [e for e in app["pruned"] if e.get("action") == "release"]
    if released:
        body += (
            "**Released** (kept in the cluster, marks removed)\n\n"
            + _object_lines(released, diffs=diffs)
            + "\n"
        )
    if app["skipped"]:
        body += "**Not applied by a sync**\n\n"
        body += "".join(f"- {code(_object_name(s))} ({text(s.get('message', ''))})\n" for s in app["skipped"])
        body += "\n"
    children = app.get("children") or {}
    for change in ("added", "changed", "removed"):
        if children.get(change):
            body += f"Child applications {change}: {', '.join(code(n) for n in children[change])}\n\n"
    if app["unchanged"]:
        body += f"{app['unchanged']} other object{'s' if app['unchanged'] != 1 else ''} unchanged.\n\n"
    if not diffs:
        body += "_Diffs left out to fit the comment size limit; `-o json` has them._\n\n"
    return f"<details>\n<summary>{_summary_line(app)}</summary>\n\n{body}</details>\n\n"


def _head(report: Mapping[str, Any]) -> str:
    base, head = report["base"], report["head"]
    summary = report["summary"]
    out = "### gitward preview\n\n"
    out += (
        f"{code(report['repo'])}: base {code(_short(base['commit']))} ({text(base['revision'])}) "
        f"→ head {code(_short(head['commit']))} ({text(head['revision'])}); "
        f"{_config_line(report.get('config') or {})}\n\n"
    )
    out += (
        f"{summary['touched']} of {summary['apps']} applications touched: {summary['created']} objects "
        f"created, {summary['changed']} changed, {summary['pruned']} pruned"
    )
    if summary.get("released"):
        out += f", {summary['released']} released"
    out += f"; {summary['violations']} policy violations; {summary['failed']} failed.\n\n"
    return out


def _config_line(config: Mapping[str, Any]) -> str:
    if config.get("source") == "local":
        return f"config {code(config.get('path', ''))} (local, the same for both)"
    return f"config {code(config.get('path', ''))} read at each revision"


def _tail(report: Mapping[str, Any]) -> str:
    out = ""
    if report["unchanged"]:
        names = ", ".join(code(n) for n in report["unchanged"])
        out += f"Unchanged ({len(report['unchanged'])}): {names}\n\n"
    for error in report.get("configErrors") or ():
        who = f"{text(error['kind'])} {code(error['name'])}" if error.get("name") else "a document"
        out += f"- Config error in {who}: {text(error['message'])}\n"
    for note in report.get("configNotes") or ():
        out += f"- {text(note)}\n"
    return out + ("\n" if report.get("configErrors") or report.get("configNotes") else "")


def render_markdown(report: Mapping[str, Any], *, max_chars: int = GITHUB_COMMENT_LIMIT) -> str:
    """The report as Markdown of at most ``max_chars`` characters (see the module doc)."""
    apps: Sequence[Mapping[str, Any]] = report["apps"]
    reserve = 300  # the closing line that counts what was left out
    out = _head(report)
    tail = _tail(report)
    if len(out) + len(tail) + reserve > max_chars:
        tail = f"Unchanged: {len(report['unchanged'])} applications.\n\n"
    rows_left = 0
    if apps:
        out += _TABLE_HEAD
        for index, app in enumerate(apps):
            row = _row(app)
            if len(out) + len(row) + len(tail) + reserve > max_chars:
                rows_left = len(apps) - index
                break
            out += row
        out += "\n"
    out += tail
    shown_without_diffs = left_out = 0
    for app in apps:
        block = _details(app, diffs=True)
        if len(out) + len(block) + reserve > max_chars:
            block = _details(app, diffs=False)
            shown_without_diffs += 1
            if len(out) + len(block) + reserve > max_chars:
                left_out += 1
                shown_without_diffs -= 1
                continue
        out += block
    return out + _closing(rows_left, shown_without_diffs, left_out, max_chars)


def _closing(rows_left: int, without_diffs: int, left_out: int, max_chars: int) -> str:
    parts = []
    if rows_left:
        parts.append(f"{rows_left} table rows")
    if without_diffs:
        parts.append(f"the diffs of {without_diffs} applications")
    if left_out:
        parts.append(f"the details of {left_out} applications")
    if not parts:
        return ""
    return (
        f"_Left out to stay under {max_chars:,} characters: {'; '.join(parts)}. "
        "`gitward preview -o json` has everything._\n"
    )

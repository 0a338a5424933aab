"""``gitward app sync NAME --dry-run`` as people read it: the plan's steps in order, each object with
what the sync would do to it, diffs below (already masked by the server), skipped objects last.

Deliberately not here: asking the server (``apps.py``), the plan itself (``reconcile/dryrun.py``).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from gitward.cli.output import console, print_unified_diff

_STYLE = {"create": "green", "configure": "yellow", "prune": "red", "hook": "cyan", "unchanged": ""}


def _where(entry: dict[str, Any]) -> str:
    kind = f"{entry.get('kind', '')}.{entry['group']}" if entry.get("group") else str(entry.get("kind", ""))
    place = "/".join(p for p in (entry.get("namespace"), entry.get("name")) if p)
    return f"{kind}/{place}"


def print_plan(plan: dict[str, Any]) -> None:
    """Every step, then every object of it with its action; a diff under each object that has one."""
    out = console()
    commit = str(plan.get("commit") or "")[:12]
    out.print(
        Text(f"{plan.get('app', '')} at {plan.get('revision', '')} ({commit}): dry run, nothing changed")
    )
    for step in plan.get("steps") or []:
        out.print(Text(f"\n{step.get('name', '')}", style="bold"))
        for entry in [*(step.get("objects") or []), *(step.get("prunes") or [])]:
            action = str(entry.get("action", ""))
            line = Text("  ")
            line.append(f"{action:<10}", style=_STYLE.get(action, ""))
            line.append(f" {_where(entry)}")
            if entry.get("message"):
                line.append(f"  ({entry['message']})", style="dim")
            out.print(line)
            if entry.get("diff"):
                print_unified_diff(f"    --- {_where(entry)}", str(entry["diff"]))
    skipped = plan.get("skipped") or []
    if skipped:
        out.print(Text("\nSkipped (never applied by a sync)", style="bold"))
        for entry in skipped:
            out.print(Text(f"  {_where(entry)}  ({entry.get('message', '')})"))

"""What a push notification says it moved: branch or tag name -> new object id, read from its payload.

Why: a delivery announcing a push that the mirror already holds needs no fetch (``GitCache.holds``),
so a thousand deliveries of one push fetch once; and a body that names the commits it announces
identifies its push, so an identical body is a replay (``replay``).

Where each host says it: GitHub, Gitea/Forgejo and GitLab put ``ref`` and ``after`` at the top level
(``after`` is all zeros when the ref was deleted); Bitbucket Cloud lists ``push.changes[]`` with
``new``/``old`` ``{type: branch|tag, name, target: {hash}}``; Bitbucket Server lists ``changes[]``
with ``refId`` and ``toHash``. ``generic`` payloads name no commit.

Only full object ids and ``refs/heads/`` or ``refs/tags/`` names are taken. Anything else (a missing
field, a short id, another ref namespace, contradicting entries, more than ``MAX_REFS`` changes)
yields ``{}``, which means "fetch": a strange payload can cost a fetch, never skip one.
Deliberately not here: checking the mirror (``sources``), and signatures (``webhooks``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

MAX_REFS = 32
_OBJECT_ID = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_DELETED = "0" * 40
_KINDS = {"branch": "refs/heads/", "tag": "refs/tags/"}


def _get(node: Any, *path: str) -> Any:
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _bitbucket_cloud(changes: list[Any]) -> Iterator[tuple[Any, Any]]:
    for change in changes:
        new, old = _get(change, "new"), _get(change, "old")
        side = new if isinstance(new, dict) else old
        kind = _get(side, "type")
        # only a string: str() of a deeply nested JSON value overflows the recursion limit
        prefix = _KINDS.get(kind) if isinstance(kind, str) else None
        name = _get(side, "name")
        ref = f"{prefix}{name}" if prefix and isinstance(name, str) else None
        yield ref, _get(new, "target", "hash") if isinstance(new, dict) else _DELETED


def _candidates(kind: str, payload: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
    if kind in ("github", "gitea", "gitlab"):
        yield payload.get("ref"), payload.get("after")
    elif kind == "bitbucket":
        cloud = _get(payload, "push", "changes")
        if isinstance(cloud, list):
            yield from _bitbucket_cloud(cloud)
        elif isinstance(server := payload.get("changes"), list):
            yield from ((_get(c, "refId"), _get(c, "toHash")) for c in server)


def pushed_refs(kind: str, payload: dict[str, Any]) -> dict[str, str]:
    """The branches and tags the push moved, each to its new object id (all zeros: deleted); ``{}``
    when the payload does not say it plainly."""
    out: dict[str, str] = {}
    for ref, target in _candidates(kind, payload):
        if not isinstance(ref, str) or not isinstance(target, str):
            return {}
        target = target.lower()
        if not ref.startswith(tuple(_KINDS.values())) or not _OBJECT_ID.match(target):
            return {}
        if out.setdefault(ref, target) != target or len(out) > MAX_REFS:
            return {}
    return out

"""What apply remembers between reconciles so a no-op reconcile sends nothing to the API.

For each object it last applied or verified, the ``VerdictCache`` keeps the digest of the marked
manifest and the live ``resourceVersion`` seen right after. When both are unchanged the object cannot
have drifted and neither a dry-run nor an apply is needed (docs/architecture.md, one reconcile). An
empty ``resourceVersion`` vouches for the manifest only: the live object is compared again at every
look (an apply that sent a drift fight's field as live has it, ``apply/objects.py``).

One cache per app and cluster: keys carry no cluster name. The cache is plain data and can be exported
to JSON-ready dicts and imported again, so the store can persist it; losing it only costs one dry-run
per object. Deliberately not here: any I/O or locking (one reconcile of an app runs at a time).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gitward.core.keys import ResourceKey


@dataclass(frozen=True)
class Verdict:
    """The digest last applied for an object and the resourceVersion it had afterwards."""

    digest: str
    resource_version: str


class VerdictCache:
    """In-memory map ``ResourceKey -> Verdict``."""

    def __init__(self, verdicts: Mapping[ResourceKey, Verdict] | None = None) -> None:
        self._verdicts: dict[ResourceKey, Verdict] = dict(verdicts or {})

    def get(self, key: ResourceKey) -> Verdict | None:
        return self._verdicts.get(key)

    def record(self, key: ResourceKey, *, digest: str, resource_version: str) -> None:
        self._verdicts[key] = Verdict(digest, resource_version)

    def forget(self, key: ResourceKey) -> None:
        self._verdicts.pop(key, None)

    def forget_all(self, keys: Iterable[ResourceKey]) -> None:
        for key in keys:
            self.forget(key)

    def __contains__(self, key: object) -> bool:
        return key in self._verdicts

    def __len__(self) -> int:
        return len(self._verdicts)

    def export(self) -> list[dict[str, str]]:
        """JSON-ready rows ``{id, digest, resourceVersion}``, sorted for stable output."""
        return [
            {"id": key.id, "digest": v.digest, "resourceVersion": v.resource_version}
            for key, v in sorted(self._verdicts.items())
        ]

    @classmethod
    def from_export(cls, rows: Iterable[Mapping[str, str]]) -> VerdictCache:
        """Inverse of ``export``; malformed rows are dropped (they only cost a dry-run later)."""
        verdicts: dict[ResourceKey, Verdict] = {}
        for row in rows:
            try:
                key = ResourceKey.from_id(str(row["id"]))
                verdicts[key] = Verdict(str(row["digest"]), str(row.get("resourceVersion", "")))
            except (KeyError, ValueError, TypeError):
                continue
        return cls(verdicts)

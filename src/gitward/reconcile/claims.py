"""Which app owns which object, in this process: exactly one owner per object at any time.

An app's claims are the keys of its inventory, and the inventory grows before the first write of a
sync (the pipeline records what a sync may create before it creates it), so a claim is taken before
an object is written and held until the object leaves the inventory (pruned, or given up once gone).
A pass checks and takes a sync's claims in one synchronous step, with no ``await`` in between,
so two apps of this event loop can never both pass the check: whichever takes first owns the objects
and the other is refused (``SharedResource``) on every pass until the owner releases them — never a
flip-flop (docs/reliability.md, bad input 8). The same index routes watch events to the one app
they concern.

Deliberately not here: the live marks (read from the cluster cache by the pipeline) and the write
preconditions that make a claim hold against other processes (``apply.guard``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from gitward.core.keys import ResourceKey


class Claims:
    """``key -> app`` for every app known to ``is_registered``; keys of forgotten apps are free."""

    def __init__(self, is_registered: Callable[[str], bool]) -> None:
        self._is_registered = is_registered
        self._owner: dict[ResourceKey, str] = {}
        self._held: dict[str, set[ResourceKey]] = {}

    def owner(self, key: ResourceKey) -> str | None:
        """The registered app that holds ``key``, if any."""
        found = self._owner.get(key)
        return found if found is not None and self._is_registered(found) else None

    def held_by_other(self, app: str, key: ResourceKey) -> str | None:
        owner = self.owner(key)
        return owner if owner != app else None

    def hold(self, app: str, keys: Iterable[ResourceKey]) -> None:
        """Make ``app`` hold exactly ``keys``: the ones it no longer lists are released, and a key
        another registered app holds stays with that app (the caller checked first; an old store
        that lists one object for two apps keeps its first owner)."""
        wanted = set(keys)
        previous = self._held.get(app, set())
        for key in previous - wanted:
            if self._owner.get(key) == app:
                del self._owner[key]
        held = set()
        for key in wanted:
            owner = self.owner(key)
            if owner is None or owner == app:
                self._owner[key] = app
                held.add(key)
        self._held[app] = held

    def release(self, app: str) -> None:
        """Forget every claim of ``app`` (it was removed)."""
        self.hold(app, ())
        self._held.pop(app, None)

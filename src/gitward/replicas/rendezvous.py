"""Rendezvous (highest random weight) hashing: which replica owns an app.

Every replica scores every (replica, app) pair with the same hash and the app goes to the replica
with the highest score. Why this and not a ring or ``hash % N``: each replica decides alone from the
set of live replicas, with nothing to agree on or store; when a replica leaves, only its own apps
move (each to the replica that scored second for it), and when one joins, it takes only the apps it
now scores highest for (about 1/N of them), so a change of membership moves as few apps as it can.

The hash is BLAKE2b of the replica's id and the app's name, not Python's ``hash`` (salted per
process): two processes must reach the same answer. Ties (never seen with 64 bits) go to the larger
replica id, so the answer is a function of the inputs alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable


def score(replica: str, app: str) -> int:
    """The weight of ``replica`` for ``app``: 64 bits of BLAKE2b over both, separated by a NUL."""
    digest = hashlib.blake2b(f"{replica}\0{app}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner(app: str, replicas: Collection[str]) -> str | None:
    """The replica that owns ``app`` among ``replicas`` (None when there is none)."""
    if not replicas:
        return None
    return max(replicas, key=lambda replica: (score(replica, app), replica))


def shares(apps: Iterable[str], replicas: Collection[str]) -> dict[str, set[str]]:
    """Each replica's apps (every replica listed, with an empty set when it owns none)."""
    out: dict[str, set[str]] = {replica: set() for replica in replicas}
    for app in apps:
        chosen = owner(app, replicas)
        if chosen is not None:
            out[chosen].add(app)
    return out

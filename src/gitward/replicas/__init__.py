"""gitward.replicas: the pure rules that let several gitward processes share the apps (L1, no I/O).

- ``rendezvous``: which replica owns an app, by rendezvous (highest random weight) hashing over the
  live replicas;
- ``leases``: holding a ``coordination.k8s.io`` Lease and judging other replicas' Leases, on this
  process's own monotonic clock only;
- ``fence``: whether this process may write now, for one app or for itself.

The I/O (renewing and listing Leases, taking apps in the store) is ``reconcile/replicas.py``;
docs/architecture.md ("More than one replica") says why the timing rules are safe.
"""

from gitward.replicas.fence import WriteFence, writing_for
from gitward.replicas.leases import LeaseClaim, LeaseStep, LeaseTerms, Members
from gitward.replicas.rendezvous import owner, shares

__all__ = [
    "LeaseClaim",
    "LeaseStep",
    "LeaseTerms",
    "Members",
    "WriteFence",
    "owner",
    "shares",
    "writing_for",
]

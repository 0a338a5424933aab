"""How one gitward process runs: where its config and state live and the knobs of the control loop.

Every limit is a setting, not a constant (docs/architecture.md, one reconcile), so a benchmark or a large
installation can raise them without a code change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gitward.cluster.connection import ConnectionSettings
from gitward.diff.fights import FightSettings
from gitward.render import RenderSettings


@dataclass(frozen=True)
class ClusterConfigSettings:
    """The config read from the management cluster's custom resources (``clustersource``): its
    kubeconfig, one namespace or all (None), and how long changes settle before a reload."""

    kubeconfig: Path
    namespace: str | None = None
    debounce: float = 0.2


@dataclass(frozen=True)
class ReplicaSettings:
    """One of several replicas sharing the apps (``reconcile/replicas.py``): its id (a DNS label,
    stable across restarts: the pod's name), the management cluster and namespace of the Leases, the
    lease duration in seconds, and the API address announced in its Lease."""

    replica_id: str
    namespace: str
    kubeconfig: Path
    lease_duration: float = 15.0
    address: str = ""


@dataclass(frozen=True)
class EngineSettings:
    config_path: Path
    state_path: Path  # the local state: the SQLite file, and the folder of the token and the cache
    database: str | None = None  # a PostgreSQL URL for the state database; None: the file above
    listen: str = "127.0.0.1:8080"
    concurrency: int = 8  # apps reconciled in parallel
    apply_concurrency: int = 8  # objects applied in parallel within one app's wave
    fetch_freshness: float = 2.0  # seconds during which a fetched repository is not re-fetched
    fetch_timeout: float = 120.0  # a git fetch that takes longer is killed (a Git server that hangs)
    full_resync: float = 600.0  # an interval pass compares every object at least this often (resync)
    render_cache_entries: int = 4096  # the least; the engine fits it to the config's apps (RenderCache.fit)
    wait_crd_timeout: float = 60.0
    connection: ConnectionSettings = field(default_factory=ConnectionSettings)
    render: RenderSettings = field(default_factory=RenderSettings)
    max_objects_per_app: int = 10_000
    max_object_bytes: int = 1_500_000
    # Seconds between looks at the config files for a change (``configwatch``); 0: never reloaded.
    watch_config: float = 0.0
    # The config from the cluster's custom resources instead of ``config_path`` (``run --from-cluster``).
    from_cluster: ClusterConfigSettings | None = None
    # One of several replicas (``run --ha``); None: the only one, exactly as without.
    replicas: ReplicaSettings | None = None
    # When self-heal stops fighting another field manager over one field (``diff/fights.py``).
    drift_fights: FightSettings = field(default_factory=FightSettings)

    @property
    def cache_dir(self) -> Path:
        """Mirrors, checkouts and charts: plain manifests, so ``gitward run`` makes it 0700 at start."""
        return self.state_path.parent / f"{self.state_path.stem}-cache"

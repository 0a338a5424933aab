"""Three ``gitward run --ha`` replicas over one real PostgreSQL and one real cluster (docs/reliability.md
F7): the apps are split among them, each written by exactly one; a replica killed with SIGKILL has its
apps taken over; a webhook sent to any replica reaches the apps of the others; and a replica paused
with SIGSTOP past its lease never writes again until it has re-joined and been given apps again.

Who wrote what is read from the API server's own audit log, not from gitward: the cluster is a
dedicated one started with an audit policy that records every write with the client's User-Agent,
and each replica sends ``gitward/VERSION replica/ID``. Leases last 3 s (``--lease-duration 3``); no
timing is asserted, only what happened and in which order.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from devtools import localcluster, toolchain
from devtools.gitservers import HttpGitServer, WorkRepo
from devtools.postgres import PostgresServer
from sqlalchemy import text
from tests.conftest import ClusterHandle
from tests.e2e.process import GITWARD, free_port, unique

from gitward.cli.run import state_anchor
from gitward.core.localserver import server_record_path
from gitward.model.crds import KINDS, crds
from gitward.replicas import shares
from gitward.store import Store
from gitward.store.database import create_store_engine

pytestmark = pytest.mark.e2e

REPLICAS = ("gw-a", "gw-b", "gw-c")
LEASE_SECONDS = "3"
SECRET = "replicas-webhook-secret-0123456789"
RECEIVER = "github"
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [{"level": "None", "verbs": ["get", "list", "watch"]}, {"level": "Metadata"}],
}
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})


def _apps() -> list[str]:
    """Twelve app names of which each replica owns at least three (rendezvous hashing decides)."""
    names = [f"ha-{i:02d}" for i in range(12)]
    split = shares(names, REPLICAS)
    assert all(len(apps) >= 3 for apps in split.values()), split
    return names


APPS = _apps()


@dataclass
class Replica:
    replica_id: str
    root: Path
    port: int
    url: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.root / "gitward.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GITWARD_") and k != "KUBECONFIG"}
        env["XDG_STATE_HOME"] = str(self.root / "xdg")
        env["GITWARD_KUSTOMIZE"] = str(toolchain.tool_path("kustomize"))
        env["GITWARD_HELM"] = str(toolchain.tool_path("helm"))
        return env

    def start(self, source: tuple[str, ...], kubeconfig: Path, *, leases: str = "gitward-ha") -> None:
        """``gitward run`` with ``source`` (``--config DIR`` or ``--from-cluster ...``) as a replica."""
        args = [str(GITWARD), "run", *source, "--state", self.url]
        args += ["--listen", f"127.0.0.1:{self.port}", "--ha", "--replica-id", self.replica_id]
        args += ["--lease-namespace", leases, "--lease-duration", LEASE_SECONDS]
        args += ["--kubeconfig", str(kubeconfig), "--log-format", "json"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(args, env=self.env(), stdout=log, stderr=subprocess.STDOUT)

    def token(self) -> str:
        state_dir = self.root / "xdg" / "gitward"
        record = json.loads(server_record_path(state_dir, state_anchor(self.url, state_dir)).read_text())
        return Path(record["tokenFile"]).read_text().strip()

    def api(self, method: str, path: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token()}"}
        return httpx.request(method, f"{self.base}/api/v1{path}", headers=headers, timeout=90)

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def signal(self, number: int) -> None:
        assert self.process is not None
        self.process.send_signal(number)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self.process = None

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


@dataclass
class HaWorld:
    cluster: ClusterHandle
    audit_log: Path
    repo: WorkRepo
    repo_url: str
    state_url: str
    replicas: dict[str, Replica]
    version: int = 0

    def until(self, check: Callable[[], Any], *, within: float = 180, what: str = "") -> Any:
        deadline = time.monotonic() + within
        last: Any = None
        while time.monotonic() < deadline:
            last = check()
            if last:
                return last
            time.sleep(0.5)
        tails = "\n".join(f"--- {r.replica_id}\n{r.log_tail()}" for r in self.replicas.values())
        raise AssertionError(f"{what or 'condition'} not met in {within}s; last: {last!r}\n{tails}")

    def owners(self) -> dict[str, str]:
        """app -> replica id, as the state database says (``app_owners``)."""
        with Store.open(self.state_url) as store:
            return {app: holder.split("/", 1)[0] for app, holder in store.app_owners().items()}

    def owner_rows(self) -> list[tuple[str, str, float]]:
        """(app, replica id, when it took the app: its wall clock) from ``app_owners``."""
        engine = create_store_engine(self.state_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT app, holder, taken_at FROM app_owners")).all()
        finally:
            engine.dispose()
        return [(str(app), str(holder).split("/", 1)[0], float(taken)) for app, holder, taken in rows]

    def writers_since(self, since: float) -> dict[str, set[str]]:
        """app -> the replicas that wrote its ConfigMap since ``since``."""
        found: dict[str, set[str]] = {}
        for write in self.writes():
            if (
                write["at"] >= since
                and write["resource"] == "configmaps"
                and write["namespace"].startswith("gw-")
            ):
                found.setdefault(write["namespace"].removeprefix("gw-"), set()).add(write["replica"])
        return found

    def values(self) -> dict[str, str]:
        """app -> the ``v`` of its ConfigMap, as the cluster has it now."""
        found: dict[str, str] = {}
        for app in APPS:
            out = self.cluster.kubectl(
                "get", "configmap", "cfg", "-n", f"gw-{app}", "-o", "json", check=False
            )
            if out.strip().startswith("{"):
                found[app] = str(json.loads(out).get("data", {}).get("v"))
        return found

    def commit_everywhere(self) -> str:
        self.version += 1
        files = {f"apps/{app}/cfg.yaml": _configmap(str(self.version)) for app in APPS}
        return self.repo.commit(files, message=f"v{self.version}")

    def webhook(self, replica: Replica, commit: str, *, timeout: float = 60) -> httpx.Response:
        payload = {"ref": "refs/heads/main", "after": commit, "repository": {"clone_url": self.repo_url}}
        body = json.dumps(payload).encode()
        signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": f"{replica.replica_id}-{commit}",
            "X-Hub-Signature-256": f"sha256={signature}",
        }
        return httpx.post(
            f"{replica.base}/api/v1/webhooks/{RECEIVER}", content=body, headers=headers, timeout=timeout
        )

    def all_at(self, version: int) -> bool:
        return self.values() == dict.fromkeys(APPS, str(version))

    def writes(self) -> list[dict[str, Any]]:
        """Every write the API server audited: who (replica id), what, when (epoch seconds)."""
        out = []
        for line in self.audit_log.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            agent = str(event.get("userAgent") or "")
            if event.get("verb") not in WRITE_VERBS or "replica/" not in agent:
                continue
            if "dryRun=All" in str(event.get("requestURI") or ""):
                continue  # writes nothing
            ref = event.get("objectRef") or {}
            out.append(
                {
                    "replica": agent.rsplit("replica/", 1)[1].split()[0],
                    "verb": event["verb"],
                    "resource": str(ref.get("resource") or ""),
                    "subresource": str(ref.get("subresource") or ""),
                    "namespace": str(ref.get("namespace") or ""),
                    "name": str(ref.get("name") or ""),
                    "at": _epoch(str(event["requestReceivedTimestamp"])),
                }
            )
        return out


def _members(cluster: ClusterHandle) -> set[str]:
    leases = cluster.get_json("leases", "-n", "gitward-ha", "-l", "gitward.dev/role=replica")
    return {str(item["metadata"]["labels"]["gitward.dev/replica"]) for item in leases["items"]}


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _configmap(version: str) -> str:
    return yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"v": version}}
    )


def _application(name: str, url: str) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {
            "source": {"repoURL": url, "revision": "main", "path": f"apps/{name}"},
            "destination": {"cluster": "local", "namespace": f"gw-{name}"},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "interval": "1h",
                "options": ["CreateNamespace=true"],
                "retry": {"limit": -1, "backoff": {"duration": "1s", "factor": 2, "maxDuration": "5s"}},
            },
        },
    }


@pytest.fixture(scope="module")
def audited_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ClusterHandle, Path]]:
    root = tmp_path_factory.mktemp("audit")
    policy, log = root / "audit-policy.yaml", root / "audit.log"
    policy.write_text(yaml.safe_dump(AUDIT_POLICY))
    name = f"ha-{os.getpid()}"
    args = [f"--audit-policy-file={policy}", f"--audit-log-path={log}", "--audit-log-format=json"]
    cluster = localcluster.up(name, apiserver_args=args)
    try:
        handle = ClusterHandle(name, cluster.kubeconfig)
        handle.kubectl("create", "namespace", "gitward-ha")
        yield handle, log
    finally:
        localcluster.down(name)


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
    audited_cluster: tuple[ClusterHandle, Path],
    postgres_server: PostgresServer,
) -> Iterator[HaWorld]:
    cluster, audit_log = audited_cluster
    root = tmp_path_factory.mktemp("replicas")
    database = unique("ha").replace("-", "_")
    state_url = postgres_server.create_database(database)
    replicas = {r: Replica(r, root / r, free_port(), state_url) for r in REPLICAS}
    with HttpGitServer(root / "git") as git:
        repo = git.create_repo("apps", {f"apps/{app}/cfg.yaml": _configmap("0") for app in APPS})
        url = git.url("apps")
        config = root / "config"
        config.mkdir()
        (config / "github.secret").write_text(SECRET + "\n")
        documents = [
            {
                "apiVersion": "gitward.dev/v1alpha1",
                "kind": "Cluster",
                "metadata": {"name": "local"},
                "spec": {"kubeconfig": str(cluster.kubeconfig)},
            },
            {
                "apiVersion": "gitward.dev/v1alpha1",
                "kind": "Receiver",
                "metadata": {"name": RECEIVER},
                "spec": {"type": "github", "secretFile": "github.secret"},
            },
        ]
        (config / "gitward.yaml").write_text(yaml.safe_dump_all(documents, sort_keys=False))
        world = HaWorld(cluster, audit_log, repo, url, state_url, replicas)
        try:
            for replica in replicas.values():
                replica.root.mkdir()
                replica.start(("--config", str(config)), cluster.kubeconfig)
            world.until(lambda: all(r.ready() for r in replicas.values()), what="replicas serving")
            world.until(lambda: _members(cluster) == set(REPLICAS), what="three replica Leases")
            time.sleep(2 * float(LEASE_SECONDS))  # each has listed the others since: their views agree
            # The apps arrive once every replica sees all three (the config is watched): no replica
            # ever owns an app another one is given, so each app has one writer from the start.
            documents += [_application(app, url) for app in APPS]
            (config / "gitward.yaml").write_text(yaml.safe_dump_all(documents, sort_keys=False))
            yield world
        finally:
            for replica in replicas.values():
                replica.kill()
            postgres_server.drop_database(database)


def test_three_replicas_split_the_apps_and_each_app_is_written_by_its_owner_only(world: HaWorld) -> None:
    world.until(lambda: world.all_at(0), what="every app synced")
    expected = {app: owner for owner, apps in shares(APPS, REPLICAS).items() for app in apps}
    world.until(lambda: world.owners() == expected, what="ownership as rendezvous hashing says")
    assert world.writers_since(0.0) == {app: {owner} for app, owner in expected.items()}


def test_a_killed_replicas_apps_are_taken_over_and_a_webhook_at_one_replica_reaches_all(
    world: HaWorld,
) -> None:
    killed = world.replicas["gw-c"]
    assert "gw-c" in world.owners().values()
    killed.kill()  # SIGKILL: its Lease is never released, it just stops being renewed
    world.until(lambda: "gw-c" not in world.owners().values(), what="gw-c's apps taken over")
    expected = {app: owner for owner, apps in shares(APPS, ("gw-a", "gw-b")).items() for app in apps}
    assert world.owners() == expected
    commit = world.commit_everywhere()
    since = time.time()
    assert world.webhook(world.replicas["gw-a"], commit).status_code in (200, 202)  # to gw-a only
    world.until(lambda: world.all_at(world.version), what="the push applied by every app's owner")
    # gw-b's apps were triggered through the store, gw-c's were taken over by gw-a and gw-b.
    assert world.writers_since(since) == {app: {owner} for app, owner in expected.items()}


def test_a_paused_replica_never_writes_after_its_lease_ran_out(world: HaWorld) -> None:
    paused, other = world.replicas["gw-b"], world.replicas["gw-a"]
    its_apps = sorted(app for app, owner in world.owners().items() if owner == "gw-b")
    assert its_apps
    stopped_at = time.time()
    paused.signal(signal.SIGSTOP)
    try:
        world.until(lambda: set(world.owners().values()) == {"gw-a"}, what="gw-a owning every app")
        commit = world.commit_everywhere()
        world.webhook(other, commit)
        world.until(lambda: world.all_at(world.version), what="the push applied by gw-a alone")
        drifted = its_apps[0]  # a change the paused replica's watch will deliver when it resumes
        world.cluster.kubectl(
            "patch", "configmap", "cfg", "-n", f"gw-{drifted}", "-p", '{"data":{"v":"drift"}}'
        )
        world.until(lambda: world.all_at(world.version), what="the drift healed by gw-a")
        # A push that waits in the paused replica's socket: handled the moment it resumes.
        late = threading.Thread(target=lambda: world.webhook(paused, commit, timeout=120), daemon=True)
        late.start()
        time.sleep(1)
    finally:
        resumed_at = time.time()
        paused.signal(signal.SIGCONT)

    def retaken() -> float | None:
        again = [taken for app, owner, taken in world.owner_rows() if owner == "gw-b" and taken > resumed_at]
        return min(again) if again else None

    back_at = world.until(retaken, what="gw-b re-joined and given apps again")
    late.join(60)
    expected = {app: owner for owner, apps in shares(APPS, ("gw-a", "gw-b")).items() for app in apps}
    world.until(lambda: world.owners() == expected, what="gw-b's share back")
    stale = [
        w
        for w in world.writes()
        if w["replica"] == "gw-b" and w["resource"] != "leases" and stopped_at <= w["at"] < back_at
    ]
    assert stale == [], f"gw-b wrote while it could not prove it owned the apps: {stale}"
    assert back_at - resumed_at >= float(LEASE_SECONDS)  # its new tenure settled first

    commit = world.commit_everywhere()
    since = time.time()
    assert world.webhook(paused, commit).status_code in (200, 202)
    world.until(lambda: world.all_at(world.version), what="the next push applied again by both")
    assert world.writers_since(since) == {app: {owner} for app, owner in expected.items()}


def test_an_action_asked_of_any_replica_is_run_by_the_apps_owner(world: HaWorld) -> None:
    asked = world.replicas["gw-a"]
    app = sorted(app for app, owner in world.owners().items() if owner == "gw-b")[0]
    answer = asked.api("POST", f"/apps/{app}/sync")
    assert answer.status_code == 200, answer.text
    operation = answer.json()
    assert operation["phase"] == "Succeeded"
    assert f"sync_app of {app} passed to replica gw-b" in asked.log.read_text()
    assert f"operation {operation['id']} of {app} started" in world.replicas["gw-b"].log.read_text()
    assert asked.api("POST", f"/apps/{app}/suspend").status_code == 200
    world.until(
        lambda: asked.api("GET", f"/apps/{app}").json()["suspended"], what="the suspension shown by gw-a"
    )
    assert world.replicas["gw-b"].api("GET", f"/apps/{app}").json()["suspendedBy"] == "user"
    missing = asked.api("POST", "/apps/no-such-app/sync")
    assert missing.status_code == 404


FROM_CLUSTER = ("fc-a", "fc-b")


def _conditions(cluster: ClusterHandle, namespace: str, name: str) -> dict[str, str]:
    obj = cluster.get_json("applications.gitward.dev", name, "-n", namespace)
    return {c["type"]: c["status"] for c in (obj.get("status") or {}).get("conditions") or []}


def test_from_the_cluster_each_applications_status_and_events_are_written_by_its_owner(
    world: HaWorld, postgres_server: PostgresServer
) -> None:
    """``run --from-cluster --ha``, as the installed Deployment runs: two replicas read the same
    Application objects; each object's status and Events are written by the replica that owns the
    app alone, and the status of an Application the loader refuses (it belongs to no app) by the
    leader alone."""
    cluster = world.cluster
    cluster.kubectl(
        "apply", "--server-side", "--field-manager=gitward-test", "-f", "-", stdin=yaml.safe_dump_all(crds())
    )
    cluster.kubectl(
        *("wait", "--for=condition=Established", "--timeout=60s", "crd"),
        *(f"{info.plural}.gitward.dev" for info in KINDS.values()),
    )
    namespace = "gw-crs"
    for created in (namespace, "gitward-fc"):
        cluster.kubectl("create", "namespace", created)
    apps = [f"fc-{i:02d}" for i in range(6)]
    world.repo.commit({f"fc/{app}/cfg.yaml": _configmap("fc") for app in apps}, message="from the cluster")
    objects = [
        {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Application",
            "metadata": {"name": app, "namespace": namespace},
            "spec": {
                "source": {"repoURL": world.repo_url, "revision": "main", "path": path},
                "destination": {"cluster": "in-cluster", "namespace": f"gw-{app}"},
                "syncPolicy": {
                    "automated": {"prune": True, "selfHeal": True},
                    "options": ["CreateNamespace=true"],
                },
            },
        }
        for app, path in [*((app, f"fc/{app}") for app in apps), ("fc-refused", "../escape")]
    ]
    cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(objects))
    database = unique("fc").replace("-", "_")
    state_url = postgres_server.create_database(database)
    replicas = [
        Replica(r, world.replicas["gw-a"].root.parent / r, free_port(), state_url) for r in FROM_CLUSTER
    ]
    source = ("--from-cluster", "--namespace", namespace)
    try:
        for replica in replicas:
            replica.root.mkdir()
            replica.start(source, cluster.kubeconfig, leases="gitward-fc")
        world.until(
            lambda: all(_conditions(cluster, namespace, app).get("Ready") == "True" for app in apps),
            what="every Application Ready in its own status",
        )
        world.until(
            lambda: _conditions(cluster, namespace, "fc-refused").get("Stalled") == "True",
            what="the refused Application Stalled in its status",
        )
        owners = {app: owner for owner, names in shares(apps, FROM_CLUSTER).items() for app in names}
        status_writers: dict[str, set[str]] = {}
        event_writers: dict[str, set[str]] = {}
        for write in world.writes():
            if write["namespace"] != namespace:
                continue
            if write["resource"] == "applications" and write["subresource"] == "status":
                status_writers.setdefault(write["name"], set()).add(write["replica"])
            elif write["resource"] == "events":
                event_writers.setdefault(write["name"].split(".", 1)[0], set()).add(write["replica"])
        refused_by = status_writers.pop("fc-refused")
        assert len(refused_by) == 1
        assert refused_by <= set(FROM_CLUSTER)
        assert status_writers == {app: {owner} for app, owner in owners.items()}
        assert event_writers
        assert all(event_writers[app] == {owners[app]} for app in event_writers)
    finally:
        for replica in replicas:
            replica.kill()
        cluster.kubectl("delete", "applications.gitward.dev", "--all", "-n", namespace, "--wait=false")
        postgres_server.drop_database(database)

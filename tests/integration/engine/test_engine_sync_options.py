"""Every sync option acted on, against the real cluster (and one refused when the config is loaded).

Each test shows the option's effect next to what happens without it, so it fails if the option is
parsed and ignored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import pytest
import yaml
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, application, configmap, deployment
from tests.integration.engine.order_log import OrderLog, added, deleted

from gitward.cluster.lightkube_client import LightkubeClient

pytestmark = pytest.mark.integration


def annotated(document: str, **annotations: str) -> str:
    obj = yaml.safe_load(document)
    obj["metadata"].setdefault("annotations", {}).update(annotations)
    return yaml.safe_dump(obj)


def options(*names: str) -> dict[str, str]:
    return {"argocd.argoproj.io/sync-options": ",".join(names)}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid4().hex[:6]}"


@pytest.fixture
async def log(kube_cluster: Any, namespace: str) -> AsyncIterator[OrderLog]:
    client = await LightkubeClient.from_kubeconfig(kube_cluster.kubeconfig)
    found = OrderLog(client, namespace)
    try:
        yield found
    finally:
        await found.close()
        await client.close()


async def test_replace_puts_the_whole_object_where_apply_merges(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    name = unique("replace")
    replaced = annotated(configmap("replaced", {"v": "1"}), **options("Replace=true"))
    repo = git_server.create_repo(
        name, {"app/a.yaml": replaced, "app/b.yaml": configmap("merged", {"v": "1"})}
    )
    harness.configure(application(name, repo=git_server.url(name), path="app", namespace=namespace))
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(name))
    for cm in ("replaced", "merged"):  # another writer adds a key gitward does not set
        kube_cluster.kubectl(
            "patch", "configmap", cm, "-n", namespace, "--type=merge", "-p", '{"data":{"x":"1"}}'
        )

    replaced2 = annotated(configmap("replaced", {"v": "2"}), **options("Replace=true"))
    repo.commit({"app/a.yaml": replaced2, "app/b.yaml": configmap("merged", {"v": "2"})}, message="v2")
    repo.push()
    await engine.refresh_app(name)
    await harness.until(
        lambda: kube_cluster.get_json("configmap", "merged", "-n", namespace)["data"]["v"] == "2"
    )
    assert kube_cluster.get_json("configmap", "replaced", "-n", namespace)["data"] == {"v": "2"}
    assert kube_cluster.get_json("configmap", "merged", "-n", namespace)["data"] == {"v": "2", "x": "1"}
    resources = {r["name"]: r for r in engine.history(name)[0]["resources"]}
    assert resources["replaced"]["message"] == "replaced (Replace=true)"


async def test_force_recreates_an_object_whose_update_hits_an_immutable_field(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    forced, plain = unique("forced"), unique("plain")

    def frozen(cm: str, value: str, *force: str) -> str:
        obj = yaml.safe_load(configmap(cm, {"v": value}))
        obj["immutable"] = True
        return annotated(yaml.safe_dump(obj), **(options(*force) if force else {}))

    repo = git_server.create_repo(
        "both",
        {
            f"{forced}/cm.yaml": frozen("frozen-forced", "1", "Force=true"),
            f"{plain}/cm.yaml": frozen("frozen-plain", "1"),
        },
    )
    harness.configure(
        application(forced, repo=git_server.url("both"), path=forced, namespace=namespace),
        application(plain, repo=git_server.url("both"), path=plain, namespace=namespace),
    )
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(forced) and harness.is_synced_healthy(plain))
    uid = kube_cluster.get_json("configmap", "frozen-forced", "-n", namespace)["metadata"]["uid"]

    repo.commit(
        {
            f"{forced}/cm.yaml": frozen("frozen-forced", "2", "Force=true"),
            f"{plain}/cm.yaml": frozen("frozen-plain", "2"),
        },
        message="v2",
    )
    repo.push()
    await engine.refresh_app(forced)
    await engine.refresh_app(plain)
    await harness.until(lambda: "field is immutable" in harness.app(plain)["message"])
    await harness.until(lambda: harness.is_synced_healthy(forced))
    live = kube_cluster.get_json("configmap", "frozen-forced", "-n", namespace)
    assert live["data"] == {"v": "2"}
    assert live["metadata"]["uid"] != uid  # deleted and created again
    assert kube_cluster.get_json("configmap", "frozen-plain", "-n", namespace)["data"] == {"v": "1"}


async def test_validate_false_drops_an_unknown_field_that_strict_validation_refuses(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    name = unique("validate")
    odd = yaml.safe_load(configmap("odd", {"v": "1"}))
    odd["bogus"] = "x"
    repo = git_server.create_repo(
        name, {"app/odd.yaml": annotated(yaml.safe_dump(odd), **options("Replace=true"))}
    )
    harness.configure(application(name, repo=git_server.url(name), path="app", namespace=namespace))
    engine = await harness.start()
    await harness.until(
        lambda: 'strict decoding error: unknown field "bogus"' in harness.app(name)["message"]
    )
    assert kube_cluster.kubectl("get", "configmap", "odd", "-n", namespace, check=False) == ""

    lenient = annotated(yaml.safe_dump(odd), **options("Replace=true", "Validate=false"))
    repo.commit({"app/odd.yaml": lenient}, message="lenient")
    await engine.refresh_app(name)
    await harness.until(lambda: kube_cluster.kubectl("get", "configmap", "odd", "-n", namespace, check=False))
    live = kube_cluster.get_json("configmap", "odd", "-n", namespace)
    assert live["data"] == {"v": "1"}
    assert "bogus" not in live


async def test_validate_false_on_an_object_applied_server_side_is_refused_before_any_write(
    harness: Harness, git_server: FileGitServer, namespace: str
) -> None:
    name = unique("validate")
    git_server.create_repo(
        name, {"app/cfg.yaml": annotated(configmap("cfg", {"v": "1"}), **options("Validate=false"))}
    )
    harness.configure(application(name, repo=git_server.url(name), path="app", namespace=namespace))
    await harness.start()
    await harness.until(lambda: "Validate=false needs Replace=true" in harness.app(name)["message"])
    assert harness.writes() == 0


async def test_prune_last_propagation_prune_false_and_ignore_extraneous(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any, log: OrderLog
) -> None:
    name = unique("prune")
    kept = annotated(
        configmap("kept", {"v": "1"}),
        **options("Prune=false"),
        **{"argocd.argoproj.io/compare-options": "IgnoreExtraneous"},
    )
    repo = git_server.create_repo(
        name,
        {
            "app/web.yaml": deployment("web"),
            "app/last.yaml": annotated(configmap("last", {"v": "1"}), **options("PruneLast=true")),
            "app/kept.yaml": kept,
            "app/stays.yaml": configmap("stays", {"v": "1"}),
        },
    )
    app = application(
        name,
        repo=git_server.url(name),
        path="app",
        namespace=namespace,
        options=("CreateNamespace=true", "PrunePropagationPolicy=orphan"),
    )
    harness.configure(app)
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(name))
    await harness.until(lambda: kube_cluster.kubectl("get", "replicasets", "-n", namespace, "-o", "name"))
    await log.watch(("v1", "ConfigMap"))

    newer = annotated(configmap("newer", {"v": "1"}), **{"argocd.argoproj.io/sync-wave": "3"})
    leaving: dict[str, str | None] = {"app/web.yaml": None, "app/last.yaml": None, "app/kept.yaml": None}
    repo.commit({**leaving, "app/newer.yaml": newer}, message="some objects leave git")
    await engine.refresh_app(name)
    await harness.until(lambda: log.count("ConfigMap", "last", "DELETED") == 1)
    await harness.until(lambda: harness.is_synced_healthy(name))

    assert log.first("ConfigMap", "newer", added) < log.first("ConfigMap", "last", deleted)  # PruneLast
    assert kube_cluster.kubectl("get", "deployment", "web", "-n", namespace, check=False) == ""
    orphans = kube_cluster.get_json("replicasets", "-n", namespace)["items"]
    assert orphans
    assert not orphans[0]["metadata"].get("ownerReferences")
    assert kube_cluster.get_json("configmap", "kept", "-n", namespace)["data"] == {"v": "1"}  # Prune=false
    row = next(r for r in harness.app(name)["resources"] if r["name"] == "kept")
    assert row["message"] == "requires pruning (IgnoreExtraneous)"  # and the app is Synced all the same


async def test_respect_ignore_differences_keeps_a_field_another_writer_owns(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    respecting, overwriting = unique("respect"), unique("overwrite")
    rule = [{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}]
    repo = git_server.create_repo(
        "both",
        {f"{respecting}/web.yaml": deployment("web-r"), f"{overwriting}/web.yaml": deployment("web-o")},
    )
    harness.configure(
        application(
            respecting,
            repo=git_server.url("both"),
            path=respecting,
            namespace=namespace,
            options=("CreateNamespace=true", "RespectIgnoreDifferences=true"),
            ignoreDifferences=rule,
        ),
        application(
            overwriting,
            repo=git_server.url("both"),
            path=overwriting,
            namespace=namespace,
            ignoreDifferences=rule,
        ),
    )
    engine = await harness.start()
    await harness.until(
        lambda: harness.is_synced_healthy(respecting) and harness.is_synced_healthy(overwriting)
    )
    for web in ("web-r", "web-o"):  # an autoscaler's decision
        kube_cluster.kubectl("scale", "deployment", web, "-n", namespace, "--replicas=3")

    repo.commit(
        {
            f"{respecting}/web.yaml": deployment("web-r", image="nginx:1.28"),
            f"{overwriting}/web.yaml": deployment("web-o", image="nginx:1.28"),
        },
        message="new image",
    )
    repo.push()
    await engine.refresh_app(respecting)
    await engine.refresh_app(overwriting)

    def image(web: str) -> str:
        return str(
            kube_cluster.get_json("deployment", web, "-n", namespace)["spec"]["template"]["spec"][
                "containers"
            ][0]["image"]
        )

    await harness.until(lambda: image("web-r") == "nginx:1.28" and image("web-o") == "nginx:1.28")
    assert kube_cluster.get_json("deployment", "web-r", "-n", namespace)["spec"]["replicas"] == 3
    assert kube_cluster.get_json("deployment", "web-o", "-n", namespace)["spec"]["replicas"] == 1


async def test_a_kind_nobody_serves_is_refused_before_any_write_unless_skip_dry_run_on_missing_resource(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    name = unique("missing")
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"size": 1},
    }
    repo = git_server.create_repo(
        name, {"app/cfg.yaml": configmap("cfg", {"v": "1"}), "app/w.yaml": yaml.safe_dump(widget)}
    )
    harness.configure(application(name, repo=git_server.url(name), path="app", namespace=namespace))
    engine = await harness.start()
    await harness.until(lambda: "does not serve the kind" in harness.app(name)["message"])
    assert harness.writes() == 0
    assert "SkipDryRunOnMissingResource=true" in harness.app(name)["message"]

    repo.commit(
        {"app/w.yaml": annotated(yaml.safe_dump(widget), **options("SkipDryRunOnMissingResource=true"))}
    )
    repo.push()
    await engine.refresh_app(name)
    await harness.until(lambda: "Widget" in harness.app(name)["message"] and harness.writes() > 0)
    await harness.until(lambda: kube_cluster.kubectl("get", "configmap", "cfg", "-n", namespace, check=False))
    assert (
        "does not serve kind Widget" in harness.app(name)["message"]
    )  # applied in its wave, and refused there


async def test_an_option_gitward_would_not_honour_is_refused_when_the_config_is_loaded(
    harness: Harness, git_server: FileGitServer, namespace: str
) -> None:
    name = unique("refused")
    git_server.create_repo(name, {"app/cfg.yaml": configmap("cfg", {"v": "1"})})
    options_ = ("CreateNamespace=true", "ServerSideApply=false")
    harness.configure(
        application(name, repo=git_server.url(name), path="app", namespace=namespace, options=options_)
    )
    await harness.start()
    message = harness.app(name)["message"]
    assert "sync option ServerSideApply=false is not supported: gitward always applies server-side" in message
    assert harness.app(name)["conditions"][0]["reason"] == "ValidationFailed"


async def test_a_dry_run_prints_the_plan_with_what_would_change_and_writes_nothing(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    name = unique("dryrun")
    repo = git_server.create_repo(
        name,
        {
            "app/same.yaml": configmap("same", {"v": "1"}),
            "app/changed.yaml": configmap("changed", {"v": "1"}),
            "app/gone.yaml": configmap("gone", {"v": "1"}),
        },
    )
    harness.configure(application(name, repo=git_server.url(name), path="app", namespace=namespace))
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(name))
    hook = yaml.safe_load(configmap("before", {"v": "1"}))
    hook["metadata"]["annotations"] = {"argocd.argoproj.io/hook": "PreSync"}
    repo.commit(
        {
            "app/changed.yaml": configmap("changed", {"v": "2"}),
            "app/new.yaml": annotated(configmap("new", {"v": "1"}), **{"argocd.argoproj.io/sync-wave": "1"}),
            "app/hook.yaml": yaml.safe_dump(hook),
            "app/gone.yaml": None,
        },
        message="change",
    )
    writes = harness.writes()

    plan = await engine.dry_run_sync(name)

    assert harness.writes() == writes
    assert kube_cluster.get_json("configmap", "changed", "-n", namespace)["data"] == {"v": "1"}
    assert [s["name"] for s in plan["steps"]] == ["PreSync", "Sync wave 0", "Sync wave 1"]
    actions = {o["name"]: (o["action"], o["diff"]) for s in plan["steps"] for o in s["objects"] + s["prunes"]}
    assert actions["before"][0] == "hook"
    assert actions["same"] == ("unchanged", "")
    assert actions["changed"][0] == "configure"
    assert "-  v: '1'" in actions["changed"][1]
    assert "+  v: '2'" in actions["changed"][1]
    assert actions["new"][0] == "create"
    assert actions["gone"][0] == "prune"
    assert plan["commit"] == repo.head()


def load_balancer(name: str) -> str:
    """A Service no controller of the local cluster gives an address: Progressing until a test writes one."""
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {"type": "LoadBalancer", "selector": {"app": name}, "ports": [{"port": 80}]},
        }
    )


async def test_wait_and_health_checks_hold_the_sync_until_healthy_within_its_timeout(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    waiting, checking = unique("wait"), unique("checks")
    git_server.create_repo(
        "both",
        {f"{waiting}/lb.yaml": load_balancer("lb"), f"{checking}/cfg.yaml": configmap("cfg", {"v": "1"})},
    )
    waits = application(waiting, repo=git_server.url("both"), path=waiting, namespace=namespace)
    waits["spec"]["syncPolicy"].update(wait=True, timeout="3s")
    checks = application(checking, repo=git_server.url("both"), path=checking, namespace=namespace)
    lb = {"apiVersion": "v1", "kind": "Service", "name": "lb", "namespace": namespace}
    checks["spec"]["syncPolicy"].update(healthChecks=[lb], timeout="3s")
    harness.configure(waits, checks)
    await harness.start()
    await harness.until(lambda: "not healthy within 3s" in harness.app(waiting)["message"])
    assert f"Sync wave 0: not healthy within 3s: Service/{namespace}/lb" in harness.app(waiting)["message"]
    await harness.until(lambda: "health checks: not healthy within 3s" in harness.app(checking)["message"])

    address = '{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.10"}]}}}'
    kube_cluster.kubectl(
        "patch", "service", "lb", "-n", namespace, "--subresource=status", "--type=merge", "-p", address
    )
    await harness.until(lambda: harness.is_synced_healthy(waiting) and harness.is_synced_healthy(checking))

"""The web UI end to end: the real ``gitward run`` process, a real local cluster, a real Git server over
smart HTTP, and a real headless Chromium (Debian's, through Selenium and Debian's chromium-driver).

The tests run in file order on one server and one browser, as a person would use the UI: sign in,
filter the list, open an app and its resource tree, sync after the preview, watch the page change
without a reload after a commit and after a drift, read the diff, roll back, and sign out. A viewer
sees no action and is refused when it tries anyway; a page of another origin cannot make the
signed-in browser write (no CSRF token); no page ever shows a Secret's value. The screenshots in
docs/ui/ are taken here.
"""

from __future__ import annotations

import base64
import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from devtools.gitservers import HttpGitServer
from tests.e2e.browser import Browser, available
from tests.e2e.conftest import _environment
from tests.e2e.process import GitwardProcess, application, configmap, deployment, free_port, unique

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        bool(available()), reason=f"needs Debian's chromium and chromium-driver: {available()}"
    ),
]

SECRET_VALUE = "ui-secret-Zq8v7-never-shown"
DRIFTED_SECRET = "ui-drifted-Kp3w-never-shown"


def secret(name: str, value: str) -> str:
    data = {"password": base64.b64encode(value.encode()).decode()}
    return yaml.safe_dump(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": "Opaque", "data": data}
    )


@dataclass
class World:
    gitward: GitwardProcess
    repo: Any
    shop: str  # Deployment + ConfigMap + Secret, selfHeal
    manual: str  # ConfigMap, no selfHeal: drift stays visible
    extra: list[str]
    namespaces: dict[str, str]
    url: str
    browser: Browser


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, kube_cluster: Any) -> Iterator[World]:
    root = tmp_path_factory.mktemp("ui")
    shop, manual = unique("shop"), unique("manual")
    extra = [unique("cache"), unique("queue")]
    names = [shop, manual, *extra]
    namespaces = {n: f"gw-{n}" for n in names}
    files = {
        f"{shop}/deploy.yaml": deployment("web"),
        f"{shop}/cfg.yaml": configmap("cfg", {"color": "blue"}),
        f"{shop}/creds.yaml": secret("creds", SECRET_VALUE),
        f"{manual}/cfg.yaml": configmap("cfg", {"size": "m"}),
        f"{manual}/creds.yaml": secret("creds", SECRET_VALUE),
    }
    files.update({f"{n}/cfg.yaml": configmap("cfg", {"n": n}) for n in extra})
    with HttpGitServer(root / "git") as git:
        repo = git.create_repo("apps", files)
        url = git.url("apps")
        config = root / "config"
        config.mkdir()
        cluster = {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": "local"},
            "spec": {"kubeconfig": str(kube_cluster.kubeconfig)},
        }
        apps = [
            application(n, repo=url, path=n, namespace=namespaces[n], self_heal=n != manual) for n in names
        ]
        apps[0]["metadata"]["labels"] = {"team": "shop"}
        (config / "gitward.yaml").write_text(yaml.safe_dump_all([cluster, *apps], sort_keys=False))
        process = GitwardProcess(root=root, env=_environment(root), port=free_port())
        process.start(config)
        browser = Browser(f"http://127.0.0.1:{process.port}")
        try:
            process.until(lambda: all(_synced(process, n) for n in names), within=180)
            yield World(process, repo, shop, manual, extra, namespaces, browser.base_url, browser)
        finally:
            browser.close()
            process.kill()
            for namespace in namespaces.values():
                kube_cluster.kubectl("delete", "namespace", namespace, "--wait=false", "--ignore-not-found")


def _synced(process: GitwardProcess, name: str) -> bool:
    app = process.app(name)
    return bool(app["sync"]["status"] == "Synced" and app["health"]["status"] == "Healthy")


def sign_in(b: Browser, token: str, next_path: str = "/apps") -> None:
    b.driver.delete_all_cookies()
    b.open(next_path)
    b.until(lambda: b.path.startswith("/login"), what="the login form")
    b.find("#token").send_keys(token)
    b.find("form[action='/login'] button[type=submit]").click()
    b.until(lambda: b.path.startswith(next_path), what=f"back at {next_path}")


def test_sign_in_and_filter_the_list(world: World) -> None:
    b = world.browser
    sign_in(b, world.gitward.token())
    b.until(lambda: len(b.all("table.apps tbody tr")) == 4, what="four apps listed")
    b.until(lambda: b.text("#live-state") == "live", what="the live stream connected")
    assert "Synced" in b.text("#counts")
    b.screenshot("list")
    search = b.find("input[name=search]")
    search.send_keys(world.manual)
    b.until(lambda: [r.get_attribute("data-app") for r in b.all("table.apps tbody tr")] == [world.manual])
    assert f"search={world.manual}" in b.path  # the URL follows the filter, so it can be shared
    b.open("/apps?label=team%3Dshop")
    assert [r.get_attribute("data-app") for r in b.all("table.apps tbody tr")] == [world.shop]


def test_app_page_shows_source_commit_and_the_resource_tree(world: World) -> None:
    b = world.browser
    b.open(f"/apps/{world.shop}")
    assert "initial commit" in b.text("#status")  # the commit message, from the Git mirror
    tree = b.until(
        lambda: "Pod" in b.text("#tree") and b.text("#tree"), what="Deployment -> ReplicaSet -> Pod"
    )
    assert "Deployment" in tree
    assert "ReplicaSet" in tree
    assert "web" in tree
    assert "Secret" in tree
    assert "creds" in tree
    b.driver.set_window_size(1280, 1500)
    b.screenshot("app")
    b.dark(True)
    b.screenshot("app-dark")
    b.dark(False)
    b.driver.set_window_size(1280, 860)


def test_sync_after_its_preview_shows_the_operation_live(world: World) -> None:
    b = world.browser
    b.open(f"/apps/{world.shop}")
    b.find(f"a[href='/apps/{world.shop}/sync']").click()
    b.until(lambda: b.text("#preview"), what="the sync preview")
    assert "Deployment" in b.text("#preview")  # the plan's objects, from the engine's dry run
    assert "web" in b.text("#preview")
    b.screenshot("preview")
    b.mark()
    b.find("#confirm-sync").click()
    b.until(lambda: b.path == f"/apps/{world.shop}", what="the app page while syncing")
    b.until(
        lambda: "by admin" in b.text("#operation") and "Succeeded" in b.text("#operation"),
        what="the sync's operation",
    )
    assert b.not_reloaded()
    assert "Deployment" in b.text("#operation")  # per-resource results
    b.js("document.getElementById('operation').scrollIntoView()")
    b.screenshot("operation")


def test_a_commit_shows_up_live(world: World) -> None:
    b = world.browser
    b.open(f"/apps/{world.shop}")
    b.until(lambda: b.text("#live-state") == "live", what="the live stream connected")
    b.mark()
    commit = world.repo.commit(
        {f"{world.shop}/cfg.yaml": configmap("cfg", {"color": "green"})}, message="shop: green"
    )
    world.gitward.ok("app", "refresh", world.shop)
    b.until(
        lambda: commit[:7] in b.text("#status") and "shop: green" in b.text("#status"), what="the new commit"
    )
    assert b.not_reloaded()


def test_a_drift_shows_up_live_with_who_changed_what(world: World, kube_cluster: Any) -> None:
    b = world.browser
    b.open(f"/apps/{world.manual}")
    b.until(lambda: b.text("#live-state") == "live", what="the live stream connected")
    b.mark()
    namespace = world.namespaces[world.manual]
    kube_cluster.kubectl(
        "patch", "configmap", "cfg", "-n", namespace, "--type=merge", "-p", '{"data":{"size":"xl"}}'
    )
    drifted = base64.b64encode(DRIFTED_SECRET.encode()).decode()
    patch = json.dumps({"data": {"password": drifted}})
    kube_cluster.kubectl("patch", "secret", "creds", "-n", namespace, "--type=merge", "-p", patch)
    b.until(lambda: "OutOfSync" in b.text("#badges"), what="OutOfSync without a reload")
    b.until(lambda: "kubectl" in b.text("#drift"), what="the drift journal naming the field manager")
    assert "data" in b.text("#drift")
    assert b.not_reloaded()


def test_suspend_and_resume_from_the_app_page(world: World) -> None:
    b = world.browser
    b.open(f"/apps/{world.manual}")
    b.until(lambda: b.text("#live-state") == "live", what="the live stream connected")
    b.find(f"form[action='/api/v1/apps/{world.manual}/suspend'] button").click()
    b.driver.switch_to.alert.accept()  # the confirmation
    b.until(lambda: "automation suspended" in b.text("#badges"), what="suspended, without a reload")
    assert world.gitward.app(world.manual)["suspended"]
    b.open(f"/apps/{world.manual}")
    b.find(f"form[action='/api/v1/apps/{world.manual}/resume'] button").click()
    b.driver.switch_to.alert.accept()
    b.until(lambda: "automation suspended" not in b.text("#badges"), what="resumed")
    assert not world.gitward.app(world.manual)["suspended"]


def test_the_diff_unified_and_side_by_side(world: World) -> None:
    b = world.browser
    b.open(f"/apps/{world.manual}/diff")
    assert "size: m" in b.text("main")
    assert "password: +" in b.text("main")  # the Secret, masked
    b.open(f"/apps/{world.manual}/diff?view=split")
    assert "xl" in b.text("main")
    assert "desired" in b.text("main").lower()
    b.screenshot("diff")
    assert "Secret" in b.text("main")  # the drifted Secret is in the diff, its values masked
    b.open(f"/apps/{world.manual}/diff")
    assert "Secret" in b.text("main")


def test_rollback_from_history(world: World) -> None:
    b = world.browser
    b.open(f"/apps/{world.shop}#history")
    links = b.all("#history a.button")
    assert links, b.text("#history")
    target = links[-1].get_attribute("href") or ""
    b.driver.get(target)
    b.keep()
    b.find("#confirm-rollback").click()
    b.until(
        lambda: "rollback" in b.text("#operation") and "Succeeded" in b.text("#operation"),
        what="the rollback",
    )
    b.until(lambda: "automation suspended" in b.text("#badges"), what="automation suspended")


def test_a_viewer_sees_no_action_and_is_refused_anyway(world: World) -> None:
    b = world.browser
    viewer = world.gitward.ok("token", "create", "--role", "viewer", "--name", "ui-viewer").stdout.strip()
    sign_in(b, viewer, f"/apps/{world.shop}")
    assert not b.all(f"a[href='/apps/{world.shop}/sync']")
    assert not b.all("form[action$='/refresh']")
    assert b.fetch("POST", f"/apps/{world.shop}/sync", csrf=True) == 403
    assert b.fetch("POST", f"/api/v1/apps/{world.shop}/sync", csrf=True) == 403
    b.open(f"/apps/{world.shop}/sync")
    assert "Not allowed" in b.text("h1")


class _Attacker(http.server.BaseHTTPRequestHandler):
    """Another origin's page that posts to gitward without the CSRF token when opened."""

    target = ""

    def do_GET(self) -> None:
        page = (
            f'<html><body><form id="f" method="post" action="{self.target}">'
            '<input name="revision" value="main"></form>'
            '<script>document.getElementById("f").submit()</script></body></html>'
        )
        body = page.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_cross_site_post_without_the_csrf_token_is_refused(world: World) -> None:
    b = world.browser
    sign_in(b, world.gitward.token())
    before = len(world.gitward.ok("app", "history", world.shop, "-o", "json").json())
    for target in (f"/apps/{world.shop}/sync", f"/api/v1/apps/{world.shop}/sync", "/logout"):
        _Attacker.target = world.url + target
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Attacker)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            b.driver.get(f"http://127.0.0.1:{server.server_address[1]}/")
            b.until(lambda: b.driver.current_url.startswith(world.url), what="the forged POST answered")
            b.keep()
            assert "401" in b.text() or "Unauthorized" in b.text() or "Not signed in" in b.text(), b.text()
        finally:
            server.shutdown()
            server.server_close()
    assert len(world.gitward.ok("app", "history", world.shop, "-o", "json").json()) == before
    b.open("/apps")  # the session survived the forged logout
    assert b.path.startswith("/apps")


def test_sign_out_ends_the_session(world: World) -> None:
    b = world.browser
    b.open("/apps")
    cookie = b.driver.get_cookie("gitward_session")
    assert cookie
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"
    b.find("form[action='/logout'] button").click()
    b.until(lambda: b.path.startswith("/login"), what="the login form after signing out")
    b.driver.add_cookie({"name": "gitward_session", "value": cookie["value"], "path": "/"})
    b.open("/apps")
    assert b.path.startswith("/login")  # the old session is gone on the server, not only in the browser


def test_no_page_ever_showed_the_secret(world: World) -> None:
    assert len(world.browser.pages) > 20
    for value in (SECRET_VALUE, DRIFTED_SECRET):
        encoded = base64.b64encode(value.encode()).decode()
        for page in world.browser.pages:
            assert value not in page
            assert encoded not in page

"""docs/reliability.md, bad inputs fed to the real engine: a clear error on the app, nothing applied, nothing
pruned.

Each case commits the bad input to a real Git repository, lets the engine reconcile it against the
real cluster, and proves "nothing happened" with the API client's write counters and the live
objects, while the app's status names the problem (docs/reliability.md, bad input 1, 2, 6, 7, 10 and 12).
"""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import yaml
from devtools.gitservers import FileGitServer, WorkRepo
from tests.integration.engine.harness import Harness, application, configmap

from gitward.core.errors import GitwardError

pytestmark = pytest.mark.integration


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid4().hex[:6]}"


def _exists(kube_cluster: Any, kind: str, name: str, namespace: str) -> bool:
    out = kube_cluster.kubectl("get", kind, name, "-n", namespace, "-o", "name", check=False)
    return bool(out.strip())


def _error_of(harness: Harness, app: str) -> str:
    return str(harness.app(app)["message"])


async def _refused(harness: Harness, app: str, expected: str) -> dict[str, Any]:
    """Wait for the app to report ``expected``; then it must be not Ready, and its event must say so."""
    await harness.until(lambda: expected in _error_of(harness, app))
    await harness.settle()
    status = harness.app(app)
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False"
    assert expected in ready["message"]
    assert harness.engine is not None
    assert any(e["type"] == "Warning" and expected in e["message"] for e in harness.engine.events(app))
    return status


# -- 1: symlinks escaping the repository ---------------------------------------------------------------


def _link_outside_absolute(repo: WorkRepo, outside: Path) -> str:
    repo.symlink("app/leak.yaml", str(outside / "secret.yaml"))
    return "app/leak.yaml"


def _link_outside_relative(repo: WorkRepo, outside: Path) -> str:
    # The checkout lives somewhere unknown: climb far enough to leave it whatever it is.
    repo.symlink("app/leak.yaml", "../" * 40 + str(outside / "secret.yaml").lstrip("/"))
    return "app/leak.yaml"


def _link_chained(repo: WorkRepo, outside: Path) -> str:
    repo.symlink("links/hop.yaml", str(outside / "secret.yaml"))
    repo.symlink("app/chain.yaml", "../links/hop.yaml")
    return "app/chain.yaml"


def _link_to_directory(repo: WorkRepo, outside: Path) -> str:
    repo.symlink("app/more", str(outside))
    return "app/more"


def _link_dangling(repo: WorkRepo, outside: Path) -> str:
    repo.symlink("app/dangling.yaml", str(outside / "does-not-exist.yaml"))
    return "app/dangling.yaml"


@pytest.mark.parametrize(
    "make_link",
    [_link_outside_absolute, _link_outside_relative, _link_chained, _link_to_directory, _link_dangling],
    ids=["absolute", "dotdot", "chained", "directory", "dangling"],
)
async def test_a_symlink_escaping_the_repository_is_refused_and_nothing_is_applied(
    harness: Harness,
    git_server: FileGitServer,
    namespace: str,
    kube_cluster: Any,
    tmp_path: Path,
    make_link: Any,
) -> None:
    app = _name("link")
    outside = tmp_path / "outside"
    outside.mkdir()
    # Were the link followed, this object would be applied.
    (outside / "secret.yaml").write_text(configmap(f"{app}-outside", {"stolen": "yes"}))
    repo = git_server.create_repo(app, {"app/ok.yaml": configmap(f"{app}-ok", {"k": "v"})})
    path = make_link(repo, outside)
    repo.commit(message="add a link")
    harness.configure(application(app, repo=git_server.url(app), path="app", namespace=namespace))
    await harness.start()

    await _refused(harness, app, f"symlink escapes repository: {path}")

    assert harness.writes() == 0
    assert not _exists(kube_cluster, "namespace", namespace, "")
    assert harness.app(app)["resources"] == []


# -- 2: paths leaving the repository in the Application -------------------------------------------------


async def test_escaping_paths_in_an_application_are_refused_and_other_apps_keep_running(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    good = _name("good")
    chart: dict[str, str | bytes | None] = {
        "chart/Chart.yaml": yaml.safe_dump({"apiVersion": "v2", "name": "c", "version": "0.1.0"}),
        "chart/templates/cm.yaml": (
            'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: "{{ .Release.Name }}"}\n'
        ),
        "chart/values.yaml": "{}\n",
        "app/cm.yaml": configmap(good, {"k": "v"}),
    }
    git_server.create_repo(good, chart)
    url = git_server.url(good)
    bad_apps: dict[str, dict[str, Any]] = {
        _name("dotdot"): {"path": "../app"},
        _name("deepdotdot"): {"path": "app/../../app"},
        _name("absolute"): {"path": "/etc"},
        _name("values-dotdot"): {"path": "chart", "helm": {"valueFiles": ["../../values.yaml"]}},
        _name("values-absolute"): {"path": "chart", "helm": {"valueFiles": ["/etc/passwd"]}},
    }
    docs = [application(good, repo=url, path="app", namespace=namespace)]
    docs += [application(n, repo=url, path="app", namespace=namespace, source=s) for n, s in bad_apps.items()]
    harness.configure(*docs)
    engine = await harness.start()

    await harness.until(lambda: harness.is_synced_healthy(good))
    await harness.settle()
    listed = {a["name"]: a for a in engine.list_apps()}
    for name, source in bad_apps.items():
        summary = engine.get_app(name)
        assert listed[name] == summary
        stalled = next(c for c in summary["conditions"] if c["type"] == "Stalled")
        assert stalled["status"] == "True"
        assert stalled["reason"] == "ValidationFailed"
        shown = source["helm"]["valueFiles"][0] if "helm" in source else source["path"]
        assert shown in summary["message"]
        assert not _exists(kube_cluster, "configmap", name, namespace)
        with pytest.raises(GitwardError):
            await engine.sync_app(name)
    assert [r["name"] for r in harness.app(good)["resources"]] == [good]


# -- 6, 7: documents that cannot be parsed or are not objects -------------------------------------------


def _alias_bomb(levels: int = 10, width: int = 9) -> str:
    """A few hundred bytes naming ``width ** levels`` nodes through nested aliases."""
    lines = [
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata: {name: bomb}",
        "l0: &l0 [" + ",".join("x" * width) + "]",
    ]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [" + ",".join([f"*l{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


_ALIAS_BOMB = _alias_bomb()
_DEEP = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata: {k: v}\nx: "
    + "[" * 5000
    + "]" * 5000
    + "\n"
)
_DEEP_MAPPINGS = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\nx: " + "{a: " * 300 + "1" + "}" * 300 + "\n"
)

BAD_DOCUMENTS = {
    "alias-bomb": (_ALIAS_BOMB, "alias bomb"),
    "deep-sequences": (_DEEP, "nesting depth"),
    "deep-mappings": (_DEEP_MAPPINGS, "nesting deeper than"),
    "invalid-yaml": ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [unclosed\n", "invalid YAML"),
    "no-apiversion": ("kind: ConfigMap\nmetadata: {name: x}\n", "missing apiVersion"),
    "no-kind": ("apiVersion: v1\nmetadata: {name: x}\n", "missing kind"),
    "no-name": ("apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {a: b}}\n", "missing metadata.name"),
}


@pytest.mark.parametrize("case", sorted(BAD_DOCUMENTS))
async def test_a_bad_document_is_a_render_error_with_no_apply_and_no_prune(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any, case: str
) -> None:
    text, expected = BAD_DOCUMENTS[case]
    app = _name("doc")
    repo = git_server.create_repo(
        app,
        {
            "app/keep.yaml": configmap(f"{app}-keep", {"k": "v1"}),
            "app/gone.yaml": configmap(f"{app}-gone", {"k": "v1"}),
        },
    )
    harness.configure(application(app, repo=git_server.url(app), path="app", namespace=namespace))
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(app))
    await harness.settle()
    writes_before = harness.writes()

    # The same commit changes one object and removes another: neither may happen.
    repo.commit(
        {"app/keep.yaml": configmap(f"{app}-keep", {"k": "v2"}), "app/gone.yaml": None, "app/bad.yaml": text},
        message=case,
    )
    await engine.refresh_app(app)
    status = await _refused(harness, app, "app/bad.yaml")

    assert expected in status["message"]
    assert harness.writes() == writes_before
    assert kube_cluster.get_json("configmap", f"{app}-keep", "-n", namespace)["data"] == {"k": "v1"}
    assert _exists(kube_cluster, "configmap", f"{app}-gone", namespace)
    assert sorted(r["name"] for r in status["resources"]) == [f"{app}-gone", f"{app}-keep"]


# -- 10: nothing rendered ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"app/a.yaml": None, "app/b.yaml": None}, "does not exist"),
        ({"app/a.yaml": None, "app/b.yaml": None, "app/README.md": "nothing here\n"}, "no objects"),
        ({"app/a.yaml": "---\n", "app/b.yaml": "# all gone\n"}, "no objects"),
    ],
    ids=["path-deleted", "no-manifests", "empty-documents"],
)
async def test_an_empty_render_or_a_deleted_path_prunes_nothing(
    harness: Harness,
    git_server: FileGitServer,
    namespace: str,
    kube_cluster: Any,
    change: dict[str, str | bytes | None],
    expected: str,
) -> None:
    app = _name("empty")
    repo = git_server.create_repo(
        app,
        {"app/a.yaml": configmap(f"{app}-a", {"k": "v"}), "app/b.yaml": configmap(f"{app}-b", {"k": "v"})},
    )
    harness.configure(application(app, repo=git_server.url(app), path="app", namespace=namespace))
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(app))
    await harness.settle()
    writes_before = harness.writes()

    repo.commit(change, message="empty the app")
    await engine.refresh_app(app)
    status = await _refused(harness, app, expected)

    assert harness.writes() == writes_before
    assert _exists(kube_cluster, "configmap", f"{app}-a", namespace)
    assert _exists(kube_cluster, "configmap", f"{app}-b", namespace)
    assert len(status["resources"]) == 2
    with pytest.raises(GitwardError):
        await engine.sync_app(app, prune=True)
    assert harness.writes() == writes_before
    assert _exists(kube_cluster, "configmap", f"{app}-a", namespace)


# -- 12: Secret values never shown -------------------------------------------------------------------


def _secret(name: str, **data: str) -> str:
    return yaml.safe_dump(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": data}
    )


def _forms(value: str) -> list[str]:
    """The value as written and as the API stores it (base64), so neither form may leak."""
    return [value, base64.b64encode(value.encode()).decode()]


async def test_secret_values_never_appear_in_any_output(
    harness: Harness,
    git_server: FileGitServer,
    namespace: str,
    kube_cluster: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    app = _name("secret")
    first, second, kept, broken = (f"s3cr3t-{p}-{uuid4().hex}" for p in ("first", "second", "kept", "broken"))
    repo = git_server.create_repo(app, {"app/secret.yaml": _secret(app, password=first, token=kept)})
    harness.configure(
        application(app, repo=git_server.url(app), path="app", namespace=namespace, automated=False)
    )
    engine = await harness.start()
    outputs: list[Any] = []
    operation = await engine.sync_app(app)
    assert operation["phase"] == "Succeeded"
    outputs += [operation, engine.get_app(app), engine.list_apps()]
    assert json.loads(json.dumps(kube_cluster.get_json("secret", app, "-n", namespace)["data"])) == {
        "password": _forms(first)[1],
        "token": _forms(kept)[1],
    }

    # A change: the diff shows that password changed and token did not, without showing either.
    repo.commit({"app/secret.yaml": _secret(app, password=second, token=kept)}, message="rotate")
    outputs.append(await engine.refresh_app(app))
    diff = await engine.diff_app(app)
    outputs.append(diff)
    entry = next(d for d in diff if d["kind"] == "Secret")
    assert entry["action"] == "update"
    changed = [
        line for line in entry["diff"].splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]
    assert any("password" in line for line in changed)
    assert not any("token" in line for line in changed)
    assert "token" in entry["diff"]

    # An apply the API refuses, and a render error, both on a Secret carrying a value.
    refused = yaml.safe_load(_secret(app))
    refused["type"] = "kubernetes.io/dockerconfigjson"
    refused["stringData"] = {".dockerconfigjson": f'{{"auths": {broken}}}'}
    repo.commit({"app/secret.yaml": yaml.safe_dump(refused)}, message="invalid secret")
    failed = await engine.sync_app(app)
    assert failed["phase"] == "Failed"
    outputs += [failed, engine.get_app(app)]
    repo.commit({"app/secret.yaml": f"apiVersion: v1\nkind: Secret\nstringData: {{password: [{broken}\n"})
    with pytest.raises(GitwardError) as raised:
        await engine.sync_app(app)
    outputs.append(str(raised.value))
    with pytest.raises(GitwardError) as raised_diff:
        await engine.diff_app(app)
    outputs.append(str(raised_diff.value))
    outputs += [
        engine.get_app(app),
        engine.list_apps(),
        engine.history(app),
        engine.events(app),
        engine.events(),
    ]

    text = json.dumps(outputs) + caplog.text
    assert "app/secret.yaml" in text  # the outputs were collected and do describe the Secret
    for value in (first, second, kept, broken):
        for form in _forms(value):
            assert form not in text

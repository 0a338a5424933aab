"""What ``gitward bootstrap`` writes and applies, and which paths it refuses (install/bootstrap.py)."""

from __future__ import annotations

import pytest
import yaml

from gitward.core.marks import owner_of
from gitward.install import Settings
from gitward.install.bootstrap import (
    HEADER,
    Credentials,
    PathNotOurs,
    Target,
    build_bootstrap,
    check_path,
)
from gitward.model import load_object
from gitward.model.application import Application

TARGET = Target(
    repo_url="https://git.example/org/fleet.git",
    branch="main",
    path="clusters/prod",
    settings=Settings(namespace="ops"),
)
SECRET_VALUE = "not-in-git-91"


def _docs(text: str) -> list[dict[str, object]]:
    return [d for d in yaml.safe_load_all(text) if d]


def test_the_files_are_the_install_and_the_application_under_the_path() -> None:
    built = build_bootstrap(TARGET, Credentials())
    assert sorted(built.files) == [
        "clusters/prod/gitward/bootstrap.yaml",
        "clusters/prod/gitward/install.yaml",
    ]
    assert all(text.startswith(HEADER) for text in built.files.values())
    (app_doc,) = _docs(built.files["clusters/prod/gitward/bootstrap.yaml"])
    app = load_object(app_doc)
    assert isinstance(app, Application)
    assert app.name == "ops"
    assert app.spec.deletion_policy == "orphan"
    assert app.spec.source.path == "clusters/prod"
    assert app.spec.source.directory is not None
    assert app.spec.source.directory.exclude == ("gitward/bootstrap.yaml",)
    assert app.spec.destination.cluster == "in-cluster"
    assert built.secret is None


def test_only_the_crds_and_the_namespace_are_never_pruned() -> None:
    built = build_bootstrap(TARGET, Credentials())
    for doc in _docs(built.files["clusters/prod/gitward/install.yaml"]):
        meta = doc["metadata"]
        assert isinstance(meta, dict)
        options = (meta.get("annotations") or {}).get("gitward.dev/sync-options")
        assert (options == "Prune=false") == (doc["kind"] in ("CustomResourceDefinition", "Namespace"))


def test_applied_objects_carry_the_marks_of_the_application() -> None:
    built = build_bootstrap(TARGET, Credentials())
    install = [o for o in built.objects if not str(o["apiVersion"]).startswith("gitward.dev/")]
    assert install
    assert all(owner_of(o) == "ops" for o in install)
    assert built.objects[-1]["kind"] == "Application"
    assert owner_of(built.objects[-1]) is None


def test_credentials_go_to_a_secret_named_by_a_repository_never_to_git() -> None:
    creds = Credentials(username="deploy", password=SECRET_VALUE)
    built = build_bootstrap(TARGET, creds)
    assert SECRET_VALUE not in "".join(built.files.values())
    assert SECRET_VALUE not in repr(creds)
    repository, application = _docs(built.files["clusters/prod/gitward/bootstrap.yaml"])
    assert repository["kind"] == "Repository"
    assert application["kind"] == "Application"
    assert built.secret is not None
    assert set(built.secret["data"]) == {"username", "password"}
    assert repository["spec"] == {
        "url": TARGET.repo_url,
        "secretRef": {"name": built.secret["metadata"]["name"]},
    }


def test_the_same_input_writes_the_same_files() -> None:
    assert build_bootstrap(TARGET, Credentials()).files == build_bootstrap(TARGET, Credentials()).files


@pytest.mark.parametrize(
    "existing",
    [
        {},
        {
            "gitward/install.yaml": HEADER.encode() + b" x\n",
            "gitward/bootstrap.yaml": HEADER.encode() + b"\n",
        },
        {"gitward/install.yaml": HEADER.encode() + b"\n", "apps/podinfo.yaml": b"kind: Application\n"},
    ],
    ids=["empty", "an earlier bootstrap", "an earlier bootstrap and apps added since"],
)
def test_an_empty_or_bootstrapped_path_is_accepted(existing: dict[str, bytes]) -> None:
    check_path("clusters/prod", existing)


@pytest.mark.parametrize(
    ("existing", "message"),
    [
        ({"podinfo.yaml": b"kind: ConfigMap\n"}, "already holds files not written by gitward bootstrap"),
        ({"gitward/install.yaml": b"kind: ConfigMap\n"}, "gitward/install.yaml was not written"),
        ({"gitward/install.yaml": HEADER.encode(), "gitward/x/y.yaml": HEADER.encode()}, "x/y.yaml was not"),
    ],
    ids=["other files", "a hand-written file in gitward/", "a subfolder of gitward/"],
)
def test_a_path_holding_something_else_is_refused(existing: dict[str, bytes], message: str) -> None:
    with pytest.raises(PathNotOurs, match=message):
        check_path("clusters/prod", existing)

"""Message templates: the fixed names, truncation, and everything else refused when loaded."""

from __future__ import annotations

import pytest

from gitward.model.notification import TEMPLATE_FIELDS, check_template
from gitward.notify.events import AppEvent
from gitward.notify.template import render, summary, variables

SHA = "3f1c2ab4d5e6f708192a3b4c5d6e7f8091a2b3c4"


def event(**changes: str) -> AppEvent:
    values = {
        "trigger": "SyncFailed",
        "app": "podinfo",
        "project": "prod",
        "cluster": "local",
        "namespace": "web",
        "repo_url": "https://deployer@git.example.com/org/apps.git",
        "revision": "main",
        "commit": SHA,
        "message": "Deployment.apps/web/podinfo: refused",
        "sync": "OutOfSync",
        "health": "Healthy",
    }
    values.update(changes)
    return AppEvent(**values)  # type: ignore[arg-type]


def test_every_template_name_has_a_value_and_no_value_is_unnamed() -> None:
    assert set(variables(event(), notification="n")) == TEMPLATE_FIELDS


def test_a_template_fills_names_and_truncates_with_a_precision() -> None:
    text = render("{app} {title} {commit:.7} [{project}] {message}", variables(event(), notification="n"))
    assert text == "podinfo sync failed 3f1c2ab [prod] Deployment.apps/web/podinfo: refused"


def test_the_default_summary_names_app_what_happened_commit_and_why() -> None:
    assert summary(event()) == "podinfo: sync failed at 3f1c2ab4d5e6: Deployment.apps/web/podinfo: refused"
    assert summary(event(commit="", message="")) == "podinfo: sync failed"


def test_the_repository_url_is_shown_without_its_user_information() -> None:
    values = variables(event(), notification="n")
    assert "deployer" not in values["repoURL"]
    assert values["repoURL"].endswith("git.example.com/org/apps.git")


def test_long_output_is_capped() -> None:
    text = render("{message}", variables(event(message="x" * 10_000), notification="n"), limit=100)
    assert len(text) == 100


@pytest.mark.parametrize(
    ("template", "why"),
    [
        ("{app.__class__}", "not known"),
        ("{app[0]}", "not known"),
        ("{0}", "not known"),
        ("{}", "not known"),
        ("{secret}", "not known"),
        ("{app!r}", "conversions"),
        ("{app:>100000000}", "precision"),
        ("{app:{commit}}", "precision"),
        ("{app", "cannot be read"),
        ("x" * 2001, "longer than"),
    ],
)
def test_anything_but_names_and_precisions_is_refused(template: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        check_template(template)


@pytest.mark.parametrize("template", ["{summary}", "{app}: {commit:.7} {{literal}}", "plain text"])
def test_plain_templates_load(template: str) -> None:
    assert check_template(template) == template

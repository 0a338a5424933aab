"""Build variables: what a value refers to, what is refused, and how it is substituted (Argo CD's rules)."""

from __future__ import annotations

import pytest

from gitward.core.buildenv import expand, names_revision, references, unknown_references

VARIABLES = {"ARGOCD_APP_NAME": "web", "KUBE_VERSION": "v1.36.3"}


@pytest.mark.parametrize(
    ("value", "expanded"),
    [
        ("$ARGOCD_APP_NAME", "web"),
        ("${ARGOCD_APP_NAME}-x", "web-x"),
        ("a-$ARGOCD_APP_NAME.b", "a-web.b"),
        ("$$ARGOCD_APP_NAME", "$ARGOCD_APP_NAME"),
        ("cost: 5$", "cost: 5$"),
        ("{a: $.b}", "{a: $.b}"),
        ("$ARGOCD_APP_NAMESPACE", ""),
        ("$KUBE_VERSION$ARGOCD_APP_NAME", "v1.36.3web"),
    ],
)
def test_expand_follows_argo_cd(value: str, expanded: str) -> None:
    assert expand(value, VARIABLES) == expanded


def test_unknown_names_are_reported_as_written() -> None:
    assert unknown_references("$ARGOCD_APP_NAME ${HOME} $PATH $1 $$USER {a: $.b}") == [
        "${HOME}",
        "${PATH}",
        "${1}",
    ]
    assert unknown_references("${ARGOCD_APP_NAME") == ["${ (unterminated)"]
    assert unknown_references("plain text") == []


def test_revision_references() -> None:
    assert names_revision("rev-${ARGOCD_APP_REVISION_SHORT}")
    assert not names_revision("$ARGOCD_APP_NAME $$ARGOCD_APP_REVISION")
    assert references("$A ${B} $$C") == ["A", "B"]

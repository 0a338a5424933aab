"""Windows read at load (a bad one refuses its Project, naming the field) and verdicts cached until
their ``until``, asked at instants a test chooses (no wall clock)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from gitward.model import Application, load_objects
from gitward.reconcile.windowbook import MAX_CACHE_SECONDS, WindowBook, check_windows, window_view

pytestmark = pytest.mark.unit


def at(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp()


def project(name: str, *windows: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Project",
        "metadata": {"name": name},
        "spec": {"syncWindows": list(windows)},
    }


def app(
    name: str = "web", *, project: str = "prod", namespace: str = "web", cluster: str = "c1"
) -> Application:
    spec = {
        "project": project,
        "source": {"repoURL": "https://git.example.com/a.git", "path": name},
        "destination": {"cluster": cluster, "namespace": namespace},
    }
    return Application.model_validate({"metadata": {"name": name}, "spec": spec})


NIGHT = {"name": "night", "kind": "deny", "schedule": "0 22 * * *", "duration": "8h", "namespaces": ["web"]}


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ({"schedule": "0 25 * * *"}, "spec.syncWindows[1]: sync window deny-1: schedule '0 25 * * *': hour"),
        ({"duration": "soon"}, "spec.syncWindows[1]: sync window deny-1: duration"),
        ({"timeZone": "Mars/Olympus"}, "spec.syncWindows[1]: sync window deny-1: timeZone"),
        ({"applications": []}, "at least one must list a glob"),
    ],
)
def test_a_window_that_cannot_be_read_refuses_its_project(bad: dict[str, Any], fragment: str) -> None:
    broken = {"kind": "deny", "schedule": "* * * * *", "duration": "1h", "applications": ["*"], **bad}
    loaded = load_objects([project("prod", NIGHT, broken), project("dev", NIGHT)])
    config, windows = check_windows(loaded)
    assert [p.name for p in config.projects] == ["dev"]
    assert [w.name for w in windows["dev"]] == ["night"]
    (error,) = config.errors
    assert (error.kind, error.name) == ("Project", "prod")
    assert fragment in error.message


def test_a_project_without_windows_answers_without_the_calendar() -> None:
    book = WindowBook({"prod": ()})
    verdict = book.verdict(app(), at=at("2026-03-02T23:00:00Z"))
    assert verdict.allowed
    assert book.evaluations == 0


def test_a_verdict_is_kept_until_it_changes_and_then_asked_again() -> None:
    _, windows = check_windows(load_objects([project("prod", NIGHT)]))
    book = WindowBook(windows)
    night = book.verdict(app(), at=at("2026-03-02T23:00:00Z"))
    assert not night.allowed
    assert night.message() == "blocked by window night until 2026-03-03T06:00:00Z"
    assert book.verdict(app(), at=at("2026-03-03T05:59:59Z")) is night
    assert book.evaluations == 1
    morning = book.verdict(app(), at=at("2026-03-03T06:00:00Z"))
    assert morning.allowed
    assert book.evaluations == 2
    assert morning.until == datetime(2026, 3, 3, 22, tzinfo=UTC)


def test_the_cache_follows_the_app_its_scope_and_manual_syncs() -> None:
    manual_ok = {**NIGHT, "manualSync": True}
    _, windows = check_windows(load_objects([project("prod", manual_ok)]))
    book = WindowBook(windows)
    now = at("2026-03-02T23:00:00Z")
    assert not book.verdict(app(), at=now).allowed
    assert book.verdict(app(), at=now, manual=True).manual_override
    moved = app(namespace="api")  # the same app, now outside the window's namespaces
    assert book.verdict(moved, at=now).allowed
    assert book.evaluations == 3


def test_a_verdict_nothing_will_change_is_asked_again_after_an_hour() -> None:
    _, windows = check_windows(load_objects([project("prod", NIGHT)]))
    book = WindowBook(windows)
    outside = app(namespace="api")
    now = at("2026-03-02T23:00:00Z")
    assert book.verdict(outside, at=now).until is None
    book.verdict(outside, at=now + MAX_CACHE_SECONDS - 1)
    assert book.evaluations == 1
    book.verdict(outside, at=now + MAX_CACHE_SECONDS)
    assert book.evaluations == 2


def test_window_view_shows_state_times_and_covered_apps() -> None:
    _, windows = check_windows(load_objects([project("prod", NIGHT)]))
    book = WindowBook(windows)
    (state,) = book.states("prod", at=at("2026-03-02T23:00:00Z"))
    view = window_view(state, [app("web"), app("api", namespace="api")])
    assert view["active"] is True
    assert view["opened"] == at("2026-03-02T22:00:00Z")
    assert view["closes"] == at("2026-03-03T06:00:00Z")
    assert view["nextOpen"] is None
    assert view["apps"] == ["web"]
    assert (view["kind"], view["duration"], view["timeZone"]) == ("deny", "480m", "UTC")
    (closed,) = book.states("prod", at=at("2026-03-03T12:00:00Z"))
    assert window_view(closed, [])["nextOpen"] == at("2026-03-03T22:00:00Z")

"""``gitward run --concurrency/--kube-qps/--kube-burst``: given options replace the defaults, the
others are kept."""

from __future__ import annotations

from pathlib import Path

from gitward.cli.run import _tuned
from gitward.reconcile.settings import EngineSettings


def test_given_options_replace_defaults_and_the_rest_are_kept(tmp_path: Path) -> None:
    defaults = EngineSettings(config_path=tmp_path, state_path=tmp_path / "state.db")
    tuned = _tuned(defaults, concurrency=32, qps=None, burst=50)
    assert tuned.concurrency == 32
    assert tuned.connection.burst == 50
    assert tuned.connection.qps == defaults.connection.qps
    assert tuned.connection.retry == defaults.connection.retry
    assert _tuned(defaults, concurrency=None, qps=None, burst=None) == defaults

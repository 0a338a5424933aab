"""Grouping marked manifests into the steps of a staged apply: stage, wave, kind.

Stage 1 is Namespaces and CRDs (everything else may depend on them). Stage 2 is the rest, by sync wave
(``plan.wave_of``: ``gitward.dev/sync-wave`` or Argo CD's, lowest first; the pipeline validates the
annotations before anything is applied), and inside a wave by kind rank so
that e.g. a LimitRange exists before the Pods it defaults. Objects of one group are independent and
may be applied in parallel.

Deliberately not here: hooks and phases (``plan``), reverse order for deletion (``prune``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from gitward.core.keys import ResourceKey
from gitward.core.kinds import apply_order, is_first_stage, kind_rank
from gitward.plan import wave_of

Manifest = dict[str, Any]


def split_stages(manifests: Iterable[Manifest]) -> tuple[list[Manifest], list[Manifest]]:
    first: list[Manifest] = []
    rest: list[Manifest] = []
    for obj in manifests:
        (first if is_first_stage(ResourceKey.of(obj)) else rest).append(obj)
    first.sort(key=lambda o: apply_order(ResourceKey.of(o)))
    return first, rest


def waves(manifests: Iterable[Manifest]) -> list[tuple[int, list[list[Manifest]]]]:
    """``[(wave, [group, ...]), ...]`` in apply order; each group holds objects of one kind rank."""

    def sort_key(obj: Manifest) -> tuple[int, tuple[int, int, str, str, str]]:
        return wave_of(obj), apply_order(ResourceKey.of(obj))

    ordered = sorted(manifests, key=sort_key)
    out: list[tuple[int, list[list[Manifest]]]] = []
    for wave, in_wave in itertools.groupby(ordered, key=wave_of):
        groups = [list(g) for _, g in itertools.groupby(in_wave, key=lambda o: kind_rank(str(o.get("kind"))))]
        out.append((wave, groups))
    return out

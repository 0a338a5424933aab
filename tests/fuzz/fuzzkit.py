"""Helpers shared by the fuzz tests: a share of the profile's budget, and a call's outcome."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from hypothesis import settings

T = TypeVar("T")
E = TypeVar("E", bound=BaseException)


def share(fraction: float, *, at_least: int = 20) -> settings:
    """Settings running ``fraction`` of the loaded profile's examples per property, for properties
    whose examples cost more (a tree on disk, an archive unpacked); they scale with ``GITWARD_FUZZ``."""
    return settings(max_examples=max(at_least, int(settings().max_examples * fraction)))


def outcome(call: Callable[[], T], refusal: type[E]) -> tuple[T | None, E | None]:
    """``(result, None)``, or ``(None, error)`` when ``call`` raised ``refusal``; any other exception
    propagates and fails the property."""
    try:
        return call(), None
    except refusal as error:
        return None, error

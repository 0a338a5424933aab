"""gitward.health: live object -> Health (docs/architecture.md, layers, layer L1, pure).

One small module per kind, a generic condition-based check for everything else, the user's
declarative HealthChecks (``declared``), health plugins (``plugins``), the order between them
(``assess.HealthRules``) and ``aggregate`` for an app's health (the worst of its objects).

Plugins import ``Health`` and ``HealthStatus`` from here.
"""

from gitward.core.status import Health, HealthStatus
from gitward.health.assess import (
    BUILTIN_CHECKS,
    NO_HEALTH,
    HealthRules,
    aggregate,
    builtin_decision,
    health_of,
)
from gitward.health.common import HealthCheck
from gitward.health.decision import Decision, Source
from gitward.health.plugins import ENTRY_POINT_GROUP, LoadedPlugins, load_plugins

__all__ = [
    "BUILTIN_CHECKS",
    "ENTRY_POINT_GROUP",
    "NO_HEALTH",
    "Decision",
    "Health",
    "HealthCheck",
    "HealthRules",
    "HealthStatus",
    "LoadedPlugins",
    "Source",
    "aggregate",
    "builtin_decision",
    "health_of",
    "load_plugins",
]

"""gitward.health: live object -> Health (docs/architecture.md, layers, layer L1, pure).

One small module per kind, a generic condition-based check for everything else, and ``aggregate``
for an app's health (the worst of its objects).
"""

from gitward.health.assess import BUILTIN_CHECKS, NO_HEALTH, aggregate, health_of
from gitward.health.common import HealthCheck

__all__ = ["BUILTIN_CHECKS", "NO_HEALTH", "HealthCheck", "aggregate", "health_of"]

"""gitward.sources (L2, docs/architecture.md, layers): Git mirrors and checkouts, Helm chart repositories.

Public entry points: ``GitCache`` (fetch, resolve, tree_hash, checkout, artifact), ``GitCredentials``,
``fetch_chart`` and the immutable ``Artifact`` a fetch produces.
"""

from gitward.sources.artifact import Artifact
from gitward.sources.chartarchive import ChartLimits
from gitward.sources.credentials import GitCredentials
from gitward.sources.gitcache import FetchResult, GitCache
from gitward.sources.helmrepo import fetch_chart

__all__ = ["Artifact", "ChartLimits", "FetchResult", "GitCache", "GitCredentials", "fetch_chart"]

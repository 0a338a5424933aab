"""gitward.sources (L2, docs/architecture.md, layers): Git mirrors and checkouts, Helm chart repositories
(HTTP and OCI), OCI artifacts, S3-compatible buckets.

Public entry points: ``GitCache`` (fetch, resolve, tree_hash, checkout, artifact), ``GitCredentials``,
``fetch_chart`` (an ``oci://`` URL reads an OCI registry), ``fetch_oci_artifact``, ``fetch_bucket``
and the immutable ``Artifact`` a fetch produces.
"""

from gitward.sources.artifact import Artifact
from gitward.sources.bucket import fetch_bucket
from gitward.sources.chartarchive import ChartLimits
from gitward.sources.credentials import GitCredentials
from gitward.sources.gitcache import FetchResult, GitCache
from gitward.sources.helmrepo import fetch_chart
from gitward.sources.ociartifact import fetch_oci_artifact

__all__ = [
    "Artifact",
    "ChartLimits",
    "FetchResult",
    "GitCache",
    "GitCredentials",
    "fetch_bucket",
    "fetch_chart",
    "fetch_oci_artifact",
]

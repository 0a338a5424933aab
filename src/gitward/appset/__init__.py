"""gitward.appset (L1, pure): what an ApplicationSet makes.

``generate`` runs the generators over ``Inputs`` (the clusters and the fetched repositories) and
gives the parameter sets; ``Stamper`` renders the template over each into a validated Application.
No I/O: Git is read through the ``Repositories`` protocol, which the control loop implements over
its mirrors (``reconcile/appsets.py``), so the same code serves a generation and a preview.
"""

from gitward.appset.generators import Generation, generate
from gitward.appset.inputs import IN_CLUSTER_SERVER, ClusterInfo, Inputs, NotFetched, Repositories, RepoTree
from gitward.appset.params import GeneratorError, ParamSet
from gitward.appset.stamp import Stamped, Stamper, merge_patch

__all__ = [
    "IN_CLUSTER_SERVER",
    "ClusterInfo",
    "Generation",
    "GeneratorError",
    "Inputs",
    "NotFetched",
    "ParamSet",
    "RepoTree",
    "Repositories",
    "Stamped",
    "Stamper",
    "generate",
    "merge_patch",
]

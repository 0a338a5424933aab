"""gitward.diff: pure comparison of desired and live objects (docs/architecture.md, layers, layer L1).

Normalise, apply ignore rules, compare, attribute drift to field managers, and mask Secret data on
every path that shows objects or messages. No I/O: plain dicts in, values and strings out.
"""

from gitward.diff.compare import ObjectDiff, compare
from gitward.diff.ignore import IgnoreRule
from gitward.diff.managers import field_managers
from gitward.diff.masking import mask_object, mask_secrets, redact_text, secret_values
from gitward.diff.normalize import fold_string_data, normalize
from gitward.diff.pointer import changed_paths
from gitward.diff.subset import is_subset
from gitward.diff.unified import unified_diff

__all__ = [
    "IgnoreRule",
    "ObjectDiff",
    "changed_paths",
    "compare",
    "field_managers",
    "fold_string_data",
    "is_subset",
    "mask_object",
    "mask_secrets",
    "normalize",
    "redact_text",
    "secret_values",
    "unified_diff",
]

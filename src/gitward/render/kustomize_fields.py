"""Which kustomization fields name a file, a folder or a URL, and what kind of name each holds.

kustomize leaves a kustomization's folder in two ways, whatever field it reads: a folder entry
(``resources``, ``bases``, ``components``, ``generators``, ``transformers``, ``validators``) becomes
a new kustomization root anywhere on the file system, and any file entry that is an ``http(s)`` URL
is downloaded, even under ``LoadRestrictionsRootOnly``. So every field that can hold a name is in
this table, by the shape of what it holds, and the walk in ``kustomize_refs`` checks each one.

The table follows kustomize v5.8.1's ``types.Kustomization`` and the builtin plugin configs. Field
names are matched the way kustomize's JSON decoder matches them, ignoring case (``Resources`` is
``resources``). A field of a kustomization that the table does not list is refused by the walk, so
a field that a later kustomize adds cannot name a path unseen; generator and transformer configs
must be kustomize builtins, whose fields are all listed here.

Deliberately not here: reading files, deciding what is inside the checkout (``kustomize_refs``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass


class Ref(enum.Enum):
    """What a string in a field names."""

    TARGET = "target"  # a resource file, a kustomization folder, or a URL (git or http)
    FILE = "file"  # a file read by kustomize's loader, or an http(s) URL it downloads
    KEY_FILE = "key-file"  # ``[key=]file``, as in configMapGenerator ``files``
    FOLDER = "folder"  # a folder read by the helm inflator (chart and config homes)
    REPOSITORY = "repository"  # a chart repository: never local
    PATCH = "patch"  # an inline patch, else a file
    PLUGIN = "plugin"  # an inline generator/transformer config, a file of them, a folder, a URL
    PROGRAM = "program"  # a program for kustomize to run: always refused


@dataclass(frozen=True)
class Strings:
    """A field holding one string (``many`` false) or a list of strings, each naming ``ref``."""

    ref: Ref
    many: bool = True


@dataclass(frozen=True)
class Objects:
    """A field holding one mapping (``many`` false) or a list of them, with their own fields.

    ``closed``: keys not in ``fields`` are refused (kustomize decodes the kustomization strictly;
    a map such as ``openapi`` takes any key).
    """

    fields: Mapping[str, Spec]
    many: bool = True
    closed: bool = True


Spec = Strings | Objects | None  # None: the field names nothing

_FILE = Strings(Ref.FILE, many=False)
_FOLDER = Strings(Ref.FOLDER, many=False)
_REPOSITORY = Strings(Ref.REPOSITORY, many=False)

GENERATOR_ARGS: Mapping[str, Spec] = {
    "namespace": None,
    "name": None,
    "behavior": None,
    "options": None,
    "literals": None,
    "files": Strings(Ref.KEY_FILE),
    "envs": Strings(Ref.FILE),
    "env": _FILE,
}
SECRET_ARGS: Mapping[str, Spec] = {**GENERATOR_ARGS, "type": None}
PATCH: Mapping[str, Spec] = {"path": _FILE, "patch": None, "target": None, "options": None}
REPLACEMENT: Mapping[str, Spec] = {"path": _FILE, "source": None, "targets": None, "sourceValue": None}
HELM_GLOBALS: Mapping[str, Spec] = {"chartHome": _FOLDER, "configHome": _FOLDER}
HELM_CHART: Mapping[str, Spec] = {
    **dict.fromkeys(
        (
            "name",
            "version",
            "releaseName",
            "namespace",
            "valuesInline",
            "valuesMerge",
            "includeCRDs",
            "skipHooks",
            "apiVersions",
            "kubeVersion",
            "nameTemplate",
            "skipTests",
            "debug",
            "devel",
        )
    ),
    "repo": _REPOSITORY,
    "valuesFile": _FILE,
    "additionalValuesFiles": Strings(Ref.FILE),
}
HELM_CHART_ARGS: Mapping[str, Spec] = {
    **dict.fromkeys(
        (
            "chartName",
            "chartVersion",
            "chartRepoName",
            "valuesLocal",
            "valuesMerge",
            "releaseName",
            "releaseNamespace",
            "extraArgs",
        )
    ),
    "chartRepoUrl": _REPOSITORY,
    "chartHome": _FOLDER,
    "helmHome": _FOLDER,
    "values": _FILE,
    "helmBin": Strings(Ref.PROGRAM, many=False),
}

KUSTOMIZATION: Mapping[str, Spec] = {
    **dict.fromkeys(
        (
            "apiVersion",
            "kind",
            "metadata",
            "namePrefix",
            "nameSuffix",
            "namespace",
            "commonLabels",
            "labels",
            "commonAnnotations",
            "images",
            "imageTags",
            "replicas",
            "vars",
            "sortOptions",
            "generatorOptions",
            "buildMetadata",
        )
    ),
    "openapi": Objects({"path": _FILE}, many=False, closed=False),
    "resources": Strings(Ref.TARGET),
    "bases": Strings(Ref.TARGET),
    "components": Strings(Ref.TARGET),
    "crds": Strings(Ref.FILE),
    "configurations": Strings(Ref.FILE),
    "patches": Objects(PATCH),
    "patchesJson6902": Objects(PATCH),
    "patchesStrategicMerge": Strings(Ref.PATCH),
    "replacements": Objects(REPLACEMENT),
    "configMapGenerator": Objects(GENERATOR_ARGS),
    "secretGenerator": Objects(SECRET_ARGS),
    "helmGlobals": Objects(HELM_GLOBALS, many=False),
    "helmCharts": Objects(HELM_CHART),
    "helmChartInflationGenerator": Objects(HELM_CHART_ARGS),
    "generators": Strings(Ref.PLUGIN),
    "transformers": Strings(Ref.PLUGIN),
    "validators": Strings(Ref.PLUGIN),
}

_NO_FILES: Mapping[str, Spec] = {}
_BUILTINS_NAMING_NO_FILE = (
    "AnnotationsTransformer",
    "HashTransformer",
    "IAMPolicyGenerator",
    "ImageTagTransformer",
    "LabelTransformer",
    "NamespaceTransformer",
    "PrefixSuffixTransformer",
    "PrefixTransformer",
    "SuffixTransformer",
    "ReplicaCountTransformer",
    "ValueAddTransformer",
)
# kustomize runs a generator or transformer config only when its apiVersion is ``builtin`` and its
# kind one of these; anything else is an exec, Go or KRM-function plugin, which gitward never runs.
# Each config is decoded leniently (unknown fields ignored), so only the named fields matter.
BUILTIN_PLUGINS: Mapping[str, Mapping[str, Spec]] = {
    "ConfigMapGenerator": GENERATOR_ARGS,
    "SecretGenerator": SECRET_ARGS,
    "PatchTransformer": PATCH,
    "PatchJson6902Transformer": {"path": _FILE},
    "PatchStrategicMergeTransformer": {"paths": Strings(Ref.PATCH)},
    "ReplacementTransformer": {"replacements": Objects(REPLACEMENT, closed=False)},
    "HelmChartInflationGenerator": {**HELM_GLOBALS, **HELM_CHART},
    **{kind: _NO_FILES for kind in _BUILTINS_NAMING_NO_FILE},
}
BUILTIN_API_VERSION = "builtin"

"""The generators' parameter sets: list, clusters, Git directories and files, matrix, merge and
post-selectors, with the default syntax (flat strings) and with Go templates (nested data).

Git is an in-memory tree here (the ``Repositories`` protocol); the engine tests read real mirrors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from gitward.appset import ClusterInfo, GeneratorError, Inputs, NotFetched, generate
from gitward.model.appset import ApplicationSet

REPO = "https://git.example.com/org/config.git"


@dataclass
class Tree:
    contents: Mapping[str, Any]  # file path -> parsed document

    @property
    def files(self) -> list[str]:
        return sorted(self.contents)

    @property
    def directories(self) -> list[str]:
        out: set[str] = set()
        for path in self.contents:
            parts = path.split("/")[:-1]
            out |= {"/".join(parts[: i + 1]) for i in range(len(parts))}
        return sorted(d for d in out if not any(p.startswith(".") for p in d.split("/")))

    def document(self, path: str) -> Any:
        return self.contents[path]


@dataclass
class Repos:
    trees: dict[tuple[str, str], Tree] = field(default_factory=dict)
    read: list[tuple[str, str]] = field(default_factory=list)

    def tree(self, url: str, revision: str) -> Tree:
        self.read.append((url, revision))
        if (url, revision) not in self.trees:
            raise NotFetched(url, revision)
        return self.trees[(url, revision)]


CLUSTERS = (
    ClusterInfo("prod-eu", labels={"env": "prod", "region": "eu"}, annotations={"team/owner": "ops"}),
    ClusterInfo("staging", labels={"env": "staging"}),
    ClusterInfo("in-cluster", implicit=True, server="https://kubernetes.default.svc"),
)


def appset(*generators: dict[str, Any], go: bool = False, **spec: Any) -> ApplicationSet:
    return ApplicationSet.model_validate(
        {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "ApplicationSet",
            "metadata": {"name": "s"},
            "spec": {
                "goTemplate": go,
                "generators": list(generators),
                "template": {"metadata": {"name": "x"}, "spec": {}},
                **spec,
            },
        }
    )


def params(
    *generators: dict[str, Any], go: bool = False, repos: Repos | None = None, **spec: Any
) -> list[Any]:
    return generate(
        appset(*generators, go=go, **spec), Inputs(clusters=CLUSTERS, repositories=repos or Repos())
    )


# -- list ----------------------------------------------------------------------------------------------


def test_list_gives_its_elements_and_values_under_values() -> None:
    found = params(
        {"list": {"elements": [{"cluster": "a", "url": "u", "values": {"size": "m"}}, {"cluster": "b"}]}}
    )
    assert found == [{"cluster": "a", "url": "u", "values.size": "m"}, {"cluster": "b"}]


def test_list_with_the_default_syntax_takes_strings_only() -> None:
    with pytest.raises(
        GeneratorError, match=r"generators\[0\].list: elements\[0\].replicas must be a string"
    ):
        params({"list": {"elements": [{"replicas": 2}]}})
    assert params({"list": {"elements": [{"replicas": 2, "tags": ["a"]}]}}, go=True) == [
        {"replicas": 2, "tags": ["a"]}
    ]


# -- clusters ------------------------------------------------------------------------------------------


def test_clusters_with_no_selector_give_every_cluster_and_in_cluster() -> None:
    found = params({"clusters": {}})
    assert [p["name"] for p in found] == ["in-cluster", "prod-eu", "staging"]
    prod = found[1]
    assert prod == {
        "name": "prod-eu",
        "nameNormalized": "prod-eu",
        "metadata.labels.env": "prod",
        "metadata.labels.region": "eu",
        "metadata.annotations.team/owner": "ops",
    }
    assert found[0]["server"] == "https://kubernetes.default.svc"


def test_a_selector_leaves_out_the_implicit_in_cluster_as_argo_cd_does() -> None:
    by_labels = params({"clusters": {"selector": {"matchLabels": {"env": "prod"}}}})
    assert [p["name"] for p in by_labels] == ["prod-eu"]
    not_prod = {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}
    assert [p["name"] for p in params({"clusters": {"selector": not_prod}})] == ["staging"]
    exists = {"matchExpressions": [{"key": "region", "operator": "Exists"}]}
    assert [p["name"] for p in params({"clusters": {"selector": exists}})] == ["prod-eu"]


def test_cluster_values_are_rendered_with_the_clusters_parameters() -> None:
    found = params(
        {
            "clusters": {
                "selector": {"matchLabels": {"env": "prod"}},
                "values": {"rev": "{{metadata.labels.env}}-1"},
            }
        }
    )
    assert found[0]["values.rev"] == "prod-1"
    go = params(
        {
            "clusters": {
                "selector": {"matchLabels": {"env": "prod"}},
                "values": {"rev": "{{ .metadata.labels.env }}"},
            }
        },
        go=True,
    )
    assert go[0]["metadata"] == {
        "labels": {"env": "prod", "region": "eu"},
        "annotations": {"team/owner": "ops"},
    }
    assert go[0]["values"] == {"rev": "prod"}


# -- git -----------------------------------------------------------------------------------------------

FILES = {
    "apps/web/deploy.yaml": {"kind": "x"},
    "apps/api/deploy.yaml": {"kind": "x"},
    "apps/skip/deploy.yaml": {"kind": "x"},
    "apps/.hidden/deploy.yaml": {"kind": "x"},
    "clusters/eu/prod/config.json": {
        "cluster": {"name": "prod-eu", "address": "https://1.2.3.4"},
        "aws": 123456,
    },
    "clusters/us/config.json": [
        {"cluster": {"name": "us-1"}},
        {"cluster": {"name": "us-2"}, "tags": ["a", "b"]},
    ],
    "clusters/empty/config.json": None,
    "clusters/old/config.json": {"cluster": {"name": "old"}},
}


def repos() -> Repos:
    return Repos({(REPO, "main"): Tree(FILES)})


def git(**body: Any) -> dict[str, Any]:
    return {"git": {"repoURL": REPO, "revision": "main", **body}}


def test_git_directories_match_with_path_match_and_exclusions_win() -> None:
    found = params(
        git(directories=[{"path": "apps/*"}, {"path": "apps/skip", "exclude": True}]), repos=repos()
    )
    assert [p["path"] for p in found] == ["apps/api", "apps/web"]  # .hidden is never listed
    assert found[0] == {
        "path": "apps/api",
        "path.basename": "api",
        "path.basenameNormalized": "api",
        "path[0]": "apps",
        "path[1]": "api",
    }


def test_git_directories_with_go_templates_and_a_prefix() -> None:
    found = params(git(directories=[{"path": "apps/w*"}], pathParamPrefix="app"), go=True, repos=repos())
    assert found == [
        {
            "app": {
                "path": {
                    "path": "apps/web",
                    "basename": "web",
                    "basenameNormalized": "web",
                    "segments": ["apps", "web"],
                }
            }
        }
    ]


def test_git_files_are_flattened_as_argo_cd_flattens_them() -> None:
    found = params(
        git(files=[{"path": "clusters/**/config.json"}, {"path": "clusters/old/*", "exclude": True}]),
        repos=repos(),
    )
    assert len(found) == 4  # one empty file, one single object, a list of two
    assert found[0] == {
        "path": "clusters/empty",
        "path.basename": "empty",
        "path.filename": "config.json",
        "path.basenameNormalized": "empty",
        "path.filenameNormalized": "config.json",
        "path[0]": "clusters",
        "path[1]": "empty",
    }
    prod = found[1]
    assert prod["cluster.name"] == "prod-eu"
    assert prod["cluster.address"] == "https://1.2.3.4"
    assert prod["aws"] == "123456"
    assert prod["path"] == "clusters/eu/prod"
    assert prod["path[2]"] == "prod"
    assert [p["cluster.name"] for p in found[2:]] == ["us-1", "us-2"]
    assert found[3]["tags.0"] == "a"
    assert found[3]["tags.1"] == "b"


def test_git_files_with_go_templates_keep_the_content_as_it_is() -> None:
    found = params(
        git(files=[{"path": "clusters/eu/**/config.json"}], values={"n": "{{ .cluster.name }}"}),
        go=True,
        repos=repos(),
    )
    assert found == [
        {
            "cluster": {"name": "prod-eu", "address": "https://1.2.3.4"},
            "aws": 123456,
            "path": {
                "path": "clusters/eu/prod",
                "basename": "prod",
                "filename": "config.json",
                "basenameNormalized": "prod",
                "filenameNormalized": "config.json",
                "segments": ["clusters", "eu", "prod"],
            },
            "values": {"n": "prod-eu"},
        }
    ]


def test_a_single_star_stays_in_one_folder_and_double_star_spans_folders() -> None:
    one_level = params(git(files=[{"path": "clusters/*/config.json"}]), repos=repos())
    assert sorted({p["path"] for p in one_level}) == ["clusters/empty", "clusters/old", "clusters/us"]
    any_level = params(git(files=[{"path": "**/config.json"}]), repos=repos())
    assert sorted({p["path"] for p in any_level}) == [
        "clusters/empty",
        "clusters/eu/prod",
        "clusters/old",
        "clusters/us",
    ]


def test_a_file_that_is_not_a_mapping_fails_the_generator() -> None:
    bad = Repos({(REPO, "main"): Tree({"c/config.yaml": "just a string"})})
    with pytest.raises(GeneratorError, match=r"c/config\.yaml must hold a mapping or a list of mappings"):
        params(git(files=[{"path": "c/*.yaml"}]), repos=bad)


def test_a_repository_not_read_yet_is_asked_for() -> None:
    with pytest.raises(NotFetched) as raised:
        params(git(directories=[{"path": "*"}]))
    assert (raised.value.url, raised.value.revision) == (REPO, "main")


# -- matrix ----------------------------------------------------------------------------------------------


def test_matrix_combines_every_set_of_one_with_every_set_of_the_other() -> None:
    found = params(
        {
            "matrix": {
                "generators": [
                    git(directories=[{"path": "apps/*"}, {"path": "apps/skip", "exclude": True}]),
                    {"clusters": {"selector": {"matchLabels": {"env": "prod"}}}},
                ]
            }
        },
        repos=repos(),
    )
    assert [(p["path.basename"], p["name"]) for p in found] == [("api", "prod-eu"), ("web", "prod-eu")]


def test_matrix_second_generator_reads_the_first_ones_parameters() -> None:
    store = repos()
    found = params(
        {
            "matrix": {
                "generators": [
                    {"list": {"elements": [{"app": "web"}, {"app": "api"}]}},
                    git(directories=[{"path": "apps/{{app}}"}], values={"both": "{{app}}-{{path.basename}}"}),
                ]
            }
        },
        repos=store,
    )
    assert [(p["app"], p["path"], p["values.both"]) for p in found] == [
        ("web", "apps/web", "web-web"),
        ("api", "apps/api", "api-api"),
    ]


def test_matrix_refuses_one_parameter_with_two_values_unless_go_templates_keep_the_first() -> None:
    two = {
        "matrix": {"generators": [{"list": {"elements": [{"k": "a"}]}}, {"list": {"elements": [{"k": "b"}]}}]}
    }
    with pytest.raises(GeneratorError, match="both give the parameter 'k' with different values"):
        params(two)
    assert params(two, go=True) == [{"k": "a"}]


def test_matrix_takes_two_generators_and_nests_once() -> None:
    with pytest.raises(ValueError, match="at most 2 items"):
        appset({"matrix": {"generators": [{"list": {}}, {"list": {}}, {"list": {}}]}})
    inner = {"matrix": {"generators": [{"list": {}}, {"list": {}}]}}
    with pytest.raises(ValueError, match="nest only once"):
        appset({"matrix": {"generators": [{"list": {}}, {"matrix": {"generators": [inner, {"list": {}}]}}]}})


# -- merge -----------------------------------------------------------------------------------------------


def test_merge_overrides_the_base_sets_whose_keys_match_and_drops_the_others() -> None:
    found = params(
        {
            "merge": {
                "mergeKeys": ["name"],
                "generators": [
                    {"clusters": {"values": {"kafka": "true", "redis": "false"}}},
                    {
                        "clusters": {
                            "selector": {"matchLabels": {"env": "staging"}},
                            "values": {"kafka": "false"},
                        }
                    },
                    {
                        "list": {
                            "elements": [
                                {"name": "prod-eu", "values.redis": "true"},
                                {"name": "nowhere", "x": "y"},
                            ]
                        }
                    },
                ],
            }
        }
    )
    assert [(p["name"], p["values.kafka"], p["values.redis"]) for p in found] == [
        ("in-cluster", "true", "false"),
        ("prod-eu", "true", "true"),
        ("staging", "false", "false"),
    ]
    assert all("x" not in p for p in found)


def test_merge_refuses_a_later_generator_with_two_sets_of_one_key() -> None:
    with pytest.raises(GeneratorError, match="same merge keys"):
        params(
            {
                "merge": {
                    "mergeKeys": ["k"],
                    "generators": [
                        {"list": {"elements": [{"k": "a"}]}},
                        {"list": {"elements": [{"k": "a"}, {"k": "a"}]}},
                    ],
                }
            }
        )


def test_merge_with_go_templates_merges_nested_values() -> None:
    found = params(
        {
            "merge": {
                "mergeKeys": ["k"],
                "generators": [
                    {"list": {"elements": [{"k": "a", "v": {"x": 1, "y": 2}}]}},
                    {"list": {"elements": [{"k": "a", "v": {"y": 3}}]}},
                ],
            }
        },
        go=True,
    )
    assert found == [{"k": "a", "v": {"x": 1, "y": 3}}]


# -- post-selectors ---------------------------------------------------------------------------------------


def test_a_post_selector_keeps_the_sets_it_selects() -> None:
    found = params(
        {
            "list": {"elements": [{"env": "staging", "n": "1"}, {"env": "prod", "n": "2"}]},
            "selector": {"matchLabels": {"env": "prod"}},
        }
    )
    assert found == [{"env": "prod", "n": "2"}]


def test_a_selector_in_a_nested_matrix_needs_apply_nested_selectors() -> None:
    nested = {
        "matrix": {
            "generators": [
                {"list": {"elements": [{"a": "1"}]}},
                {
                    "matrix": {
                        "generators": [
                            {
                                "list": {"elements": [{"b": "x"}, {"b": "y"}]},
                                "selector": {"matchLabels": {"b": "y"}},
                            },
                            {"list": {"elements": [{"c": "z"}]}},
                        ]
                    }
                },
            ]
        }
    }
    with pytest.raises(ValueError, match="applyNestedSelectors"):
        appset(nested)
    assert params(nested, applyNestedSelectors=True) == [{"a": "1", "b": "y", "c": "z"}]


def test_more_parameter_sets_than_the_bound_fail_the_generation_instead_of_being_cut() -> None:
    many = [{"i": str(i)} for i in range(101)]
    with pytest.raises(GeneratorError, match="more than 10000 parameter sets"):
        params(
            {
                "matrix": {
                    "generators": [
                        {"list": {"elements": many}},
                        {"list": {"elements": [{"j": str(j)} for j in range(100)]}},
                    ]
                }
            }
        )

"""The template languages of ApplicationSets: Argo CD's ``{{param}}`` and the Go template subset,
what each renders, and the constructs refused by name."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.templating import Renderer, TemplateError
from gitward.templating.goformat import go_float, to_json

PARAMS: dict[str, Any] = {
    "name": "Prod_EU",
    "path": {"path": "apps/web", "basename": "web", "segments": ["apps", "web"]},
    "files": ["values.large.yaml", "values.debug.yaml"],
    "autoSync": True,
    "prune": False,
    "replicas": 3,
    "labels": {"my-label": "x", "tier": "front"},
    "empty": "",
}

GO_CASES = [
    ("{{.path.basename}}", "web"),
    ("{{ .name | lower }}", "prod_eu"),
    ("{{ .name | upper }}", "PROD_EU"),
    ("{{ normalize .name }}", "prod-eu"),
    ("{{ .name | normalize | trunc 3 }}", "pro"),
    ("{{ index .path.segments 0 }}", "apps"),
    ('{{ index .labels "my-label" }}', "x"),
    ('{{ default "fallback" .empty }}', "fallback"),
    ('{{ .empty | default "fallback" }}', "fallback"),
    ('{{ default "fallback" .name }}', "Prod_EU"),
    ("{{ .replicas }}", "3"),
    ("{{ .files }}", "[values.large.yaml values.debug.yaml]"),
    ("{{ toJson .files }}", '["values.large.yaml","values.debug.yaml"]'),
    ('{{ printf "%s-%d" .path.basename .replicas }}', "web-3"),
    ("{{ if .autoSync }}on{{ else }}off{{ end }}", "on"),
    ("{{ if .prune }}on{{ else if .autoSync }}auto{{ else }}off{{ end }}", "auto"),
    ("{{ if eq .replicas 3 }}three{{ end }}", "three"),
    ("{{ if and .autoSync (not .prune) }}yes{{ end }}", "yes"),
    ('{{ or .empty "second" }}', "second"),
    ("{{ with .path }}{{ .basename }}{{ end }}", "web"),
    ("{{ range .files }}[{{ . }}]{{ end }}", "[values.large.yaml][values.debug.yaml]"),
    ("{{ range $i, $f := .files }}{{ $i }}={{ $f }} {{ end }}", "0=values.large.yaml 1=values.debug.yaml "),
    ("{{ range $k, $v := .labels }}{{ $k }}:{{ $v }};{{ end }}", "my-label:x;tier:front;"),
    ("{{ range .missing }}x{{ else }}none{{ end }}", "none"),
    ("{{ $n := .path.basename }}{{ $n }}-{{ $.name }}", "web-Prod_EU"),
    ("{{ (index .path.segments 1) | upper }}", "WEB"),
    ('{{ dig "path" "basename" "d" . }}', "web"),
    ('{{ dig "nope" "d" . }}', "d"),
    ("{{ len .files }}", "2"),
    ('{{ replace "_" "-" .name }}', "Prod-EU"),
    ('{{ join "," .files }}', "values.large.yaml,values.debug.yaml"),
    ('{{ hasPrefix "Prod" .name }}', "true"),
    ("{{ quote .path.basename }}", '"web"'),
    ("{{ base .path.path }}/{{ dir .path.path }}", "web/apps"),
    ("a {{- /* a comment */ -}} b", "ab"),
    ("x\n  {{- .path.basename }}\n{{- /* */ -}}", "xweb"),
    ('{{ "}}" }}', "}}"),
    ("{{ `raw {{` }}", "raw {{"),
]


@pytest.mark.parametrize(("template", "expected"), GO_CASES)
def test_go_templates_render_as_go_does(template: str, expected: str) -> None:
    assert Renderer(go=True).render(template, PARAMS) == expected


REFUSED = [
    ('{{ env "HOME" }}', "function 'env' is not supported"),
    ("{{ now }}", "function 'now' is not supported"),
    ('{{ define "x" }}{{ end }}', "{{define}} is not supported"),
    ('{{ template "x" . }}', "{{template}} is not supported"),
    ('{{ block "x" . }}{{ end }}', "{{block}} is not supported"),
    ("{{ range .files }}{{ break }}{{ end }}", "{{break}} is not supported"),
    ("{{ $x := 1 }}{{ $x = 2 }}", "assigning to a variable"),
    ("{{ 'a' }}", "character constants"),
    ("{{ if .autoSync }}", "{{if}} has no {{end}}"),
    ("{{ end }}", "unexpected {{end}}"),
    ("{{ .name", "unclosed action"),
    ('{{ printf "%x" 1 }}', "the verb %x is not supported"),
]


@pytest.mark.parametrize(("template", "message"), REFUSED)
def test_constructs_outside_the_subset_are_refused_by_name(template: str, message: str) -> None:
    with pytest.raises(
        TemplateError, match=message.replace("{", r"\{").replace("}", r"\}").replace("$", r"\$")
    ):
        Renderer(go=True).render(template, PARAMS)


def test_refusals_are_found_before_anything_runs() -> None:
    renderer = Renderer(go=True)
    with pytest.raises(TemplateError, match="function 'env'"):
        renderer.check('{{ if false }}{{ env "HOME" }}{{ end }}')


def test_missing_values_are_nil_by_default_and_errors_with_missingkey_error() -> None:
    assert Renderer(go=True).render('{{ default "d" .nope }}', PARAMS) == "d"
    with pytest.raises(TemplateError, match="value that is not set"):
        Renderer(go=True).render("{{ .nope }}", PARAMS)  # Go would print <no value>
    strict = Renderer(go=True, options=["missingkey=error"])
    with pytest.raises(TemplateError, match="map has no entry for key 'nope'"):
        strict.render('{{ default "d" .nope }}', PARAMS)
    with pytest.raises(TemplateError, match="not set"):
        Renderer(go=True).render("{{ .nope.deeper }}", PARAMS)


def test_type_errors_are_go_errors() -> None:
    with pytest.raises(TemplateError, match="can't evaluate field x in type string"):
        Renderer(go=True).render("{{ .name.x }}", PARAMS)
    with pytest.raises(TemplateError, match="incompatible types for comparison"):
        Renderer(go=True).render('{{ eq .replicas "3" }}', PARAMS)
    with pytest.raises(TemplateError, match="lower: expected a string, got int"):
        Renderer(go=True).render("{{ lower .replicas }}", PARAMS)


def test_only_missingkey_options_are_taken() -> None:
    Renderer(go=True, options=["missingkey=error", "missingkey=default"])
    with pytest.raises(TemplateError, match="missingkey=zero"):
        Renderer(go=True, options=["missingkey=zero"])


def test_output_and_iterations_are_bounded() -> None:
    with pytest.raises(TemplateError, match="more than 100000 iterations"):
        Renderer(go=True).render("{{ range 200000 }}x{{ end }}", PARAMS)
    with pytest.raises(TemplateError, match="larger than"):
        Renderer(go=True).render("{{ range 100000 }}0123456789abcdef{{ end }}", PARAMS)


FLAT = {"path": "apps/web", "path.basename": "web", "path[0]": "apps", "metadata.labels.env": "prod"}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{path.basename}}-app", "web-app"),
        ("{{ path[0] }}/{{path}}", "apps/apps/web"),
        ("{{metadata.labels.env}}", "prod"),
        ("{{ .Values.image }}", "{{ .Values.image }}"),  # Helm syntax for a later stage: left as written
        ('{{ include "x" . }}', '{{ include "x" . }}'),
        ("no tags", "no tags"),
        ("{{ path\n}}", "{{ path\n}}"),  # not one line: not a tag, as in Argo CD
    ],
)
def test_default_syntax_replaces_parameters(template: str, expected: str) -> None:
    assert Renderer(go=False).render(template, FLAT) == expected


def test_default_syntax_refuses_a_parameter_no_generator_gives() -> None:
    with pytest.raises(TemplateError, match=r"parameter \{\{path.basenme\}\} is not given by the generators"):
        Renderer(go=False).render("{{path.basenme}}", FLAT)
    # in a matrix, the second generator may give it: left for later
    assert Renderer(go=False).render("{{other}}", FLAT, lenient=True) == "{{other}}"


def test_render_tree_renders_keys_and_values_and_keeps_other_types() -> None:
    tree = {"labels": {"{{path.basename}}": "{{path[0]}}"}, "n": 3, "on": True, "list": ["{{path}}", None]}
    assert Renderer(go=False).render_tree(tree, FLAT) == {
        "labels": {"web": "apps"},
        "n": 3,
        "on": True,
        "list": ["apps/web", None],
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1e6, "1e+06"), (123456.0, "123456"), (0.5, "0.5"), (1.5e-7, "1.5e-07"), (2.0, "2"), (-3.25, "-3.25")],
)
def test_floats_print_as_go_prints_them(value: float, expected: str) -> None:
    assert go_float(value) == expected


def test_json_is_written_as_go_writes_it() -> None:
    assert (
        to_json({"b": 1, "a": "<&>", "f": 2.0, "n": None})
        == '{"a":"\\u003c\\u0026\\u003e","b":1,"f":2,"n":null}'
    )

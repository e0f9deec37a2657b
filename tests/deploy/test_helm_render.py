"""The chart renderer follows Go's text/template and sprig where the chart relies on them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.helm_render import Renderer, RequiredValueMissing, TemplateError


def render(source: str, data: Any = None, **defines: str) -> str:
    renderer = Renderer()
    for name, text in defines.items():
        renderer.add(name, text)
    renderer.add("main", source)
    return renderer.render("main", data if data is not None else {})


@pytest.mark.parametrize(
    ("source", "data", "expected"),
    [
        # Trim markers eat every space and newline on their side, and only there.
        ("a  \n  {{- .x -}}  \n  b", {"x": 1}, "a1b"),
        ("a\n{{ .x }}\nb", {"x": "v"}, "a\nv\nb"),
        ("{{/* a comment */}}x", {}, "x"),
        # Missing keys render as nothing (helm's behaviour), zero values are false.
        ("[{{ .missing.deeper }}]", {}, "[]"),
        ("{{ if .a }}A{{ else if .b }}B{{ else }}C{{ end }}", {"a": 0, "b": ""}, "C"),
        ("{{ if .a }}A{{ else if .b }}B{{ else }}C{{ end }}", {"a": [], "b": "x"}, "B"),
        ("{{ with .a }}{{ .b }}{{ else }}none{{ end }}", {"a": {"b": 2}}, "2"),
        ("{{ with .a }}{{ .b }}{{ else }}none{{ end }}", {"a": {}}, "none"),
        # range: maps in key order, one variable is the element, $ is the root.
        (
            "{{ range $k, $v := .m }}{{ $k }}={{ $v }};{{ end }}",
            {"m": {"b": 2, "a": 1}},
            "a=1;b=2;",
        ),
        ("{{ range $x := list 1 2 }}{{ $x }}{{ $.s }}{{ end }}", {"s": "!"}, "1!2!"),
        ("{{ range .l }}{{ . }}{{ else }}empty{{ end }}", {"l": []}, "empty"),
        # Pipelines pass the value as the last argument; parentheses nest.
        ('{{ .v | default "d" | quote }}', {"v": ""}, '"d"'),
        (
            '{{ printf "%s-%s" .a (upper .b) | trunc 5 | trimSuffix "-" }}',
            {"a": "abcd", "b": "x"},
            "abcd",
        ),
        ("{{ .n | quote }} {{ .t | quote }} {{ .no | quote }}", {"n": 2, "t": True}, '"2" "true" '),
        ("{{ toYaml .m | nindent 2 }}", {"m": {"b": [1], "a": "x"}}, "\n  a: x\n  b:\n  - 1"),
        ('{{ $n := "v" }}{{ $n }}', {}, "v"),
        ("{{ and .a .b }}|{{ or .a .b }}|{{ not .a }}", {"a": "", "b": "y"}, "|y|true"),
        (
            '{{ contains "ab" "xaby" }} {{ eq .a "x" "y" }} {{ gt (int "3") 1 }}',
            {"a": "y"},
            "true true true",
        ),
    ],
)
def test_go_template_semantics(source: str, data: Any, expected: str) -> None:
    assert render(source, data) == expected


def test_include_renders_a_define_with_its_own_dot_and_root() -> None:
    helpers = '{{- define "greet" -}}hi {{ .name }}{{ $.name }}{{- end -}}'
    assert render('{{ include "greet" .p | upper }}', {"p": {"name": "x"}}, h=helpers) == "HI XX"


def test_required_fails_on_empty_values_like_helm() -> None:
    with pytest.raises(RequiredValueMissing, match="need x"):
        render('{{ required "need x" .x }}', {"x": ""})
    assert render('{{ required "need x" .x }}', {"x": 0}) == "0"


@pytest.mark.parametrize(
    "source",
    ["{{ if .a }}never closed", "{{ end }}", '{{ template "x" . }}', "{{ frobnicate .a }}"],
)
def test_what_it_does_not_know_is_an_error(source: str) -> None:
    with pytest.raises(TemplateError):
        render(source, {"a": 1})

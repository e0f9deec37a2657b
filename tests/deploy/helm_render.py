"""Render the Helm chart without helm: a small Go-template evaluator for what the chart uses.

No helm binary can be installed on the machines this project runs on, so the tests render
``deploy/helm/dockyard`` here. It covers the subset of Go's text/template and Helm's
functions the chart's templates use — actions with ``{{-``/``-}}`` trimming, comments,
``if``/``else if``/``else``, ``with``, ``range`` (lists and maps, with variables),
``define``/``include``, variables, pipelines, parentheses — and fails loudly on anything
else, so a template that grows past it makes the tests fail instead of rendering wrongly.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class TemplateError(Exception):
    pass


class RequiredValueMissing(TemplateError):
    """``required`` met an empty value: helm would refuse to render too."""


# ---- parsing -------------------------------------------------------------------------

ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)


@dataclass
class Text:
    text: str


@dataclass
class Action:
    pipeline: str


@dataclass
class Block:
    kind: str  # if, with, range, define
    argument: str
    body: list[Any] = field(default_factory=list)
    # if: (condition, body) pairs after the first; with/range/if: the else body
    elifs: list[tuple[str, list[Any]]] = field(default_factory=list)
    otherwise: list[Any] | None = None


def _tokens(source: str) -> Iterator[tuple[str, str]]:
    """("text", text) and ("action", content) pieces, whitespace trimmed as Go does."""
    pieces: list[tuple[str, str]] = []
    position = 0
    trim_next = False
    for match in ACTION.finditer(source):
        text = source[position : match.start()]
        if trim_next:
            text = text.lstrip()
        if match.group(1):
            text = text.rstrip()
        pieces.append(("text", text))
        pieces.append(("action", match.group(2).strip()))
        trim_next = bool(match.group(3))
        position = match.end()
    tail = source[position:]
    pieces.append(("text", tail.lstrip() if trim_next else tail))
    return iter(pieces)


def parse(source: str) -> tuple[list[Any], dict[str, list[Any]]]:
    """The template's top-level nodes, and the templates it defines."""
    defines: dict[str, list[Any]] = {}
    root: list[Any] = []
    stack: list[tuple[Block | None, list[Any]]] = [(None, root)]
    for kind, content in _tokens(source):
        block, current = stack[-1]
        if kind == "text":
            if content:
                current.append(Text(content))
            continue
        if content.startswith("/*"):
            if not content.endswith("*/"):
                raise TemplateError(f"unterminated comment: {content[:40]!r}")
            continue
        word, _, rest = content.partition(" ")
        rest = rest.strip()
        if word in ("if", "with", "range", "define"):
            new = Block(word, rest)
            current.append(new)
            stack.append((new, new.body))
        elif word == "else":
            if block is None:
                raise TemplateError("else outside a block")
            if rest.startswith("if "):
                body: list[Any] = []
                block.elifs.append((rest[3:].strip(), body))
            else:
                body = []
                block.otherwise = body
            stack[-1] = (block, body)
        elif word == "end":
            if block is None:
                raise TemplateError("end without a block")
            stack.pop()
            if block.kind == "define":
                current_parent = stack[-1][1]
                current_parent.remove(block)
                defines[json.loads(block.argument)] = block.body
        elif word in ("template", "block", "break", "continue"):
            raise TemplateError(f"{word!r} is not supported by this renderer")
        else:
            current.append(Action(content))
    if len(stack) != 1:
        raise TemplateError(f"unclosed {stack[-1][0].kind if stack[-1][0] else '?'} block")
    return root, defines


# ---- expressions ---------------------------------------------------------------------

TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<raw>`[^`]*`)
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<declare>:=)
      | (?P<punct>[()|,])
      | (?P<variable>\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
      | (?P<field>(?:\.[A-Za-z0-9_]+)+|\.)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.X,
)


def _lex(text: str) -> list[tuple[str, str]]:
    tokens = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise TemplateError(f"cannot read {text[position:]!r} in {text!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


@dataclass
class Scope:
    dot: Any
    root: Any
    variables: dict[str, Any]

    def child(self, dot: Any) -> Scope:
        return Scope(dot, self.root, dict(self.variables))


def _truthy(value: Any) -> bool:
    return not (value is None or value is False or value == 0 or value in ("", [], {}))


def _field(value: Any, path: list[str]) -> Any:
    for name in path:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise TemplateError(f"cannot take .{name} of {value!r}")
        value = value.get(name)
    return value


def _to_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _go_quote(value: Any) -> str:
    return json.dumps(_to_string(value))


def _printf(form: str, *args: Any) -> str:
    converted = re.sub(r"%[sdv]", "%s", form)
    return converted % tuple(_to_string(a) for a in args)


def _to_yaml(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=False, sort_keys=True).rstrip("\n")


def _indent(width: int, text: str) -> str:
    pad = " " * width
    return "\n".join(pad + line for line in _to_string(text).split("\n"))


def _required(message: str, value: Any) -> Any:
    if value is None or value == "":
        raise RequiredValueMissing(message)
    return value


def _and(*values: Any) -> Any:
    for value in values:
        if not _truthy(value):
            return value
    return values[-1]


def _or(*values: Any) -> Any:
    for value in values:
        if _truthy(value):
            return value
    return values[-1]


FUNCTIONS: dict[str, Callable[..., Any]] = {
    # sprig's quote drops nil arguments: `{{ nil | quote }}` renders nothing.
    "quote": lambda *v: " ".join(_go_quote(x) for x in v if x is not None),
    "default": lambda fallback, value=None: value if _truthy(value) else fallback,
    "required": _required,
    "printf": _printf,
    "print": lambda *v: "".join(_to_string(x) for x in v),
    "trunc": lambda n, s: _to_string(s)[: int(n)],
    "trimSuffix": lambda suffix, s: _to_string(s).removesuffix(suffix),
    "trimPrefix": lambda prefix, s: _to_string(s).removeprefix(prefix),
    "contains": lambda sub, s: sub in _to_string(s),
    "hasPrefix": lambda prefix, s: _to_string(s).startswith(prefix),
    "trim": lambda s: _to_string(s).strip(),
    "upper": lambda s: _to_string(s).upper(),
    "lower": lambda s: _to_string(s).lower(),
    "toYaml": _to_yaml,
    "nindent": lambda n, s: "\n" + _indent(int(n), s),
    "indent": lambda n, s: _indent(int(n), s),
    "sha256sum": lambda s: hashlib.sha256(_to_string(s).encode()).hexdigest(),
    "b64enc": lambda s: base64.b64encode(_to_string(s).encode()).decode(),
    "list": lambda *v: list(v),
    "int": lambda v: int(v or 0),
    "toString": _to_string,
    "empty": lambda v: not _truthy(v),
    "not": lambda v: not _truthy(v),
    "and": _and,
    "or": _or,
    "eq": lambda a, *b: any(a == x for x in b),
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "lt": lambda a, b: a < b,
}


class Renderer:
    def __init__(self) -> None:
        self.templates: dict[str, list[Any]] = {}

    def add(self, name: str, source: str) -> None:
        nodes, defines = parse(source)
        self.templates[name] = nodes
        for defined, body in defines.items():
            if defined in self.templates:
                raise TemplateError(f"template {defined!r} is defined twice")
            self.templates[defined] = body

    def render(self, name: str, data: Any) -> str:
        if name not in self.templates:
            raise TemplateError(f"no template {name!r}")
        return self._nodes(self.templates[name], Scope(data, data, {"$": data}))

    def _nodes(self, nodes: list[Any], scope: Scope) -> str:
        out: list[str] = []
        for node in nodes:
            if isinstance(node, Text):
                out.append(node.text)
            elif isinstance(node, Action):
                value = self._pipeline(node.pipeline, scope, declare_into=scope)
                if value is not _DECLARED:
                    out.append(_to_string(value))
            else:
                out.append(self._block(node, scope))
        return "".join(out)

    def _block(self, block: Block, scope: Scope) -> str:
        if block.kind == "if":
            for condition, body in [(block.argument, block.body), *block.elifs]:
                if _truthy(self._pipeline(condition, scope)):
                    return self._nodes(body, scope.child(scope.dot))
            return self._nodes(block.otherwise or [], scope.child(scope.dot))
        if block.kind == "with":
            value = self._pipeline(block.argument, scope)
            if _truthy(value):
                return self._nodes(block.body, scope.child(value))
            return self._nodes(block.otherwise or [], scope.child(scope.dot))
        if block.kind == "range":
            names: list[str] = []
            argument = block.argument
            if ":=" in argument:
                left, _, argument = argument.partition(":=")
                names = [n.strip() for n in left.split(",")]
            value = self._pipeline(argument, scope)
            if isinstance(value, Mapping):
                items = [(k, value[k]) for k in sorted(value)]
            else:
                items = list(enumerate(value or []))
            if not items:
                return self._nodes(block.otherwise or [], scope.child(scope.dot))
            out = []
            for key, item in items:
                inner = scope.child(item)
                if len(names) == 1:
                    inner.variables[names[0]] = item
                elif len(names) == 2:
                    inner.variables[names[0]] = key
                    inner.variables[names[1]] = item
                out.append(self._nodes(block.body, inner))
            return "".join(out)
        raise TemplateError(f"unexpected block {block.kind}")

    def _pipeline(self, text: str, scope: Scope, declare_into: Scope | None = None) -> Any:
        tokens = _lex(text)
        declared: str | None = None
        if len(tokens) >= 2 and tokens[0][0] == "variable" and tokens[1][0] == "declare":
            declared = tokens[0][1]
            tokens = tokens[2:]
        value, rest = self._commands(tokens, scope)
        if rest:
            raise TemplateError(f"unexpected {rest[0][1]!r} in {text!r}")
        if declared is not None:
            if declare_into is None:
                raise TemplateError(f"cannot declare {declared} here")
            declare_into.variables[declared] = value
            return _DECLARED
        return value

    def _commands(self, tokens: list[tuple[str, str]], scope: Scope) -> tuple[Any, list]:
        """A pipeline up to an unmatched ')' or the end."""
        piped: Any = _NOTHING
        while True:
            operands: list[Any] = []
            function: str | None = None
            while tokens and tokens[0] not in (("punct", "|"), ("punct", ")")):
                kind, text = tokens[0]
                if (
                    kind == "name"
                    and not operands
                    and function is None
                    and (text in FUNCTIONS or text == "include")
                ):
                    function = text
                    tokens = tokens[1:]
                elif kind == "punct" and text == "(":
                    value, tokens = self._commands(tokens[1:], scope)
                    if not tokens or tokens[0] != ("punct", ")"):
                        raise TemplateError("unclosed parenthesis")
                    tokens = tokens[1:]
                    operands.append(value)
                else:
                    operands.append(self._operand(kind, text, scope))
                    tokens = tokens[1:]
            if piped is not _NOTHING:
                operands.append(piped)
            if function == "include":
                if len(operands) != 2:
                    raise TemplateError("include takes a name and a value")
                piped = self.render(operands[0], operands[1])
            elif function is not None:
                piped = FUNCTIONS[function](*operands)
            elif len(operands) == 1:
                piped = operands[0]
            else:
                raise TemplateError(f"cannot evaluate {operands!r}")
            if tokens and tokens[0] == ("punct", "|"):
                tokens = tokens[1:]
                continue
            return piped, tokens

    def _operand(self, kind: str, text: str, scope: Scope) -> Any:
        if kind == "string":
            return json.loads(text)
        if kind == "raw":
            return text[1:-1]
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "field":
            return scope.dot if text == "." else _field(scope.dot, text[1:].split("."))
        if kind == "variable":
            name, *path = text.split(".")
            if name not in scope.variables:
                raise TemplateError(f"undefined variable {name}")
            return _field(scope.variables[name], path)
        if kind == "name" and text in ("true", "false"):
            return text == "true"
        if kind == "name" and text == "nil":
            return None
        raise TemplateError(f"unknown function or word {text!r}")


_NOTHING = object()
_DECLARED = object()


# ---- the chart -----------------------------------------------------------------------


def merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge(base.get(key), value) if key in base else value
        return merged
    return override


@dataclass
class Rendered:
    files: dict[str, str]  # template path -> text
    notes: str

    def documents(self) -> list[dict[str, Any]]:
        docs = []
        for text in self.files.values():
            docs.extend(d for d in yaml.safe_load_all(text) if d)
        return docs

    def find(self, kind: str, name_suffix: str = "") -> dict[str, Any]:
        found = [
            d
            for d in self.documents()
            if d["kind"] == kind and d["metadata"]["name"].endswith(name_suffix)
        ]
        if len(found) != 1:
            raise AssertionError(f"{len(found)} {kind} documents named *{name_suffix}")
        return found[0]


def render_chart(
    chart: Path,
    values: Mapping[str, Any] | None = None,
    release: str = "registry",
    namespace: str = "dockyard",
) -> Rendered:
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    defaults = yaml.safe_load((chart / "values.yaml").read_text())
    base = f"{meta['name']}/templates"
    renderer = Renderer()
    paths = sorted((chart / "templates").iterdir())
    for path in paths:
        renderer.add(f"{base}/{path.name}", path.read_text())
    merged = merge(defaults, dict(values or {}))

    def data_for(name: str) -> dict[str, Any]:
        return {
            "Values": merged,
            "Release": {
                "Name": release,
                "Namespace": namespace,
                "Service": "Helm",
                "IsInstall": True,
                "IsUpgrade": False,
            },
            "Chart": {
                "Name": meta["name"],
                "Version": meta["version"],
                "AppVersion": meta.get("appVersion", ""),
            },
            "Template": {"BasePath": base, "Name": f"{base}/{name}"},
        }

    files = {}
    notes = ""
    for path in paths:
        if path.name.startswith("_"):
            continue
        text = renderer.render(f"{base}/{path.name}", data_for(path.name))
        if path.name == "NOTES.txt":
            notes = text
        else:
            files[f"{base}/{path.name}"] = text
    return Rendered(files, notes)

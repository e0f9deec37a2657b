"""The README's configuration table against the settings and ``dockyard serve``: every
setting has its row with its environment variable, and every option a row names is one
``dockyard serve`` takes, listed on the row of the setting it sets."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import typer.main

from dockyard.cli.main import app
from dockyard.config import Settings, env_name

README = Path(__file__).resolve().parents[2] / "README.md"


def _rows() -> list[str]:
    text = README.read_text()
    start = text.index("## Configuration")
    section = text[start : text.index("\n## ", start + 1)]
    return [line for line in section.splitlines() if line.startswith("| ") and "`" in line]


def _serve_options() -> dict[str, str]:
    """Each ``--option`` of ``dockyard serve`` -> the setting (parameter) it sets."""
    serve = typer.main.get_command(app).commands["serve"]  # type: ignore[attr-defined]
    return {opt: param.name for param in serve.params for opt in param.opts if opt.startswith("--")}


def test_every_setting_has_its_row() -> None:
    named = {env for row in _rows() for env in re.findall(r"`(DOCKYARD_[A-Z0-9_]+)`", row)}
    settings = {env_name(f.name) for f in fields(Settings)}
    assert settings - named == set(), "settings the README's table lacks"
    assert named - settings == set(), "variables in the README's table that are no setting"


def test_the_options_named_are_the_serve_options_of_their_setting() -> None:
    options = _serve_options()
    for row in _rows():
        envs = re.findall(r"`(DOCKYARD_[A-Z0-9_]+)`", row)
        for option in re.findall(r"`(--[a-z0-9-]+)`", row):
            assert option in options, f"dockyard serve has no {option}"
            assert env_name(options[option]) in envs, f"{option} is not on its setting's row"
    for option, name in options.items():
        if name in {f.name for f in fields(Settings)}:
            assert any(f"`{option}`" in row for row in _rows()), f"{option} has no row"

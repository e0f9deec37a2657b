"""Options shared by every command that works on a registry's data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from dockyard.config import HELP, ConfigError, Settings, env_name, load_settings

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help=f"{HELP['data_dir']} (env {env_name('data_dir')}; default ./dockyard-data)",
    ),
]
ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="TOML file of settings (same names as below, snake_case). (env DOCKYARD_CONFIG)",
    ),
]

# Every command that looks at registries narrows them with these; None means every account
# or every region where a command can show all, the default one where it needs one.
AccountId = Annotated[
    str | None,
    typer.Option("--account-id", help="Only this account (12 digits; default: every account)."),
]
Region = Annotated[
    str | None,
    typer.Option("--region", help="Only this region (default: every region)."),
]
OneAccountId = Annotated[
    str | None,
    typer.Option("--account-id", help="The account (default: the default account)."),
]
OneRegion = Annotated[
    str | None,
    typer.Option("--region", help="The region (default: the default region)."),
]


def settings_from(config_file: Path | None, **overrides: Any) -> Settings:
    try:
        return load_settings(overrides, config_file)
    except ConfigError as exc:
        typer.echo(f"dockyard: configuration error: {exc}", err=True)
        raise typer.Exit(2) from None

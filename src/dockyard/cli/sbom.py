"""``dockyard sbom``: the CycloneDX SBOM of a scanned image."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from dockyard.app import open_registry
from dockyard.cli.options import ConfigFile, DataDir, OneAccountId, OneRegion, settings_from
from dockyard.domain.errors import DockyardError
from dockyard.domain.records import ImageId


def sbom(
    repository: Annotated[str, typer.Argument(help="Repository name.")],
    image: Annotated[str, typer.Argument(help="Tag or digest.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default: stdout).")
    ] = None,
    account_id: OneAccountId = None,
    region: OneRegion = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Write the CycloneDX JSON SBOM of an image's last scan."""
    registry = open_registry(settings_from(config, data_dir=data_dir))
    image_id = ImageId(image, None) if ":" in image else ImageId(None, image)
    try:
        body = asyncio.run(
            registry.scanning.sbom(registry.key(repository, account_id, region), image_id)
        )
    except DockyardError as exc:
        typer.echo(f"dockyard sbom: {exc.describe()}", err=True)
        raise typer.Exit(1) from None
    finally:
        registry.close()
    if output is None:
        typer.echo(body)
    else:
        output.write_text(body)

"""``dockyard migrate-storage``: copy every blob from one storage backend to another.

For moving an installation's blobs, e.g. from the filesystem of its data directory to S3,
keeping its database: afterwards the server started with ``--storage-backend s3`` serves the
same digests. Everything goes through the blob-store interface, so any pair of persistent
backends works. A copy is streamed (never held in memory), hashed as it goes, and read back
from the destination after its commit: a blob whose bytes do not match its digest is
reported and not counted as copied. Blobs the destination already holds at the same size are
skipped, so the command can run again (after an interruption, or to pick up what a running
server received meanwhile) and copies only what is missing. Uploads in progress are not
copied: clients start them again.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from dockyard.app import s3_config
from dockyard.cli.options import ConfigFile, DataDir, settings_from
from dockyard.config import HELP, Settings, env_name
from dockyard.domain.digests import Digest, new_hasher
from dockyard.domain.errors import BlobUnknown
from dockyard.storage import BlobStore, open_blob_store

PERSISTENT = ("filesystem", "s3")


def _help(field: str) -> str:
    return f"{HELP[field]} (env {env_name(field)})"


@dataclass
class _Tally:
    copied: int = 0
    copied_bytes: int = 0
    skipped: int = 0
    vanished: int = 0  # deleted from the source while the command ran (garbage collection)
    failed: list[str] = field(default_factory=list)


def migrate_storage(
    source: Annotated[
        str, typer.Option("--from", help=f"Backend to copy from: {', '.join(PERSISTENT)}.")
    ],
    target: Annotated[
        str, typer.Option("--to", help=f"Backend to copy to: {', '.join(PERSISTENT)}.")
    ],
    data_dir: DataDir = None,
    config: ConfigFile = None,
    s3_bucket: Annotated[str | None, typer.Option(help=_help("s3_bucket"))] = None,
    s3_prefix: Annotated[str | None, typer.Option(help=_help("s3_prefix"))] = None,
    s3_endpoint_url: Annotated[str | None, typer.Option(help=_help("s3_endpoint_url"))] = None,
    s3_region: Annotated[str | None, typer.Option(help=_help("s3_region"))] = None,
    jobs: Annotated[int, typer.Option(min=1, max=64, help="Blobs copied at once.")] = 4,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify/--no-verify", help="Read each copy back from the target and hash it."
        ),
    ] = True,
) -> None:
    """Copy every blob from one storage backend to another (e.g. --from filesystem --to s3).

    The s3 side takes the usual s3 settings (options, DOCKYARD_S3_* or the config file;
    credentials from AWS_* or DOCKYARD_S3_ACCESS_KEY_ID / DOCKYARD_S3_SECRET_ACCESS_KEY).
    Safe to run again: blobs already there are skipped. Then start the server with
    --storage-backend set to the target, on the same database.
    """
    console = Console(stderr=True)
    if source == target:
        raise typer.BadParameter("--from and --to name the same backend", param_hint="--to")
    for name, hint in ((source, "--from"), (target, "--to")):
        if name not in PERSISTENT:
            raise typer.BadParameter(
                f"{name!r} is not a persistent backend ({', '.join(PERSISTENT)})",
                param_hint=hint,
            )
    settings = settings_from(
        config,
        data_dir=data_dir,
        s3_bucket=s3_bucket,
        s3_prefix=s3_prefix,
        s3_endpoint_url=s3_endpoint_url,
        s3_region=s3_region,
    )
    if "s3" in (source, target) and not settings.s3_bucket:
        typer.echo("dockyard: configuration error: the s3 backend needs s3_bucket", err=True)
        raise typer.Exit(2)
    try:
        origin = _open(settings, source)
        destination = _open(settings, target)
    except Exception as exc:
        typer.echo(f"dockyard: cannot open the storage: {exc}", err=True)
        raise typer.Exit(1) from None
    tally = asyncio.run(_migrate(origin, destination, jobs, verify, console))
    typer.echo(
        f"copied {tally.copied} blobs ({tally.copied_bytes} bytes); "
        f"skipped {tally.skipped} already there; {tally.vanished} deleted meanwhile; "
        f"failed {len(tally.failed)}"
    )
    for line in tally.failed:
        typer.echo(f"  {line}", err=True)
    if tally.failed:
        raise typer.Exit(1)


def _open(settings: Settings, backend: str) -> BlobStore:
    chosen = dataclasses.replace(settings, storage_backend=backend)
    return open_blob_store(backend, settings.data_dir, s3_config(chosen))


async def _migrate(
    origin: BlobStore, destination: BlobStore, jobs: int, verify: bool, console: Console
) -> _Tally:
    blobs = [(digest, size) async for digest, size, _modified in origin.blobs()]
    tally = _Tally()
    queue: asyncio.Queue[tuple[Digest, int]] = asyncio.Queue()
    for entry in blobs:
        queue.put_nowait(entry)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as progress:
        count = progress.add_task("blobs", total=len(blobs))
        volume = progress.add_task("bytes", total=sum(size for _, size in blobs))

        async def worker() -> None:
            while not queue.empty():
                digest, size = queue.get_nowait()
                try:
                    await _copy(origin, destination, digest, size, verify, progress, volume, tally)
                except BlobUnknown:
                    tally.vanished += 1
                except Exception as exc:
                    tally.failed.append(f"{digest}: {exc}")
                progress.advance(count)

        await asyncio.gather(*(worker() for _ in range(min(jobs, max(len(blobs), 1)))))
    return tally


async def _copy(
    origin: BlobStore,
    destination: BlobStore,
    digest: Digest,
    size: int,
    verify: bool,
    progress: Progress,
    volume: TaskID,
    tally: _Tally,
) -> None:
    held = await destination.size(digest)
    if held == size:
        tally.skipped += 1
        progress.advance(volume, size)
        return
    if held is not None:
        await destination.delete(digest)  # a short or damaged copy: made again
    upload = f"migrate-{digest.algorithm}-{digest.hex[:64]}"
    hasher = new_hasher(digest.algorithm)

    async def counted(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        async for chunk in chunks:
            progress.advance(volume, len(chunk))
            yield chunk

    try:
        written = await destination.write_upload(
            upload, 0, counted(origin.read(digest)), hasher.update, size
        )
        if written != size or hasher.hexdigest() != digest.hex:
            raise ValueError(f"the source holds {written} bytes that do not hash to the digest")
        await destination.commit_upload(upload, digest, size)
    finally:
        await destination.abort_upload(upload)
    if verify:
        check = new_hasher(digest.algorithm)
        copied = 0
        async for chunk in destination.read(digest):
            check.update(chunk)
            copied += len(chunk)
        if copied != size or check.hexdigest() != digest.hex:
            await destination.delete(digest)
            raise ValueError("the copy read back does not match its digest")
    tally.copied += 1
    tally.copied_bytes += size

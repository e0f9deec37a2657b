"""``dockyard serve``: the registry server."""

from __future__ import annotations

import sys
from dataclasses import fields
from typing import Annotated

import typer

from dockyard.app import ROOT_CREDENTIALS_FILE, bootstrap_root, open_registry
from dockyard.cli import logs
from dockyard.cli.options import ConfigFile, DataDir, settings_from
from dockyard.cli.server import run_server
from dockyard.cli.workers import become_supervisor, bind
from dockyard.config import HELP, Settings, env_name, worker_count
from dockyard.storage.s3config import S3Unavailable


def _help(field: str, default: object) -> str:
    return f"{HELP[field]} (env {env_name(field)}; default {default})"


def serve(
    data_dir: DataDir = None,
    config: ConfigFile = None,
    host: Annotated[str | None, typer.Option(help=_help("host", "127.0.0.1"))] = None,
    port: Annotated[int | None, typer.Option(help=_help("port", 5000))] = None,
    database_url: Annotated[
        str | None, typer.Option(help=_help("database_url", "sqlite in the data dir"))
    ] = None,
    storage_backend: Annotated[
        str | None, typer.Option(help=_help("storage_backend", "filesystem"))
    ] = None,
    account_id: Annotated[
        str | None, typer.Option(help=_help("account_id", "000000000000"))
    ] = None,
    region: Annotated[str | None, typer.Option(help=_help("region", "us-east-1"))] = None,
    regions: Annotated[
        str | None, typer.Option(help=_help("regions", "every region botocore knows"))
    ] = None,
    registry_domain: Annotated[
        str | None, typer.Option(help=_help("registry_domain", "none"))
    ] = None,
    public_url: Annotated[
        str | None, typer.Option(help=_help("public_url", "http(s)://HOST:PORT"))
    ] = None,
    tls_cert: Annotated[
        str | None, typer.Option(help=_help("tls_cert", "none: plain HTTP"))
    ] = None,
    tls_key: Annotated[str | None, typer.Option(help=_help("tls_key", "none"))] = None,
    create_on_push: Annotated[
        bool | None,
        typer.Option("--create-on-push/--no-create-on-push", help=_help("create_on_push", False)),
    ] = None,
    allow_anonymous_pull: Annotated[
        bool | None,
        typer.Option(
            "--allow-anonymous-pull/--no-allow-anonymous-pull",
            help=_help("allow_anonymous_pull", False),
        ),
    ] = None,
    insecure_no_auth: Annotated[
        bool | None,
        typer.Option("--insecure-no-auth/--auth", help=_help("insecure_no_auth", False)),
    ] = None,
    idempotent_immutable_repush: Annotated[
        bool | None,
        typer.Option(
            "--idempotent-immutable-repush/--no-idempotent-immutable-repush",
            help=_help("idempotent_immutable_repush", False),
        ),
    ] = None,
    max_manifest_bytes: Annotated[
        int | None, typer.Option(help=_help("max_manifest_bytes", "4 MiB"))
    ] = None,
    max_blob_bytes: Annotated[
        int | None, typer.Option(help=_help("max_blob_bytes", "52000 MiB"))
    ] = None,
    log_level: Annotated[str | None, typer.Option(help=_help("log_level", "info"))] = None,
    log_format: Annotated[str | None, typer.Option(help=_help("log_format", "text"))] = None,
    workers: Annotated[int | None, typer.Option(help=_help("workers", "0: one per core"))] = None,
    s3_bucket: Annotated[str | None, typer.Option(help=_help("s3_bucket", "none"))] = None,
    s3_prefix: Annotated[str | None, typer.Option(help=_help("s3_prefix", "none"))] = None,
    s3_endpoint_url: Annotated[
        str | None, typer.Option(help=_help("s3_endpoint_url", "AWS"))
    ] = None,
    s3_region: Annotated[str | None, typer.Option(help=_help("s3_region", "us-east-1"))] = None,
    blob_redirect: Annotated[
        bool | None,
        typer.Option("--blob-redirect/--no-blob-redirect", help=_help("blob_redirect", True)),
    ] = None,
    access_log: Annotated[
        bool | None, typer.Option("--access-log/--no-access-log", help=_help("access_log", False))
    ] = None,
) -> None:
    """Run the registry server (OCI distribution API on /v2)."""
    settings = settings_from(
        config,
        data_dir=data_dir,
        host=host,
        port=port,
        database_url=database_url,
        storage_backend=storage_backend,
        account_id=account_id,
        region=region,
        regions=regions,
        registry_domain=registry_domain,
        public_url=public_url,
        tls_cert=tls_cert,
        tls_key=tls_key,
        create_on_push=create_on_push,
        allow_anonymous_pull=allow_anonymous_pull,
        insecure_no_auth=insecure_no_auth,
        idempotent_immutable_repush=idempotent_immutable_repush,
        max_manifest_bytes=max_manifest_bytes,
        max_blob_bytes=max_blob_bytes,
        log_level=log_level,
        access_log=access_log,
        log_format=log_format,
        workers=workers,
        s3_bucket=s3_bucket,
        s3_prefix=s3_prefix,
        s3_endpoint_url=s3_endpoint_url,
        s3_region=s3_region,
        blob_redirect=blob_redirect,
    )
    logs.configure(settings.log_level, settings.log_format)
    workers = worker_count(settings)
    if workers > 1 and settings.storage_backend == "memory":
        typer.echo(
            "dockyard: configuration error: the memory storage backend lives in one "
            "process; use --workers 1 with it",
            err=True,
        )
        raise typer.Exit(2)
    try:
        registry = open_registry(settings)
    except S3Unavailable as exc:
        typer.echo(f"dockyard: the s3 storage backend is unavailable: {exc}", err=True)
        raise typer.Exit(1) from None
    made = bootstrap_root(registry, settings)
    if made is not None:
        announce_root(settings, made.access_key_id, made.secret_access_key)
    if workers == 1:
        if not run_server(settings, registry, None):
            raise typer.Exit(1)
        return
    # The workers open their own connections and files: none may be shared.
    registry.close()
    try:
        sock = bind(settings.host, settings.port)
    except OSError as exc:
        typer.echo(f"dockyard: cannot listen on {settings.host}:{settings.port}: {exc}", err=True)
        raise typer.Exit(1) from None
    become_supervisor(settings, workers, sock)


def announce_root(settings: Settings, key_id: str, secret: str) -> None:
    """Say once where the new root key is. The secret itself goes to a terminal only, never
    through logging: a server's stderr that is not a terminal usually ends up in a log
    (journald, a container runtime), so then only the file is named."""
    saved = settings.data_dir / ROOT_CREDENTIALS_FILE
    if sys.stderr.isatty():
        shown = f":\n  AWS_ACCESS_KEY_ID={key_id}\n  AWS_SECRET_ACCESS_KEY={secret}"
    else:
        shown = f" (access key id {key_id}; the secret is in that file only)"
    typer.echo(
        f"Created root credentials for account {settings.account_id} in {saved} (mode 0600){shown}",
        err=True,
    )


def settings_epilog() -> str:
    """Every setting, with its environment variable, for --help: the options above are
    the common ones; the rest come from the environment or the config file."""
    lines = ["All settings (config file key = environment variable):"]
    for field in fields(Settings):
        lines.append(f"{field.name} = {env_name(field.name)}: {HELP[field.name]}")
    return "\n\n".join(lines)

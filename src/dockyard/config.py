"""Settings: defaults, then a TOML config file, then DOCKYARD_* environment
variables, then command-line options — validated once, in one place."""

from __future__ import annotations

import os
import re
import ssl
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from dockyard.domain.regions import valid_region

MiB = 1 << 20


class ConfigError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting; ``HELP`` below says what each means."""

    data_dir: Path = Path("dockyard-data")
    host: str = "127.0.0.1"
    port: int = 5000
    database_url: str = ""
    storage_backend: str = "filesystem"
    account_id: str = "000000000000"
    region: str = "us-east-1"
    regions: str = ""
    registry_domain: str = ""
    public_url: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    tls_reload_interval: timedelta = timedelta(minutes=1)
    create_on_push: bool = False
    allow_anonymous_pull: bool = False
    insecure_no_auth: bool = False
    idempotent_immutable_repush: bool = False
    max_manifest_bytes: int = 4 * MiB
    max_blob_bytes: int = 52_000 * MiB
    log_level: str = "info"
    access_log: bool = False
    gc_grace_period: timedelta = timedelta(hours=1)
    gc_interval: timedelta = timedelta(hours=1)
    upload_expiry: timedelta = timedelta(hours=24)
    lifecycle_interval: timedelta = timedelta(hours=1)
    job_lease: timedelta = timedelta(minutes=10)
    cache_recheck_interval: timedelta = timedelta(hours=24)
    cache_upstream_timeout: timedelta = timedelta(seconds=30)
    cache_fetch_lease: timedelta = timedelta(seconds=30)
    scan_max_layer_bytes: int = 8 << 30
    scan_max_image_bytes: int = 32 << 30
    scan_max_compression_ratio: int = 250
    header_timeout: timedelta = timedelta(seconds=30)
    body_timeout: timedelta = timedelta(seconds=60)
    keep_alive_timeout: timedelta = timedelta(seconds=5)
    workers: int = 0
    log_format: str = "text"
    s3_bucket: str = ""
    s3_prefix: str = ""
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: str = field(default="", repr=False)  # never in logs
    blob_redirect: bool = True


# What each setting means, for --help and the README.
HELP: dict[str, str] = {
    "data_dir": "Directory holding the SQLite metadata and the filesystem blob store.",
    "host": "Address to listen on.",
    "port": "TCP port to listen on.",
    "database_url": "SQLAlchemy URL of the metadata database; empty means SQLite in the data dir.",
    "storage_backend": "Blob store backend: 'filesystem', 's3' (see s3_*), or 'memory' "
    "(lost at exit; one process).",
    "account_id": "The 12-digit account id that owns the registry's repositories.",
    "region": "The default region: of requests that name none (a /v2 request without an "
    "ECR-shaped host name or a login token naming one) and of the operator commands' output.",
    "regions": "The regions served, comma-separated; empty means every region botocore knows "
    "(other regions are refused).",
    "registry_domain": "Domain under which every registry has ECR's host name "
    "<account>.dkr.ecr.<region>.<domain> (optionally with :port), in repositoryUri and "
    "proxyEndpoint and chosen by on /v2; empty means the public URL's host for all.",
    "public_url": "URL clients reach the registry at (repositoryUri, login endpoint); "
    "empty means http://HOST:PORT.",
    "tls_cert": "PEM certificate (chain) to serve HTTPS with, beside tls_key; empty serves "
    "plain HTTP, for TLS in a reverse proxy.",
    "tls_key": "PEM private key of tls_cert (unencrypted).",
    "tls_reload_interval": "How often each server process looks for a renewed tls_cert or "
    "tls_key and loads it for new connections (0 = never).",
    "create_on_push": "Create a repository when something is first pushed to it and no "
    "repository creation template for CREATE_ON_PUSH applies: as if a ROOT template with "
    "default settings existed (ECR refuses such pushes).",
    "allow_anonymous_pull": "Let requests without credentials pull (GET/HEAD on /v2).",
    "insecure_no_auth": "Turn authentication off entirely: anyone may push and pull. "
    "For tests and throwaway registries only.",
    "idempotent_immutable_repush": "Accept a re-push of the same manifest to an immutable tag "
    "(ECR refuses it).",
    "max_manifest_bytes": "Largest manifest accepted, in bytes.",
    "max_blob_bytes": "Largest blob accepted, in bytes.",
    "log_level": "Log level: debug, info, warning, error.",
    "access_log": "Log every request.",
    "gc_grace_period": "How long unreferenced content is kept before garbage collection frees it "
    "(covers pushes whose manifest has not arrived yet); e.g. 30m, 1h, 2d.",
    "gc_interval": "How often the server collects garbage; 0 turns it off.",
    "upload_expiry": "How long an idle upload session is kept.",
    "lifecycle_interval": "How often the server applies lifecycle policies; 0 turns it off.",
    "job_lease": "How long a background job is its node's: renewed while the node works on "
    "it, taken over by another node this long after its node died.",
    "cache_recheck_interval": "Pull-through cache: a cached tag is checked upstream at most this "
    "often (ECR: 24h); a pull by digest never asks the upstream again once cached.",
    "cache_upstream_timeout": "Pull-through cache: an upstream that does not connect or send "
    "anything for this long counts as unavailable (a cached copy is served instead).",
    "cache_fetch_lease": "Pull-through cache: a node fetching from the upstream renews its claim "
    "while it works; clients waiting on another node take the fetch over this long after that "
    "node died.",
    "scan_max_layer_bytes": "A scan fails when one layer decompresses to more than this.",
    "scan_max_image_bytes": "A scan fails when an image's layers decompress to more than this.",
    "scan_max_compression_ratio": "A scan fails on a layer that expands more than this ratio "
    "(a decompression bomb).",
    "header_timeout": "A connection must deliver a request's headers within this long "
    "(from connecting, or from the first byte of a later request) or is closed.",
    "body_timeout": "A request whose body sends nothing for this long is answered 408 and "
    "closed (an upload session keeps what it had and can be resumed).",
    "keep_alive_timeout": "An idle connection between requests is closed after this long.",
    "workers": "Server processes sharing the port (each uses one core); 0 means one per core.",
    "log_format": "Log line format: 'text', or 'json' (one JSON object a line, for collectors).",
    "s3_bucket": "Bucket of the s3 storage backend.",
    "s3_prefix": "Key prefix under which the s3 backend keeps everything (e.g. 'dockyard/').",
    "s3_endpoint_url": "Endpoint of an S3-compatible service (SeaweedFS, MinIO); empty means AWS.",
    "s3_region": "Region of the s3 backend's bucket.",
    "s3_access_key_id": "Access key for the s3 backend; empty means the usual AWS_* variables "
    "and files.",
    "s3_secret_access_key": "Secret key for the s3 backend (prefer the environment to a file).",
    "blob_redirect": "Answer blob GETs with a 307 to a presigned URL when the storage backend "
    "has them (s3); off means the server proxies the bytes.",
}

ENV_PREFIX = "DOCKYARD_"
CONFIG_ENV = "DOCKYARD_CONFIG"


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    path = config_file or (Path(environ[CONFIG_ENV]) if environ.get(CONFIG_ENV) else None)
    if path is not None:
        values.update(_read_file(path))
    for f in fields(Settings):
        if env_name(f.name) in environ:
            values[f.name] = environ[env_name(f.name)]
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return _validate(values)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        document = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(document) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown settings {', '.join(unknown)}")
    return dict(document)


def _validate(values: dict[str, Any]) -> Settings:
    converted: dict[str, Any] = {}
    defaults = Settings()
    for f in fields(Settings):
        if f.name not in values:
            continue
        default = getattr(defaults, f.name)
        converted[f.name] = _convert(f.name, values[f.name], type(default))
    settings = Settings(**converted)
    restricted = region_list(settings)
    if restricted and "region" not in converted:
        # Restricted to regions without naming a default: the first one is.
        settings = replace(settings, region=restricted[0])
    if not re.fullmatch(r"\d{12}", settings.account_id):
        raise ConfigError(f"account_id must be 12 digits, not {settings.account_id!r}")
    for region in (settings.region, *region_list(settings)):
        if not valid_region(region):
            raise ConfigError(f"region {region!r} does not look like a region (us-east-1)")
    if restricted and settings.region not in restricted:
        raise ConfigError(f"the default region {settings.region!r} must be one of regions")
    if settings.registry_domain and not re.fullmatch(
        r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?", settings.registry_domain
    ):
        raise ConfigError(
            f"registry_domain must be a DNS name with an optional :port, "
            f"not {settings.registry_domain!r}"
        )
    if not 0 < settings.port < 65536:
        raise ConfigError(f"port must be 1-65535, not {settings.port}")
    if settings.public_url and not re.match(r"^https?://[^/]+/?$", settings.public_url):
        raise ConfigError(f"public_url must be http(s)://host[:port], not {settings.public_url!r}")
    _check_tls(settings)
    if settings.log_level not in ("debug", "info", "warning", "error"):
        raise ConfigError("log_level must be debug, info, warning or error")
    if settings.workers < 0:
        raise ConfigError(f"workers must be 0 (one per core) or more, not {settings.workers}")
    if settings.log_format not in ("text", "json"):
        raise ConfigError(f"log_format must be text or json, not {settings.log_format!r}")
    if settings.storage_backend == "s3" and not settings.s3_bucket:
        raise ConfigError("the s3 storage backend needs s3_bucket")
    for name in (
        "header_timeout",
        "body_timeout",
        "keep_alive_timeout",
        "job_lease",
        "cache_recheck_interval",
        "cache_upstream_timeout",
        "cache_fetch_lease",
    ):
        if getattr(settings, name) <= timedelta(0):
            raise ConfigError(f"{name} must be longer than 0")
    return settings


def _check_tls(settings: Settings) -> None:
    """Both TLS files or neither, and a pair that loads: a bad one stops the server here,
    with its reason, rather than in every worker."""
    if bool(settings.tls_cert) != bool(settings.tls_key):
        raise ConfigError("tls_cert and tls_key go together: give both, or neither")
    if not settings.tls_cert:
        return
    try:
        tls_context(settings)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"tls_cert {settings.tls_cert!r} with tls_key {settings.tls_key!r} does not load: "
            f"{getattr(exc, 'reason', None) or exc.strerror or exc}"
        ) from None


def tls_context(settings: Settings) -> ssl.SSLContext:
    """A server-side TLS context holding ``tls_cert`` and ``tls_key`` as they are now."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.tls_cert, settings.tls_key)
    return context


def _convert(name: str, value: Any, kind: type) -> Any:
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if kind is int:
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if kind is timedelta:
            return value if isinstance(value, timedelta) else parse_duration(str(value))
        if issubclass(kind, Path):
            return Path(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: {value!r} is not a valid {kind.__name__}") from None


def as_values(settings: Settings) -> dict[str, str]:
    """Every setting as the text ``load_settings`` reads back into the same value (to hand
    resolved settings to another process)."""
    values = {}
    for f in fields(Settings):
        value = getattr(settings, f.name)
        if isinstance(value, bool):
            values[f.name] = "true" if value else "false"
        elif isinstance(value, timedelta):
            values[f.name] = f"{value.total_seconds()!r}s"
        else:
            values[f.name] = str(value)
    return values


def region_list(settings: Settings) -> tuple[str, ...]:
    """The regions the operator restricted the deployment to; empty means no restriction."""
    return tuple(dict.fromkeys(r.strip() for r in settings.regions.split(",") if r.strip()))


def worker_count(settings: Settings) -> int:
    return settings.workers or os.cpu_count() or 1


def public_url(settings: Settings) -> str:
    scheme = "https" if settings.tls_cert else "http"
    return (settings.public_url or f"{scheme}://{settings.host}:{settings.port}").rstrip("/")


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """``90``, ``90s``, ``15m``, ``1h``, ``7d``."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if match is None:
        raise ValueError(text)
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2) or "s"])

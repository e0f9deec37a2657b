"""Registry metadata in SQL (SQLite or PostgreSQL) through SQLAlchemy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from dockyard.metadata import migrate
from dockyard.metadata.backfills import BackfillStore
from dockyard.metadata.cache_data import CacheDataStore
from dockyard.metadata.cache_rules import CacheRuleStore
from dockyard.metadata.content import ContentStore
from dockyard.metadata.database import create_database_engine
from dockyard.metadata.external import ExternalRegistryStore, StoredExternal
from dockyard.metadata.garbage import GarbageStore
from dockyard.metadata.identity import IdentityStore
from dockyard.metadata.images import ImageStore
from dockyard.metadata.jobs import JobRecord, JobStore
from dockyard.metadata.lifecycle import ImageFacts, LifecycleStore, StoredPolicy, StoredPreview
from dockyard.metadata.policies import PolicyStore, PolicyText, RepositoryFacts
from dockyard.metadata.replication import ReplicationStore
from dockyard.metadata.repositories import RepositoryStore
from dockyard.metadata.scans import ScanStore
from dockyard.metadata.secrets import SealedVersion, SecretStore
from dockyard.metadata.templates import TemplateStore
from dockyard.metadata.vulndb import VulnStore


@dataclass(frozen=True, slots=True)
class Metadata:
    content: ContentStore
    repositories: RepositoryStore
    images: ImageStore
    identity: IdentityStore
    garbage: GarbageStore
    jobs: JobStore
    lifecycle: LifecycleStore
    policies: PolicyStore
    replication: ReplicationStore
    backfills: BackfillStore
    scans: ScanStore
    templates: TemplateStore
    vulns: VulnStore
    cache_rules: CacheRuleStore
    cache_data: CacheDataStore
    secrets: SecretStore
    external: ExternalRegistryStore
    engine: Engine

    def close(self) -> None:
        self.engine.dispose()


def resolve_url(database_url: str | None, data_dir: Path) -> str:
    """The database a registry uses: ``database_url``, or SQLite in its data directory."""
    return database_url or f"sqlite:///{data_dir / 'metadata.db'}"


def open_metadata(database_url: str | None, data_dir: Path, upgrade: bool = True) -> Metadata:
    """The metadata stores over one engine; ``upgrade`` migrates the schema first (a
    server's workers skip it: the process that started them did it before forking)."""
    engine = create_database_engine(resolve_url(database_url, data_dir))
    if upgrade:
        migrate.upgrade(engine)
    return Metadata(
        content=ContentStore(engine),
        repositories=RepositoryStore(engine),
        images=ImageStore(engine),
        identity=IdentityStore(engine),
        garbage=GarbageStore(engine),
        jobs=JobStore(engine),
        lifecycle=LifecycleStore(engine),
        policies=PolicyStore(engine),
        replication=ReplicationStore(engine),
        backfills=BackfillStore(engine),
        scans=ScanStore(engine),
        templates=TemplateStore(engine),
        vulns=VulnStore(engine),
        cache_rules=CacheRuleStore(engine),
        cache_data=CacheDataStore(engine),
        secrets=SecretStore(engine),
        external=ExternalRegistryStore(engine),
        engine=engine,
    )


__all__ = [
    "BackfillStore",
    "CacheDataStore",
    "CacheRuleStore",
    "ContentStore",
    "ExternalRegistryStore",
    "GarbageStore",
    "IdentityStore",
    "ImageFacts",
    "ImageStore",
    "JobRecord",
    "JobStore",
    "LifecycleStore",
    "Metadata",
    "PolicyStore",
    "PolicyText",
    "ReplicationStore",
    "RepositoryFacts",
    "RepositoryStore",
    "ScanStore",
    "SealedVersion",
    "SecretStore",
    "StoredExternal",
    "StoredPolicy",
    "StoredPreview",
    "TemplateStore",
    "VulnStore",
    "open_metadata",
    "resolve_url",
]

"""The registry facade the adapters talk to.

It resolves names into repository keys in an (account, region) registry, the default
account and region unless the adapter names others (the request's SigV4 region, the /v2
host name or login token), creates repositories on push through the creation templates,
and hands the work to the focused services. Every (account, region) is a registry of its
own; blobs are stored once for all.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import timedelta

from dockyard.domain.digests import Digest
from dockyard.domain.identity import Caller
from dockyard.domain.names import RepositoryName
from dockyard.domain.records import Page, RepositoryKey, Scope
from dockyard.domain.templates import AppliedFor, CreationTemplate
from dockyard.metadata import Metadata
from dockyard.metadata.iam import IamStore
from dockyard.scanning import ScanLimits
from dockyard.services.account_settings import AccountSettings
from dockyard.services.authorization import (
    NO_FACTS,
    Authorizer,
    RequestFacts,
    repository_target,
)
from dockyard.services.backfills import Backfills
from dockyard.services.blobs import Blobs
from dockyard.services.cache_rules import CacheRules
from dockyard.services.changes import ChangeMark
from dockyard.services.deletion import Deleter
from dockyard.services.external import ExternalRegistries
from dockyard.services.external_replication import ExternalReplicator
from dockyard.services.gc import GarbageCollector
from dockyard.services.iam import Iam
from dockyard.services.identity import Identity
from dockyard.services.images import Images
from dockyard.services.jobs import LEASE, Jobs
from dockyard.services.layers import Layers
from dockyard.services.lifecycle import Lifecycle
from dockyard.services.manifests import Manifests
from dockyard.services.policies import ResourcePolicies
from dockyard.services.propagation import DeletePropagation
from dockyard.services.pulls import Pulls
from dockyard.services.pullthrough import CacheSettings, PullThrough
from dockyard.services.pullthrough_status import CacheStatus
from dockyard.services.replication import Replication
from dockyard.services.repositories import Repositories
from dockyard.services.scanning import Scanning
from dockyard.services.secrets import Secrets
from dockyard.services.templates import DEFAULT_CREATE_ON_PUSH, Templates
from dockyard.services.threads import blocking, quick_read
from dockyard.services.uploads import Uploads
from dockyard.storage import BlobStore

# A blob no store holds: asking for its size exercises the store without reading data.
_PROBE_DIGEST = Digest("sha256", "0" * 64)


@dataclass(frozen=True, slots=True)
class RegistrySettings:
    account_id: str
    region: str  # the default region
    create_on_push: bool
    max_manifest_bytes: int
    max_blob_bytes: int
    # Every region served (the default among them); see services.regions.
    regions: frozenset[str] = frozenset()
    # <account>.dkr.ecr.<region>.<domain> names each registry; empty: one host for all.
    registry_domain: str = ""
    idempotent_immutable_repush: bool = False
    scan_limits: ScanLimits = field(default_factory=ScanLimits)
    gc_grace_period: timedelta = timedelta(hours=1)
    job_lease: timedelta = LEASE
    cache: CacheSettings = field(default_factory=CacheSettings)


class Registry:
    def __init__(
        self,
        settings: RegistrySettings,
        metadata: Metadata,
        store: BlobStore,
        identity: Identity,
        changes: ChangeMark | None = None,
    ) -> None:
        self.settings = settings
        self._metadata = metadata
        self._store = store
        self.blobs = Blobs(metadata.content, store, settings.gc_grace_period / 2)
        self.uploads = Uploads(metadata.content, store, settings.max_blob_bytes)
        self.pulls = Pulls(metadata.images, metadata.lifecycle)
        self.manifests = Manifests(
            metadata.content,
            self.pulls,
            settings.max_manifest_bytes,
            settings.idempotent_immutable_repush,
            self._creatable_on_push,
        )
        self.deleter = Deleter(
            metadata.content,
            metadata.repositories,
            metadata.cache_rules,
            metadata.secrets,
            metadata.external,
        )
        self.repositories = Repositories(metadata.repositories)
        self.images = Images(metadata.images, self.manifests, self.deleter, self.pulls)
        self.layers = Layers(self.uploads, self.blobs, metadata.images)
        self.account_settings = AccountSettings(metadata.identity)
        self.identity = identity
        self.iam = Iam(metadata.identity, IamStore(metadata.engine), identity)
        # Every request's policy decision, on both doors, with each caller's identity
        # policies from IAM.
        self.authz = Authorizer(
            metadata.policies,
            self.account_settings,
            self.iam.identity_policies,
            settings.region,  # of simulations that name no region
            trust_policies=self.iam.trust_policy,
            changes=changes,
        )
        self.policies = ResourcePolicies(metadata.policies, self.authz)
        self.templates = Templates(metadata.templates, self.repositories, self.authz.forget)
        # Secrets Manager's secrets are sealed with the key that seals access-key secrets.
        self.secrets = Secrets(metadata.secrets, identity.box, self.deleter)
        self.cache_rules = CacheRules(
            metadata.cache_rules, self.secrets, self.deleter, changes=changes
        )
        # The data path of those rules: pulls of cached repositories.
        self.pullthrough = PullThrough(
            metadata.cache_data,
            self.cache_rules,
            self.manifests,
            self.blobs,
            self.uploads,
            self.repositories,
            self.templates,
            self.authz,
            settings.cache,
        )
        self.iam.on_change = self.authz.forget
        self.iam.authorizer = self.authz
        self.gc = GarbageCollector(metadata.garbage, store)
        self.cache_status = CacheStatus(
            metadata.cache_data,
            self.cache_rules,
            self.repositories,
            self.scopes,
            self.gc.storage_of,
        )
        self.jobs = Jobs(metadata.jobs, lease=settings.job_lease)
        self.lifecycle = Lifecycle(metadata.lifecycle, self.images, self.deleter, self.jobs)
        self.scanning = Scanning(
            metadata.scans,
            metadata.vulns,
            metadata.content,
            metadata.repositories,
            store,
            self.images,
            self.jobs,
            settings.scan_limits,
        )
        self.manifests.after_push(self.scanning.on_push)
        self.replication = Replication(
            metadata.replication,
            metadata.backfills,
            self.manifests,
            self.images,
            self.blobs,
            self.repositories,
            self.templates,
            self.authz,
            self.jobs,
            settings.regions | {settings.region},
        )
        self.manifests.after_push(self.replication.on_push)
        # Destinations outside the deployment: registrations with sealed credentials, and
        # the copy to them through dockyard.remote.
        self.external = ExternalRegistries(
            metadata.external, metadata.replication, identity.box, self.secrets, self.deleter
        )
        self.replication.external = ExternalReplicator(
            self.external, metadata.replication, self.manifests, self.blobs
        )
        self.propagation = DeletePropagation(
            metadata.replication,
            self.replication,
            self.manifests,
            self.deleter,
            self.external,
            self.jobs,
        )
        self.deleter.after_delete(self.propagation.on_delete)
        self.backfills = Backfills(
            metadata.backfills, self.replication, self.repositories, self.images, self.jobs
        )

    def serves(self, region: str) -> bool:
        return region == self.settings.region or region in self.settings.regions

    def scope_of(self, account_id: str | None, region: str | None = None) -> Scope:
        """A registry: no account means the default account, no region the default region."""
        return Scope(account_id or self.settings.account_id, region or self.settings.region)

    def key(
        self, name: str, account_id: str | None = None, region: str | None = None
    ) -> RepositoryKey:
        return RepositoryKey(self.scope_of(account_id, region), RepositoryName.parse(name))

    async def mounting_enabled(self, scope: Scope) -> bool:
        setting = await self.account_settings.get(scope, "BLOB_MOUNTING")
        return setting == "ENABLED"

    async def key_for_push(
        self,
        key: RepositoryKey,
        caller: Caller | None = None,
        facts: RequestFacts = NO_FACTS,
    ) -> RepositoryKey:
        """The key of a repository about to be written. A missing one is created first when
        a creation template for CREATE_ON_PUSH applies to its name (or the create_on_push
        setting stands in for one) and ``caller`` may ``ecr:CreateRepository`` it, as ECR
        asks of a push that creates; else the write that follows answers NAME_UNKNOWN."""
        if await quick_read(
            self._metadata.content.reads_are_local, self._metadata.repositories.exists, key
        ):
            return key
        template = await self._push_template(key)
        if template is None:
            return key
        tags = tuple(template.settings.resource_tags.items())
        target = repository_target("ecr:CreateRepository", key)
        await self.authz.authorize(caller, target, replace(facts, request_tags=tags))
        await self.templates.create_from(template, key)
        return key

    async def _push_template(self, key: RepositoryKey) -> CreationTemplate | None:
        fallback = DEFAULT_CREATE_ON_PUSH if self.settings.create_on_push else None
        return await self.templates.template_for(
            key.scope, key.name, AppliedFor.CREATE_ON_PUSH, fallback
        )

    async def _creatable_on_push(self, key: RepositoryKey) -> bool:
        return await self._push_template(key) is not None

    async def catalog(self, scope: Scope, last: str | None, limit: int | None) -> Page:
        return await blocking(self._metadata.repositories.names, scope, last, limit)

    async def scopes(self, account_id: str | None = None, region: str | None = None) -> list[Scope]:
        """Every registry that holds a repository, narrowed to an account and a region when
        they are given (the operator commands' --account-id and --region)."""
        found = await blocking(self._metadata.repositories.scopes)
        return [
            scope
            for scope in found
            if account_id in (None, scope.account_id) and region in (None, scope.region)
        ]

    async def all_repository_keys(
        self, account_id: str | None = None, region: str | None = None
    ) -> list[RepositoryKey]:
        """Every repository of every registry (of one account, or one region, if given)."""
        keys: list[RepositoryKey] = []
        for scope in await self.scopes(account_id, region):
            found = await self.repositories.listing(scope, None, None)
            keys += [r.key for r in found]
        return keys

    async def health(self, patience: float = 5.0) -> dict[str, str]:
        """Whether this node reaches its database and its blob store and opens the stored
        secrets: "ok", or what failed (the kind of failure only; messages may carry hosts
        and credentials)."""
        probes = {
            "database": blocking(self._metadata.identity.account_exists, self.settings.account_id),
            "storage": self._store.size(_PROBE_DIGEST),
            # The node shares the other nodes' secrets key: else it cannot verify a signature.
            "secrets": blocking(self.identity.check_secrets_key, self.settings.account_id),
        }
        report = {}
        for name, probe in probes.items():
            try:
                await asyncio.wait_for(probe, patience)
                report[name] = "ok"
            except TimeoutError:
                report[name] = f"no answer within {patience:g}s"
            except Exception as exc:
                report[name] = f"failed: {type(exc).__name__}"
        return report

    def close(self) -> None:
        self._metadata.close()

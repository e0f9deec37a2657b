"""Delete propagation (a Dockyard extension, opt-in per rule with ``propagateDeletes``): a
manifest deleted at the source is deleted at the destinations where replication created
it, by a ``replication-delete`` job per destination.

Every delete goes through ``Deleter`` (BatchDeleteImage, a ``/v2`` manifest DELETE,
lifecycle expiry), which tells this module of each manifest it deleted. Only a manifest
that the destination repository did not hold before replication put it there is deleted
(``replication_replicas``): an image someone pushed to the destination, or that was
there before the rule, is never touched, even under the same digest. A referrer
(a signature, an SBOM) also leaves its subject's fallback tag index at a registry without
a referrers API, where replication added it. Deleting a tag alone, or a whole repository,
deletes nothing at the destinations.

A job finds the manifest already gone (or the repository) and counts that done; finds
the source holding the manifest again (pushed back meanwhile) and leaves the replica;
and is retried with backoff while the destination cannot answer. A refusal (a registry
that does not delete, an index at the destination that still lists the manifest) fails
the job with the reason, not retried. The queueing follows the delete's commit: a server
killed between the two loses it, and the replica stays.
"""

from __future__ import annotations

import logging
from typing import Any

from dockyard.domain.digests import Digest
from dockyard.domain.errors import ContentReferenced, ManifestUnknown, NameUnknown
from dockyard.domain.names import RepositoryName
from dockyard.domain.records import RepositoryKey, Scope
from dockyard.domain.replication import Destination
from dockyard.metadata import ReplicationStore
from dockyard.remote import (
    RemoteDenied,
    RemoteNotFound,
    RemoteRejected,
    RemoteUnauthorized,
)
from dockyard.services.deletion import Deleter, DeleteTarget, ManifestTarget
from dockyard.services.external import CredentialsUnavailable, ExternalRegistries
from dockyard.services.job_payloads import PermanentJobError, PropagateDeletePayload
from dockyard.services.jobs import Jobs
from dockyard.services.manifests import Manifests
from dockyard.services.replication import Replication, payload_destination
from dockyard.services.threads import blocking

log = logging.getLogger(__name__)


class DeletePropagation:
    def __init__(
        self,
        store: ReplicationStore,
        replication: Replication,
        manifests: Manifests,
        deleter: Deleter,
        external: ExternalRegistries,
        jobs: Jobs,
    ) -> None:
        self._store = store
        self._replication = replication
        self._manifests = manifests
        self._deleter = deleter
        self._external = external
        self._jobs = jobs

    async def on_delete(self, target: DeleteTarget) -> None:
        """After a delete: queue the deletion of the manifest's replicas where a rule
        covering its repository propagates deletes to their destination."""
        if not isinstance(target, ManifestTarget):
            return
        key, digest = target.repository, target.digest
        config = await self._replication.configuration(key.scope)
        if not any(rule.propagate_deletes for rule in config.rules):
            return
        for destination, _ in await blocking(self._store.created, key, str(digest)):
            if config.propagates_deletes(key.name, destination):
                await self._jobs.enqueue(_payload(key, digest, destination))

    async def run(self, payload: PropagateDeletePayload) -> dict[str, Any]:
        """The replication-delete job."""
        key, digest = payload.key, payload.digest
        destination = payload_destination(payload)
        created = dict(await blocking(self._store.created, key, str(digest)))
        if destination not in created:
            return {"skipped": "replication did not create it there"}
        if await self._source_holds(key, digest):
            return {"skipped": "the source holds the manifest again"}
        repository = created[destination]
        if destination.is_external:
            gone = await self._delete_external(destination, repository, digest)
        else:
            gone = await self._delete_within(destination, repository, digest)
        await blocking(self._store.forget_created, key, str(digest), destination)
        log.info("replica %s of %s deleted at %s (%s)", digest, key.name, destination.id, gone)
        return {"destination": destination.id, "repository": repository, "outcome": gone}

    async def _source_holds(self, key: RepositoryKey, digest: Digest) -> bool:
        try:
            await self._manifests.get(key, digest, with_payload=False)
        except (ManifestUnknown, NameUnknown):
            return False
        return True

    async def _delete_within(self, to: Destination, repository: str, digest: Digest) -> str:
        target = RepositoryKey(to.scope, RepositoryName.parse(repository))
        try:
            await self._deleter.delete(ManifestTarget(target, digest))
        except (ManifestUnknown, NameUnknown):
            return "already gone"
        except ContentReferenced as exc:
            raise PermanentJobError(exc.describe()) from None
        return "deleted"

    async def _delete_external(self, to: Destination, repository: str, digest: Digest) -> str:
        assert to.name is not None
        from dockyard.remote import delete_replica  # its HTTP stack loads on first use

        try:
            async with self._external.client(Scope(to.account_id, to.region), to.name) as client:
                await delete_replica(client, repository, digest)
        except RemoteNotFound:
            return "already gone"
        except (
            CredentialsUnavailable,
            RemoteRejected,
            RemoteUnauthorized,
            RemoteDenied,
        ) as exc:
            raise PermanentJobError(str(exc)) from None
        return "deleted"


def _payload(key: RepositoryKey, digest: Digest, to: Destination) -> PropagateDeletePayload:
    return PropagateDeletePayload(
        key.scope.account_id,
        key.scope.region,
        key.name,
        digest,
        to.kind.value,
        to.account_id,
        to.region,
        to.name,
    )

"""The pull-through cache's data path: a pull from a repository that a cache rule covers is
served from the cache, and what the cache lacks is fetched from the upstream registry.

* **A miss** (a manifest or blob not held) needs ``ecr:BatchImportUpstreamImage`` of the
  caller, and ``ecr:CreateRepository`` when the repository does not exist yet, as ECR asks;
  the repository is created through the ``PULL_THROUGH_CACHE`` creation template (default
  settings when none applies). The manifest is fetched, kept and served at once; the image
  is stored in the background (``_import``: its blobs, an index's children, then the
  manifest and its tag through the manifest service, so scan on push, lifecycle policies,
  replication and storage accounting see it as they see a push). A blob asked for while it
  is fetched is streamed from the fetch (``pullthrough_flights.py``).
* **A hit** needs only what any pull needs. A tag is checked upstream (a HEAD) at most once
  per ``recheck_interval``; by digest the upstream is never asked again once cached.
* **Stale if error**: when the upstream cannot answer (unreachable, slow, 429, 5xx), a cached
  copy is served and the failure counted; with nothing cached, ``UpstreamUnavailable``.
* Every fetch is single-flight across processes and nodes (``pullthrough_flights.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dockyard.domain import errors as e
from dockyard.domain.cache_rules import CacheRule
from dockyard.domain.digests import Digest
from dockyard.domain.identity import Caller
from dockyard.domain.manifests import parse_manifest
from dockyard.domain.names import Reference, Tag
from dockyard.domain.records import RepositoryKey, Scope, StoredManifest
from dockyard.domain.templates import ROOT, AppliedFor, CreationTemplate, TemplateSettings
from dockyard.metadata.cache_data import CacheDataStore, CachedManifest, RuleCounters
from dockyard.remote import FetchedManifest, RemoteError, RemoteNotFound
from dockyard.services.authorization import Authorizer, RequestFacts, repository_target
from dockyard.services.blobs import BlobContent, Blobs
from dockyard.services.cache_rules import CacheRules
from dockyard.services.manifests import Manifests
from dockyard.services.pullthrough_flights import Flight, FlightFailed, Flights, Work
from dockyard.services.pullthrough_upstreams import Upstream, Upstreams, translate
from dockyard.services.repositories import Repositories
from dockyard.services.templates import Templates
from dockyard.services.threads import blocking
from dockyard.services.uploads import Uploads

__all__ = ["CacheSettings", "PullThrough"]

log = logging.getLogger(__name__)

IMPORT_ACTION = "ecr:BatchImportUpstreamImage"
CREATE_ACTION = "ecr:CreateRepository"

#: What ECR creates a cached repository with when no PULL_THROUGH_CACHE template applies.
DEFAULT_PULL_THROUGH = CreationTemplate(
    ROOT,
    TemplateSettings(applied_for=(AppliedFor.PULL_THROUGH_CACHE,)),
    datetime.fromtimestamp(0, UTC),
    datetime.fromtimestamp(0, UTC),
)
# A committed blob's upload is kept this long for followers still reading it, then dropped.
_UPLOAD_LINGER_SECONDS = 60.0
# An ended flight's row is kept this long (a late follower reads how it ended).
_FLIGHTS_KEPT = timedelta(hours=1)
#: After a failed re-check, how long a stale tag is served from the cache before the
#: upstream is asked again.
FAILED_CHECK_BACKOFF = timedelta(minutes=1)
#: How often a process writes the hits it counted (``dockyard cache status`` lags this much).
HITS_FLUSH_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class CacheSettings:
    #: A cached tag is checked upstream at most this often (ECR: 24 hours).
    recheck_interval: timedelta = timedelta(hours=24)
    #: Longest wait for the upstream to connect or send anything.
    upstream_timeout: float = 30.0
    #: A fetch's lease: taken over this long after its node stopped renewing it.
    lease: timedelta = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class _Pull:
    """One pull of a cached repository, and who asks."""

    key: RepositoryKey
    rule: CacheRule
    caller: Caller | None
    facts: RequestFacts


class PullThrough:
    def __init__(
        self,
        store: CacheDataStore,
        rules: CacheRules,
        manifests: Manifests,
        blobs: Blobs,
        uploads: Uploads,
        repositories: Repositories,
        templates: Templates,
        authz: Authorizer,
        settings: CacheSettings,
    ) -> None:
        self._store = store
        self._rules = rules
        self._manifests = manifests
        self._blobs = blobs
        self._uploads = uploads
        self._repositories = repositories
        self._templates = templates
        self._authz = authz
        self.settings = settings
        self._upstreams = Upstreams(rules, settings.upstream_timeout)
        self._flights = Flights(store, settings.lease)
        # Hits are the hot path: counted here and written every few seconds (``run``).
        self._hits: dict[tuple[Scope, str], int] = {}

    # -- entry points (the /v2 adapter's) -----------------------------------------------
    async def manifest(
        self,
        key: RepositoryKey,
        reference: Reference,
        caller: Caller | None,
        facts: RequestFacts,
        head: bool = False,
    ) -> StoredManifest:
        """The manifest a GET (or HEAD) of ``reference`` serves: local, or through the rule
        that covers the repository."""
        rule = await self._rules.rule_for(key.scope, key.name)
        if rule is None:
            return await self._local(key, reference, caller, head)
        pull = _Pull(key, rule, caller, facts)
        if isinstance(reference, Digest):
            return await self._by_digest(pull, reference, head)
        return await self._by_tag(pull, reference, head)

    async def blob(
        self,
        key: RepositoryKey,
        digest: Digest,
        range_header: str | None,
        caller: Caller | None,
        facts: RequestFacts,
    ) -> BlobContent:
        """A blob GET: local, or streamed as it arrives from the upstream."""
        try:
            return await self._blobs.open(key, digest, range_header)
        except (e.BlobUnknown, e.NameUnknown):
            rule = await self._rules.rule_for(key.scope, key.name)
            if rule is None:
                raise
        pull = _Pull(key, rule, caller, facts)
        await self._authorize_miss(pull)
        upstream = await self._upstream(pull)
        size = await self._blob_size(pull, upstream, digest)
        # A client may ask for a blob before any manifest: it is linked to the repository.
        await self._ensure_repository(pull)
        chunks = self._flights.follow_bytes(
            _blob_flight(key, digest),
            self._blob_work(pull, upstream, digest, size),
            self._uploads.read_arriving,
            lambda offset: self._blobs.stream(digest, offset),
        )
        first = await self._first(chunks, pull, _local_what(pull, str(digest)))
        return BlobContent(digest, size, None, None, _prepended(first, chunks))

    async def blob_size(
        self, key: RepositoryKey, digest: Digest, caller: Caller | None, facts: RequestFacts
    ) -> int:
        """A blob HEAD: the local size, else the upstream's (nothing is fetched)."""
        try:
            return await self._blobs.probe(key, digest)
        except (e.BlobUnknown, e.NameUnknown):
            rule = await self._rules.rule_for(key.scope, key.name)
            if rule is None:
                raise
        pull = _Pull(key, rule, caller, facts)
        await self._authorize_miss(pull)
        return await self._blob_size(pull, await self._upstream(pull), digest)

    async def counters(self) -> list[RuleCounters]:
        return await blocking(self._store.counters)

    async def flush(self) -> None:
        """Write the hits counted since the last flush."""
        batch, self._hits = self._hits, {}
        for (scope, prefix), hits in batch.items():
            await blocking(self._store.count, scope, prefix, hits)

    async def run(self) -> None:
        """Flush the hits periodically until cancelled, then once more."""
        try:
            while True:
                await asyncio.sleep(HITS_FLUSH_SECONDS)
                try:
                    await self.flush()
                except Exception:
                    log.exception("pull-through cache: counting hits failed; will retry")
        finally:
            with contextlib.suppress(Exception):
                await self.flush()

    # -- manifests ----------------------------------------------------------------------
    async def _local(
        self, key: RepositoryKey, reference: Reference, caller: Caller | None, head: bool
    ) -> StoredManifest:
        if head:
            return await self._manifests.get(key, reference, with_payload=False)
        arn = caller.principal.arn if caller else None
        return await self._manifests.pull(key, reference, arn)

    async def _held(
        self, pull: _Pull, reference: Reference, head: bool, tag: str | None = None
    ) -> StoredManifest | None:
        """The manifest as stored, or as fetched and not stored yet (its image then stored,
        under ``tag`` when given); None when neither."""
        try:
            return await self._local(pull.key, reference, pull.caller, head)
        except (e.ManifestUnknown, e.NameUnknown):
            pass
        if not isinstance(reference, Digest):
            return None
        fetched = await blocking(self._store.fetched_manifest, pull.key, reference)
        if fetched is None:
            return None
        # Fetched by a node whose import may have died with it: make sure one runs.
        self._start_import(pull, fetched, tag)
        return _served(fetched, head)

    async def _by_digest(self, pull: _Pull, digest: Digest, head: bool) -> StoredManifest:
        held = await self._held(pull, digest, head)
        if held is not None:
            await self._count(pull, hits=1)
            return held
        await self._authorize_miss(pull)
        fetched = await self._fetch_manifest(pull, str(digest), None)
        return _served(fetched, head)

    async def _by_tag(self, pull: _Pull, tag: Tag, head: bool) -> StoredManifest:
        check = await blocking(self._store.tag_check, pull.key, tag.value)
        local = await self._held(pull, tag, head)
        if check is not None and _fresh(check.checked_at, self.settings.recheck_interval):
            held = local if local is not None and local.digest == check.digest else None
            held = held or await self._held(pull, check.digest, head, tag.value)
            if held is not None:
                await self._count(pull, hits=1)
                return held
        elif local is not None:
            # Stale (or never checked): one HEAD tells whether the tag moved upstream.
            moved = await self._recheck(pull, tag, local)
            if not moved:
                await self._count(pull, hits=1)
                return local
        try:
            # A caller who may pull but not import is served what the cache holds.
            await self._authorize_miss(pull)
            fetched = await self._fetch_manifest(pull, tag.value, tag.value)
        except (e.UpstreamUnavailable, e.UpstreamFailed, e.AccessDenied):
            if local is None:
                raise
            return local  # stale if error: the cached copy (the failure was counted)
        return _served(fetched, head)

    async def _recheck(self, pull: _Pull, tag: Tag, local: StoredManifest) -> bool:
        """Whether ``tag`` upstream is no longer the cached ``local``; False (serve the
        cached copy) when the upstream cannot say. One HEAD for every asker at once."""
        try:
            await self._ensure(
                f"check:{_where(pull.key)}:{tag.value}",
                lambda flight: self._recheck_once(pull, tag.value, local.digest),
                pull,
                tag.value,
            )
        except (e.UpstreamUnavailable, e.UpstreamFailed):
            return False  # stale if error (the flight's owner counted the failure)
        check = await blocking(self._store.tag_check, pull.key, tag.value)
        if check is None or not _fresh(check.checked_at, self.settings.recheck_interval):
            return True  # the upstream did not say what the tag is: fetch it
        return check.digest != local.digest

    async def _recheck_once(self, pull: _Pull, tag: str, cached: Digest) -> None:
        """HEAD the tag upstream and record what it is now (unrecorded when the upstream
        does not say: the caller then fetches it)."""
        check = await blocking(self._store.tag_check, pull.key, tag)
        if check is not None and _fresh(check.checked_at, self.settings.recheck_interval):
            return  # the caller saw it stale: another flight checked it since
        upstream = await self._upstream(pull)
        try:
            head = await upstream.client.head_manifest(upstream.repository, tag)
        except RemoteNotFound:
            # Gone upstream: the cache keeps serving what it has, asking again next interval.
            await blocking(self._store.checked_tag, pull.key, tag, cached)
            return
        except RemoteError as exc:
            error = translate(exc, upstream.host, _local_what(pull, tag))
            await self._count(pull, errors=1, error=str(error))
            # The cached copy is served without asking again for a while: an upstream that
            # is down would otherwise hold every pull for the timeout, and count each.
            interval = self.settings.recheck_interval
            retry_at = datetime.now(UTC) - interval + min(FAILED_CHECK_BACKOFF, interval)
            await blocking(self._store.checked_tag, pull.key, tag, cached, retry_at)
            raise error from None
        if head.digest is not None:
            await blocking(self._store.checked_tag, pull.key, tag, head.digest)

    async def _fetch_manifest(self, pull: _Pull, reference: str, tag: str | None) -> CachedManifest:
        """The manifest under ``reference`` upstream, fetched once for every asker, kept,
        and its image being stored."""
        name = _manifest_flight(pull.key, reference)
        await self._ensure(
            name,
            lambda flight: self._fetch_manifest_once(pull, reference, tag),
            pull,
            reference,
        )
        if tag is not None:
            check = await blocking(self._store.tag_check, pull.key, tag)
            if check is None:
                raise e.ManifestUnknown(reference)
            digest = check.digest
        else:
            digest = Digest.parse(reference)
        fetched = await blocking(self._store.fetched_manifest, pull.key, digest)
        if fetched is None:  # stored meanwhile
            stored = await self._manifests.get(pull.key, digest)
            assert stored.payload is not None
            fetched = CachedManifest(stored.digest, stored.media_type, stored.payload)
        self._start_import(pull, fetched, tag)
        return fetched

    async def _fetch_manifest_once(self, pull: _Pull, reference: str, tag: str | None) -> None:
        if await self._fetched_meanwhile(pull, reference, tag):
            return
        upstream = await self._upstream(pull)
        what = upstream.what(reference)
        try:
            got: FetchedManifest = await upstream.client.get_manifest(
                upstream.repository, reference
            )
        except RemoteNotFound:
            raise e.ManifestUnknown(f"{reference} (not in {what})") from None
        except RemoteError as exc:
            error = translate(exc, upstream.host, _local_what(pull, reference))
            await self._count(pull, errors=1, error=str(error))
            raise error from None
        await self._ensure_repository(pull)
        await blocking(
            self._store.keep_manifest,
            pull.key,
            CachedManifest(got.digest, got.media_type, got.payload),
        )
        if tag is not None:
            await blocking(self._store.checked_tag, pull.key, tag, got.digest)
        await self._count(pull, misses=1)

    async def _fetched_meanwhile(self, pull: _Pull, reference: str, tag: str | None) -> bool:
        """Whether another flight fetched ``reference`` since the caller looked (a client
        that came late for one flight must not cause a second fetch)."""
        if tag is None:
            digest = Digest.parse(reference)
        else:
            # The caller found the tag unchecked, stale or not held: fresh now, and held,
            # means another flight fetched it meanwhile.
            check = await blocking(self._store.tag_check, pull.key, tag)
            if check is None or not _fresh(check.checked_at, self.settings.recheck_interval):
                return False
            digest = check.digest
        return await self._held(pull, digest, head=True) is not None

    # -- storing an image ---------------------------------------------------------------
    def _start_import(self, pull: _Pull, manifest: CachedManifest, tag: str | None) -> None:
        """Store the image in the background, unless another process or node does already
        (nobody waits for it: its blobs are fetched by whoever asks first)."""
        self._flights.spawn(
            self._flights.run_unless_running(
                _import_flight(pull.key, manifest.digest, tag),
                lambda flight: self._import(pull, manifest, tag),
            )
        )

    async def _import(self, pull: _Pull, manifest: CachedManifest, tag: str | None) -> None:
        """Store the image ``manifest`` describes: its children and blobs first (each
        fetched once), then the manifest itself, under ``tag`` when given."""
        if await self._imported(pull, manifest.digest, tag):
            return
        parsed = parse_manifest(manifest.payload, manifest.media_type)
        for child in parsed.child_manifests():
            fetched = await self._child(pull, child)
            if fetched is not None:
                await self._flights.ensure(
                    _import_flight(pull.key, fetched.digest, None),
                    lambda flight, m=fetched: self._import(pull, m, None),  # type: ignore[misc]
                    again=True,
                )
        upstream = await self._upstream(pull)
        sizes = {d.digest: d.size for d in (parsed.config, *parsed.layers) if d is not None}
        for digest in parsed.required_blobs():
            await self._flights.ensure(
                _blob_flight(pull.key, digest),
                self._blob_work(pull, upstream, digest, sizes.get(digest)),
                again=True,
            )
        reference: Reference = Tag(tag) if tag else manifest.digest
        if tag is not None:
            # The tag may have moved on meanwhile: set it only where it still points.
            check = await blocking(self._store.tag_check, pull.key, tag)
            if check is not None and check.digest != manifest.digest:
                reference = manifest.digest
        try:
            await self._manifests.put(pull.key, reference, manifest.payload, manifest.media_type)
        except e.TagImmutable:
            log.info("pull-through cache: %s:%s is immutable here; not moved", pull.key.name, tag)
            await self._manifests.put(
                pull.key, manifest.digest, manifest.payload, manifest.media_type
            )
        await blocking(self._store.drop_manifest, pull.key, manifest.digest)
        # Flights that ended long ago are followed by nobody: their rows can go.
        await blocking(self._store.forget_flights, datetime.now(UTC) - _FLIGHTS_KEPT)

    async def _child(self, pull: _Pull, digest: Digest) -> CachedManifest | None:
        """An index's child: None when stored already, else as fetched."""
        try:
            await self._manifests.get(pull.key, digest, with_payload=False)
            return None
        except e.ManifestUnknown:
            pass
        fetched = await blocking(self._store.fetched_manifest, pull.key, digest)
        if fetched is not None:
            return fetched
        await self._ensure(
            _manifest_flight(pull.key, str(digest)),
            lambda flight: self._fetch_manifest_once(pull, str(digest), None),
            pull,
            str(digest),
        )
        return await blocking(self._store.fetched_manifest, pull.key, digest)

    async def _imported(self, pull: _Pull, digest: Digest, tag: str | None) -> bool:
        try:
            if tag is None:
                await self._manifests.get(pull.key, digest, with_payload=False)
                return True
            return (await self._manifests.get(pull.key, Tag(tag), False)).digest == digest
        except (e.ManifestUnknown, e.NameUnknown):
            return False

    # -- blobs --------------------------------------------------------------------------
    def _blob_work(self, pull: _Pull, upstream: Upstream, digest: Digest, size: int | None) -> Work:
        return lambda flight: self._fetch_blob(flight, pull, upstream, digest, size)

    async def _fetch_blob(
        self,
        flight: Flight,
        pull: _Pull,
        upstream: Upstream,
        digest: Digest,
        size: int | None,
    ) -> None:
        """Fetch one blob into the store (the flight's owner does this)."""
        try:
            await self._blobs.size(pull.key, digest)
            return  # stored since the flight was asked for
        except e.BlobUnknown:
            pass
        # The upstream has this digest here (a manifest it served names it, or it told its
        # size): another repository's copy, say a base layer cached for another image, is
        # the same bytes.
        if await self._blobs.adopt(pull.key, digest):
            return
        upload_id = f"ptc-{uuid.uuid4().hex}"
        try:
            await self._uploads.store_arriving(
                pull.key,
                digest,
                upstream.client.open_blob(upstream.repository, digest, size),
                upload_id,
                flight.advance,
            )
        except RemoteNotFound:
            raise e.BlobUnknown(f"{digest} (not in {upstream.what(str(digest))})") from None
        except RemoteError as exc:
            error = translate(exc, upstream.host, _local_what(pull, str(digest)))
            await self._count(pull, errors=1, error=str(error))
            raise error from None
        # Followers elsewhere may still read the upload (they move to the blob once they see
        # the flight landed): it goes a little later.
        asyncio.get_running_loop().call_later(
            _UPLOAD_LINGER_SECONDS,
            lambda: self._flights.spawn(self._uploads.abandon(upload_id)),
        )

    async def _blob_size(self, pull: _Pull, upstream: Upstream, digest: Digest) -> int:
        """A blob's size from the fetched manifests that name it, else from the upstream."""
        for manifest in await blocking(self._store.fetched_manifests, pull.key):
            parsed = parse_manifest(manifest.payload, manifest.media_type)
            for d in (parsed.config, *parsed.layers):
                if d is not None and d.digest == digest:
                    return d.size
        try:
            size = await upstream.client.blob_size(upstream.repository, digest)
        except RemoteError as exc:
            raise translate(exc, upstream.host, _local_what(pull, str(digest))) from None
        if size is None or size < 0:
            if size is None:
                raise e.BlobUnknown(str(digest))
            raise e.UpstreamFailed(upstream.host, str(digest), "the upstream did not say its size")
        return size

    async def _first(self, chunks: AsyncIterator[bytes], pull: _Pull, what: str) -> bytes:
        """The first bytes of a fetch, so that a fetch that fails at once is an error
        answer rather than a cut-off body."""
        try:
            return await anext(chunks, b"")
        except FlightFailed as failed:
            raise self._reraise(failed, pull, what) from None

    # -- common -------------------------------------------------------------------------
    async def _ensure(self, name: str, work: Work, pull: _Pull, reference: str) -> None:
        try:
            await self._flights.ensure(name, work, again=True)
        except FlightFailed as failed:
            raise self._reraise(failed, pull, _local_what(pull, reference)) from None

    def _reraise(self, failed: FlightFailed, pull: _Pull, what: str) -> Exception:
        """The error a follower answers with: the owner's own here, else one of its kind."""
        if isinstance(failed.cause, Exception):
            return failed.cause
        host = pull.rule.upstream.host
        if failed.kind == "UpstreamUnavailable":
            return e.UpstreamUnavailable(host, what, failed.said)
        if failed.kind == "ManifestUnknown":
            return e.ManifestUnknown(what)
        if failed.kind == "BlobUnknown":
            return e.BlobUnknown(what)
        return e.UpstreamFailed(host, what, failed.said)

    async def _authorize_miss(self, pull: _Pull, may_fall_back: bool = False) -> None:
        """What ECR asks of a pull that goes upstream: BatchImportUpstreamImage, and
        CreateRepository when the repository is still to be created."""
        await self._authz.authorize(
            pull.caller, repository_target(IMPORT_ACTION, pull.key), pull.facts
        )
        if not await self._repositories_exists(pull.key):
            await self._authz.authorize(
                pull.caller, repository_target(CREATE_ACTION, pull.key), pull.facts
            )

    async def _repositories_exists(self, key: RepositoryKey) -> bool:
        try:
            await self._repositories.get(key)
        except e.NameUnknown:
            return False
        return True

    async def _ensure_repository(self, pull: _Pull) -> None:
        if await self._repositories_exists(pull.key):
            return
        template = await self._templates.template_for(
            pull.key.scope, pull.key.name, AppliedFor.PULL_THROUGH_CACHE, DEFAULT_PULL_THROUGH
        )
        assert template is not None
        await self._templates.create_from(template, pull.key)

    async def _upstream(self, pull: _Pull) -> Upstream:
        try:
            return await self._upstreams.of(pull.key.scope, pull.rule, pull.key.name)
        except (e.SecretNotFound, e.SecretMarkedForDeletion, e.SecretUndecryptable) as exc:
            raise e.UpstreamFailed(
                pull.rule.upstream.host, pull.key.name.value, exc.describe()
            ) from None
        except (ValueError, e.SecretRequestInvalid) as exc:
            raise e.UpstreamFailed(
                pull.rule.upstream.host,
                pull.key.name.value,
                f"the rule's secret holds no upstream credentials: {exc}",
            ) from None

    async def _count(
        self,
        pull: _Pull,
        hits: int = 0,
        misses: int = 0,
        errors: int = 0,
        error: str | None = None,
    ) -> None:
        if hits:
            where = (pull.key.scope, pull.rule.prefix)
            self._hits[where] = self._hits.get(where, 0) + hits
        if not (misses or errors):
            return
        try:
            await blocking(
                self._store.count, pull.key.scope, pull.rule.prefix, 0, misses, errors, error
            )
        except Exception:  # a counter is not worth failing a pull for
            log.exception("pull-through cache: counting failed")


def _served(manifest: CachedManifest, head: bool) -> StoredManifest:
    payload = None if head else manifest.payload
    return StoredManifest(manifest.digest, manifest.media_type, len(manifest.payload), payload)


def _fresh(checked_at: datetime, interval: timedelta) -> bool:
    return datetime.now(UTC) - checked_at < interval


def _where(key: RepositoryKey) -> str:
    return f"{key.scope.account_id}/{key.scope.region}/{key.name.value}"


def _blob_flight(key: RepositoryKey, digest: Digest) -> str:
    return f"blob:{_where(key)}@{digest}"


def _manifest_flight(key: RepositoryKey, reference: str) -> str:
    return f"manifest:{_where(key)}:{reference}"


def _import_flight(key: RepositoryKey, digest: Digest, tag: str | None) -> str:
    return f"import:{_where(key)}@{digest}#{tag or ''}"


def _local_what(pull: _Pull, reference: str) -> str:
    sep = "@" if ":" in reference else ":"
    return f"{pull.key.name.value}{sep}{reference}"


async def _prepended(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if first:
        yield first
    async for chunk in rest:
        yield chunk

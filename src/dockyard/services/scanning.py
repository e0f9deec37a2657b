"""Image scanning: inventory the layers, match against the vulnerability database.

Scans are jobs: a push only queues one (when the repository is scanned on push),
so it never waits. Results are kept with the image's inventory, which is also
what the SBOM is made from.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO, TypeVar, cast

from dockyard.domain.digests import Digest
from dockyard.domain.errors import (
    BlobUnknown,
    ImageArchived,
    InvalidRequest,
    ScanFailed,
    ScanNotFound,
    ScanQuotaExceeded,
    UnsupportedImage,
)
from dockyard.domain.manifests import parse_manifest
from dockyard.domain.records import ImageId, PutOutcome, RepositoryKey, Scope
from dockyard.domain.scanning import (
    Finding,
    RegistryScanning,
    ScanFrequency,
    ScanningRule,
    ScanRecord,
    ScanType,
    severity_counts,
)
from dockyard.metadata import ContentStore, RepositoryStore, ScanStore, VulnStore
from dockyard.metadata.vulndb import ImportResult, VulnDbStatus
from dockyard.scanning import ScanLimits, build_inventory
from dockyard.scanning.inventory import Inventory
from dockyard.scanning.matching import lookup_names, match_packages
from dockyard.scanning.sbom import cyclonedx_json
from dockyard.scanning.severity import severity_of
from dockyard.services.images import Images
from dockyard.services.job_payloads import RescanSweepPayload, ScanPayload
from dockyard.services.jobs import Jobs
from dockyard.services.threads import blocking
from dockyard.storage import BlobStore

# ECR: one BASIC scan per image per 24 hours, the scan on push included.
BASIC_SCAN_QUOTA_PERIOD = timedelta(hours=24)
T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class RepositoryScanning:
    """How one repository is scanned: its own flag and the registry rule that applies."""

    scan_on_push: bool  # the repository's own (older) flag: PutImageScanningConfiguration
    frequency: ScanFrequency
    filters: tuple[str, ...]  # the filters of the rule that decided the frequency


def _finding_dict(f: Finding) -> dict[str, Any]:
    return dataclasses.asdict(f)


class Scanning:
    def __init__(
        self,
        scans: ScanStore,
        vulns: VulnStore,
        content: ContentStore,
        repositories: RepositoryStore,
        blobs: BlobStore,
        images: Images,
        jobs: Jobs,
        limits: ScanLimits,
    ) -> None:
        self._scans = scans
        self._vulns = vulns
        self._content = content
        self._repositories = repositories
        self._blobs = blobs
        self._images = images
        self._jobs = jobs
        self._limits = limits

    # Vulnerability data -------------------------------------------------------

    async def import_vulnerabilities(
        self, locations: list[str], progress: Callable[[str, int, int | None], None] | None = None
    ) -> list[ImportResult]:
        """Import OSV data; if anything changed, rescan continuous-scan repositories (once)."""
        results = []
        for location in locations:

            def step(done: int, total: int | None, where: str = location) -> None:
                if progress:
                    progress(where, done, total)

            results.append(
                await asyncio.to_thread(self._vulns.import_source, location, progress=step)
            )
        if any(r.changed for r in results):
            await self._jobs.enqueue(RescanSweepPayload())
        return results

    async def vulnerability_status(self) -> VulnDbStatus:
        return await blocking(self._vulns.status)

    # Configuration ---------------------------------------------------------

    async def configuration(self, scope: Scope) -> RegistryScanning:
        found = await blocking(self._scans.configuration, scope)
        if found is None:
            return RegistryScanning()
        scan_type, rules = found
        return RegistryScanning(
            ScanType(scan_type),
            tuple(
                ScanningRule(ScanFrequency(r["scanFrequency"]), tuple(r["filters"])) for r in rules
            ),
        )

    async def put_configuration(self, scope: Scope, config: RegistryScanning) -> None:
        continuous = any(r.frequency is ScanFrequency.CONTINUOUS_SCAN for r in config.rules)
        if config.scan_type is ScanType.BASIC and continuous:
            raise InvalidRequest("CONTINUOUS_SCAN needs scanType ENHANCED; BASIC scans on push")
        rules = [
            {"scanFrequency": r.frequency.value, "filters": list(r.filters)} for r in config.rules
        ]
        await blocking(self._scans.put_configuration, scope, config.scan_type.value, rules)

    async def repository_scanning(self, key: RepositoryKey) -> RepositoryScanning:
        repository = await blocking(self._repositories.get, key)
        config = await self.configuration(key.scope)
        own = repository.config.scan_on_push
        frequency, filters = config.frequency_for(key.name.value, own)
        return RepositoryScanning(own, frequency, filters)

    async def frequency(self, key: RepositoryKey) -> ScanFrequency:
        return (await self.repository_scanning(key)).frequency

    async def set_scan_on_push(self, key: RepositoryKey, scan_on_push: bool) -> None:
        repository = await blocking(self._repositories.get, key)
        config = dataclasses.replace(repository.config, scan_on_push=scan_on_push)
        await blocking(self._repositories.update_config, key, config)

    # Starting scans ----------------------------------------------------------

    async def on_push(self, key: RepositoryKey, outcome: PutOutcome) -> None:
        """Queue a scan of a newly pushed image when its repository is scanned on push."""
        if not outcome.new_manifest:
            return
        frequency = await self.frequency(key)
        if frequency in (ScanFrequency.SCAN_ON_PUSH, ScanFrequency.CONTINUOUS_SCAN):
            await self._queue(key, outcome.digest)

    async def start(self, key: RepositoryKey, image_id: ImageId) -> tuple[Digest, str]:
        """StartImageScan: queue a scan of one image, within ECR's per-image quota."""
        digest = await self._images.resolve(key, image_id)
        summary = await self._images.summary(key, digest)
        if summary.status != "ACTIVE":
            raise ImageArchived(str(digest), key.name.value, key.scope.account_id)
        previous = await blocking(self._scans.get, key, digest)
        config = await self.configuration(key.scope)
        if config.scan_type is ScanType.BASIC and _within_quota_period(previous):
            raise ScanQuotaExceeded(str(digest))
        await self._queue(key, digest)
        return digest, "IN_PROGRESS"

    async def _queue(self, key: RepositoryKey, digest: Digest) -> None:
        config = await self.configuration(key.scope)
        now = datetime.now(UTC)
        await blocking(self._scans.start, key, digest, config.scan_type.value, now)
        await self._jobs.enqueue(ScanPayload.of(key, digest))

    async def rescan(self, key: RepositoryKey) -> int:
        """After new vulnerability data: queue scans of every image of the repository if it
        is scanned continuously (it may have changed since the job was queued)."""
        if await self.frequency(key) is not ScanFrequency.CONTINUOUS_SCAN:
            return 0
        queued = 0
        after: int | None = None
        while True:
            page, after = await self._images.page(key, None, after, 100)
            for image in page:
                await self._queue(key, image.digest)
                queued += 1
            if after is None:
                return queued

    # Running scans -----------------------------------------------------------

    async def run(self, key: RepositoryKey, digest: Digest) -> ScanRecord:
        """The scan job: inventory, match, store. Failures are results, not exceptions."""
        status, description = "COMPLETE", "The scan was completed successfully."
        findings: list[Finding] = []
        inventory: dict[str, Any] | None = None
        source = (await blocking(self._vulns.status)).data_modified
        try:
            found, inventory = await self._scan(key, digest)
            findings = found
        except ScanFailed as exc:
            status, description = "FAILED", exc.describe()
        except UnsupportedImage as exc:
            status, description = "UNSUPPORTED_IMAGE", exc.describe()
        await blocking(
            self._scans.finish,
            key,
            digest,
            status,
            description,
            severity_counts(findings),
            [_finding_dict(f) for f in findings],
            inventory,
            source,
            datetime.now(UTC),
        )
        record = await blocking(self._scans.get, key, digest)
        assert record is not None
        return record

    async def _scan(
        self, key: RepositoryKey, digest: Digest
    ) -> tuple[list[Finding], dict[str, Any]]:
        manifest = await blocking(self._content.get_manifest, key, digest)
        assert manifest.payload is not None
        parsed = parse_manifest(manifest.payload, manifest.media_type)
        if parsed.is_index:
            # A multi-architecture image: each image scanned, the findings together.
            findings: dict[tuple[str, str, str], Finding] = {}
            packages: list[dict[str, Any]] = []
            for child in parsed.child_manifests():
                child_findings, child_inventory = await self._scan(key, child)
                for f in child_findings:
                    findings.setdefault((f.vulnerability_id, f.package_name, f.package_version), f)
                packages += child_inventory.get("packages", [])
            return list(findings.values()), {"os": None, "packages": packages}
        if parsed.config is None or parsed.config.media_type not in _IMAGE_CONFIGS:
            raise UnsupportedImage(f"not a container image (config {parsed.config})")
        layers = [(layer.media_type, self._opener(layer.digest)) for layer in parsed.layers]
        inventory = await asyncio.to_thread(build_inventory, layers, self._limits)
        found = await asyncio.to_thread(
            self._match, inventory, [str(layer.digest) for layer in parsed.layers]
        )
        return found, _inventory_dict(inventory)

    def _opener(self, digest: Digest) -> Callable[[], BinaryIO]:
        """Opens a layer for the scanner's thread: its file, or else a stream from the store
        (S3), read a chunk at a time through this event loop, never held whole."""
        path = self._blobs.local_path(digest)
        if path is not None:

            def open_file() -> BinaryIO:
                return open(path, "rb")

            return open_file
        loop = asyncio.get_running_loop()

        def open_stream() -> BinaryIO:
            return cast(BinaryIO, _StoreReader(self._blobs, digest, loop))

        return open_stream

    def _match(self, inventory: Inventory, layer_digests: list[str]) -> list[Finding]:
        records = []
        for ecosystem, names in lookup_names(inventory.packages).items():
            records += self._vulns.candidates(ecosystem, names)
        findings = []
        for package, record, hit in match_packages(inventory.packages, records):
            severity = severity_of(record, hit.affected_index)
            cve = record.cve_ids[0] if record.cve_ids else record.id
            findings.append(
                Finding(
                    vulnerability_id=cve,
                    severity=severity.severity,
                    package_name=package.name,
                    package_version=package.version,
                    ecosystem=package.ecosystem,
                    fixed_in=hit.fixed_version,
                    score=severity.score,
                    vector=severity.vector,
                    uri=record.references[0].url if record.references else None,
                    description=record.summary or record.details or record.id,
                    layer_index=package.layer_digest_index,
                    path=package.path,
                    aliases=(record.id, *record.aliases),
                    layer_digest=layer_digests[package.layer_digest_index]
                    if package.layer_digest_index < len(layer_digests)
                    else "",
                )
            )
        findings.sort(key=lambda f: (f.vulnerability_id, f.package_name))
        return findings

    # Reading results -----------------------------------------------------------

    async def result(self, key: RepositoryKey, image_id: ImageId) -> tuple[Digest, ScanRecord]:
        digest = await self._images.resolve(key, image_id)
        record = await blocking(self._scans.get, key, digest)
        if record is None:
            raise ScanNotFound(str(digest), key.name.value, key.scope.account_id)
        return digest, record

    async def sbom(self, key: RepositoryKey, image_id: ImageId) -> str:
        """CycloneDX JSON of the image's inventory, from its last completed scan."""
        digest, record = await self.result(key, image_id)
        if record.inventory is None:
            raise ScanNotFound(str(digest), key.name.value, key.scope.account_id)
        return cyclonedx_json(key.name.value, str(digest), record.inventory)

    async def summaries(self, key: RepositoryKey, digests: list[str]) -> dict[str, ScanRecord]:
        return await blocking(self._scans.summaries, key, digests)


class _StoreReader(io.RawIOBase):
    """A blob read from the store as a file, from a thread other than the event loop's:
    each chunk of the store's stream (about 1 MiB) is fetched on the loop."""

    def __init__(self, store: BlobStore, digest: Digest, loop: asyncio.AbstractEventLoop) -> None:
        self._digest = digest
        self._stream = store.read(digest)
        self._loop = loop
        self._chunk = memoryview(b"")
        self._ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while not self._chunk and not self._ended:
            try:
                self._chunk = memoryview(self._call(_next_chunk(self._stream)))
            except StopAsyncIteration:
                self._ended = True
            except BlobUnknown:
                raise ScanFailed(f"layer {self._digest} is missing from the blob store") from None
        count = min(len(view), len(self._chunk))
        view[:count] = self._chunk[:count]
        self._chunk = self._chunk[count:]
        return count

    def close(self) -> None:
        aclose = getattr(self._stream, "aclose", None)
        if not self.closed and aclose is not None:
            with contextlib.suppress(Exception):
                self._call(aclose())
        super().close()

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()


async def _next_chunk(stream: AsyncIterator[bytes]) -> bytes:
    return await anext(stream)


def _within_quota_period(previous: ScanRecord | None) -> bool:
    """Whether the image's last BASIC scan started less than a day ago, whatever its state.

    Every BASIC scan counts, the one queued on push included (ECR: "This limit includes if
    an image was scanned on initial push"); an ENHANCED scan from before a switch to BASIC
    does not.
    """
    return (
        previous is not None
        and previous.scan_type == ScanType.BASIC.value
        and datetime.now(UTC) - previous.started_at < BASIC_SCAN_QUOTA_PERIOD
    )


_IMAGE_CONFIGS = frozenset(
    {"application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"}
)


def _inventory_dict(inventory: Inventory) -> dict[str, Any]:
    return dataclasses.asdict(inventory)

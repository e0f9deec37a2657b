"""One upstream fetch however many pull at once, and blobs streamed while they arrive.

Dockyard runs with two worker processes here (``dockyard serve`` runs one per core), so the
concurrent pulls land on both and the single flight is the database's, not a process's.
The upstream's own access log counts what it was asked for.
"""

from __future__ import annotations

import hashlib
import random
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.ecr import login_password, make_client
from tests.support.images import (
    MANIFEST_ACCEPT,
    OCI_LAYER_TAR,
    Blob,
    Image,
    image_from_layers,
    push_image,
)
from tests.support.postgres import new_database
from tests.support.servers import DistributionProcess, DockyardProcess

pytestmark = pytest.mark.timeout(600)

MiB = 1 << 20


class LoggingDistribution(DistributionProcess):
    """docker-registry with its access log on (one line per request, in its log file)."""

    def write_config(self) -> Path:
        path = super().write_config()
        text = path.read_text().replace("level: warn", "level: info")
        path.write_text(text.replace("disabled: true", "disabled: false"))
        return path

    def requests(self, method: str, path: str) -> int:
        """How many ``method path`` requests the access log shows."""
        line = re.compile(rf'"{method} {re.escape(path)}(\?[^ ]*)? HTTP/')
        return len(line.findall(self.log_text()))


@pytest.fixture
def logging_upstream(tmp_path: Path) -> Iterator[LoggingDistribution]:
    proc = LoggingDistribution(tmp_path / "upstream", log_dir=tmp_path / "upstream-log")
    proc.start_ready()
    yield proc
    if proc.running:
        proc.stop()


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[DockyardProcess]:
    proc = DockyardProcess(
        tmp_path / "data",
        log_dir=tmp_path / "log",
        open_access=False,
        env={"DOCKYARD_WORKERS": "2"},
    )
    with proc.serving():
        yield proc


def big_image(seed: str, size: int) -> Image:
    data = random.Random(seed).randbytes(size)
    return image_from_layers([Blob(OCI_LAYER_TAR, data)])


def pull_all(server: DockyardProcess, password: str, repository: str, tag: str) -> str:
    """A whole pull over ``/v2``: the manifest, then every blob, each hashed; its digest."""
    with httpx.Client(base_url=server.url, auth=("AWS", password), timeout=120) as v2:
        answer = v2.get(f"/v2/{repository}/manifests/{tag}", headers={"Accept": MANIFEST_ACCEPT})
        assert answer.status_code == 200, answer.text
        manifest = answer.json()
        for descriptor in [manifest["config"], *manifest["layers"]]:
            hasher = hashlib.sha256()
            with v2.stream("GET", f"/v2/{repository}/blobs/{descriptor['digest']}") as blob:
                assert blob.status_code == 200, blob.read()
                for chunk in blob.iter_bytes():
                    hasher.update(chunk)
            assert f"sha256:{hasher.hexdigest()}" == descriptor["digest"]
        return str(answer.headers["Docker-Content-Digest"])


def test_twenty_cold_pulls_of_100_mib_fetch_each_blob_once(
    two_workers: DockyardProcess, logging_upstream: LoggingDistribution
) -> None:
    image = big_image("twenty-cold-pulls", 100 * MiB)
    with httpx.Client(base_url=logging_upstream.url, timeout=120) as client:
        digest = push_image(client, "team/big", image, "v1")
    ecr = make_client(two_workers.url)
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="cold", upstreamRegistryUrl=logging_upstream.url
    )
    password = login_password(ecr)

    results: list[str | BaseException] = []
    start = threading.Barrier(20)

    def one() -> None:
        start.wait()
        try:
            results.append(pull_all(two_workers, password, "cold/team/big", "v1"))
        except BaseException as exc:
            results.append(exc)

    threads = [threading.Thread(target=one) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert results == [digest] * 20

    for blob in image.blobs:
        fetched = logging_upstream.requests("GET", f"/v2/team/big/blobs/{blob.digest}")
        assert fetched == 1, f"{blob.digest} fetched {fetched} times"
    assert logging_upstream.requests("GET", "/v2/team/big/manifests/v1") == 1


def test_a_layer_cached_for_one_image_is_not_fetched_again_for_another(
    two_workers: DockyardProcess, logging_upstream: LoggingDistribution
) -> None:
    base = Blob(OCI_LAYER_TAR, random.Random("shared-base").randbytes(8 * MiB))
    own = [Blob(OCI_LAYER_TAR, random.Random(f"own-{n}").randbytes(MiB)) for n in (1, 2)]
    one, two = (image_from_layers([base, layer]) for layer in own)
    with httpx.Client(base_url=logging_upstream.url, timeout=120) as client:
        push_image(client, "team/one", one, "v1")
        digest = push_image(client, "team/two", two, "v1")
    ecr = make_client(two_workers.url)
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="shared", upstreamRegistryUrl=logging_upstream.url
    )
    password = login_password(ecr)

    pull_all(two_workers, password, "shared/team/one", "v1")
    assert pull_all(two_workers, password, "shared/team/two", "v1") == digest
    # The base layer came from the upstream once, for the first image; the second image's
    # own layer and config were fetched for it.
    assert logging_upstream.requests("GET", f"/v2/team/one/blobs/{base.digest}") == 1
    assert logging_upstream.requests("GET", f"/v2/team/two/blobs/{base.digest}") == 0
    for blob in (two.config, own[1]):
        assert logging_upstream.requests("GET", f"/v2/team/two/blobs/{blob.digest}") == 1
    described = ecr.describe_images(repositoryName="shared/team/two")["imageDetails"]
    assert [d["imageDigest"] for d in described] == [digest]

    # A layer stored for one repository is no way into another the upstream does not give it.
    with httpx.Client(base_url=two_workers.url, auth=("AWS", password), timeout=120) as v2:
        leak = v2.get(f"/v2/shared/team/two/blobs/{own[0].digest}")
        assert leak.status_code == 404, leak.text
        assert leak.json()["errors"][0]["code"] == "BLOB_UNKNOWN"


def test_a_client_killed_mid_stream_leaves_no_partial_blob(
    two_workers: DockyardProcess, logging_upstream: LoggingDistribution
) -> None:
    image = big_image("killed-mid-stream", 48 * MiB)
    layer = image.layers[0]
    with httpx.Client(base_url=logging_upstream.url, timeout=120) as client:
        push_image(client, "team/killed", image, "v1")
    ecr = make_client(two_workers.url)
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="killed", upstreamRegistryUrl=logging_upstream.url
    )
    password = login_password(ecr)
    stored = (
        two_workers.data_dir / "storage" / "blobs" / "sha256" / layer.digest[7:9] / layer.digest[7:]
    )

    with httpx.Client(base_url=two_workers.url, auth=("AWS", password), timeout=120) as v2:
        answer = v2.get("/v2/killed/team/killed/manifests/v1", headers={"Accept": MANIFEST_ACCEPT})
        assert answer.status_code == 200
        with v2.stream("GET", f"/v2/killed/team/killed/blobs/{layer.digest}") as blob:
            assert blob.status_code == 200
            assert blob.headers["Content-Length"] == str(len(layer.data))
            received = 0
            for chunk in blob.iter_raw():
                received += len(chunk)
                if received >= 2 * MiB:
                    break  # and the connection is dropped as the block ends
        # Whatever happens meanwhile, the blob is either absent or whole, never partial.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if stored.exists():
                assert stored.stat().st_size == len(layer.data)
                break
            time.sleep(0.05)
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == layer.digest[7:]

        again = v2.get(f"/v2/killed/team/killed/blobs/{layer.digest}")
        assert again.status_code == 200
        assert again.content == layer.data
    assert logging_upstream.requests("GET", f"/v2/team/killed/blobs/{layer.digest}") == 1


def test_a_stale_tag_is_checked_once_for_many_and_a_digest_never(
    tmp_path: Path, logging_upstream: LoggingDistribution
) -> None:
    proc = DockyardProcess(
        tmp_path / "recheck",
        log_dir=tmp_path / "recheck-log",
        open_access=False,
        env={"DOCKYARD_WORKERS": "2", "DOCKYARD_CACHE_RECHECK_INTERVAL": "1s"},
    )
    image = big_image("rechecked", MiB)
    with httpx.Client(base_url=logging_upstream.url, timeout=60) as client:
        digest = push_image(client, "team/checked", image, "v1")
    with proc.serving():
        ecr = make_client(proc.url)
        ecr.create_pull_through_cache_rule(
            ecrRepositoryPrefix="checked", upstreamRegistryUrl=logging_upstream.url
        )
        password = login_password(ecr)
        assert pull_all(proc, password, "checked/team/checked", "v1") == digest
        time.sleep(1.5)  # past the re-check interval

        def manifest(reference: str) -> str:
            with httpx.Client(base_url=proc.url, auth=("AWS", password), timeout=60) as v2:
                answer = v2.get(
                    f"/v2/checked/team/checked/manifests/{reference}",
                    headers={"Accept": MANIFEST_ACCEPT},
                )
                assert answer.status_code == 200, answer.text
                return str(answer.headers["Docker-Content-Digest"])

        found: list[str] = []
        start = threading.Barrier(10)

        def one(reference: str) -> None:
            start.wait()
            found.append(manifest(reference))

        threads = [threading.Thread(target=one, args=("v1",)) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert found == [digest] * 10
        for _ in range(5):
            assert manifest(digest) == digest

    assert logging_upstream.requests("GET", "/v2/team/checked/manifests/v1") == 1
    assert logging_upstream.requests("HEAD", "/v2/team/checked/manifests/v1") == 1
    assert logging_upstream.requests("GET", f"/v2/team/checked/manifests/{digest}") == 0
    assert logging_upstream.requests("HEAD", f"/v2/team/checked/manifests/{digest}") == 0


def test_cold_pulls_over_postgresql_fetch_each_blob_once(
    request: pytest.FixtureRequest, tmp_path: Path, logging_upstream: LoggingDistribution
) -> None:
    """The same single flight with the leases in PostgreSQL (nodes share one database)."""
    database = new_database(request, "postgresql")
    proc = DockyardProcess(
        tmp_path / "pg",
        log_dir=tmp_path / "pg-log",
        open_access=False,
        env={"DOCKYARD_WORKERS": "2"},
        database_url=database.url,
    )
    image = big_image("over-postgresql", 16 * MiB)
    with httpx.Client(base_url=logging_upstream.url, timeout=60) as client:
        digest = push_image(client, "team/pg", image, "v1")
    with proc.serving():
        ecr = make_client(proc.url)
        ecr.create_pull_through_cache_rule(
            ecrRepositoryPrefix="pg", upstreamRegistryUrl=logging_upstream.url
        )
        password = login_password(ecr)
        results: list[str | BaseException] = []
        start = threading.Barrier(10)

        def one() -> None:
            start.wait()
            try:
                results.append(pull_all(proc, password, "pg/team/pg", "v1"))
            except BaseException as exc:
                results.append(exc)

        threads = [threading.Thread(target=one) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert results == [digest] * 10
    for blob in image.blobs:
        assert logging_upstream.requests("GET", f"/v2/team/pg/blobs/{blob.digest}") == 1
    assert logging_upstream.requests("GET", "/v2/team/pg/manifests/v1") == 1
